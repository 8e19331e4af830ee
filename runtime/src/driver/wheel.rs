//! Hierarchical timing wheel used by the timer driver.
//!
//! # Structure
//!
//! Time is measured in *ticks* of one millisecond since the wheel's `origin`
//! (tick 0). The wheel has [`LEVELS`] = 6 levels of 64 slots each, like Tokio's:
//!
//! | level | slot span     | level range (64 slots) |
//! |-------|---------------|------------------------|
//! | 0     | 1 ms          | 64 ms                  |
//! | 1     | 64 ms         | ~4.1 s                 |
//! | 2     | ~4.1 s        | ~4.4 min               |
//! | 3     | ~4.4 min      | ~4.7 h                 |
//! | 4     | ~4.7 h        | ~12.4 days             |
//! | 5     | ~12.4 days    | ~2.2 years (2^36 ms)   |
//!
//! An entry whose (rounded-up) deadline tick is `t` is stored at the lowest
//! level `k` such that `t` and the wheel's current tick `elapsed` agree in all
//! bits above the level-`k` digit (the level-`k` digit being bits
//! `6k..6k+6`), in slot `(t >> 6k) & 63`. Entries that differ from `elapsed`
//! above bit 36 live in an *overflow* list, and entries whose tick is already
//! `<= elapsed` live in a *pending* list.
//!
//! Consequently every entry at level `k` is later than every entry at any level
//! below `k`, and occupied slots at each level all lie strictly after the
//! current position, so the next slot to handle is found with one
//! `trailing_zeros` on a per-level 64-bit occupancy bitmap. Advancing time never
//! walks tick by tick: [`Wheel::process`] repeatedly jumps `elapsed` to the
//! start of the earliest occupied slot (or, when the wheel is empty, to the
//! 2^36-tick block of the earliest overflow entry) and *cascades* that slot's
//! entries, i.e. re-places them relative to the new `elapsed`, which moves them
//! to a lower level or into the pending list.
//!
//! # Never early
//!
//! Deadlines are rounded *up* to a tick for placement only; each entry keeps
//! its exact [`Instant`]. `process(now)` advances to tick `ceil(now)`, but an
//! entry fires only if `deadline <= now`. Entries of the current tick whose exact
//! deadline is still in the future simply stay in the pending list.
//!
//! # Storage
//!
//! Entries live in a slab (fixed-size chunks plus a free list) and are linked
//! into intrusive doubly linked lists (one per slot, plus pending and
//! overflow) through `u32` indices, so insertion and removal are O(1). The
//! slab grows one chunk of [`CHUNK`] entries at a time, never by doubling, so
//! its spare capacity is under one chunk, and an entry is 40 bytes (the
//! deadline is kept as nanoseconds since the origin and the tick is derived
//! from it), which keeps an idle timer small. Each entry carries the 32-bit
//! insertion sequence number of its current occupant: a [`TimerKey`] names
//! an index and a sequence number, so keys of fired or removed entries are
//! detectably stale (modulo 2^32 insertions).

use std::task::Waker;
use std::time::{Duration, Instant};

/// Number of wheel levels.
const LEVELS: usize = 6;
/// log2 of the number of slots per level.
const SLOT_BITS: u32 = 6;
/// Number of slots per level.
const SLOTS: usize = 1 << SLOT_BITS;
/// log2 of the number of ticks covered by the whole wheel (64^6 = 2^36 ms).
const WHEEL_BITS: u32 = SLOT_BITS * LEVELS as u32;
/// Ticks are clamped to this value so that block arithmetic never overflows
/// (2^62 ms is roughly 146 million years).
const MAX_TICK: u64 = 1 << 62;
/// Null link / "no entry" sentinel for slab indices.
const NIL: u32 = u32::MAX;
/// List id of the pending list (entries whose tick is `<= elapsed`).
const PENDING: u16 = (LEVELS * SLOTS) as u16;
/// List id of the overflow list (entries beyond the top level's range).
const OVERFLOW: u16 = PENDING + 1;
/// Total number of lists: one per slot plus pending and overflow.
const NUM_LISTS: usize = LEVELS * SLOTS + 2;
/// List id marking a vacant slab slot.
const FREE: u16 = u16::MAX;
/// log2 of the number of entries per slab chunk.
const CHUNK_BITS: u32 = 9;
/// Entries per slab chunk (512 entries, 20 KiB).
const CHUNK: usize = 1 << CHUNK_BITS;

/// Stable handle to an entry of a [`Wheel`].
///
/// A key becomes stale once its entry has fired or been removed; stale keys
/// are detected through the entry's sequence number, so a key never matches
/// a newer entry that reuses the same slab slot (modulo 2^32 insertions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    /// Index into the slab.
    index: u32,
    /// Sequence number of the entry at insertion time.
    seq: u32,
}

