//! [`cancellable`]: the leaf rule around any future.

use super::leaf::Leaf;
use crate::error::Result;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Makes any future a cancellation delivery point.
///
/// A foreign future (from another crate, not built on Ravel's awaitables)
/// cannot see a Ravel cancellation, so a task blocked on it stays blocked.
/// Wrapping it in `cancellable` applies the leaf rule: if the wrapped future
/// is ready on the first poll its output is returned; once it has suspended,
/// a pending cancellation of the running task ends the wait with
/// `Err(e)` where `e.is_cancelled()`. The wrapped future is dropped when the
/// `Cancellable` is.
///
/// ```
/// use std::future::pending;
///
/// let rt = ravel::Runtime::builder().worker_threads(1).build().unwrap();
/// let out = rt.block_on(async {
///     let task = ravel::spawn(async {
///         // `std::future::pending` never wakes; `cancellable` makes it cancellable.
///         ravel::cancellable(pending::<()>()).await?;
///         Ok(())
///     });
///     ravel::yield_now().await?;
///     task.cancel_with("stop");
///     task.await
/// });
/// assert_eq!(out.unwrap_err().cancel_message(), Some("stop"));
/// ```
pub fn cancellable<F: Future>(future: F) -> Cancellable<F> {
    Cancellable { future, leaf: Leaf::new() }
}

pin_project_lite::pin_project! {
    /// The future returned by [`cancellable`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Cancellable<F> {
        #[pin]
        future: F,
        leaf: Leaf,
    }
}

impl<F: Future> Future for Cancellable<F> {
    type Output = Result<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let future = this.future;
        this.leaf.poll(cx, |cx| future.poll(cx))
    }
}
