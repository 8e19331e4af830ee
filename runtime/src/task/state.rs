//! The task state word and the cancel word: every transition of the protocol
//! in [`super`]'s module docs, as safe atomic code that loom can model.

use crate::shim::{AtomicU64, AtomicUsize};
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};

/// The runner owns the future (it is being polled).
pub(crate) const RUNNING: usize = 1 << 0;
/// The task has ended; its output (or its error) is stored.
pub(crate) const COMPLETE: usize = 1 << 1;
/// The task is queued, or must be queued again once its poll returns.
pub(crate) const NOTIFIED: usize = 1 << 2;
/// A `Task<T>` handle exists and may read the output.
pub(crate) const JOIN_INTEREST: usize = 1 << 3;
/// `abort()` was called: drop the future at the next scheduling point.
pub(crate) const ABORT: usize = 1 << 4;
/// Outcome bit, set together with `COMPLETE`: the task ended cancelled.
pub(crate) const CANCELLED: usize = 1 << 5;
/// Outcome bit, set together with `COMPLETE`: the task ended with an error.
pub(crate) const FAILED: usize = 1 << 6;
/// A reader has claimed the output.
pub(crate) const OUTPUT_TAKEN: usize = 1 << 7;
/// The future has been polled at least once.
pub(crate) const STARTED: usize = 1 << 8;
/// A `call_soon` callback, not a task: it is not registered, and while it
/// runs there is no current task (asyncio runs callbacks outside any task).
pub(crate) const CALLBACK: usize = 1 << 9;
/// A waiter (`_fut_waiter`) was recorded during a poll; the next poll
/// clears it first, so `cancel()` only ever forwards to what the task is
/// suspended on now (asyncio clears `_fut_waiter` at every step).
pub(crate) const WAITER: usize = 1 << 10;

const REF_SHIFT: u32 = 16;
const REF_ONE: usize = 1 << REF_SHIFT;
const FLAGS_MASK: usize = REF_ONE - 1;

/// A copy of the state word.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(pub(crate) usize);

impl Snapshot {
    pub(crate) fn has(self, bit: usize) -> bool {
        self.0 & bit != 0
    }

    pub(crate) fn ref_count(self) -> usize {
        self.0 >> REF_SHIFT
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Snapshot(flags={:#011b}, refs={})", self.0 & FLAGS_MASK, self.ref_count())
    }
}

/// What a waker must do after updating the state.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Nothing: the task is queued, running (it will requeue itself) or done.
    Nothing,
    /// Queue the task; the waker's reference moves into the queue entry.
    Submit,
    /// The waker held the last reference: free the task.
    Dealloc,
}

/// What the runner must do after a poll returned `Pending`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Idle {
    /// The task is idle; the runner's reference was released.
    Parked,
    /// The task was woken (or aborted) while running: queue it again; the
    /// runner's reference moves into the new queue entry.
    Requeue,
}

/// The task's state word: flag bits below `REF_SHIFT`, the reference count above.
pub(crate) struct State(AtomicUsize);