/// One slab slot (40 bytes).
struct Entry {
    /// Exact deadline in nanoseconds since the origin (saturating); the
    /// entry never fires before it.
    at: u64,
    /// The waker to wake; `None` while the slot is vacant.
    waker: Option<Waker>,
    /// Previous entry in the same list, or [`NIL`].
    prev: u32,
    /// Next entry in the same list (or in the free list), or [`NIL`].
    next: u32,
    /// Insertion sequence number of the occupant (wrapping): orders entries
    /// with equal deadlines and tells live keys from stale ones.
    seq: u32,
    /// Id of the list holding this entry, or [`FREE`].
    list: u16,
}

#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Entry>() == 40);

impl TimerKey {
    /// A key that matches no entry, for a timer not registered yet.
    pub(crate) const NONE: TimerKey = TimerKey { index: NIL, seq: 0 };
}

impl Entry {
    /// The deadline rounded up to a tick.
    ///
    /// A saturated deadline (more than 2^64 ns, 584 years, after the origin)
    /// maps to [`MAX_TICK`], past any tick `process` can reach: such an
    /// entry stays in the overflow list and never fires, like a sleep whose
    /// deadline overflows `Instant`.
    fn tick(&self) -> u64 {
        if self.at == u64::MAX {
            MAX_TICK
        } else {
            self.at.div_ceil(1_000_000)
        }
    }
}

/// Head and tail of an intrusive list.
#[derive(Clone, Copy)]
struct List {
    /// First entry, or [`NIL`].
    head: u32,
    /// Last entry, or [`NIL`].
    tail: u32,
}

impl List {
    /// An empty list.
    const EMPTY: List = List { head: NIL, tail: NIL };
}

/// A hierarchical timing wheel with 1 ms ticks. See the [module docs](self).
pub(crate) struct Wheel {
    /// Instant of tick 0.
    origin: Instant,
    /// Current tick: every slot starting at or before it has been cascaded.
    elapsed: u64,
    /// Slab of entries, in chunks of [`CHUNK`]: entry `i` is
    /// `chunks[i / CHUNK][i % CHUNK]`.
    chunks: Vec<Vec<Entry>>,
    /// Number of slab entries ever created (live or free).
    created: u32,
    /// Head of the slab free list (linked through `Entry::next`), or [`NIL`].
    free_head: u32,
    /// Intrusive lists: `level * 64 + slot`, then [`PENDING`], then [`OVERFLOW`].
    lists: Vec<List>,
    /// Per-level bitmap of non-empty slots.
    occupied: [u64; LEVELS],
    /// Lower bound on the ticks in the overflow list (`u64::MAX` if empty).
    overflow_min: u64,
    /// Number of live entries.
    len: usize,
    /// Sequence number for the next insertion (wrapping).
    next_seq: u32,
    /// Scratch buffer for sorting a fired batch (kept to reuse its allocation).
    fired: Vec<(u64, u32, Waker)>,
}

impl Wheel {
    /// Creates an empty wheel; `origin` is tick 0 and one tick is 1 millisecond.
    pub(crate) fn new(origin: Instant) -> Wheel {
        Wheel {
            origin,
            elapsed: 0,
            chunks: Vec::new(),
            created: 0,
            free_head: NIL,
            lists: vec![List::EMPTY; NUM_LISTS],
            occupied: [0; LEVELS],
            overflow_min: u64::MAX,
            len: 0,
            next_seq: 0,
            fired: Vec::new(),
        }
    }

    /// Registers `waker` to be woken at or after `deadline`, in O(1).
    ///
    /// A deadline in the past fires on the next [`process`](Self::process).
    pub(crate) fn insert(&mut self, deadline: Instant, waker: Waker) -> TimerKey {
        let at = self.nanos(deadline);
        let seq = self.next_seq;
        self.next_seq = seq.wrapping_add(1);
        let index = if self.free_head != NIL {
            let index = self.free_head;
            let entry = self.entry_mut(index);
            let next_free = entry.next;
            entry.at = at;
            entry.seq = seq;
            entry.waker = Some(waker);
            self.free_head = next_free;
            index
        } else {
            let index = self.created;
            assert!(index != NIL, "timer wheel: too many timers");
            if (index as usize).is_multiple_of(CHUNK) {
                self.chunks.push(Vec::with_capacity(CHUNK));
            }
            let chunk = self.chunks.last_mut().expect("pushed above");
            chunk.push(Entry { at, waker: Some(waker), prev: NIL, next: NIL, seq, list: FREE });
            self.created += 1;
            index
        };
        self.len += 1;
        self.place(index);
        TimerKey { index, seq }
    }

