//! [`yield_now`]: asyncio `sleep(0)`.

use crate::error::Result;
use crate::task::cancel;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields to the scheduler once (asyncio `await sleep(0)`): the task goes to
/// the back of its worker's ready queue, so every task that was ready
/// before it runs first. A cancellation delivery point: a pending
/// cancellation is delivered instead of yielding, or on resumption.
///
/// ```
/// ravel::run(async {
///     ravel::yield_now().await?;
///     Ok(())
/// })
/// .unwrap();
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        // A yield consumes budget too, but never needs a forced yield of its own.
        crate::current::consume_budget();
        cancel::clear_stale_waiter();
        if let Some(err) = cancel::deliver() {
            return Poll::Ready(Err(err));
        }
        if self.yielded {
            return Poll::Ready(Ok(()));
        }
        self.yielded = true;
        // A task that wakes itself while running is requeued at the back.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
