//! Readiness of one registered I/O resource: a readiness word and a waiter
//! list per direction.
//!
//! The reactor is edge-triggered (`epoll` `EPOLLET`, `kqueue` `EV_CLEAR`):
//! it reports a change once, so the runtime must remember readiness until a
//! syscall proves it gone. Each rule below answers a hang that Tokio
//! shipped once (`runtime/io/scheduled_io.rs`, tokio#6133, tokio#8054).
//!
//! # The readiness word (one per direction)
//!
//! ```text
//!  63                                   2   1        0
//! +--------------------------------------+--------+-------+
//! |  tick (62 bits)                      | CLOSED | READY |
//! +--------------------------------------+--------+-------+
//! ```
//!
//! * **READY**: the last syscall in this direction may not have seen
//!   `WouldBlock` yet, so the next one is tried. A new registration starts
//!   READY in both directions: the syscall is tried first (an accepted
//!   socket usually has data already), and readiness is waited for only
//!   after `WouldBlock`.
//! * **CLOSED**: the reactor reported a hang-up in this direction (peer
//!   closed, or both halves gone). Never cleared: every later syscall is
//!   tried and returns EOF or the error, instead of waiting for an edge that
//!   will not come.
//! * **tick**: bumped by every reactor event in this direction (and only by
//!   the reactor). 62 bits: at a billion events a second it wraps after 146
//!   years, so a tick read once and compared later is never mistaken for a
//!   newer one (Tokio's 15-bit tick can wrap; the issue asked for full
//!   width).
//!
//! Who touches what:
//!
//! * The **reactor** (the worker holding the reactor lock), per event:
//!   `word = (word + TICK) | bits` in one CAS loop, then wakes the
//!   direction's waiters.
//! * A **task**, after its syscall returned `WouldBlock`, clears READY with
//!   the word it read *before* the syscall ([`ReadyEvent`]): a
//!   compare-exchange from that exact word to the word without READY. If
//!   the reactor delivered an event in between, the tick moved and the
//!   clear fails: the new readiness is kept and the task tries again rather
//!   than waiting for an edge that already came (the lost-event hang).
//!   CLOSED is never cleared.
//!
//! An error event (`EPOLLERR`) sets READY in both directions (the next
//! syscall returns the error) but not CLOSED: on a datagram socket an error
//! (an ICMP unreachable) is consumed by one `recv`, and a sticky error bit
//! would spin `recv` → `WouldBlock` forever. On a stream socket an error
//! comes with a hang-up, which is sticky.
//!
//! # Waiters (one list per direction)
//!
//! Several tasks may wait on one direction of one resource (two readers of
//! a shared socket, an `accept` in two tasks): each waiting future owns an
//! entry `(id, waker)` in the list, and an event wakes and removes every
//! entry, so no waiter is displaced. A future that is dropped while waiting
//! removes its entry, so a resource nobody reads does not collect dead
//! wakers. Id 0 is the single slot of the poll-based API (`AsyncRead`
//! style, one poller per direction by contract): a new waker there replaces
//! the old one, and the displaced one is woken, so it cannot hang either.
//!
//! A waiter adds its entry under the list's lock, increments the list's
//! `waiting` count, and then re-reads the word; the reactor updates the
//! word and then reads `waiting`, taking the lock only if it is not 0 (an
//! event on a direction nobody waits on, the write side of a busy socket
//! say, takes no lock). Each side's write and read are `SeqCst`, so they
//! fall in one total order: either the reactor sees the count (and, under
//! the lock, the entry: it wakes it) or the waiter's re-read sees the new
//! word. So no event falls between a waiter's check and its sleep; the
//! loom models `loom_readiness_*` check the word and this hand-off (loom
//! treats `SeqCst` accesses as `AcqRel`, so under loom
//! `shim::seq_cst_store_load` adds the fence that gives it the same
//! guarantee; without it the models fail).

use crate::shim::{seq_cst_store_load, AtomicU64, AtomicUsize, Mutex};
use smallvec::SmallVec;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, SeqCst};
use std::task::{Context, Poll, Waker};

const READY: u64 = 0b01;
const CLOSED: u64 = 0b10;
const TICK: u64 = 0b100;

/// Wakers woken per batch outside the list's lock.
const WAKE_BATCH: usize = 16;

/// The waiter id of the poll-based API's slot.
const POLL_SLOT: u64 = 0;