    /// Replaces the stored waker of `key` (the clone is skipped if the stored
    /// waker [`will_wake`](Waker::will_wake) the new one).
    ///
    /// Returns `false` if the key is stale (its entry fired or was removed).
    pub(crate) fn update_waker(&mut self, key: TimerKey, waker: &Waker) -> bool {
        if !self.is_live(key) {
            return false;
        }
        let slot = &mut self.entry_mut(key.index).waker;
        match slot {
            Some(current) if current.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
        true
    }

    /// Removes the entry of `key` in O(1); returns `false` if the key is stale.
    pub(crate) fn remove(&mut self, key: TimerKey) -> bool {
        self.take(key).is_some()
    }

    /// Removes the entry of `key` in O(1) and returns its waker; `None` if
    /// the key is stale.
    pub(crate) fn take(&mut self, key: TimerKey) -> Option<Waker> {
        if !self.is_live(key) {
            return None;
        }
        self.unlink(key.index);
        Some(self.release(key.index))
    }

    /// Earliest instant at which [`process`](Self::process) could have
    /// something to do, or `None` if the wheel is empty.
    ///
    /// This is never later than the earliest deadline (a deadline before the
    /// origin counts as the origin: it is due at once either way). It is exact when that
    /// entry already sits in the current tick; otherwise it is the instant at
    /// which the earliest occupied slot will be cascaded (just after the end of
    /// the tick preceding the slot), which may be early but guarantees that
    /// processing at the returned instant always makes progress. For an entry
    /// that is already due the result is `<=` its deadline, hence `<= now`.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        if self.lists[PENDING as usize].head != NIL {
            // Pending ticks are <= elapsed < every slot start, so the pending
            // minimum is the global minimum.
            return self.min_deadline(PENDING);
        }
        let (start, list) = self.next_expiration()?;
        // `process(now)` handles the slot once `ceil(now) >= start`, i.e. as
        // soon as `now > start - 1 ms`. Every deadline in the slot is
        // strictly greater than that, so this is never late.
        Duration::from_millis(start - 1)
            .checked_add(Duration::from_nanos(1))
            .and_then(|d| self.origin.checked_add(d))
            .or_else(|| self.min_deadline(list))
    }

    /// Removes every entry whose deadline is `<= now` and pushes its waker to
    /// `out`, ordered by deadline and then by insertion order.
    ///
    /// Entries whose deadline is `> now` stay in the wheel. Jumps far ahead
    /// are cheap: only occupied slots are visited.
    pub(crate) fn process(&mut self, now: Instant, out: &mut Vec<Waker>) {
        let target = self.nanos(now).div_ceil(1_000_000).min(MAX_TICK);
        while let Some((start, list)) = self.next_expiration() {
            if start > target {
                break;
            }
            self.cascade(start, list);
        }
        if target > self.elapsed {
            // No occupied slot starts in (elapsed, target]: see the module docs.
            self.elapsed = target;
        }

        let now = self.nanos(now);
        let mut fired = std::mem::take(&mut self.fired);
        let mut index = self.lists[PENDING as usize].head;
        while index != NIL {
            let entry = self.entry(index);
            let next = entry.next;
            if entry.at <= now && entry.at != u64::MAX {
                // Age order: the older the entry, the smaller the key
                // (sequence numbers wrap, so compare distances to the next).
                let (at, age) = (entry.at, entry.seq.wrapping_sub(self.next_seq));
                self.unlink(index);
                fired.push((at, age, self.release(index)));
            }
            index = next;
        }
        fired.sort_unstable_by_key(|&(at, age, _)| (at, age));
        out.extend(fired.drain(..).map(|(_, _, waker)| waker));
        self.fired = fired;
    }

    /// Number of live entries.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether the wheel holds no entries.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Converts an instant to nanoseconds since the origin; instants before
    /// the origin map to 0 and those past 2^64 ns (584 years) saturate.
    /// (Never-early holds from the origin on; the runtime's wheels take
    /// their origin at build time and are only processed with later
    /// `Instant::now()` readings.)
    fn nanos(&self, t: Instant) -> u64 {
        t.checked_duration_since(self.origin).map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }

    /// The instant `at` nanoseconds after the origin (`None` if it is not
    /// representable).
    fn instant(&self, at: u64) -> Option<Instant> {
        self.origin.checked_add(Duration::from_nanos(at))
    }

    fn entry(&self, index: u32) -> &Entry {
        &self.chunks[(index >> CHUNK_BITS) as usize][index as usize & (CHUNK - 1)]
    }

    fn entry_mut(&mut self, index: u32) -> &mut Entry {
        &mut self.chunks[(index >> CHUNK_BITS) as usize][index as usize & (CHUNK - 1)]
    }

    /// Whether `key` refers to a live entry.
    fn is_live(&self, key: TimerKey) -> bool {
        key.index < self.created && {
            let e = self.entry(key.index);
            e.list != FREE && e.seq == key.seq
        }
    }

    /// Start tick and list id of the earliest occupied slot (or of the
    /// overflow list if the wheel levels are empty).
    fn next_expiration(&self) -> Option<(u64, u16)> {
        for (level, &occupied) in self.occupied.iter().enumerate() {
            if occupied != 0 {
                let slot = u64::from(occupied.trailing_zeros());
                let shift = SLOT_BITS * level as u32;
                let block_mask = (1u64 << (shift + SLOT_BITS)) - 1;
                let start = (self.elapsed & !block_mask) + (slot << shift);
                debug_assert!(start > self.elapsed);
                return Some((start, (level * SLOTS) as u16 + slot as u16));
            }
        }
        if self.lists[OVERFLOW as usize].head != NIL {
            let start = (self.overflow_min >> WHEEL_BITS) << WHEEL_BITS;
            debug_assert!(start > self.elapsed);
            return Some((start, OVERFLOW));
        }
        None
    }

    /// Advances `elapsed` to `start` and re-places every entry of `list`.
    fn cascade(&mut self, start: u64, list: u16) {
        self.elapsed = start;
        let mut index = self.lists[list as usize].head;
        self.lists[list as usize] = List::EMPTY;
        if list == OVERFLOW {
            self.overflow_min = u64::MAX;
        } else {
            let list = usize::from(list);
            self.occupied[list / SLOTS] &= !(1u64 << (list % SLOTS));
        }
        while index != NIL {
            let next = self.entry(index).next;
            self.place(index);
            index = next;
        }
    }

    /// Links the (unlinked) entry `index` into the list matching its tick.
    fn place(&mut self, index: u32) {
        let tick = self.entry(index).tick();
        let list = if tick <= self.elapsed {
            PENDING
        } else {
            let masked = (self.elapsed ^ tick) | (SLOTS as u64 - 1);
            let level = ((63 - masked.leading_zeros()) / SLOT_BITS) as usize;
            if level >= LEVELS {
                self.overflow_min = self.overflow_min.min(tick);
                OVERFLOW
            } else {
                let slot = (tick >> (SLOT_BITS * level as u32)) as usize & (SLOTS - 1);
                self.occupied[level] |= 1u64 << slot;
                (level * SLOTS + slot) as u16
            }
        };
        let tail = self.lists[list as usize].tail;
        let entry = self.entry_mut(index);
        entry.list = list;
        entry.prev = tail;
        entry.next = NIL;
        if tail == NIL {
            self.lists[list as usize].head = index;
        } else {
            self.entry_mut(tail).next = index;
        }
        self.lists[list as usize].tail = index;
    }

    /// Unlinks the live entry `index` from its list, in O(1).
    fn unlink(&mut self, index: u32) {
        let &Entry { prev, next, list, .. } = self.entry(index);
        let l = list as usize;
        if prev == NIL {
            self.lists[l].head = next;
        } else {
            self.entry_mut(prev).next = next;
        }
        if next == NIL {
            self.lists[l].tail = prev;
        } else {
            self.entry_mut(next).prev = prev;
        }
        if self.lists[l].head == NIL {
            if list < PENDING {
                self.occupied[l / SLOTS] &= !(1u64 << (l % SLOTS));
            } else if list == OVERFLOW {
                self.overflow_min = u64::MAX;
            }
        }
    }

    /// Frees the (unlinked) entry `index` and returns its waker.
    fn release(&mut self, index: u32) -> Waker {
        let free_head = self.free_head;
        let entry = self.entry_mut(index);
        entry.list = FREE;
        entry.prev = NIL;
        entry.next = free_head;
        let waker = entry.waker.take().expect("timer wheel: live entry without waker");
        self.free_head = index;
        self.len -= 1;
        waker
    }

    /// Smallest exact deadline in `list`, or `None` if it is empty.
    fn min_deadline(&self, list: u16) -> Option<Instant> {
        let mut min = None;
        let mut index = self.lists[list as usize].head;
        while index != NIL {
            let entry = self.entry(index);
            min = Some(min.map_or(entry.at, |m: u64| m.min(entry.at)));
            index = entry.next;
        }
        // Only a saturated deadline (584 years away) is not representable;
        // there is nothing to wake up for before it.
        min.and_then(|at| self.instant(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::task::Wake;

    /// Waker that counts its wakes and logs its id into a shared log.
    struct TestWaker {
        id: usize,
        count: AtomicUsize,
        log: Arc<Mutex<Vec<usize>>>,
    }

    impl Wake for TestWaker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            self.count.fetch_add(1, Ordering::SeqCst);
            self.log.lock().unwrap().push(self.id);
        }
    }

    /// Creates a waker with `id` logging into `log`, plus a handle to it.
    fn waker(id: usize, log: &Arc<Mutex<Vec<usize>>>) -> (Waker, Arc<TestWaker>) {
        let inner = Arc::new(TestWaker { id, count: AtomicUsize::new(0), log: log.clone() });
        (Waker::from(inner.clone()), inner)
    }

    /// Processes `now`, wakes the fired wakers and returns their ids in order.
    fn fire(wheel: &mut Wheel, now: Instant, log: &Arc<Mutex<Vec<usize>>>) -> Vec<usize> {
        let mut out = Vec::new();
        wheel.process(now, &mut out);
        log.lock().unwrap().clear();
        for w in out {
            w.wake();
        }
        std::mem::take(&mut *log.lock().unwrap())
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    const US: Duration = Duration::from_micros(1);

    #[test]
    fn fires_by_deadline_then_insertion_order() {
        let origin = Instant::now();
        let log = Arc::default();
        let mut wheel = Wheel::new(origin);
        let d = |n| origin + ms(n);
        // id: deadline
        let plan = [(0, 30), (1, 10), (2, 20), (3, 10), (4, 20), (5, 5), (6, 10)];
        for (id, at) in plan {
            wheel.insert(d(at), waker(id, &log).0);
        }
        // Sub-millisecond differences within one tick are ordered exactly.
        wheel.insert(d(10) - US * 500, waker(7, &log).0);
        wheel.insert(d(10) - US * 700, waker(8, &log).0);
        assert_eq!(wheel.len(), 9);
        assert_eq!(fire(&mut wheel, d(100), &log), vec![5, 8, 7, 1, 3, 6, 2, 4, 0]);
        assert!(wheel.is_empty());
        assert_eq!(wheel.next_deadline(), None);
    }

    #[test]
    fn never_fires_early() {
        let origin = Instant::now();
        let log = Arc::default();
        let mut wheel = Wheel::new(origin);
        let deadline = origin + ms(7) + US * 300; // tick 8
        let (w, handle) = waker(1, &log);
        wheel.insert(deadline, w);
        assert!(fire(&mut wheel, deadline - US, &log).is_empty());
        // Same tick, still before the deadline.
        assert!(fire(&mut wheel, origin + ms(7) + US * 299, &log).is_empty());
        assert!(fire(&mut wheel, deadline - Duration::from_nanos(1), &log).is_empty());
        assert_eq!(wheel.len(), 1);
        assert_eq!(wheel.next_deadline(), Some(deadline));
        assert_eq!(fire(&mut wheel, deadline, &log), vec![1]);
        assert_eq!(handle.count.load(Ordering::SeqCst), 1);
        assert!(fire(&mut wheel, deadline + ms(1000), &log).is_empty());
    }

    #[test]
    fn past_and_pre_origin_deadlines_fire_on_next_process() {
        let origin = Instant::now() + ms(50);
        let log = Arc::default();
        let mut wheel = Wheel::new(origin);
        wheel.insert(origin - ms(20), waker(1, &log).0);
        wheel.insert(origin, waker(2, &log).0);
        fire(&mut wheel, origin + ms(100), &log);
        wheel.insert(origin + ms(3), waker(3, &log).0);
        assert!(wheel.next_deadline().unwrap() <= origin + ms(100));
        assert_eq!(fire(&mut wheel, origin + ms(100), &log), vec![3]);
        assert!(wheel.is_empty());
    }

    #[test]
    fn remove_and_stale_keys() {
        let origin = Instant::now();
        let log = Arc::default();
        let mut wheel = Wheel::new(origin);
        let a = wheel.insert(origin + ms(10), waker(1, &log).0);
        let b = wheel.insert(origin + ms(20), waker(2, &log).0);
        assert_ne!(a, b);
        assert!(wheel.remove(a));
        assert!(!wheel.remove(a), "remove twice");
        assert!(!wheel.update_waker(a, &waker(9, &log).0));
        assert_eq!(wheel.len(), 1);

        // The freed slot is reused with a new sequence number.
        let c = wheel.insert(origin + ms(15), waker(3, &log).0);
        assert_eq!(c.index, a.index);
        assert_ne!(c, a);
        assert!(!wheel.remove(a), "old key must not match the reused slot");
        assert_eq!(wheel.len(), 2);

        assert_eq!(fire(&mut wheel, origin + ms(30), &log), vec![3, 2]);
        assert!(!wheel.remove(b), "key of a fired entry");
        assert!(!wheel.remove(c), "key of a fired entry");
        assert!(!wheel.update_waker(b, &waker(9, &log).0));
        assert!(wheel.is_empty());
    }

    #[test]
    fn removal_keeps_lists_and_bitmaps_consistent() {
        let origin = Instant::now();
        let log = Arc::default();
        let mut wheel = Wheel::new(origin);
        let keys: Vec<_> = (0..5).map(|i| wheel.insert(origin + ms(10), waker(i, &log).0)).collect();
        // Remove head, middle and tail.
        assert!(wheel.remove(keys[0]));
        assert!(wheel.remove(keys[2]));
        assert!(wheel.remove(keys[4]));
        assert_eq!(fire(&mut wheel, origin + ms(10), &log), vec![1, 3]);
        let k = wheel.insert(origin + ms(5000), waker(7, &log).0);
        assert_ne!(wheel.occupied, [0; LEVELS]);
        assert!(wheel.remove(k));
        assert_eq!(wheel.occupied, [0; LEVELS]);
        assert_eq!(wheel.next_deadline(), None);
    }

    #[test]
    fn update_waker_replaces_waker() {
        let origin = Instant::now();
        let log = Arc::default();
        let mut wheel = Wheel::new(origin);
        let (w1, h1) = waker(1, &log);
        let (w2, h2) = waker(2, &log);
        let key = wheel.insert(origin + ms(5), w1.clone());
        assert!(wheel.update_waker(key, &w1), "same waker: no-op");
        assert!(wheel.update_waker(key, &w2));
        assert_eq!(fire(&mut wheel, origin + ms(5), &log), vec![2]);
        assert_eq!(h1.count.load(Ordering::SeqCst), 0);
        assert_eq!(h2.count.load(Ordering::SeqCst), 1);
        assert!(!wheel.update_waker(key, &w1));
    }

    /// Deadlines that land on levels 1 through 5 (and the level they land on
    /// when inserted at tick 0).
    fn cascade_plan(origin: Instant) -> Vec<(Instant, usize)> {
        vec![
            (origin + ms(70), 1),
            (origin + Duration::from_secs(5), 2),
            (origin + Duration::from_secs(5 * 60), 3),
            (origin + Duration::from_secs(5 * 3600), 4),
            (origin + Duration::from_secs(10 * 86400) + US * 250, 4),
            (origin + Duration::from_secs(30 * 86400), 5),
        ]
    }

    #[test]
    fn cascade_lands_on_expected_levels() {
        let origin = Instant::now();
        let log = Arc::default();
        for (deadline, level) in cascade_plan(origin) {
            let mut wheel = Wheel::new(origin);
            wheel.insert(deadline, waker(0, &log).0);
            for (l, &occ) in wheel.occupied.iter().enumerate() {
                assert_eq!(occ != 0, l == level, "deadline {deadline:?}");
            }
        }
    }

    #[test]
    fn cascade_stepwise() {
        let origin = Instant::now();
        let log = Arc::default();
        let mut wheel = Wheel::new(origin);
        let plan = cascade_plan(origin);
        let handles: Vec<_> = plan
            .iter()
            .enumerate()
            .map(|(id, &(deadline, _))| {
                let (w, h) = waker(id, &log);
                wheel.insert(deadline, w);
                h
            })
            .collect();
        // Check points around each deadline, plus regular steps in between.
        let mut points = Vec::new();
        for &(deadline, _) in &plan {
            points.extend([deadline - ms(1), deadline - US, deadline, deadline + ms(1)]);
        }
        let mut t = origin;
        while t < plan.last().unwrap().0 + ms(10) {
            points.push(t);
            let step = (t - origin) / 7 + US * 333;
            t += step;
        }
        points.sort();
        for now in points {
            let fired = fire(&mut wheel, now, &log);
            for id in fired {
                let deadline = plan[id].0;
                assert!(deadline <= now, "fired early");
                assert!(now <= deadline + ms(1), "fired late");
            }
            for (id, h) in handles.iter().enumerate() {
                let expected = usize::from(plan[id].0 <= now);
                assert_eq!(h.count.load(Ordering::SeqCst), expected, "id {id} at {now:?}");
            }
        }
        assert!(wheel.is_empty());
    }

    #[test]
    fn cascade_next_deadline_driven() {
        let origin = Instant::now();
        let log = Arc::default();
        let mut wheel = Wheel::new(origin);
        let plan = cascade_plan(origin);
        for (id, &(deadline, _)) in plan.iter().enumerate() {
            wheel.insert(deadline, waker(id, &log).0);
        }
        let mut order = Vec::new();
        let mut calls = 0;
        while let Some(next) = wheel.next_deadline() {
            calls += 1;
            assert!(calls < 100, "no progress");
            for id in fire(&mut wheel, next, &log) {
                assert!(plan[id].0 <= next);
                // Driven by next_deadline, entries fire exactly on time.
                assert_eq!(plan[id].0, next);
                order.push(id);
            }
        }
        assert_eq!(order, (0..plan.len()).collect::<Vec<_>>());
    }

    #[test]
    fn cascade_one_big_jump() {
        let origin = Instant::now();
        let log = Arc::default();
        let mut wheel = Wheel::new(origin);
        let plan = cascade_plan(origin);
        let handles: Vec<_> = plan
            .iter()
            .enumerate()
            .rev()
            .map(|(id, &(deadline, _))| {
                let (w, h) = waker(id, &log);
                wheel.insert(deadline, w);
                h
            })
            .collect();
        let last = plan.last().unwrap().0;
        assert!(fire(&mut wheel, last - US, &log).len() == plan.len() - 1);
        assert_eq!(wheel.len(), 1);
        assert_eq!(fire(&mut wheel, last + ms(1), &log), vec![plan.len() - 1]);
        for h in &handles {
            assert_eq!(h.count.load(Ordering::SeqCst), 1);
        }

        let mut wheel = Wheel::new(origin);
        for (id, &(deadline, _)) in plan.iter().enumerate().rev() {
            wheel.insert(deadline, waker(id, &log).0);
        }
        let fired = fire(&mut wheel, origin + Duration::from_secs(40 * 86400), &log);
        assert_eq!(fired, (0..plan.len()).collect::<Vec<_>>());
        assert!(wheel.is_empty());
    }

    #[test]
    fn overflow_stays_pending_until_due() {
        let origin = Instant::now();
        let log = Arc::default();
        let mut wheel = Wheel::new(origin);
        let year = Duration::from_secs(365 * 86400);
        let far = origin + year * 100;
        let (w, h) = waker(1, &log);
        let key = wheel.insert(far, w);
        assert_eq!(wheel.lists[OVERFLOW as usize].head, key.index);
        assert!(wheel.next_deadline().unwrap() <= far);
        wheel.insert(origin + ms(5), waker(2, &log).0);
        assert_eq!(fire(&mut wheel, origin + year * 3, &log), vec![2]);
        assert_eq!(wheel.len(), 1);
        assert!(fire(&mut wheel, origin + year * 50, &log).is_empty());
        assert!(fire(&mut wheel, far - US, &log).is_empty());
        assert_eq!(h.count.load(Ordering::SeqCst), 0);
        let nd = wheel.next_deadline().unwrap();
        assert!(nd <= far && nd > far - US);
        assert_eq!(fire(&mut wheel, far, &log), vec![1]);
        assert!(wheel.is_empty());
    }

    #[test]
    fn extreme_deadlines_do_not_panic() {
        let origin = Instant::now();
        let log = Arc::default();
        let mut wheel = Wheel::new(origin);
        let huge = [1u64 << 40, 1 << 55, 1 << 61]
            .iter()
            .filter_map(|&s| origin.checked_add(Duration::from_secs(s)))
            .collect::<Vec<_>>();
        for (id, &d) in huge.iter().enumerate() {
            wheel.insert(d, waker(id, &log).0);
            // Nothing to wake up for within 584 years.
            assert!(wheel.next_deadline().unwrap() > origin + Duration::from_secs(584 * 365 * 86_400));
        }
        assert!(fire(&mut wheel, origin + Duration::from_secs(1 << 30), &log).is_empty());
        // A deadline within 584 years fires exactly on time alongside them.
        let near = origin + Duration::from_secs(1 << 33);
        wheel.insert(near, waker(99, &log).0);
        assert!(fire(&mut wheel, near - US, &log).is_empty());
        assert_eq!(wheel.next_deadline().unwrap(), near);
        assert_eq!(fire(&mut wheel, near, &log), vec![99]);
        // Deadlines beyond 2^64 ns after the origin never fire, not even at
        // their own instant (never early), and stay removable.
        for &d in &huge {
            assert!(fire(&mut wheel, d, &log).is_empty());
            assert!(wheel.next_deadline().unwrap() > near);
        }
        assert_eq!(wheel.len(), huge.len());
    }

    #[test]
    fn next_deadline_is_never_late_and_makes_progress() {
        let origin = Instant::now();
        let log = Arc::default();
        let mut wheel = Wheel::new(origin);
        assert_eq!(wheel.next_deadline(), None);
        let d1 = origin + ms(3) + US * 100;
        wheel.insert(d1, waker(1, &log).0);
        let nd = wheel.next_deadline().unwrap();
        assert!(nd <= d1 && nd > origin + ms(3));
        let d0 = origin + ms(1);
        wheel.insert(d0, waker(0, &log).0);
        assert!(wheel.next_deadline().unwrap() <= d0);
        // Processing at the returned instant moves the entry to the current
        // tick, after which the exact deadline is reported.
        assert!(fire(&mut wheel, origin + ms(3) + US, &log) == vec![0]);
        assert_eq!(wheel.next_deadline(), Some(d1));
        assert_eq!(fire(&mut wheel, d1, &log), vec![1]);
        // A due entry reports a time <= now.
        let now = origin + ms(10);
        wheel.insert(origin + ms(9), waker(2, &log).0);
        assert!(wheel.next_deadline().unwrap() <= now);
        // A large-level entry reports its slot's cascade point.
        let mut wheel = Wheel::new(origin);
        let far = origin + Duration::from_secs(5 * 3600);
        wheel.insert(far, waker(3, &log).0);
        let nd = wheel.next_deadline().unwrap();
        assert!(nd <= far);
    }

    /// Minimal xorshift64* generator.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn sequence_numbers_wrap_without_breaking_order_or_staleness() {
        let origin = Instant::now();
        let log = Arc::default();
        let mut wheel = Wheel::new(origin);
        wheel.next_seq = u32::MAX - 1;
        let keys: Vec<_> = (0..4).map(|i| wheel.insert(origin + ms(3), waker(i, &log).0)).collect();
        assert_eq!(wheel.next_seq, 2, "the counter wrapped");
        assert_eq!(fire(&mut wheel, origin + ms(3), &log), vec![0, 1, 2, 3], "insertion order across the wrap");
        // The slots are reused (LIFO free list) by new entries: the old keys
        // stay stale, the new ones live.
        let fresh: Vec<_> = (4..8).map(|i| wheel.insert(origin + ms(9), waker(i, &log).0)).collect();
        for key in &keys {
            assert!(!wheel.remove(*key));
            assert!(!wheel.update_waker(*key, &waker(0, &log).0));
        }
        assert_eq!(wheel.len(), 4);
        assert!(wheel.remove(fresh[2]));
        assert_eq!(fire(&mut wheel, origin + ms(9), &log), vec![4, 5, 7]);
    }

    #[test]
    fn slab_grows_one_chunk_at_a_time_and_reuses_slots() {
        let origin = Instant::now();
        let log = Arc::default();
        let mut wheel = Wheel::new(origin);
        let n = 3 * CHUNK + 1;
        let keys: Vec<_> = (0..n).map(|i| wheel.insert(origin + ms(1 + i as u64 % 200), waker(i, &log).0)).collect();
        assert_eq!(wheel.chunks.len(), 4);
        assert!(wheel.chunks.iter().all(|c| c.capacity() == CHUNK), "no doubling: fixed chunks");
        for key in keys.iter().step_by(2) {
            assert!(wheel.remove(*key));
        }
        // Refilling the freed half creates no chunk.
        for i in 0..n.div_ceil(2) {
            wheel.insert(origin + ms(500), waker(n + i, &log).0);
        }
        assert_eq!(wheel.chunks.len(), 4);
        assert_eq!(wheel.len(), n);
        let fired = fire(&mut wheel, origin + ms(500), &log);
        assert_eq!(fired.len(), n);
        let mut survivors: Vec<usize> = (0..n).skip(1).step_by(2).collect();
        survivors.sort_by_key(|&i| (i % 200, i));
        assert_eq!(&fired[..survivors.len()], &survivors[..], "by deadline, then insertion order");
        assert!(wheel.is_empty());
    }

    #[test]
    fn randomized_against_btreemap_model() {
        let origin = Instant::now();
        let log = Arc::default();
        let mut wheel = Wheel::new(origin);
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut now = origin;
        // (deadline, seq) -> id
        let mut model: BTreeMap<(Instant, u64), usize> = BTreeMap::new();
        // Live timers: (key, model key).
        let mut live: Vec<(TimerKey, (Instant, u64))> = Vec::new();
        let mut stale: Vec<TimerKey> = Vec::new();
        let mut next_id = 0;
        let mut seq = 0;
        let (mut inserts, mut removes, mut processes) = (0, 0, 0);

        for _ in 0..10_000 {
            match rng.below(20) {
                0..=8 => {
                    inserts += 1;
                    let r = rng.below(100);
                    let deadline = if r < 5 {
                        now.checked_sub(Duration::from_nanos(rng.below(10_000_000))).unwrap_or(now)
                    } else {
                        let max_ns: u64 = match r {
                            5..=59 => 5_000_000,
                            60..=84 => 500_000_000,
                            85..=94 => 600_000_000_000,
                            _ => 3 * 365 * 86_400_000_000_000,
                        };
                        now + Duration::from_nanos(rng.below(max_ns))
                    };
                    let id = next_id;
                    next_id += 1;
                    let key = wheel.insert(deadline, waker(id, &log).0);
                    model.insert((deadline, seq), id);
                    live.push((key, (deadline, seq)));
                    seq += 1;
                }
                9..=11 => {
                    if !live.is_empty() {
                        removes += 1;
                        let i = rng.below(live.len() as u64) as usize;
                        let (key, mk) = live.swap_remove(i);
                        assert!(wheel.remove(key));
                        model.remove(&mk).unwrap();
                        stale.push(key);
                    }
                }
                12 => {
                    if !live.is_empty() {
                        let i = rng.below(live.len() as u64) as usize;
                        let id = next_id;
                        next_id += 1;
                        assert!(wheel.update_waker(live[i].0, &waker(id, &log).0));
                        *model.get_mut(&live[i].1).unwrap() = id;
                    }
                }
                13 => {
                    if !stale.is_empty() {
                        let i = rng.below(stale.len() as u64) as usize;
                        assert!(!wheel.remove(stale[i]));
                        assert!(!wheel.update_waker(stale[i], &waker(0, &log).0));
                    }
                }
                _ => {
                    processes += 1;
                    let r = rng.below(100);
                    let max_ns: u64 = match r {
                        0..=69 => 2_000_000,
                        70..=89 => 100_000_000,
                        90..=97 => 3_600_000_000_000,
                        _ => 365 * 86_400_000_000_000,
                    };
                    now += Duration::from_nanos(rng.below(max_ns));
                    let fired = fire(&mut wheel, now, &log);
                    let mut expected = Vec::new();
                    while let Some(entry) = model.first_entry() {
                        if entry.key().0 > now {
                            break;
                        }
                        let mk = *entry.key();
                        expected.push(entry.remove());
                        let pos = live.iter().position(|l| l.1 == mk).unwrap();
                        stale.push(live.swap_remove(pos).0);
                    }
                    assert_eq!(fired, expected);
                    // After processing, the wheel must want to run later.
                    if let Some(nd) = wheel.next_deadline() {
                        assert!(nd > now);
                    }
                }
            }
            assert_eq!(wheel.len(), model.len());
            assert_eq!(wheel.is_empty(), model.is_empty());
            match (wheel.next_deadline(), model.keys().next()) {
                (None, None) => {}
                (Some(nd), Some(&(min, _))) => assert!(nd <= min, "next_deadline late"),
                other => panic!("next_deadline mismatch: {other:?}"),
            }
        }
        assert!(inserts > 3000 && removes > 1000 && processes > 1000);

        // Drain everything.
        let expected: Vec<usize> = model.values().copied().collect();
        let fired = fire(&mut wheel, now + Duration::from_secs(10 * 365 * 86400), &log);
        assert_eq!(fired, expected);
        assert!(wheel.is_empty());
        assert_eq!(wheel.next_deadline(), None);
    }
}