impl State {
    /// A task that starts queued, with `refs` references.
    pub(crate) fn new(flags: usize, refs: usize) -> State {
        State(AtomicUsize::new(flags | (refs * REF_ONE)))
    }

    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.0.load(Acquire))
    }

    fn update(&self, mut f: impl FnMut(usize) -> Option<usize>) -> Result<usize, usize> {
        let mut cur = self.0.load(Acquire);
        loop {
            let next = match f(cur) {
                Some(next) => next,
                None => return Err(cur),
            };
            match self.0.compare_exchange_weak(cur, next, AcqRel, Acquire) {
                Ok(_) => return Ok(next),
                Err(actual) => cur = actual,
            }
        }
    }

    /// A queue entry is about to be run. Fails if the task is already running
    /// (taken over by shutdown) or complete; the caller then drops the entry's
    /// reference.
    pub(crate) fn transition_to_running(&self) -> Result<Snapshot, Snapshot> {
        self.update(|cur| {
            debug_assert!(cur & NOTIFIED != 0, "running a task that is not notified");
            if cur & (RUNNING | COMPLETE) != 0 {
                return None;
            }
            Some((cur | RUNNING) & !NOTIFIED)
        })
        .map(Snapshot)
        .map_err(Snapshot)
    }

    /// The poll returned `Pending`.
    pub(crate) fn transition_to_idle(&self) -> Idle {
        let mut requeue = false;
        self.update(|cur| {
            debug_assert!(cur & RUNNING != 0);
            let mut next = (cur & !RUNNING) | STARTED;
            requeue = cur & (NOTIFIED | ABORT) != 0;
            if requeue {
                next |= NOTIFIED;
            } else {
                // The runner's reference; the lifecycle reference keeps the
                // count above zero while the task is not complete.
                debug_assert!(cur >> REF_SHIFT >= 2);
                next -= REF_ONE;
            }
            Some(next)
        })
        .expect("transition_to_idle never fails");
        if requeue {
            Idle::Requeue
        } else {
            Idle::Parked
        }
    }

    /// The task ended with the given outcome bits. Returns the new snapshot.
    pub(crate) fn transition_to_complete(&self, outcome: usize) -> Snapshot {
        let next = self
            .update(|cur| {
                debug_assert!(cur & RUNNING != 0 && cur & COMPLETE == 0);
                Some((cur & !RUNNING) | COMPLETE | STARTED | outcome)
            })
            .expect("transition_to_complete never fails");
        Snapshot(next)
    }

    /// Runtime shutdown: take ownership of an idle task's future. Returns
    /// false if the task is running (its runner will see `ABORT`) or complete.
    pub(crate) fn transition_to_shutdown(&self) -> bool {
        let mut owned = false;
        let _ = self.update(|cur| {
            owned = cur & (RUNNING | COMPLETE) == 0;
            Some(if owned { cur | RUNNING | ABORT } else { cur | ABORT })
        });
        owned
    }

    /// Wake through a reference the caller gives up.
    pub(crate) fn wake_by_val(&self) -> Wake {
        let mut action = Wake::Nothing;
        let _ = self.update(|cur| {
            if cur & RUNNING != 0 {
                action = Wake::Nothing;
                Some((cur | NOTIFIED) - REF_ONE)
            } else if cur & (COMPLETE | NOTIFIED) != 0 {
                let next = cur - REF_ONE;
                action = if next >> REF_SHIFT == 0 { Wake::Dealloc } else { Wake::Nothing };
                Some(next)
            } else {
                action = Wake::Submit;
                Some(cur | NOTIFIED)
            }
        });
        action
    }

    /// Wake through a borrowed reference; on `Submit` a new reference was
    /// taken for the queue entry.
    pub(crate) fn wake_by_ref(&self) -> Wake {
        self.notify(0)
    }

    /// `abort()`: set `ABORT` and make sure the task gets scheduled.
    pub(crate) fn abort(&self) -> Wake {
        self.notify(ABORT)
    }

    fn notify(&self, extra: usize) -> Wake {
        let mut action = Wake::Nothing;
        let _ = self.update(|cur| {
            // Reset on every attempt: a failed CAS may have left `Submit`
            // from the previous one, and a retry that finds the task complete
            // must not queue an entry whose reference was never taken.
            action = Wake::Nothing;
            if cur & COMPLETE != 0 {
                return None;
            }
            if cur & (RUNNING | NOTIFIED) != 0 {
                let next = cur | extra | if cur & RUNNING != 0 { NOTIFIED } else { 0 };
                return if next == cur { None } else { Some(next) };
            }
            action = Wake::Submit;
            Some((cur | NOTIFIED | extra) + REF_ONE)
        });
        action
    }

    pub(crate) fn ref_inc(&self) {
        let prev = self.0.fetch_add(REF_ONE, Relaxed);
        // Guard against overflow into nothing: more than 2^47 references is a bug.
        assert!(prev >> REF_SHIFT < usize::MAX >> (REF_SHIFT + 1), "task reference count overflow");
    }

    /// Drops `n` references; true if they were the last.
    pub(crate) fn ref_dec(&self, n: usize) -> bool {
        let prev = self.0.fetch_sub(n * REF_ONE, AcqRel);
        debug_assert!(prev >> REF_SHIFT >= n, "task reference count underflow");
        prev >> REF_SHIFT == n
    }

    /// Sets a flag bit (`WAITER`).
    pub(crate) fn set_flag(&self, bit: usize) {
        self.0.fetch_or(bit, AcqRel);
    }

    /// Clears a flag bit (`WAITER`).
    pub(crate) fn clear_flag(&self, bit: usize) {
        self.0.fetch_and(!bit, AcqRel);
    }

    /// The `Task<T>` handle is gone.
    pub(crate) fn unset_join_interest(&self) {
        self.0.fetch_and(!JOIN_INTEREST, AcqRel);
    }

    /// Claims the right to take the output; true once, after completion.
    pub(crate) fn claim_output(&self) -> bool {
        self.update(|cur| if cur & COMPLETE != 0 && cur & OUTPUT_TAKEN == 0 { Some(cur | OUTPUT_TAKEN) } else { None })
            .is_ok()
    }
}