/// A waiting future's entry in a direction's waiter list: its id (`None`
/// until it first registers) and the tick it last saw before suspending.
/// A dispatch bumps the tick and then empties the list, so once the tick
/// has moved the entry is gone (or about to go), and dropping the future
/// need not take the lock to remove it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct WaitSlot {
    id: Option<u64>,
    tick: u64,
    /// The tick of a CLOSED readiness that a syscall answered with
    /// `WouldBlock` (a listening socket after `shutdown`): not readiness
    /// for this waiter until the tick moves, or it would retry forever.
    stale_closed: Option<u64>,
}

impl WaitSlot {
    /// The single slot of the poll-based API.
    pub(crate) fn poll_api() -> WaitSlot {
        WaitSlot { id: Some(POLL_SLOT), tick: 0, stale_closed: None }
    }

    /// Records that the syscall after `event` said `WouldBlock` (call it
    /// after clearing): if `event` was a hang-up, it stops counting as
    /// readiness for this waiter until the next event.
    pub(crate) fn would_block(&mut self, event: ReadyEvent) {
        if event.is_closed() {
            self.stale_closed = Some(event.word >> 2);
        }
    }
}

/// One direction of I/O on a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Reading (and accepting, and receiving).
    Read,
    /// Writing (and connecting, and sending).
    Write,
}

/// Readiness observed in one direction, as `AsyncFd::poll_ready`
/// returned it: the token that clears it after a `WouldBlock`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadyEvent {
    direction: Direction,
    word: u64,
}

impl ReadyEvent {
    /// The direction this readiness is for.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// True if the reactor reported a hang-up in this direction: the next
    /// syscall returns EOF or an error rather than `WouldBlock`.
    pub fn is_closed(&self) -> bool {
        self.word & CLOSED != 0
    }
}

/// What the reactor saw for one resource in one event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct EventBits {
    pub(crate) readable: bool,
    pub(crate) read_closed: bool,
    pub(crate) writable: bool,
    pub(crate) write_closed: bool,
    pub(crate) error: bool,
}

impl EventBits {
    pub(crate) fn from_mio(event: &mio::event::Event) -> EventBits {
        EventBits {
            readable: event.is_readable() || event.is_priority(),
            read_closed: event.is_read_closed(),
            writable: event.is_writable(),
            write_closed: event.is_write_closed(),
            error: event.is_error(),
        }
    }

    fn bits(ready: bool, closed: bool, error: bool) -> u64 {
        let mut bits = 0;
        if ready || closed || error {
            bits |= READY;
        }
        if closed {
            bits |= CLOSED;
        }
        bits
    }
}

struct Waiters {
    /// Inline room for one entry, the common case (one task reads, one
    /// writes): registering it touches only the `Half`'s own cache line,
    /// where a `Vec`'s buffer was a second allocation, cache-cold on a
    /// server with many connections (the network benchmarks' 512-connection
    /// echo: the store into it, and the locked increment behind it, were
    /// half of `poll_ready`'s samples). More waiters spill to the heap.
    entries: SmallVec<[(u64, Waker); 1]>,
    next_id: u64,
}

struct Half {
    word: AtomicU64,
    /// How many entries `waiters` holds, readable without its lock: the
    /// reactor skips the lock when it is 0 (module docs: the hand-off).
    waiting: AtomicUsize,
    waiters: Mutex<Waiters>,
}

impl Half {
    fn new() -> Half {
        Half {
            word: AtomicU64::new(READY),
            waiting: AtomicUsize::new(0),
            waiters: Mutex::new(Waiters { entries: SmallVec::new(), next_id: 1 }),
        }
    }

    /// Reactor side: records an event (`bits` non-zero) in the word. The
    /// caller then fences and wakes the waiters ([`ScheduledIo::dispatch`]).
    fn record(&self, bits: u64) {
        let mut word = self.word.load(Acquire);
        loop {
            let new = (word.wrapping_add(TICK)) | bits;
            match self.word.compare_exchange_weak(word, new, SeqCst, Acquire) {
                Ok(_) => break,
                Err(actual) => word = actual,
            }
        }
    }

    /// After [`record`](Self::record) and the fence: wakes the waiters, if
    /// the count says there are any.
    fn wake_if_waiting(&self) {
        if self.waiting.load(SeqCst) != 0 {
            self.wake_all();
        }
    }

