//! The LIFO slot: the task a worker's running task woke or spawned last,
//! run next by that worker, and stealable by the others once it has sat
//! there for a whole search.
//!
//! # Why it is stealable
//!
//! The slot makes message passing fast: a task that wakes another hands
//! it the worker's next turn, with its data still in the cache. But a task
//! in the slot waits for the current poll on its worker to end. When that
//! poll is long (a blocking call, a CPU-heavy step), a slot the others
//! cannot reach holds its task back while they idle (Tokio's
//! tokio-rs/tokio#4941). Tokio 1.51 made its slot stealable on every
//! steal, and reverted it (#8065, #8100): idle workers took tasks out of
//! busy workers' slots within nanoseconds, breaking up exactly the
//! ping-pong the slot is for. Go's scheduler steals its `runnext` only on
//! the last of its stealing passes, after giving the owner a moment.
//!
//! Ravel does as Go: a searching worker notes each victim's slot halfway
//! through its search ([`SEARCH_ROUNDS`](super::worker) rounds with short
//! spins) and, in its last round, takes a victim's slot only if the *same*
//! task is still in it. A task is therefore stolen only after sitting in
//! the slot for half a search at least, while its owner was in one poll
//! the whole time; a slot its owner empties within that window (the
//! ping-pong case) is never touched.
//!
//! # Protocol
//!
//! One `AtomicPtr` per worker, null when empty; a non-null pointer *is* a
//! counted task reference (`RawTask::into_ptr`).
//!
//! | operation | who | how |
//! | --- | --- | --- |
//! | `push` | the owner | a `Relaxed` load; if empty, `store(new, Release)` (only the owner ever fills the slot, so it stays empty until then); else `swap(new, AcqRel)`, and the previous occupant goes back to the owner |
//! | `take` | the owner | a `Relaxed` load; if non-null, `swap(null, Acquire)` |
//! | `peek` | a stealer | a `Relaxed` load of the address only (never dereferenced) |
//! | `steal_if(seen)` | a stealer | `compare_exchange(seen, null, Acquire, Relaxed)` |
//!
//! - **Exactly one remover per reference.** Every removal (`swap` or a
//!   successful `compare_exchange`) replaces the pointer atomically, so a
//!   reference leaves the slot once, to one thread. Stealers only ever
//!   empty the slot, which is why the owner may fill an empty one with a
//!   store.
//! - **Why these orderings.** The `Release` half of `push` publishes the
//!   task (its header and queue state) to the thread that removes it; a
//!   stealer's `Acquire` on success, or the owner's on `take`, pairs with it.
//!   `peek` is a heuristic on an address: a stale or reused address at
//!   worst makes `steal_if` fail, or steal a different task that also sat
//!   in the slot, which is still a valid reference to run.
//! - **Cost to the owner**: one uncontended swap per non-empty take and
//!   per push over an occupant; a push into an empty slot is a plain store
//!   (a plain `Cell` before). Stealers read the slot twice per search, so
//!   its cache line stays with the owner.
//!
//! The loom models at the end check push/take against a stealer's
//! peek/steal: no reference lost, none removed twice.

use crate::shim::AtomicPtr;
use crate::task::raw::{Header, RawTask};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};

/// What a slot holds: an owned value that can travel as a bare pointer.
pub(crate) trait SlotItem {
    fn into_ptr(self) -> NonNull<Header>;
    /// # Safety
    /// `ptr` came from `into_ptr` and is taken back once.
    unsafe fn from_ptr(ptr: NonNull<Header>) -> Self;
}

impl SlotItem for RawTask {
    fn into_ptr(self) -> NonNull<Header> {
        RawTask::into_ptr(self)
    }

    unsafe fn from_ptr(ptr: NonNull<Header>) -> Self {
        // SAFETY: forwarded from the caller: `ptr` is a reference given up
        // by `into_ptr`, removed from the slot by this thread alone.
        unsafe { RawTask::from_ptr(ptr) }
    }
}

/// A stealer's note of what a slot held: an address to compare, never to
/// dereference.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Seen(*mut Header);

impl Seen {
    pub(crate) const NOTHING: Seen = Seen(ptr::null_mut());

    pub(crate) fn is_something(self) -> bool {
        !self.0.is_null()
    }
}

/// One worker's LIFO slot.
pub(crate) struct LifoSlot<T: SlotItem = RawTask> {
    ptr: AtomicPtr<Header>,
    _owns: PhantomData<T>,
}