/// Bits of the cancel word above the 32-bit counter.
const PENDING: u64 = 1 << 32;
const DONE: u64 = 1 << 33;
/// The pending delivery's message is final: it was requested while the
/// task was suspended, which in asyncio cancels the awaited future with
/// that message, so later requests count but do not replace it.
const FIXED: u64 = 1 << 34;
const COUNT_MASK: u64 = u32::MAX as u64;

/// The cancel word: asyncio's `_num_cancels_requested` (low 32 bits),
/// `_must_cancel` (`PENDING`) and whether the task is done (`DONE`), in one
/// atomic so that `cancel()` and completion are ordered against each other.
///
/// Every writer except [`CancelWord::mark_done`] holds the task's cancel slot
/// lock; readers (`cancelling()`, the delivery fast path) do not lock.
pub(crate) struct CancelWord(AtomicU64);

/// What [`CancelWord::request`] saw.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Request {
    /// The task is done: `cancel()` returns false, nothing changed.
    Done,
    /// The counter was incremented; the new count.
    Counted(u32),
}

impl CancelWord {
    pub(crate) fn new() -> CancelWord {
        CancelWord(AtomicU64::new(0))
    }

    /// `cancelling()`.
    pub(crate) fn count(&self) -> u32 {
        (self.0.load(Acquire) & COUNT_MASK) as u32
    }

    /// Whether a cancellation awaits delivery (`_must_cancel`).
    pub(crate) fn is_pending(&self) -> bool {
        self.0.load(Acquire) & PENDING != 0
    }

    fn update(&self, mut f: impl FnMut(u64) -> Option<u64>) -> Result<u64, u64> {
        let mut cur = self.0.load(Acquire);
        loop {
            let next = match f(cur) {
                Some(next) => next,
                None => return Err(cur),
            };
            match self.0.compare_exchange_weak(cur, next, AcqRel, Acquire) {
                Ok(_) => return Ok(next),
                Err(actual) => cur = actual,
            }
        }
    }

    /// `cancel()`, step 1: count the request unless the task is done. With
    /// `pend`, also mark a delivery pending (no waiter took it).
    pub(crate) fn request(&self, pend: bool) -> Request {
        match self.update(|cur| {
            if cur & DONE != 0 {
                return None;
            }
            let count = (cur & COUNT_MASK).saturating_add(1).min(COUNT_MASK);
            Some((cur & !COUNT_MASK) | count | if pend { PENDING } else { 0 })
        }) {
            Ok(next) => Request::Counted((next & COUNT_MASK) as u32),
            Err(_) => Request::Done,
        }
    }

    /// `cancel()` with no waiter to forward to: count the request and mark
    /// a delivery pending, unless the task is done (`None`). `fix` says the
    /// task is suspended, so a new delivery's message becomes final.
    /// Returns whether the caller sets the message: false while a final
    /// message is pending (the first request after suspending wins).
    pub(crate) fn request_delivery(&self, fix: bool) -> Option<bool> {
        let mut set_message = true;
        self.update(|cur| {
            if cur & DONE != 0 {
                return None;
            }
            let count = (cur & COUNT_MASK).saturating_add(1).min(COUNT_MASK);
            let mut next = (cur & !COUNT_MASK) | count | PENDING;
            set_message = cur & PENDING == 0 || cur & FIXED == 0;
            if cur & PENDING == 0 && fix {
                next |= FIXED;
            }
            Some(next)
        })
        .ok()
        .map(|_| set_message)
    }

