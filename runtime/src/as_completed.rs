//! [`as_completed`]: asyncio `as_completed()` (the 3.13 iterator object,
//! used with `async for`).

use crate::error::{Error, Result};
use crate::task::{CallbackId, Leaf, Task};
use crate::time::{sleep_until, Sleep};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

struct Shared {
    /// Indices of finished tasks, in completion order.
    ready: VecDeque<usize>,
    waker: Option<Waker>,
    /// The deadline passed: later completions are not queued.
    closed: bool,
}

/// Yields `tasks` back one by one as they finish, in completion order
/// (asyncio `as_completed()`, iterated with `async for`, which yields the
/// original tasks).
///
/// Use [`AsCompleted::next`] (or the [`Stream`](futures_core::Stream)
/// implementation). Each item is `Ok(task)` with a finished task, whose
/// outcome [`Task::result`] (or `.await`) gives.
///
/// * Tasks already done when `as_completed` is called come first, in input
///   order.
/// * With a `timeout` (measured from this call), once it passes the tasks
///   that finished before it are still yielded, then one `Err(e)` with
///   [`e.is_timeout()`](Error::is_timeout), then `None`. The tasks not
///   finished are **not** cancelled; they are detached when the
///   `AsCompleted` is dropped.
/// * An empty `tasks` ends at once.
/// * `next()` is a Ravel leaf: if the task calling it is cancelled while it
///   waits, it returns `Some(Err(e))` with `e.is_cancelled()` (nothing is
///   forwarded to the tasks), and iteration may continue.
///
/// ```
/// use std::time::Duration;
///
/// ravel::run(async {
///     let tasks = [30u64, 10, 20]
///         .map(|ms| {
///             ravel::spawn(async move {
///                 ravel::sleep(Duration::from_millis(ms)).await?;
///                 Ok(ms)
///             })
///         })
///         .into();
///     let mut finished = Vec::new();
///     let mut stream = ravel::as_completed(tasks, None);
///     while let Some(task) = stream.next().await {
///         finished.push(task?.result()?);
///     }
///     assert_eq!(finished, [10, 20, 30]);
///     Ok(())
/// })
/// .unwrap();
/// ```
pub fn as_completed<T: Send + 'static>(tasks: Vec<Task<T>>, timeout: Option<Duration>) -> AsCompleted<T> {
    // A timeout too large to represent never passes.
    let deadline = if tasks.is_empty() { None } else { timeout.and_then(|d| Instant::now().checked_add(d)) };
    let shared = Arc::new(Mutex::new(Shared { ready: VecDeque::new(), waker: None, closed: false }));
    let mut callbacks = Vec::with_capacity(tasks.len());
    for (i, task) in tasks.iter().enumerate() {
        if task.done() {
            shared.lock().ready.push_back(i);
            callbacks.push(None);
            continue;
        }
        let shared = shared.clone();
        let id = task.add_done_callback(move |_| {
            let mut shared = shared.lock();
            if shared.closed {
                return;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                shared.closed = true;
            } else {
                shared.ready.push_back(i);
            }
            if let Some(waker) = shared.waker.take() {
                crate::catch_wake::wake(waker);
            }
        });
        callbacks.push(Some(id));
    }
    AsCompleted {
        remaining: tasks.len(),
        tasks: tasks.into_iter().map(Some).collect(),
        callbacks,
        shared,
        timer: deadline.map(sleep_until),
        ended: false,
        leaf: Leaf::new(),
    }
}

/// The iterator returned by [`as_completed`] (asyncio's
/// `_AsCompletedIterator`).
///
/// It is also a [`futures_core::Stream`] of the same items:
///
/// ```
/// use futures_core::Stream;
/// use std::pin::Pin;
///
/// ravel::run(async {
///     let tasks = vec![ravel::spawn(async { Ok(1) }), ravel::spawn(async { Ok(2) })];
///     let mut stream = ravel::as_completed(tasks, None);
///     let mut sum = 0;
///     while let Some(task) = std::future::poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await {
///         sum += task?.result()?;
///     }
///     assert_eq!(sum, 3);
///     Ok(())
/// })
/// .unwrap();
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<T> {
    tasks: Vec<Option<Task<T>>>,
    callbacks: Vec<Option<CallbackId>>,
    shared: Arc<Mutex<Shared>>,
    remaining: usize,
    timer: Option<Sleep>,
    /// `None` is due: every task was yielded, or the timeout was.
    ended: bool,
    leaf: Leaf,
}

impl<T> AsCompleted<T> {
    /// The next task to finish (asyncio `__anext__`): `Some(Ok(task))`,
    /// `Some(Err(timeout))` once when the deadline passes, `Some(Err(cancelled))`
    /// if the calling task is cancelled while waiting, and `None` at the end.
    ///
    /// ```
    /// ravel::run(async {
    ///     let mut it = ravel::as_completed(vec![ravel::spawn(async { Ok("only") })], None);
    ///     assert_eq!(it.next().await.unwrap()?.result()?, "only");
    ///     assert!(it.next().await.is_none());
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    #[allow(clippy::should_implement_trait)]
    pub async fn next(&mut self) -> Option<Result<Task<T>>> {
        poll_fn(|cx| self.poll_item(cx)).await
    }

    /// How many tasks have not been yielded yet.
    ///
    /// ```
    /// ravel::run(async {
    ///     let it = ravel::as_completed(vec![ravel::spawn(async { Ok(()) })], None);
    ///     assert_eq!(it.remaining(), 1);
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    fn poll_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Task<T>>>> {
        if self.ended || self.remaining == 0 {
            return Poll::Ready(None);
        }
        // Each item is a leaf of its own.
        let mut leaf = std::mem::take(&mut self.leaf);
        let poll = leaf.poll(cx, |cx| self.poll_wait(cx));
        if poll.is_ready() {
            leaf.reset();
        }
        self.leaf = leaf;
        poll.map(|item| Some(item.and_then(|item| item)))
    }

    /// Ready with the next done task, the timeout error, or an error from
    /// the timer; else registers the waker.
    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<Result<Task<T>>> {
        let mut timer_fired = false;
        if let Some(timer) = &mut self.timer {
            match Pin::new(timer).poll(cx) {
                Poll::Ready(Ok(())) => timer_fired = true,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
        }
        let mut shared = self.shared.lock();
        if timer_fired {
            shared.closed = true;
        }
        if let Some(i) = shared.ready.pop_front() {
            drop(shared);
            self.remaining -= 1;
            self.callbacks[i] = None;
            return Poll::Ready(Ok(self.tasks[i].take().expect("task yielded twice")));
        }
        if shared.closed {
            drop(shared);
            self.ended = true;
            self.timer = None;
            return Poll::Ready(Err(Error::timeout()));
        }
        match &shared.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => shared.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> futures_core::Stream for AsCompleted<T> {
    type Item = Result<Task<T>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_item(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.ended {
            (0, Some(0))
        } else {
            // Plus one timeout item, when there is a deadline.
            (0, Some(self.remaining + usize::from(self.timer.is_some())))
        }
    }
}

impl<T> Drop for AsCompleted<T> {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        for (task, id) in self.tasks.iter().zip(&self.callbacks) {
            if let (Some(task), Some(id)) = (task, id) {
                task.remove_done_callback(*id);
            }
        }
    }
}

impl<T> fmt::Debug for AsCompleted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted").field("remaining", &self.remaining).field("ended", &self.ended).finish()
    }
}
