//! [`Condition`]: asyncio's `Condition` (CPython 3.13 `locks.py`).
//!
//! * It owns a [`Lock`] (a new one, or one given) and re-exports its
//!   `locked`, `acquire` and `release`; it keeps its own waiters.
//! * `wait()`: an invalid-state error unless the lock is held (the state is
//!   checked, not who holds it). Queue a waiter, release the lock, wait
//!   (asyncio releases first, in the same step of its one thread; here a
//!   notifier on another thread may take the lock the moment it is free,
//!   so the waiter is queued first); then **re-acquire the lock in a
//!   loop**, catching each cancellation and keeping the last, so a
//!   cancellation or timeout always leaves `wait()` with the lock held.
//!   3.13: a `wait()` that fails passes one notification on to the next
//!   waiter (it may have been notified); so does one dropped before it
//!   ends.
//! * `notify(n)`: an invalid-state error unless the lock is held; wake up
//!   to `n` pending waiters, in order. It never releases the lock: woken
//!   waiters re-acquire it one at a time.
//! * `wait_for(pred)`: check first; while false, `wait()` and check again.

use super::lock::Lock;
use super::waiter::{self, Node, NodeWait};
use crate::error::{Error, Result};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

/// A condition variable for tasks (asyncio `Condition`). A handle: clones
/// share the condition and its lock.
///
/// ```
/// use ravel::sync::Condition;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
///
/// ravel::run(async {
///     let cond = Condition::new();
///     let ready = Arc::new(AtomicBool::new(false));
///     let (c, r) = (cond.clone(), ready.clone());
///     let waiter = ravel::spawn(async move {
///         let _held = c.acquire().await?;
///         c.wait_for(|| r.load(Ordering::SeqCst).then_some("ready")).await
///     });
///     ravel::yield_now().await?;
///     let held = cond.acquire().await?;
///     ready.store(true, Ordering::SeqCst);
///     cond.notify_all()?;
///     drop(held);
///     assert_eq!(waiter.await?, "ready");
///     Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Clone)]
pub struct Condition {
    lock: Lock,
    waiters: Arc<Mutex<VecDeque<Arc<Node>>>>,
}

impl Default for Condition {
    fn default() -> Self {
        Condition::new()
    }
}

impl Condition {
    /// A condition over a new lock.
    pub fn new() -> Condition {
        Condition::with_lock(Lock::new())
    }

    /// A condition over `lock` (asyncio `Condition(lock)`): holding either
    /// is holding both.
    pub fn with_lock(lock: Lock) -> Condition {
        Condition { lock, waiters: Arc::default() }
    }

    /// The underlying lock.
    pub fn lock(&self) -> &Lock {
        &self.lock
    }

    /// True while the underlying lock is held.
    pub fn locked(&self) -> bool {
        self.lock.locked()
    }

    /// Acquires the underlying lock.
    pub fn acquire(&self) -> super::lock::Acquire {
        self.lock.acquire()
    }

    /// Releases the underlying lock (see [`Lock::release`]).
    pub fn release(&self) -> Result<()> {
        self.lock.release()
    }

    /// Waits until notified (asyncio `wait()`): releases the lock while
    /// waiting and holds it again when this returns, also when it returns a
    /// cancellation or a timeout. An invalid-state error "cannot wait on
    /// un-acquired lock" unless the lock is held.
    ///
    /// A wait that ends with an error, or is dropped before it ends, passes
    /// one notification on to the next waiter (it may have been notified;
    /// a spurious wake-up is allowed by the condition protocol).
    pub async fn wait(&self) -> Result<()> {
        if !self.locked() {
            return Err(Error::invalid_state("cannot wait on un-acquired lock"));
        }
        let node = Node::new("Condition.wait");
        // Re-acquired below as the same hold, so the caller's guard
        // releases it.
        let hold = self.lock.current_hold();
        // Queue, then release. asyncio does both in one step of its one
        // thread; here another thread may take the lock the moment it is
        // free and notify, and must find this waiter queued.
        self.waiters.lock().push_back(node.clone());
        let mut waiting = Waiting { cond: self, node, pass_on: false };
        self.lock.release()?;
        // From here, leaving without a normal return passes one
        // notification on (asyncio 3.13: `except BaseException:
        // self._notify(1)`; a dropped future is Rust's way to leave).
        waiting.pass_on = true;
        let waited = NodeWait::new(waiting.node.clone()).await;
        waiting.leave_queue();
        // Re-acquire, even if cancelled; keep the last cancellation.
        let mut last_cancel = None;
        let reacquired = loop {
            match self.lock.acquire().await {
                Ok(guard) => {
                    self.lock.resume_hold(guard, hold);
                    break Ok(());
                }
                Err(e) if e.is_cancelled() => last_cancel = Some(e),
                Err(e) => break Err(e),
            }
        };
        let out = match (waited, last_cancel, reacquired) {
            (_, _, Err(e)) => Err(e),
            (_, Some(cancelled), _) => Err(cancelled),
            (waited, None, Ok(())) => waited,
        };
        waiting.pass_on = out.is_err();
        out
    }

    /// Waits until `predicate` returns `Some` (asyncio `wait_for`, whose
    /// predicate's truthy value becomes `Some`): checks first, then waits
    /// and checks again after each wake-up. A predicate already true needs
    /// no lock.
    pub async fn wait_for<T>(&self, mut predicate: impl FnMut() -> Option<T>) -> Result<T> {
        loop {
            if let Some(value) = predicate() {
                return Ok(value);
            }
            self.wait().await?;
        }
    }

    /// Wakes up to `n` waiters, in order (asyncio `notify(n)`). An
    /// invalid-state error "cannot notify on un-acquired lock" unless the
    /// lock is held. The lock stays held.
    pub fn notify(&self, n: usize) -> Result<()> {
        if !self.locked() {
            return Err(Error::invalid_state("cannot notify on un-acquired lock"));
        }
        self.notify_waiters(n);
        Ok(())
    }

    /// Wakes every waiter (asyncio `notify_all()`).
    pub fn notify_all(&self) -> Result<()> {
        let n = self.waiters.lock().len();
        self.notify(n)
    }

    /// `_notify(n)`: skip done waiters, wake up to `n` pending ones. No
    /// check of the lock (the barrier's way out may not hold it).
    pub(super) fn notify_waiters(&self, n: usize) {
        let waiters = self.waiters.lock();
        let mut left = n;
        for w in waiters.iter() {
            if left == 0 {
                break;
            }
            if w.wake() {
                left -= 1;
            }
        }
    }

    /// Waiters queued (asyncio `len(_waiters)`: woken ones that have not
    /// run yet are included).
    pub fn waiters(&self) -> usize {
        self.waiters.lock().len()
    }
}

/// A `wait()`'s waiter, from queueing to return: leaves the queue however
/// the wait ends, and passes one notification on if it ends abnormally.
struct Waiting<'a> {
    cond: &'a Condition,
    node: Arc<Node>,
    pass_on: bool,
}

impl Waiting<'_> {
    /// The inner `finally`: the node leaves the condition's queue.
    fn leave_queue(&self) {
        waiter::remove(&mut self.cond.waiters.lock(), &self.node);
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.leave_queue();
        if self.pass_on {
            self.cond.notify_waiters(1);
        }
    }
}

impl fmt::Debug for Condition {
    /// As asyncio's repr: `<Condition [locked, waiters:1]>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::from(if self.locked() { "locked" } else { "unlocked" });
        let n = self.waiters();
        if n > 0 {
            s.push_str(&format!(", waiters:{n}"));
        }
        write!(f, "<Condition [{s}]>")
    }
}