    /// Takes back a counted request of a task that completed before the
    /// request could be marked pending (see `cancel::cancel`).
    pub(crate) fn undo_request(&self) {
        let _ = self.update(|cur| {
            let count = cur & COUNT_MASK;
            (count > 0).then(|| (cur & !COUNT_MASK) | (count - 1))
        });
    }

    /// Whether a delivery is pending with a final message (see `FIXED`).
    pub(crate) fn message_fixed(&self) -> bool {
        self.0.load(Acquire) & (PENDING | FIXED) == PENDING | FIXED
    }

    /// Marks a delivery pending (after a waiter refused the cancellation).
    /// False if the task is done.
    pub(crate) fn set_pending(&self) -> bool {
        self.update(|cur| if cur & DONE != 0 { None } else { Some(cur | PENDING) }).is_ok()
    }

    /// Takes the pending delivery; true if there was one.
    pub(crate) fn take_pending(&self) -> bool {
        self.update(|cur| if cur & PENDING != 0 { Some(cur & !(PENDING | FIXED)) } else { None }).is_ok()
    }

    /// `uncancel()`: decrement if above zero; reaching zero clears a pending
    /// delivery (3.13 rule). Returns the new count.
    pub(crate) fn uncancel(&self) -> u32 {
        match self.update(|cur| {
            let count = cur & COUNT_MASK;
            if count == 0 {
                return None;
            }
            let next = (cur & !COUNT_MASK) | (count - 1);
            Some(if count == 1 { next & !(PENDING | FIXED) } else { next })
        }) {
            Ok(next) => (next & COUNT_MASK) as u32,
            Err(_) => 0,
        }
    }

    /// The task ends: set `DONE`. Returns whether a delivery was still
    /// pending at that instant (the result is then discarded and the task
    /// ends cancelled, as asyncio does for `_must_cancel` at `StopIteration`).
    pub(crate) fn mark_done(&self) -> bool {
        self.0.fetch_or(DONE, AcqRel) & PENDING != 0
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn spawn_run_park_wake_complete() {
        let s = State::new(NOTIFIED | JOIN_INTEREST, 3);
        let snap = s.transition_to_running().unwrap();
        assert!(snap.has(RUNNING) && !snap.has(NOTIFIED));
        assert_eq!(s.transition_to_idle(), Idle::Parked);
        assert_eq!(s.load().ref_count(), 2);
        assert_eq!(s.wake_by_ref(), Wake::Submit);
        assert_eq!(s.load().ref_count(), 3);
        assert_eq!(s.wake_by_ref(), Wake::Nothing, "already notified");
        s.transition_to_running().unwrap();
        let done = s.transition_to_complete(CANCELLED);
        assert!(done.has(COMPLETE) && done.has(CANCELLED) && !done.has(RUNNING));
        assert!(s.claim_output());
        assert!(!s.claim_output());
        assert!(!s.ref_dec(2));
        assert!(s.ref_dec(1));
    }

    #[test]
    fn wake_while_running_requeues() {
        let s = State::new(NOTIFIED, 2);
        s.transition_to_running().unwrap();
        assert_eq!(s.wake_by_ref(), Wake::Nothing);
        assert_eq!(s.transition_to_idle(), Idle::Requeue);
        assert_eq!(s.load().ref_count(), 2);
    }

    #[test]
    fn abort_while_idle_submits_once() {
        let s = State::new(NOTIFIED, 2);
        s.transition_to_running().unwrap();
        assert_eq!(s.transition_to_idle(), Idle::Parked);
        assert_eq!(s.abort(), Wake::Submit);
        assert_eq!(s.abort(), Wake::Nothing);
        assert!(s.load().has(ABORT));
    }

    #[test]
    fn cancel_word_counts_and_delivers_once() {
        let c = CancelWord::new();
        assert_eq!(c.request(true), Request::Counted(1));
        assert_eq!(c.request(true), Request::Counted(2));
        assert!(c.take_pending());
        assert!(!c.take_pending());
        assert_eq!(c.count(), 2);
        assert_eq!(c.uncancel(), 1);
        assert_eq!(c.uncancel(), 0);
        assert_eq!(c.uncancel(), 0, "stays at zero");
        assert_eq!(c.request(true), Request::Counted(1));
        assert_eq!(c.uncancel(), 0);
        assert!(!c.is_pending(), "reaching zero clears the pending delivery");
        // A delivery requested while suspended keeps its message; one
        // requested otherwise takes the latest.
        assert_eq!(c.request_delivery(true), Some(true));
        assert_eq!(c.request_delivery(false), Some(false), "final message kept");
        assert_eq!(c.request_delivery(true), Some(false));
        assert!(c.take_pending());
        assert_eq!(c.request_delivery(false), Some(true));
        assert_eq!(c.request_delivery(true), Some(true), "not final: latest wins");
        assert!(c.take_pending());
        assert_eq!(c.request_delivery(true), Some(true));
        assert_eq!(c.uncancel(), 5);
        while c.uncancel() > 0 {}
        assert_eq!(c.request_delivery(false), Some(true), "uncancel to 0 cleared the final mark");
        assert!(c.take_pending());
        while c.uncancel() > 0 {}
        assert!(!c.mark_done());
        assert_eq!(c.request(true), Request::Done);
        assert_eq!(c.count(), 0);
    }
}

/// Loom models of the protocol's races. Run with
/// `RUSTFLAGS="--cfg loom" cargo test -p ravel --lib --release -- loom`.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::atomic::AtomicUsize as Counter;
    use loom::sync::Arc;
    use loom::thread;
    use std::sync::atomic::Ordering::SeqCst;

