//! [`wait`]: asyncio `wait()`.

use crate::error::{Error, Result};
use crate::task::introspect::Suspension;
use crate::task::{CallbackId, Leaf, Task};
use crate::time::{sleep, Sleep};
use parking_lot::Mutex;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
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
///   always suspends first). Otherwise, as in asyncio, it hears of each
///   completion through a done callback (one loop iteration after the task
///   ended) and resumes one iteration after the callback found the
///   condition met, so a task that finished meanwhile is in `done` too.
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
    let tasks = Wait { tasks: Some(tasks), when, timer, leaf: Leaf::new(), waiter: None, refs: None }.await?;
    Ok(tasks.into_iter().partition(|t| t.done()))
}

/// The leaf behind [`wait`].
///
/// As asyncio's `_wait`, once it suspends it learns of completions through
/// a done callback on every task (run through `call_soon`, one loop
/// iteration after the task ended), which releases the waiter when the
/// condition holds; the waiting task then resumes one iteration later, and
/// splits the tasks into done and pending then. So a task that finishes in
/// the iteration after the first one is in `done` too.
struct Wait<T> {
    tasks: Option<Vec<Task<T>>>,
    when: ReturnWhen,
    timer: Option<Sleep>,
    leaf: Leaf,
    /// The released-waiter flag and the waker to wake, with the done
    /// callbacks to remove at the end; set up at the first suspension.
    waiter: Option<(Arc<Waiter>, Vec<CallbackId>)>,
    /// The tasks as the call graph shows them, made at the first suspension.
    refs: Option<Arc<[crate::TaskRef]>>,
}

/// asyncio's `waiter` future in `_wait`.
#[derive(Default)]
struct Waiter {
    released: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Waiter {
    fn release(&self) {
        self.released.store(true, SeqCst);
        if let Some(waker) = self.waker.lock().take() {
            crate::catch_wake::wake(waker);
        }
    }
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

    /// Ready when the condition holds (checked directly until the first
    /// suspension, then through the done callbacks' waiter) or the timer
    /// fired; else sets up the callbacks and the waker.
    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let ready = match &self.waiter {
            Some((waiter, _)) => waiter.released.load(SeqCst),
            // Not suspended yet (first poll, or after a forced yield): a
            // condition that already holds returns at once.
            None => self.satisfied(),
        };
        if ready {
            return Poll::Ready(Ok(()));
        }
        if let Some(timer) = &mut self.timer {
            if let Poll::Ready(fired) = Pin::new(timer).poll(cx) {
                return Poll::Ready(fired);
            }
        }
        let waiter = match &self.waiter {
            Some((waiter, _)) => waiter.clone(),
            None => self.add_callbacks(),
        };
        *waiter.waker.lock() = Some(cx.waker().clone());
        // Released while we were registering the waker.
        if waiter.released.load(SeqCst) {
            return Poll::Ready(Ok(()));
        }
        Poll::Pending
    }

    /// asyncio `_on_completion` on every task (a done task's runs soon too).
    fn add_callbacks(&mut self) -> Arc<Waiter> {
        let waiter = Arc::new(Waiter::default());
        let tasks = self.tasks.as_deref().unwrap_or_default();
        let left = Arc::new(AtomicUsize::new(tasks.len()));
        let when = self.when;
        let ids = tasks
            .iter()
            .map(|task| {
                let (waiter, left) = (waiter.clone(), left.clone());
                task.add_done_callback(move |t| {
                    let all_done = left.fetch_sub(1, SeqCst) == 1;
                    if all_done
                        || when == ReturnWhen::FirstCompleted
                        || (when == ReturnWhen::FirstException && t.failed())
                    {
                        waiter.release();
                    }
                })
            })
            .collect();
        self.waiter = Some((waiter.clone(), ids));
        waiter
    }

    /// asyncio's `finally: f.remove_done_callback(_on_completion)`.
    fn remove_callbacks(&mut self) {
        if let (Some((_, ids)), Some(tasks)) = (self.waiter.take(), &self.tasks) {
            for (task, id) in tasks.iter().zip(ids) {
                task.remove_done_callback(id);
            }
        }
    }
}

impl<T> Drop for Wait<T> {
    fn drop(&mut self) {
        self.remove_callbacks();
    }
}

impl<T> Future for Wait<T> {
    type Output = Result<Vec<Task<T>>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut leaf = std::mem::take(&mut this.leaf);
        let tasks = &this.tasks;
        let refs = this.refs.get_or_insert_with(|| tasks.iter().flatten().map(Task::to_task_ref).collect()).clone();
        let poll = leaf.poll_recorded(cx, move || Suspension::Wait(refs), |cx| this.poll_wait(cx));
        this.leaf = leaf;
        if poll.is_ready() {
            this.remove_callbacks();
        }
        match poll {
            Poll::Ready(Ok(Ok(()))) => Poll::Ready(Ok(this.tasks.take().expect("wait polled after completion"))),
            Poll::Ready(Ok(Err(e)) | Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}
