//! [`Semaphore`] and [`BoundedSemaphore`]: asyncio's (CPython 3.13
//! `locks.py`, whose rules differ from 3.12.1's; Ravel follows 3.13).
//!
//! * `locked()`: no unit left, **or** some queued waiter is not cancelled
//!   (a woken waiter that has not run yet counts), so newcomers never
//!   overtake the queue.
//! * `acquire()`: if not `locked()`, take a unit without suspending.
//!   Otherwise queue a waiter and wait. The unit moves **at wake time**:
//!   the waker decrements the value for the waiter it wakes. A waiter woken
//!   and then cancelled gives its unit back. Either way, on leaving: while
//!   units remain, wake the next pending waiter.
//! * `release()`: one more unit, then wake the next pending waiter (which
//!   takes it at once: the value stays 0 after a release that woke someone).
//! * A bounded semaphore's `release()` is an error at its initial value.

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
    value: usize,
    waiters: VecDeque<Arc<Node>>,
}

impl State {
    fn locked(&self) -> bool {
        self.value == 0 || self.waiters.iter().any(|w| !w.cancelled())
    }

    /// `_wake_up_next`: the first pending waiter gets a unit.
    fn wake_up_next(&mut self) -> bool {
        if self.value == 0 {
            return false;
        }
        if waiter::wake_next(&self.waiters) {
            self.value -= 1;
            true
        } else {
            false
        }
    }
}

struct Inner {
    state: Mutex<State>,
    /// `BoundedSemaphore`'s initial value.
    bound: Option<usize>,
}

/// A counter of units tasks acquire and release (asyncio `Semaphore`):
/// strict FIFO, cancellation aware, usable from every worker. A handle:
/// clones share the semaphore.
///
/// `acquire().await` gives a [`SemaphorePermit`]; dropping it releases
/// (the Rust form of `async with sem:`).
///
/// ```
/// use ravel::sync::Semaphore;
///
/// ravel::run(async {
///     // At most two at a time.
///     let pool = Semaphore::new(2);
///     let mut tasks = Vec::new();
///     for i in 0..5 {
///         let pool = pool.clone();
///         tasks.push(ravel::spawn(async move {
///             let _permit = pool.acquire().await?;
///             ravel::sleep(std::time::Duration::from_millis(1)).await?;
///             Ok(i)
///         }));
///     }
///     for (i, task) in tasks.into_iter().enumerate() {
///         assert_eq!(task.await?, i);
///     }
///     assert_eq!(pool.value(), 2);
///     Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Clone)]
pub struct Semaphore {
    inner: Arc<Inner>,
}

impl Semaphore {
    /// A semaphore with `value` units.
    pub fn new(value: usize) -> Semaphore {
        Semaphore::with_bound(value, None)
    }

    fn with_bound(value: usize, bound: Option<usize>) -> Semaphore {
        Semaphore { inner: Arc::new(Inner { state: Mutex::new(State { value, waiters: VecDeque::new() }), bound }) }
    }

    /// True if `acquire()` would wait: no unit is left, or a task is queued
    /// (asyncio 3.13 `locked()`).
    pub fn locked(&self) -> bool {
        self.inner.state.lock().locked()
    }

    /// Units left (asyncio `_value`).
    pub fn value(&self) -> usize {
        self.inner.state.lock().value
    }

    /// Waits for a unit and takes it (asyncio `acquire()`). Without waiters
    /// and with a unit left it does not suspend. A cancellation delivery
    /// point: a waiter woken and then cancelled gives its unit back.
    pub fn acquire(&self) -> SemaphoreAcquire {
        SemaphoreAcquire { sem: self.clone(), phase: WaitPhase::default() }
    }

    /// Takes a unit if `acquire()` would not wait (not in asyncio).
    ///
    /// ```
    /// let sem = ravel::sync::Semaphore::new(1);
    /// let permit = sem.try_acquire().expect("a unit is left");
    /// assert!(sem.try_acquire().is_none());
    /// drop(permit);
    /// assert_eq!(sem.value(), 1);
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphorePermit> {
        let mut st = self.inner.state.lock();
        if st.locked() {
            return None;
        }
        st.value -= 1;
        Some(SemaphorePermit { sem: Some(self.clone()) })
    }

    /// Gives a unit back (asyncio `release()`), with or without a permit:
    /// the next waiter takes it at once. On a [`BoundedSemaphore`] an
    /// invalid-state error "BoundedSemaphore released too many times" at
    /// the initial value (asyncio's `ValueError`); a plain semaphore has no
    /// upper bound.
    ///
    /// ```
    /// let sem = ravel::sync::Semaphore::new(0);
    /// sem.release().unwrap();
    /// sem.release().unwrap();
    /// assert_eq!(sem.value(), 2);
    /// ```
    pub fn release(&self) -> Result<()> {
        let mut st = self.inner.state.lock();
        if let Some(bound) = self.inner.bound {
            if st.value >= bound {
                return Err(Error::invalid_state("BoundedSemaphore released too many times"));
            }
        }
        st.value += 1;
        st.wake_up_next();
        Ok(())
    }