    fn wake_all(&self) {
        loop {
            let mut batch: [Option<Waker>; WAKE_BATCH] = Default::default();
            let mut n = 0;
            let more = {
                let mut waiters = self.waiters.lock();
                while n < WAKE_BATCH {
                    let Some((_, waker)) = waiters.entries.pop() else { break };
                    self.waiting.fetch_sub(1, Relaxed);
                    batch[n] = Some(waker);
                    n += 1;
                }
                !waiters.entries.is_empty()
            };
            for waker in batch.iter_mut().take(n) {
                if let Some(waker) = waker.take() {
                    crate::catch_wake::wake(waker);
                }
            }
            if !more {
                return;
            }
        }
    }

    fn ready(&self, direction: Direction) -> Option<ReadyEvent> {
        Self::ready_in(self.word.load(Acquire), direction, None)
    }

    /// Readiness in `word`, for a waiter that saw the hang-up of tick
    /// `stale_closed` answered with `WouldBlock`.
    fn ready_in(word: u64, direction: Direction, stale_closed: Option<u64>) -> Option<ReadyEvent> {
        let ready = word & READY != 0 || (word & CLOSED != 0 && stale_closed != Some(word >> 2));
        ready.then_some(ReadyEvent { direction, word })
    }

    /// Registers `waker` under `slot` (allocating an id if it has none).
    /// Returns the waker a different one displaced from the poll slot, to
    /// be woken.
    fn register(&self, slot: &mut WaitSlot, waker: &Waker) -> Option<Waker> {
        let mut waiters = self.waiters.lock();
        let id = match slot.id {
            Some(id) => id,
            None => {
                let id = waiters.next_id;
                waiters.next_id += 1;
                slot.id = Some(id);
                id
            }
        };
        if let Some(entry) = waiters.entries.iter_mut().find(|(i, _)| *i == id) {
            if entry.1.will_wake(waker) {
                return None;
            }
            let old = std::mem::replace(&mut entry.1, waker.clone());
            return (id == POLL_SLOT).then_some(old);
        }
        waiters.entries.push((id, waker.clone()));
        self.waiting.fetch_add(1, SeqCst);
        None
    }

    fn remove(&self, id: u64) {
        let mut waiters = self.waiters.lock();
        if let Some(at) = waiters.entries.iter().position(|(i, _)| *i == id) {
            waiters.entries.swap_remove(at);
            self.waiting.fetch_sub(1, Relaxed);
        }
    }

    fn clear(&self, event: ReadyEvent) {
        if event.word & READY != 0 {
            // Fails if the tick moved (keep the newer readiness) or another
            // task cleared it already: both are right.
            let _ = self.word.compare_exchange(event.word, event.word & !READY, AcqRel, Acquire);
        }
    }
}

/// The readiness of one registered resource, shared by its registration and
/// (through its token) the reactor. See the module docs.
pub(crate) struct ScheduledIo {
    read: Half,
    write: Half,
}

impl ScheduledIo {
    pub(crate) fn new() -> ScheduledIo {
        ScheduledIo { read: Half::new(), write: Half::new() }
    }

    fn half(&self, direction: Direction) -> &Half {
        match direction {
            Direction::Read => &self.read,
            Direction::Write => &self.write,
        }
    }

    /// Reactor side: records one event and wakes the waiters it concerns.
    pub(crate) fn dispatch(&self, event: EventBits) {
        let read = EventBits::bits(event.readable, event.read_closed, event.error);
        let write = EventBits::bits(event.writable, event.write_closed, event.error);
        if read != 0 {
            self.read.record(read);
        }
        if write != 0 {
            self.write.record(write);
        }
        // SeqCst updates of the words, then SeqCst reads of the counts; each
        // waiter updates its count and re-reads its word the same way: one
        // of the two sees the other (module docs: the hand-off).
        seq_cst_store_load();
        if read != 0 {
            self.read.wake_if_waiting();
        }
        if write != 0 {
            self.write.wake_if_waiting();
        }
    }

    /// The readiness in `direction` if there is some, without registering.
    pub(crate) fn ready(&self, direction: Direction) -> Option<ReadyEvent> {
        self.half(direction).ready(direction)
    }

