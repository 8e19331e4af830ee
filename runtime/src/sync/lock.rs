//! [`Lock`]: asyncio's `Lock` (CPython 3.13 `locks.py`).
//!
//! CPython's algorithm, followed line by line:
//!
//! * `acquire()`: if the lock is free and every queued waiter is cancelled
//!   (or none is queued), take it without suspending. Otherwise queue a
//!   waiter and wait; on a wake-up take the lock. A cancellation while
//!   waiting removes the waiter and, if the lock is free, wakes the head
//!   (so a woken-then-cancelled waiter passes its wake-up on).
//! * `release()`: unlock, then wake the **head** waiter if it is still
//!   pending. There is no hand-over: between `release()` and the woken task
//!   running, `locked()` is false, but newcomers queue behind the woken head
//!   (its waiter is done, not cancelled).
//! * No owner: any task may release; not reentrant.
//!
//! Not in asyncio: a [`LockGuard`] releases the hold it took, and only
//! that one. Each acquisition is a new hold; if the lock was released by
//! hand and taken again since (by anyone), dropping the guard leaves the
//! new hold alone. This matters when a future is dropped mid-way (an
//! aborted task): a `Condition::wait` dropped while it waits does not hold
//! the lock, and the guard of the enclosing `async with` must not release
//! someone else's hold. `Condition::wait` re-acquires as the same hold.

use super::waiter::{self, Node, WaitPhase, Waited};
use crate::error::{Error, Result};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

struct State {
    locked: bool,
    /// The current (or last) hold: incremented by every acquisition.
    hold: u64,
    waiters: VecDeque<Arc<Node>>,
}

struct Inner {
    state: Mutex<State>,
}

/// A mutual-exclusion lock for tasks (asyncio `Lock`): FIFO, cancellation
/// aware, usable from every worker. A handle: clones share the lock.
///
/// `acquire().await` gives a [`LockGuard`]; dropping the guard releases
/// (the Rust form of `async with lock:`).
///
/// ```
/// use ravel::sync::Lock;
///
/// ravel::run(async {
///     let lock = Lock::new();
///     let guard = lock.acquire().await?;
///     assert!(lock.locked());
///     drop(guard);
///     assert!(!lock.locked());
///     Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Clone)]
pub struct Lock {
    inner: Arc<Inner>,
}

impl Default for Lock {
    fn default() -> Self {
        Lock::new()
    }
}

impl Lock {
    /// An unlocked lock.
    pub fn new() -> Lock {
        Lock {
            inner: Arc::new(Inner { state: Mutex::new(State { locked: false, hold: 0, waiters: VecDeque::new() }) }),
        }
    }

    /// True while the lock is held.
    pub fn locked(&self) -> bool {
        self.inner.state.lock().locked
    }

    /// Waits for the lock and takes it (asyncio `acquire()`). A free lock
    /// is taken without suspending. A cancellation delivery point: a
    /// cancelled waiter never holds the lock, and passes a wake-up it got on.
    ///
    /// ```
    /// use ravel::sync::Lock;
    ///
    /// ravel::run(async {
    ///     let lock = Lock::new();
    ///     let held = lock.acquire().await?;
    ///     let l = lock.clone();
    ///     let waiter = ravel::spawn(async move {
    ///         let _guard = l.acquire().await?;
    ///         Ok("got it")
    ///     });
    ///     ravel::yield_now().await?;
    ///     drop(held); // wakes the waiter
    ///     assert_eq!(waiter.await?, "got it");
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn acquire(&self) -> Acquire {
        Acquire { lock: self.clone(), phase: WaitPhase::default() }
    }

    /// Takes the lock if it is free and nobody is queued for it (not in
    /// asyncio, whose uncontended `acquire()` is this plus an await).
    ///
    /// ```
    /// let lock = ravel::sync::Lock::new();
    /// let guard = lock.try_acquire().expect("free");
    /// assert!(lock.try_acquire().is_none());
    /// drop(guard);
    /// ```
    pub fn try_acquire(&self) -> Option<LockGuard> {
        let mut st = self.inner.state.lock();
        Self::take_if_free(&mut st).map(|hold| LockGuard { lock: Some(self.clone()), hold })
    }

    /// Releases the lock (asyncio `release()`), whoever holds it; an
    /// invalid-state error "Lock is not acquired." if it is free. Dropping
    /// a [`LockGuard`] does this for the hold it took; call it directly
    /// for a lock taken with [`LockGuard::forget`].
    ///
    /// ```
    /// let lock = ravel::sync::Lock::new();
    /// assert!(lock.release().unwrap_err().is_invalid_state());
    /// ```
    pub fn release(&self) -> Result<()> {
        let mut st = self.inner.state.lock();
        if !st.locked {
            return Err(Error::invalid_state("Lock is not acquired."));
        }
        st.locked = false;
        Self::wake_up_first(&st);
        Ok(())
    }

    /// The fast path of `acquire()`: free, and every queued waiter
    /// cancelled. The new hold, if taken.
    fn take_if_free(st: &mut State) -> Option<u64> {
        if !st.locked && st.waiters.iter().all(|w| w.cancelled()) {
            Some(Self::take(st))
        } else {
            None
        }
    }

    /// Takes the lock: a new hold.
    fn take(st: &mut State) -> u64 {
        st.locked = true;
        st.hold = st.hold.wrapping_add(1);
        st.hold
    }