    /// A waiter leaves (its `finally`): a woken waiter that does not take
    /// its unit (cancelled, or dropped) gives it back; then wake as many
    /// waiters as there are units.
    fn leave(&self, node: &Arc<Node>, taking: bool) {
        let mut st = self.inner.state.lock();
        waiter::remove(&mut st.waiters, node);
        if !taking && node.woken() {
            st.value += 1;
        }
        while st.wake_up_next() {}
    }

    /// Waiters queued (asyncio `len(_waiters)`: woken ones that have not
    /// run yet are included).
    pub fn waiters(&self) -> usize {
        self.inner.state.lock().waiters.len()
    }
}

impl fmt::Debug for Semaphore {
    /// As asyncio's repr: `<Semaphore [unlocked, value:1]>`, `<Semaphore [locked]>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.state.lock();
        let name = if self.inner.bound.is_some() { "BoundedSemaphore" } else { "Semaphore" };
        let mut s = if st.locked() { String::from("locked") } else { format!("unlocked, value:{}", st.value) };
        if !st.waiters.is_empty() {
            s.push_str(&format!(", waiters:{}", st.waiters.len()));
        }
        write!(f, "<{name} [{s}]>")
    }
}

/// A [`Semaphore`] whose `release()` is an error beyond its initial value
/// (asyncio `BoundedSemaphore`). Derefs to [`Semaphore`].
///
/// ```
/// use ravel::sync::BoundedSemaphore;
///
/// ravel::run(async {
///     let sem = BoundedSemaphore::new(2);
///     assert!(sem.release().unwrap_err().is_invalid_state(), "at the bound");
///     let permit = sem.acquire().await?;
///     drop(permit);
///     assert_eq!(sem.value(), 2);
///     Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Clone)]
pub struct BoundedSemaphore {
    sem: Semaphore,
}

impl BoundedSemaphore {
    /// A bounded semaphore with `value` units, at most.
    pub fn new(value: usize) -> BoundedSemaphore {
        BoundedSemaphore { sem: Semaphore::with_bound(value, Some(value)) }
    }
}

impl std::ops::Deref for BoundedSemaphore {
    type Target = Semaphore;

    fn deref(&self) -> &Semaphore {
        &self.sem
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.sem, f)
    }
}

/// The future returned by [`Semaphore::acquire`].
#[must_use = "futures do nothing unless polled"]
pub struct SemaphoreAcquire {
    sem: Semaphore,
    phase: WaitPhase,
}

impl Future for SemaphoreAcquire {
    type Output = Result<SemaphorePermit>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<SemaphorePermit>> {
        let this = &mut *self;
        let sem = &this.sem;
        let waited = std::task::ready!(this.phase.poll(cx, || {
            let mut st = sem.inner.state.lock();
            if !st.locked() {
                st.value -= 1;
                return Ok(());
            }
            let node = Node::new("Semaphore.acquire");
            st.waiters.push_back(node.clone());
            Err(node)
        }));
        let permit = || SemaphorePermit { sem: Some(sem.clone()) };
        Poll::Ready(match waited {
            Err(e) => Err(e),
            Ok(Waited::Fast(())) => Ok(permit()),
            Ok(Waited::Node(node, out)) => {
                sem.leave(&node, out.is_ok());
                out.map(|()| permit())
            }
        })
    }
}

impl Drop for SemaphoreAcquire {
    fn drop(&mut self) {
        if let Some(node) = self.phase.abandon() {
            self.sem.leave(&node, false);
        }
    }
}

impl fmt::Debug for SemaphoreAcquire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreAcquire").finish_non_exhaustive()
    }
}

/// One unit of a [`Semaphore`]; dropping it releases the unit.
#[must_use = "dropping the permit releases it at once"]
pub struct SemaphorePermit {
    sem: Option<Semaphore>,
}

impl SemaphorePermit {
    /// Keeps the unit without a permit (give it back later with
    /// [`Semaphore::release`], or never).
    ///
    /// ```
    /// let sem = ravel::sync::Semaphore::new(1);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.value(), 0);
    /// ```
    pub fn forget(mut self) {
        self.sem = None;
    }
}

impl Drop for SemaphorePermit {
    fn drop(&mut self) {
        if let Some(sem) = self.sem.take() {
            // A bounded semaphore released by hand meanwhile is at its
            // bound: nothing is given back twice.
            let _ = sem.release();
        }
    }
}

impl fmt::Debug for SemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit").finish_non_exhaustive()
    }
}