    /// Ready if `direction` is ready; otherwise registers `cx`'s waker under
    /// `slot` (its entry stays until an event or [`forget`](Self::forget))
    /// and returns `Pending`.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        slot: &mut WaitSlot,
    ) -> Poll<ReadyEvent> {
        let half = self.half(direction);
        if let Some(event) = Half::ready_in(half.word.load(Acquire), direction, slot.stale_closed) {
            return Poll::Ready(event);
        }
        if let Some(displaced) = half.register(slot, cx.waker()) {
            crate::catch_wake::wake(displaced);
        }
        // Re-read after registering (module docs: the hand-off).
        seq_cst_store_load();
        let word = half.word.load(SeqCst);
        match Half::ready_in(word, direction, slot.stale_closed) {
            Some(event) => {
                // Ready after all: the entry would only wake us for nothing.
                if let Some(id) = slot.id.filter(|&id| id != POLL_SLOT) {
                    half.remove(id);
                }
                Poll::Ready(event)
            }
            None => {
                slot.tick = word >> 2;
                Poll::Pending
            }
        }
    }

    /// Clears the readiness `event` reported, unless the reactor delivered
    /// an event since (its tick moved). Called after `WouldBlock`.
    pub(crate) fn clear(&self, event: ReadyEvent) {
        self.half(event.direction).clear(event);
    }

    /// Removes a dropped future's entry in `direction`, if it may still be
    /// there: not if an event came since it suspended (that dispatch
    /// removes it), so the common case takes no lock.
    pub(crate) fn forget(&self, direction: Direction, slot: &WaitSlot) {
        let Some(id) = slot.id.filter(|&id| id != POLL_SLOT) else { return };
        let half = self.half(direction);
        if half.word.load(Acquire) >> 2 == slot.tick {
            half.remove(id);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    use std::task::Wake;

    #[derive(Default)]
    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    fn readable() -> EventBits {
        EventBits { readable: true, ..Default::default() }
    }

    #[test]
    fn a_new_resource_is_ready_both_ways_so_the_syscall_is_tried_first() {
        let io = ScheduledIo::new();
        assert!(io.ready(Direction::Read).is_some());
        assert!(io.ready(Direction::Write).is_some());
    }

    #[test]
    fn clear_with_the_word_read_before_the_syscall_clears() {
        let io = ScheduledIo::new();
        let ev = io.ready(Direction::Read).unwrap();
        io.clear(ev);
        assert!(io.ready(Direction::Read).is_none());
        assert!(io.ready(Direction::Write).is_some(), "directions are independent");
    }

    #[test]
    fn an_event_between_the_syscall_and_the_clear_is_kept() {
        let io = ScheduledIo::new();
        let before = io.ready(Direction::Read).unwrap();
        io.dispatch(readable()); // arrives after the syscall saw WouldBlock
        io.clear(before);
        assert!(io.ready(Direction::Read).is_some(), "the newer readiness survives the stale clear");
    }

    #[test]
    fn closed_is_never_cleared() {
        let io = ScheduledIo::new();
        io.clear(io.ready(Direction::Read).unwrap());
        io.dispatch(EventBits { read_closed: true, ..Default::default() });
        let ev = io.ready(Direction::Read).unwrap();
        assert!(ev.is_closed());
        io.clear(ev);
        let ev = io.ready(Direction::Read).expect("still ready after a clear");
        assert!(ev.is_closed());
    }

    #[test]
    fn a_hang_up_answered_with_would_block_waits_for_the_next_event() {
        // A listening socket after shutdown: HUP, but accept says EAGAIN.
        let io = ScheduledIo::new();
        io.clear(io.ready(Direction::Read).unwrap());
        io.dispatch(EventBits { read_closed: true, ..Default::default() });
        let count = Arc::new(Count::default());
        let waker = Waker::from(count.clone());
        let mut slot = WaitSlot::default();
        let Poll::Ready(event) = io.poll_ready(&mut Context::from_waker(&waker), Direction::Read, &mut slot) else {
            panic!("a hang-up is readiness")
        };
        io.clear(event);
        slot.would_block(event);
        assert!(
            io.poll_ready(&mut Context::from_waker(&waker), Direction::Read, &mut slot).is_pending(),
            "the same hang-up again would spin"
        );
        io.dispatch(readable());
        assert_eq!(count.0.load(SeqCst), 1, "the next event wakes the waiter");
        assert!(io.poll_ready(&mut Context::from_waker(&waker), Direction::Read, &mut slot).is_ready());
    }

    #[test]
    fn an_error_wakes_both_directions_but_can_be_cleared() {
        let io = ScheduledIo::new();
        io.clear(io.ready(Direction::Read).unwrap());
        io.clear(io.ready(Direction::Write).unwrap());
        io.dispatch(EventBits { error: true, ..Default::default() });
        let (r, w) = (io.ready(Direction::Read).unwrap(), io.ready(Direction::Write).unwrap());
        assert!(!r.is_closed() && !w.is_closed());
        io.clear(r);
        assert!(io.ready(Direction::Read).is_none(), "a datagram error is consumed by one recv");
    }

    #[test]
    fn two_waiters_on_one_direction_are_both_woken() {
        let io = ScheduledIo::new();
        io.clear(io.ready(Direction::Read).unwrap());
        let (a, b) = (Arc::new(Count::default()), Arc::new(Count::default()));
        let (wa, wb) = (Waker::from(a.clone()), Waker::from(b.clone()));
        let (mut sa, mut sb) = (WaitSlot::default(), WaitSlot::default());
        assert!(io.poll_ready(&mut Context::from_waker(&wa), Direction::Read, &mut sa).is_pending());
        assert!(io.poll_ready(&mut Context::from_waker(&wb), Direction::Read, &mut sb).is_pending());
        assert_ne!(sa.id, sb.id);
        io.dispatch(EventBits { writable: true, ..Default::default() });
        assert_eq!((a.0.load(SeqCst), b.0.load(SeqCst)), (0, 0), "a write event wakes no reader");
        io.dispatch(readable());
        assert_eq!((a.0.load(SeqCst), b.0.load(SeqCst)), (1, 1));
    }

    #[test]
    fn a_dropped_waiter_leaves_no_entry_and_repolling_does_not_duplicate() {
        let io = ScheduledIo::new();
        io.clear(io.ready(Direction::Read).unwrap());
        let a = Arc::new(Count::default());
        let wa = Waker::from(a.clone());
        let mut slot = WaitSlot::default();
        for _ in 0..3 {
            assert!(io.poll_ready(&mut Context::from_waker(&wa), Direction::Read, &mut slot).is_pending());
        }
        assert_eq!(io.read.waiters.lock().entries.len(), 1);
        io.forget(Direction::Read, &slot);
        assert!(io.read.waiters.lock().entries.is_empty());
        io.dispatch(readable());
        assert_eq!(a.0.load(SeqCst), 0);
    }

    #[test]
    fn a_future_woken_by_an_event_has_no_entry_left_to_forget() {
        let io = ScheduledIo::new();
        io.clear(io.ready(Direction::Read).unwrap());
        let a = Arc::new(Count::default());
        let wa = Waker::from(a.clone());
        let mut slot = WaitSlot::default();
        assert!(io.poll_ready(&mut Context::from_waker(&wa), Direction::Read, &mut slot).is_pending());
        io.dispatch(readable());
        assert!(io.read.waiters.lock().entries.is_empty(), "the dispatch removed the entry");
        assert_eq!(a.0.load(SeqCst), 1);
        // The tick moved, so forgetting takes no lock and finds nothing.
        io.forget(Direction::Read, &slot);
        assert!(io.poll_ready(&mut Context::from_waker(&wa), Direction::Read, &mut slot).is_ready());
    }

    #[test]
    fn the_poll_slot_wakes_the_waker_it_displaces() {
        let io = ScheduledIo::new();
        io.clear(io.ready(Direction::Write).unwrap());
        let (a, b) = (Arc::new(Count::default()), Arc::new(Count::default()));
        let (wa, wb) = (Waker::from(a.clone()), Waker::from(b.clone()));
        let (mut s1, mut s2) = (WaitSlot::poll_api(), WaitSlot::poll_api());
        assert!(io.poll_ready(&mut Context::from_waker(&wa), Direction::Write, &mut s1).is_pending());
        assert!(io.poll_ready(&mut Context::from_waker(&wb), Direction::Write, &mut s2).is_pending());
        assert_eq!(a.0.load(SeqCst), 1, "the displaced waker is woken, not lost");
        io.dispatch(EventBits { writable: true, ..Default::default() });
        assert_eq!(b.0.load(SeqCst), 1);
    }

    #[test]
    fn many_waiters_are_woken_in_batches() {
        let io = ScheduledIo::new();
        io.clear(io.ready(Direction::Read).unwrap());
        let count = Arc::new(Count::default());
        let mut slots = vec![WaitSlot::default(); 3 * WAKE_BATCH + 1];
        for slot in &mut slots {
            // Distinct wakers (will_wake compares the data pointer).
            let waker = Waker::from(Arc::new(Forward(count.clone())));
            assert!(io.poll_ready(&mut Context::from_waker(&waker), Direction::Read, slot).is_pending());
        }
        io.dispatch(readable());
        assert_eq!(count.0.load(SeqCst), slots.len());
    }

    struct Forward(Arc<Count>);
    impl Wake for Forward {
        fn wake(self: Arc<Self>) {
            self.0 .0.fetch_add(1, SeqCst);
        }
    }

    #[test]
    fn the_tick_is_full_width() {
        let io = ScheduledIo::new();
        for _ in 0..1000 {
            io.dispatch(readable());
        }
        assert_eq!(io.read.word.load(Acquire) >> 2, 1000);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! The lost-event hang, in the small: a task's syscall saw `WouldBlock`
    //! while the reactor delivered an edge. The task must end up either
    //! seeing readiness or being woken — never parked with the edge gone.
    use super::*;
    use loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use loom::sync::Arc;
    use loom::thread;
    use std::task::Wake;

    // A waker must be a std `Arc`; its flag is a loom atomic.
    struct Flag(AtomicBool);
    impl Wake for Flag {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.store(true, SeqCst);
        }
        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.0.store(true, SeqCst);
        }
    }

    #[test]
    fn loom_readiness_tick_vs_clear_vs_new_event() {
        loom::model(|| {
            let io = Arc::new(ScheduledIo::new());
            // The task read READY, tried its syscall, got WouldBlock...
            let before = io.ready(Direction::Read).unwrap();
            let reactor = {
                let io = io.clone();
                // ...while the reactor delivers an edge.
                thread::spawn(move || io.dispatch(EventBits { readable: true, ..Default::default() }))
            };
            io.clear(before);
            let flag = std::sync::Arc::new(Flag(AtomicBool::new(false)));
            let waker = std::task::Waker::from(flag.clone());
            let mut slot = WaitSlot::default();
            let ready_now = io.poll_ready(&mut Context::from_waker(&waker), Direction::Read, &mut slot).is_ready();
            reactor.join().unwrap();
            // Either the task saw the readiness, or the reactor woke it, or
            // the readiness is still recorded for its next poll.
            assert!(ready_now || flag.0.load(SeqCst), "the edge was lost");
            assert!(io.ready(Direction::Read).is_some(), "the delivered readiness must remain");
        });
    }

    #[test]
    fn loom_readiness_two_waiters_both_woken() {
        loom::model(|| {
            let io = Arc::new(ScheduledIo::new());
            io.clear(io.ready(Direction::Read).unwrap());
            let waiter = |io: Arc<ScheduledIo>| {
                thread::spawn(move || {
                    let flag = std::sync::Arc::new(Flag(AtomicBool::new(false)));
                    let waker = std::task::Waker::from(flag.clone());
                    let mut slot = WaitSlot::default();
                    let ready = io.poll_ready(&mut Context::from_waker(&waker), Direction::Read, &mut slot).is_ready();
                    (ready, flag)
                })
            };
            let a = waiter(io.clone());
            let b = waiter(io.clone());
            io.dispatch(EventBits { readable: true, ..Default::default() });
            for t in [a, b] {
                let (ready, flag) = t.join().unwrap();
                assert!(ready || flag.0.load(SeqCst), "a waiter was neither ready nor woken");
            }
        });
    }

    #[test]
    fn loom_readiness_forget_vs_dispatch_leaves_no_entry() {
        // A future polls while an event is dispatched, then is dropped (its
        // task cancelled): the lock-free skip in `forget` must never leave
        // its entry behind, whichever way the poll and the dispatch race.
        loom::model(|| {
            let io = Arc::new(ScheduledIo::new());
            io.clear(io.ready(Direction::Read).unwrap());
            let reactor = {
                let io = io.clone();
                thread::spawn(move || io.dispatch(EventBits { readable: true, ..Default::default() }))
            };
            let flag = std::sync::Arc::new(Flag(AtomicBool::new(false)));
            let waker = std::task::Waker::from(flag.clone());
            let mut slot = WaitSlot::default();
            let _ = io.poll_ready(&mut Context::from_waker(&waker), Direction::Read, &mut slot);
            io.forget(Direction::Read, &slot);
            reactor.join().unwrap();
            assert!(io.read.waiters.lock().entries.is_empty(), "a dropped waiter's entry was left behind");
        });
    }
}