    /// A task is queued (NOTIFIED, 3 refs: registry, handle, queue entry).
    /// A runner polls it (Pending) while a foreign thread wakes it through an
    /// owned waker. The wake is never lost: afterwards the task is either
    /// queued exactly once (one entry made by the waker or the runner), or the
    /// wake landed before the poll started (the poll itself observes it).
    #[test]
    fn loom_wake_while_running() {
        loom::model(|| {
            let s = Arc::new(State::new(NOTIFIED | JOIN_INTEREST, 3));
            s.ref_inc(); // the waker's reference
            let entries = Arc::new(Counter::new(0));
            let s2 = s.clone();
            let e2 = entries.clone();
            let waker = thread::spawn(move || match s2.wake_by_val() {
                Wake::Submit => {
                    e2.fetch_add(1, SeqCst);
                }
                Wake::Nothing => {}
                Wake::Dealloc => panic!("registry ref still held"),
            });
            let snap = s.transition_to_running().unwrap();
            assert!(!snap.has(NOTIFIED));
            if s.transition_to_idle() == Idle::Requeue {
                entries.fetch_add(1, SeqCst);
            }
            waker.join().unwrap();
            let end = s.load();
            let n = entries.load(SeqCst);
            assert!(n <= 1, "at most one queue entry");
            assert_eq!(end.has(NOTIFIED), n == 1, "NOTIFIED iff an entry exists");
            // Refs: registry + handle + one per queue entry.
            assert_eq!(end.ref_count(), 2 + n);
        });
    }

    /// `cancel()` from a foreign thread racing completion: the request counts
    /// iff completion sees it pending, so either the task ends cancelled with
    /// counter 1, or cancel() returned false and the counter is 0.
    #[test]
    fn loom_cancel_races_completion() {
        loom::model(|| {
            let c = Arc::new(CancelWord::new());
            let c2 = c.clone();
            let canceller = thread::spawn(move || c2.request(true));
            let pending_at_done = c.mark_done();
            let req = canceller.join().unwrap();
            match req {
                Request::Counted(n) => {
                    assert_eq!(n, 1);
                    assert!(pending_at_done, "a counted request is seen by completion");
                    assert_eq!(c.count(), 1);
                }
                Request::Done => {
                    assert!(!pending_at_done);
                    assert_eq!(c.count(), 0, "cancel on a done task leaves the counter");
                }
            }
        });
    }