// SAFETY: the slot moves owned `T`s between threads through an atomic, and
// every `T` stored is `Send` (a task reference is; the models' boxes are).
unsafe impl<T: SlotItem + Send> Send for LifoSlot<T> {}
// SAFETY: as above: every `&self` method is an atomic operation that
// either leaves ownership in the slot or moves it to exactly one caller.
unsafe impl<T: SlotItem + Send> Sync for LifoSlot<T> {}

impl<T: SlotItem> LifoSlot<T> {
    pub(crate) fn new() -> Self {
        LifoSlot { ptr: AtomicPtr::new(ptr::null_mut()), _owns: PhantomData }
    }

    /// The owner puts `item` in the slot; returns the previous occupant.
    pub(crate) fn push(&self, item: T) -> Option<T> {
        let new = item.into_ptr().as_ptr();
        // Only the owner puts tasks in, so a slot it sees empty stays empty
        // until it stores: no read-modify-write needed then.
        if self.ptr.load(Relaxed).is_null() {
            self.ptr.store(new, Release);
            return None;
        }
        let prev = self.ptr.swap(new, AcqRel);
        // SAFETY: a non-null pointer in the slot is a reference from
        // `into_ptr`; the swap removed it, so this thread alone owns it.
        NonNull::new(prev).map(|p| unsafe { T::from_ptr(p) })
    }

    /// The owner takes the occupant (none if a stealer got there first).
    #[inline]
    pub(crate) fn take(&self) -> Option<T> {
        if self.ptr.load(Relaxed).is_null() {
            return None;
        }
        let prev = self.ptr.swap(ptr::null_mut(), Acquire);
        // SAFETY: as in `push`: the swap removed the reference.
        NonNull::new(prev).map(|p| unsafe { T::from_ptr(p) })
    }

    /// A stealer notes what the slot holds now.
    pub(crate) fn peek(&self) -> Seen {
        Seen(self.ptr.load(Relaxed))
    }

    /// A stealer takes the occupant only if it is still the one it `seen`
    /// earlier (it has sat in the slot since).
    pub(crate) fn steal_if(&self, seen: Seen) -> Option<T> {
        if !seen.is_something() {
            return None;
        }
        match self.ptr.compare_exchange(seen.0, ptr::null_mut(), Acquire, Relaxed) {
            // SAFETY: the exchange removed the reference; this thread owns it.
            Ok(p) => NonNull::new(p).map(|p| unsafe { T::from_ptr(p) }),
            Err(_) => None,
        }
    }
}

impl<T: SlotItem> Drop for LifoSlot<T> {
    fn drop(&mut self) {
        // `&mut self`: no other thread can reach the slot, so the reference
        // in it (one left by a worker that did not drain) is ours to drop.
        drop(self.take());
    }
}

