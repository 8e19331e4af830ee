//! [`wait`]: asyncio `wait()`.

use crate::error::{Error, Result};
use crate::task::state::{COMPLETE, FAILED};
use crate::task::{cancel, Task, TaskRef};
use crate::time::{sleep, Sleep};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// Registers `waker` to be woken once `task` is done, without forwarding
/// cancellation and without taking the output (as
/// [`TaskRef::wait_done`] does). Returns false, registering nothing, if the
/// task is already done.
pub(crate) fn register_done_waker(task: &TaskRef, waker: &Waker) -> bool {
    let header = task.raw().header();
    if header.state.load().has(COMPLETE) {
        return false;
    }
    let mut slot = header.slot.lock();
    if header.state.load().has(COMPLETE) {
        return false;
    }
    let wakers = &mut slot.extra().done_wakers;
    if !wakers.iter().any(|w| w.will_wake(waker)) {
        wakers.push(waker.clone());
    }
    true
}

/// When [`wait`] returns (asyncio's `FIRST_COMPLETED`, `FIRST_EXCEPTION`,
/// `ALL_COMPLETED`).
///
/// ```
/// use ravel::ReturnWhen;
/// assert_ne!(ReturnWhen::FirstCompleted, ReturnWhen::AllCompleted);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReturnWhen {
    /// As soon as any task is done (asyncio `FIRST_COMPLETED`).
    FirstCompleted,
    /// As soon as any task fails, or when all are done (asyncio
    /// `FIRST_EXCEPTION`). As in asyncio, a task that ends **cancelled**
    /// does not count as failed.
    FirstException,
    /// When every task is done (asyncio `ALL_COMPLETED`).
    AllCompleted,
}

/// Waits for tasks until the [`ReturnWhen`] condition holds or `timeout`
/// passes, and returns them split into `(done, pending)` (asyncio `wait()`).
///
/// * Each vector keeps the input order (asyncio returns sets).
/// * It never fails because a task failed or was cancelled, and it never
///   cancels anything: a timeout just returns what is done so far (no
///   timeout error), and if the task calling `wait` is cancelled, only it is
///   cancelled (it gets `Err(e)`, `e.is_cancelled()`, and the tasks, dropped
///   with the future, keep running detached).
/// * `wait` is a Ravel leaf: if the condition already holds when it is first
///   polled it returns at once, even with a cancellation pending (asyncio
///   always suspends for one loop iteration first).
/// * An empty `tasks` is an invalid-state error "Set of Tasks/Futures is
///   empty." (asyncio's `ValueError`). asyncio's other argument errors
///   cannot happen here: `when` is an enum, and the argument is a vector of
///   tasks, not a single future or a coroutine.
///
/// ```
/// use ravel::ReturnWhen;
/// use std::time::Duration;
///
/// ravel::run(async {
///     let fast = ravel::spawn(async { Ok("fast") });
///     let slow = ravel::spawn(async {
///         ravel::sleep(Duration::from_secs(10)).await?;
///         Ok("slow")
///     });
///     let (done, pending) = ravel::wait(vec![fast, slow], ReturnWhen::FirstCompleted, None).await?;
///     assert_eq!(done.len(), 1);
///     assert_eq!(done[0].result()?, "fast");
///     assert_eq!(pending.len(), 1);
///     assert!(!pending[0].cancelled());
///     pending[0].cancel();
///     Ok(())
/// })
/// .unwrap();
/// ```
pub async fn wait<T: Send + 'static>(
    tasks: Vec<Task<T>>,
    when: ReturnWhen,
    timeout: Option<Duration>,
) -> Result<(Vec<Task<T>>, Vec<Task<T>>)> {
    if tasks.is_empty() {
        return Err(Error::invalid_state("Set of Tasks/Futures is empty."));
    }
    let timer = timeout.map(sleep);
    let tasks = Wait { tasks: Some(tasks), when, timer, suspended: false }.await?;
    Ok(tasks.into_iter().partition(|t| t.done()))
}

/// The leaf behind [`wait`].
struct Wait<T> {
    tasks: Option<Vec<Task<T>>>,
    when: ReturnWhen,
    timer: Option<Sleep>,
    suspended: bool,
}

impl<T> Wait<T> {
    fn satisfied(&self) -> bool {
        let tasks = self.tasks.as_deref().unwrap_or_default();
        let mut all = true;
        for task in tasks {
            let state = task.raw().header().state.load();
            if !state.has(COMPLETE) {
                all = false;
                continue;
            }
            match self.when {
                ReturnWhen::FirstCompleted => return true,
                ReturnWhen::FirstException if state.has(FAILED) => return true,
                _ => {}
            }
        }
        all
    }

    fn finish(&mut self) -> Poll<Result<Vec<Task<T>>>> {
        Poll::Ready(Ok(self.tasks.take().expect("wait polled after completion")))
    }
}

impl<T> Future for Wait<T> {
    type Output = Result<Vec<Task<T>>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Some(poll) = cancel::budget(cx, &mut this.suspended) {
            return poll;
        }
        let ready = this.satisfied();
        if !ready || this.suspended {
            if let Some(err) = cancel::deliver() {
                return Poll::Ready(Err(err));
            }
        }
        if ready {
            return this.finish();
        }
        if let Some(timer) = &mut this.timer {
            match Pin::new(timer).poll(cx) {
                Poll::Ready(Ok(())) => return this.finish(),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
        }
        for task in this.tasks.as_deref().unwrap_or_default() {
            register_done_waker(task, cx.waker());
        }
        // A task may have finished before its waker was registered.
        if this.satisfied() {
            return this.finish();
        }
        this.suspended = true;
        Poll::Pending
    }
}
