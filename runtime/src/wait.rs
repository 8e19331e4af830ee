//! [`wait`]: asyncio `wait()`.

use crate::error::{Error, Result};
use crate::task::{Leaf, Task};
use crate::time::{sleep, Sleep};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

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
    let tasks = Wait { tasks: Some(tasks), when, timer, leaf: Leaf::new() }.await?;
    Ok(tasks.into_iter().partition(|t| t.done()))
}

/// The leaf behind [`wait`].
struct Wait<T> {
    tasks: Option<Vec<Task<T>>>,
    when: ReturnWhen,
    timer: Option<Sleep>,
    leaf: Leaf,
}

impl<T> Wait<T> {
    fn satisfied(&self) -> bool {
        let tasks = self.tasks.as_deref().unwrap_or_default();
        let mut all = true;
        for task in tasks {
            if !task.done() {
                all = false;
                continue;
            }
            match self.when {
                ReturnWhen::FirstCompleted => return true,
                ReturnWhen::FirstException if task.failed() => return true,
                _ => {}
            }
        }
        all
    }

    /// Ready when the condition holds or the timer fired; else registers
    /// the waker with every task (and the timer).
    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if self.satisfied() {
            return Poll::Ready(Ok(()));
        }
        if let Some(timer) = &mut self.timer {
            if let Poll::Ready(fired) = Pin::new(timer).poll(cx) {
                return Poll::Ready(fired);
            }
        }
        for task in self.tasks.as_deref().unwrap_or_default() {
            task.register_done_waker(cx.waker());
        }
        // A task may have finished before its waker was registered.
        if self.satisfied() {
            return Poll::Ready(Ok(()));
        }
        Poll::Pending
    }
}

impl<T> Future for Wait<T> {
    type Output = Result<Vec<Task<T>>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut leaf = std::mem::take(&mut this.leaf);
        let poll = leaf.poll(cx, |cx| this.poll_wait(cx));
        this.leaf = leaf;
        match poll {
            Poll::Ready(Ok(Ok(()))) => Poll::Ready(Ok(this.tasks.take().expect("wait polled after completion"))),
            Poll::Ready(Ok(Err(e)) | Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}
