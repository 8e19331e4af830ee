//! [`yield_now`]: asyncio `sleep(0)`.

use crate::error::Result;
use crate::task::Leaf;
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
    YieldNow { leaf: Leaf::new() }
}

/// The future returned by [`yield_now`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct YieldNow {
    leaf: Leaf,
}

impl Future for YieldNow {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.leaf.poll_yield(cx)
    }
}