    /// A guard's release: only the hold it took.
    fn release_hold(&self, hold: u64) {
        let mut st = self.inner.state.lock();
        if st.locked && st.hold == hold {
            st.locked = false;
            Self::wake_up_first(&st);
        }
    }

    /// The current hold (the lock is held); `Condition::wait` keeps it to
    /// re-acquire as the same hold.
    pub(super) fn current_hold(&self) -> u64 {
        self.inner.state.lock().hold
    }

    /// `guard`'s acquisition continues the earlier hold `hold` (for
    /// `Condition::wait`, whose caller's guard holds `hold`); the lock
    /// stays held, without a guard of its own.
    pub(super) fn resume_hold(&self, mut guard: LockGuard, hold: u64) {
        guard.lock = None;
        let mut st = self.inner.state.lock();
        if st.locked && st.hold == guard.hold {
            st.hold = hold;
        }
    }

    /// `_wake_up_first`: only the head, and only if it is still pending.
    fn wake_up_first(st: &State) {
        if let Some(head) = st.waiters.front() {
            head.wake();
        }
    }

    /// A waiter leaves (its `finally`); `taking`: it was woken and takes
    /// the lock (the new hold is returned). Otherwise (cancelled or
    /// dropped) a free lock's head is woken, so no wake-up is lost.
    fn leave(&self, node: &Arc<Node>, taking: bool) -> Option<u64> {
        let mut st = self.inner.state.lock();
        waiter::remove(&mut st.waiters, node);
        if taking {
            return Some(Self::take(&mut st));
        }
        if !st.locked {
            Self::wake_up_first(&st);
        }
        None
    }

    /// Waiters queued (asyncio `len(_waiters)`: woken ones that have not
    /// run yet are included).
    pub fn waiters(&self) -> usize {
        self.inner.state.lock().waiters.len()
    }
}

impl fmt::Debug for Lock {
    /// As asyncio's repr: `<Lock [locked, waiters:1]>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.state.lock();
        let mut s = String::from(if st.locked { "locked" } else { "unlocked" });
        if !st.waiters.is_empty() {
            s.push_str(&format!(", waiters:{}", st.waiters.len()));
        }
        write!(f, "<Lock [{s}]>")
    }
}

/// The future returned by [`Lock::acquire`].
#[must_use = "futures do nothing unless polled"]
pub struct Acquire {
    lock: Lock,
    phase: WaitPhase,
}

impl Future for Acquire {
    type Output = Result<LockGuard>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<LockGuard>> {
        let this = &mut *self;
        let lock = &this.lock;
        let waited = std::task::ready!(this.phase.poll(cx, || {
            let mut st = lock.inner.state.lock();
            if let Some(hold) = Lock::take_if_free(&mut st) {
                return Ok(hold);
            }
            let node = Node::new("Lock.acquire");
            st.waiters.push_back(node.clone());
            Err(node)
        }));
        let guard = |hold| LockGuard { lock: Some(lock.clone()), hold };
        Poll::Ready(match waited {
            Err(e) => Err(e),
            Ok(Waited::Fast(hold)) => Ok(guard(hold)),
            Ok(Waited::Node(node, out)) => {
                let hold = lock.leave(&node, out.is_ok());
                out.map(|()| guard(hold.expect("a woken waiter takes the lock")))
            }
        })
    }
}

impl Drop for Acquire {
    /// Dropped while waiting (a lost `select!` branch, an abort): leave the
    /// queue; a wake-up we had been given goes to the next waiter.
    fn drop(&mut self) {
        if let Some(node) = self.phase.abandon() {
            self.lock.leave(&node, false);
        }
    }
}

impl fmt::Debug for Acquire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire").finish_non_exhaustive()
    }
}

/// Holds a [`Lock`]; dropping it releases the lock, unless that hold
/// already ended: if the lock was released by hand (and maybe taken again
/// since, by anyone), dropping the guard changes nothing. `Send`, and
/// `'static`, so a task may hand it to another.
///
/// ```
/// let lock = ravel::sync::Lock::new();
/// let guard = lock.try_acquire().unwrap();
/// lock.release().unwrap(); // by hand: the guard's hold ends
/// let other = lock.try_acquire().unwrap(); // a new hold
/// drop(guard); // not the guard's hold: still locked
/// assert!(lock.locked());
/// drop(other);
/// assert!(!lock.locked());
/// ```
#[must_use = "dropping the guard releases the lock at once"]
pub struct LockGuard {
    lock: Option<Lock>,
    /// The hold this guard took.
    hold: u64,
}

impl LockGuard {
    /// Keeps the lock held without a guard (release it later with
    /// [`Lock::release`], as asyncio code does by hand).
    ///
    /// ```
    /// let lock = ravel::sync::Lock::new();
    /// lock.try_acquire().unwrap().forget();
    /// assert!(lock.locked());
    /// lock.release().unwrap();
    /// ```
    pub fn forget(mut self) {
        self.lock = None;
    }

    /// The lock this guard holds.
    pub fn lock(&self) -> &Lock {
        self.lock.as_ref().expect("a live guard holds its lock")
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Some(lock) = self.lock.take() {
            // Released by hand meanwhile (asyncio allows any task to
            // release), maybe taken again since: nothing of ours to release.
            lock.release_hold(self.hold);
        }
    }
}

impl fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard").finish_non_exhaustive()
    }
}