/// A counted stand-in for a task reference in the tests and models: a
/// box whose payload counts its drops.
#[cfg(test)]
mod test_item {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    pub(super) struct Counted(pub(super) u32, Arc<AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.1.fetch_add(1, Relaxed);
        }
    }

    pub(super) type Item = Box<Counted>;

    pub(super) fn item(n: u32, drops: &Arc<AtomicUsize>) -> Item {
        Box::new(Counted(n, drops.clone()))
    }

    impl SlotItem for Item {
        fn into_ptr(self) -> NonNull<Header> {
            NonNull::from(Box::leak(self)).cast()
        }

        unsafe fn from_ptr(ptr: NonNull<Header>) -> Self {
            // SAFETY: `ptr` came from `into_ptr`'s `Box::leak`, taken back once.
            unsafe { Box::from_raw(ptr.cast::<Counted>().as_ptr()) }
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! The bug these guard: a slot where a steal and the owner's take both
    //! get the same task runs it twice (and frees it twice); one where a
    //! push overwrites a task a stealer is taking loses it.
    use super::test_item::{item, Item};
    use super::*;
    use loom::thread;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    /// The owner pushes A then B (A comes back to it) and takes; a stealer
    /// that saw a task steals it only if it is still there. Every item
    /// ends with exactly one thread.
    #[test]
    fn loom_lifo_push_vs_steal_vs_take_no_loss_no_double() {
        loom::model(|| {
            let drops = Arc::new(AtomicUsize::new(0));
            let slot = loom::sync::Arc::new(LifoSlot::<Item>::new());
            let s2 = slot.clone();
            let stealer = thread::spawn(move || {
                let seen = s2.peek();
                s2.steal_if(seen).map(|i| i.0)
            });
            let mut owned = Vec::new();
            owned.extend(slot.push(item(1, &drops)).map(|i| i.0));
            owned.extend(slot.push(item(2, &drops)).map(|i| i.0));
            owned.extend(slot.take().map(|i| i.0));
            owned.extend(stealer.join().unwrap());
            owned.sort();
            assert_eq!(owned, [1, 2], "each pushed item reaches exactly one thread");
            drop(slot);
            assert_eq!(drops.load(Relaxed), 2);
        });
    }

    /// A steal of a task the owner took and replaced by another (the ABA
    /// case): the stealer takes the new occupant or nothing, and the
    /// owner's later take never returns what the stealer got.
    #[test]
    fn loom_lifo_steal_after_owner_replaced_the_seen_task() {
        loom::model(|| {
            let drops = Arc::new(AtomicUsize::new(0));
            let slot = loom::sync::Arc::new(LifoSlot::<Item>::new());
            assert!(slot.push(item(1, &drops)).is_none());
            let seen = slot.peek();
            let s2 = slot.clone();
            let stealer = thread::spawn(move || s2.steal_if(seen).map(|i| i.0));
            let mut owned = Vec::new();
            owned.extend(slot.take().map(|i| i.0));
            owned.extend(slot.push(item(2, &drops)).map(|i| i.0));
            owned.extend(slot.take().map(|i| i.0));
            owned.extend(stealer.join().unwrap());
            owned.sort();
            assert_eq!(owned, [1, 2]);
            drop(slot);
            assert_eq!(drops.load(Relaxed), 2);
        });
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::test_item::{item, Item};
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Release};
    use std::sync::Arc;

    /// Owner and stealer on two threads, many times: every item pushed is
    /// removed exactly once (by take, push's hand-back, a steal or the
    /// slot's drop) and dropped exactly once.
    #[test]
    fn lifo_slot_owner_and_stealer_threads_lose_nothing() {
        const ITEMS: u32 = 20_000;
        let drops = Arc::new(AtomicUsize::new(0));
        let slot = Arc::new(LifoSlot::<Item>::new());
        let done = Arc::new(AtomicBool::new(false));
        let stealer = {
            let (slot, done) = (slot.clone(), done.clone());
            std::thread::spawn(move || {
                let mut got = Vec::new();
                while !done.load(Acquire) {
                    let seen = slot.peek();
                    std::hint::spin_loop();
                    got.extend(slot.steal_if(seen).map(|i| i.0));
                }
                got
            })
        };
        let mut got = Vec::new();
        for n in 0..ITEMS {
            got.extend(slot.push(item(n, &drops)).map(|i| i.0));
            if n % 3 == 0 {
                got.extend(slot.take().map(|i| i.0));
            }
        }
        done.store(true, Release);
        got.extend(stealer.join().unwrap());
        got.extend(slot.take().map(|i| i.0));
        got.sort_unstable();
        assert_eq!(got, (0..ITEMS).collect::<Vec<_>>());
        drop(slot);
        assert_eq!(drops.load(Relaxed), ITEMS as usize);
    }

    #[test]
    fn lifo_slot_steal_if_needs_the_same_occupant() {
        let drops = Arc::new(AtomicUsize::new(0));
        let slot = LifoSlot::<Item>::new();
        assert_eq!(slot.peek(), Seen::NOTHING);
        assert!(slot.steal_if(Seen::NOTHING).is_none());
        assert!(slot.push(item(1, &drops)).is_none());
        let seen = slot.peek();
        let back = slot.push(item(2, &drops)).unwrap();
        assert_eq!(back.0, 1);
        // The slot now holds 2; the stealer saw 1 (its box is still alive
        // in `back`, so the address cannot have been reused): no steal.
        assert!(slot.steal_if(seen).is_none());
        let seen = slot.peek();
        assert_eq!(slot.steal_if(seen).map(|i| i.0), Some(2));
        assert!(slot.take().is_none());
        drop(back);
        assert_eq!(drops.load(Relaxed), 2);
        // One left in the slot is dropped with it.
        let slot = LifoSlot::<Item>::new();
        assert!(slot.push(item(3, &drops)).is_none());
        drop(slot);
        assert_eq!(drops.load(Relaxed), 3);
    }
}