    /// Delivery and uncancel racing a second cancel: the counter is exact and
    /// a delivery is taken at most once per pending mark.
    #[test]
    fn loom_deliver_uncancel_cancel() {
        loom::model(|| {
            let c = Arc::new(CancelWord::new());
            assert_eq!(c.request(true), Request::Counted(1));
            let c2 = c.clone();
            let canceller = thread::spawn(move || c2.request(true));
            let took = c.take_pending();
            let after_uncancel = c.uncancel();
            canceller.join().unwrap();
            assert!(took);
            // Two requests, one uncancel.
            assert_eq!(c.count(), 1);
            // If the uncancel reached 0 the second request came after it, and
            // must be pending delivery; a second request that came before the
            // delivery merged into it (repeats deliver once).
            if after_uncancel == 0 {
                assert!(c.is_pending(), "a request after uncancel-to-zero is delivered");
            } else {
                assert_eq!(after_uncancel, 1);
            }
        });
    }

    /// The last reference frees the task exactly once, whichever of the
    /// handle drop, the completing runner and a waker drop comes last.
    #[test]
    fn loom_last_reference_frees_once() {
        loom::model(|| {
            // registry + handle + runner + waker
            let s = Arc::new(State::new(RUNNING | JOIN_INTEREST, 4));
            let frees = Arc::new(Counter::new(0));
            let (s1, f1) = (s.clone(), frees.clone());
            let handle = thread::spawn(move || {
                s1.unset_join_interest();
                if s1.ref_dec(1) {
                    f1.fetch_add(1, SeqCst);
                }
            });
            let (s2, f2) = (s.clone(), frees.clone());
            let waker = thread::spawn(move || {
                if s2.wake_by_val() == Wake::Dealloc {
                    f2.fetch_add(1, SeqCst);
                }
            });
            let done = s.transition_to_complete(0);
            assert!(done.has(COMPLETE));
            if s.ref_dec(2) {
                frees.fetch_add(1, SeqCst);
            }
            handle.join().unwrap();
            waker.join().unwrap();
            assert_eq!(frees.load(SeqCst), 1);
        });
    }

    /// `abort()` racing a poll: the task is scheduled to see ABORT exactly
    /// once (an entry from abort, or a requeue by the runner).
    #[test]
    fn loom_abort_while_running() {
        loom::model(|| {
            let s = Arc::new(State::new(NOTIFIED, 2));
            let s2 = s.clone();
            let aborter = thread::spawn(move || s2.abort() == Wake::Submit);
            s.transition_to_running().unwrap();
            let requeued = s.transition_to_idle() == Idle::Requeue;
            let submitted = aborter.join().unwrap();
            let end = s.load();
            assert!(end.has(ABORT));
            assert_eq!(u8::from(requeued) + u8::from(submitted), 1, "exactly one entry sees ABORT");
            assert!(end.has(NOTIFIED));
        });
    }

    /// A borrowed-reference wake (a foreign `cancel()`) racing the runner
    /// completing the task: a queue entry is made only together with its
    /// reference, and never for a completed task. (A failed CAS used to leave
    /// `Submit` set for a retry that found the task complete: a queue entry
    /// without a reference.)
    #[test]
    fn loom_wake_by_ref_races_completion() {
        loom::model(|| {
            // An idle task: registry + handle + the canceller's TaskRef.
            let s = Arc::new(State::new(STARTED, 3));
            let s2 = s.clone();
            let canceller = thread::spawn(move || s2.wake_by_ref());
            // Another waker; if it queued the task, the entry runs to the end.
            let mine = s.wake_by_ref();
            if mine == Wake::Submit {
                s.transition_to_running().unwrap();
                s.transition_to_complete(0);
            }
            let theirs = canceller.join().unwrap();
            let submits = usize::from(mine == Wake::Submit) + usize::from(theirs == Wake::Submit);
            // Exactly one entry, and it holds exactly one reference.
            assert_eq!(submits, 1, "mine={mine:?} theirs={theirs:?}");
            assert_eq!(s.load().ref_count(), 3 + submits);
        });
    }

    /// Output claim racing between `result()` on two threads after
    /// completion: exactly one wins.
    #[test]
    fn loom_output_claimed_once() {
        loom::model(|| {
            let s = Arc::new(State::new(RUNNING, 3));
            s.transition_to_complete(0);
            let s2 = s.clone();
            let other = thread::spawn(move || s2.claim_output());
            let mine = s.claim_output();
            let theirs = other.join().unwrap();
            assert!(mine ^ theirs);
        });
    }
}
