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
        Lock { inner: Arc::new(Inner { state: Mutex::new(State { locked: false, waiters: VecDeque::new() }) }) }
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
        Self::take_if_free(&mut st).then(|| LockGuard { lock: Some(self.clone()) })
    }

    /// Releases the lock (asyncio `release()`), whoever holds it; an
    /// invalid-state error "Lock is not acquired." if it is free. Dropping
    /// a [`LockGuard`] does this; call it directly only for a lock taken
    /// with [`LockGuard::forget`].
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

    /// The fast path of `acquire()`: free, and every queued waiter cancelled.
    fn take_if_free(st: &mut State) -> bool {
        if !st.locked && st.waiters.iter().all(|w| w.cancelled()) {
            st.locked = true;
            true
        } else {
            false
        }
    }

    /// `_wake_up_first`: only the head, and only if it is still pending.
    fn wake_up_first(st: &State) {
        if let Some(head) = st.waiters.front() {
            head.wake();
        }
    }

    /// A waiter leaves (its `finally`); `taking`: it was woken and takes
    /// the lock. Otherwise (cancelled or dropped) a free lock's head is
    /// woken, so no wake-up is lost.
    fn leave(&self, node: &Arc<Node>, taking: bool) {
        let mut st = self.inner.state.lock();
        waiter::remove(&mut st.waiters, node);
        if taking {
            st.locked = true;
        } else if !st.locked {
            Self::wake_up_first(&st);
        }
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
            if Lock::take_if_free(&mut st) {
                return Ok(());
            }
            let node = Node::new();
            st.waiters.push_back(node.clone());
            Err(node)
        }));
        let guard = || LockGuard { lock: Some(lock.clone()) };
        Poll::Ready(match waited {
            Err(e) => Err(e),
            Ok(Waited::Fast(())) => Ok(guard()),
            Ok(Waited::Node(node, out)) => {
                lock.leave(&node, out.is_ok());
                out.map(|()| guard())
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

/// Holds a [`Lock`]; dropping it releases the lock. `Send`, and `'static`,
/// so a task may hand it to another.
#[must_use = "dropping the guard releases the lock at once"]
pub struct LockGuard {
    lock: Option<Lock>,
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
            // release): nothing left to release.
            let _ = lock.release();
        }
    }
}

impl fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard").finish_non_exhaustive()
    }
}
