//! [`shield`]: asyncio `shield()`.

use crate::error::{Error, Result};
use crate::task::introspect::Suspension;
use crate::task::{Leaf, Task};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Protects `task` from the cancellation of the task awaiting it (asyncio
/// `shield()`).
///
/// Awaiting the returned [`Shield`] gives the task's outcome, like awaiting
/// the task itself, with one difference: if the awaiting task is cancelled,
/// the cancellation is **not** forwarded to `task`. The awaiter gets its
/// cancellation error at once (a Ravel leaf delivery), and `task` keeps
/// running: it is detached when the `Shield` is dropped, and its outcome is
/// then reported like any detached task's (a failure goes to the
/// unhandled-error hook as "never retrieved", as in CPython 3.13).
///
/// * The task's value or error passes through unchanged.
/// * If `task` itself is cancelled while shielded, the shield gives a
///   cancellation error **without** the task's message (asyncio cancels the
///   outer future with no message).
/// * If `task` is already done when shielded, awaiting the shield is the
///   same as awaiting `task` directly (asyncio returns the inner future
///   itself), so a cancellation keeps its message.
///
/// ```
/// use std::time::Duration;
///
/// let rt = ravel::Builder::new_current_thread().build().unwrap();
/// rt.block_on(async {
///     let inner = ravel::spawn(async {
///         ravel::sleep(Duration::from_millis(5)).await?;
///         Ok("inner finished")
///     });
///     let inner_ref = inner.as_task_ref().clone();
///     let outer = ravel::spawn(async move { ravel::shield(inner).await });
///     ravel::yield_now().await?;
///     outer.cancel_with("stop");
///     // The awaiter is cancelled at once...
///     let err = outer.await.unwrap_err();
///     assert_eq!(err.cancel_message(), Some("stop"));
///     // ...and the shielded task is not.
///     inner_ref.wait_done().await?;
///     assert!(!inner_ref.cancelled());
///     Ok(())
/// })
/// .unwrap();
/// ```
pub fn shield<T: Send + 'static>(task: Task<T>) -> Shield<T> {
    let direct = task.done();
    Shield { inner: task, direct, leaf: Leaf::new() }
}

/// The future returned by [`shield`] (asyncio's shield "outer" future).
///
/// ```
/// ravel::run(async {
///     let shielded: ravel::Shield<&str> = ravel::shield(ravel::spawn(async { Ok("x") }));
///     assert_eq!(shielded.await?, "x");
///     Ok(())
/// })
/// .unwrap();
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Shield<T> {
    inner: Task<T>,
    /// The task was done when shielded: behave as awaiting it directly.
    direct: bool,
    leaf: Leaf,
}

impl<T> Shield<T> {
    /// The shielded task's handle (to cancel it, or check on it).
    ///
    /// ```
    /// ravel::run(async {
    ///     let shielded = ravel::shield(ravel::spawn(async { Ok(1) }));
    ///     let inner = shielded.task().clone();
    ///     assert_eq!(shielded.await?, 1);
    ///     assert!(inner.done());
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn task(&self) -> &crate::TaskRef {
        self.inner.as_task_ref()
    }

    fn outcome(&self) -> Result<T> {
        match self.inner.result() {
            // asyncio: `outer.cancel()` with no message.
            Err(e) if e.is_cancelled() && !self.direct => Err(Error::cancelled(None::<String>)),
            out => out,
        }
    }
}

impl<T> Future for Shield<T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = &mut *self;
        // A plain leaf: the awaiter's cancellation is delivered to it and
        // never forwarded to the shielded task.
        let inner = &this.inner;
        let poll = this.leaf.poll_recorded(
            cx,
            || Suspension::Shield(inner.to_task_ref()),
            |cx| if inner.register_done_waker(cx.waker()) { Poll::Pending } else { Poll::Ready(()) },
        );
        poll.map(|done| done.and_then(|()| this.outcome()))
    }
}

impl<T> fmt::Debug for Shield<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shield").field("task", &self.inner).finish()
    }
}
