//! Cancellation: requests (`cancel`, `uncancel`) and delivery.
//!
//! # Requests
//!
//! `cancel(msg)` follows asyncio's `Task.cancel` (semantics §1.2): on a done
//! task it returns false and leaves the counter alone; otherwise it counts
//! the request, and if the task is suspended on a waiter (another task, a
//! [`Promise`](crate::Promise)) and that waiter accepts the cancellation, the
//! request is forwarded there and nothing is left pending on this task.
//! Otherwise one delivery is marked pending, with the message (the last
//! message wins), and the task is woken. Repeated requests before delivery
//! count but deliver once.
//!
//! # Delivery: the leaf rule
//!
//! asyncio throws `CancelledError` into the coroutine at its suspension
//! point. Rust cannot throw into a future, so every Ravel awaitable (a
//! "leaf": `sleep`, `yield_now`, task join, `wait_done`, `Promise`,
//! `to_thread`, `gather`, `shield`, `wait`, `as_completed`, a task group's
//! exit wait, and [`cancellable`]) delivers instead, by this rule:
//!
//! * A leaf that is ready on its **first** poll returns its value, even with
//!   a cancellation pending (asyncio does not suspend on a done future, A10).
//! * A leaf that **would suspend**, or that is being **resumed** after it
//!   suspended, first takes the pending cancellation, if any, and returns
//!   `Err(e)` with `e.is_cancelled()` and the message, instead of its value.
//!
//! A leaf that awaits a task (or a promise) forwards a pending cancellation
//! to it and keeps waiting for its outcome (asyncio's `_fut_waiter`).
//!
//! The cooperative budget is the one exception to "ready on the first poll
//! returns the value": once the running task has made [`current::BUDGET`]
//! leaf polls, the next leaf yields (a suspension, so it delivers a pending
//! cancellation) even if its value is ready, so a task looping on ready
//! leaves cannot starve its worker. Leaves that forward do so before the
//! budget can force that yield.

use super::raw::{self, CancelTarget, Header, RawTask, Waiter};
use super::state::Request;
use crate::error::{Error, Result};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// `Task.cancel(msg)`.
///
/// Linearization: with no waiter, the count and the pending mark are one CAS
/// that fails once the task is done, so a counted request is always seen by
/// completion (the task then ends cancelled). With a waiter, the request is
/// counted, the slot lock released, and the cancellation forwarded; if the
/// waiter refuses and the task has completed meanwhile, the count is taken
/// back and `cancel()` returns false, as if it had come after completion.
pub(crate) fn cancel(task: &RawTask, message: Option<String>) -> bool {
    let header = task.header();
    let mut slot = header.slot.lock();
    let Some(waiter) = slot.waiter.clone() else {
        if header.cancel.request(true) == Request::Done {
            return false;
        }
        slot.set_message(message);
        drop(slot);
        task.wake_by_ref();
        return true;
    };
    if header.cancel.request(false) == Request::Done {
        return false;
    }
    drop(slot);
    let forwarded = match &waiter {
        Waiter::Task(inner) => cancel(inner.raw(), message.clone()),
        Waiter::Target(target) => target.clone().cancel_target(message.clone()),
    };
    if forwarded {
        return true;
    }
    let mut slot = header.slot.lock();
    if header.cancel.set_pending() {
        slot.set_message(message);
        drop(slot);
        task.wake_by_ref();
        true
    } else {
        header.cancel.undo_request();
        false
    }
}

/// `Task.uncancel()`: reaching zero also clears an undelivered request.
pub(crate) fn uncancel(header: &Header) -> u32 {
    let mut slot = header.slot.lock();
    let count = header.cancel.uncancel();
    if count == 0 && !header.cancel.is_pending() {
        slot.set_message(None);
    }
    count
}

/// The cooperative budget, checked first by every leaf: while the running
/// task has budget left the leaf proceeds (`None`); once it is spent the leaf
/// must not complete, so that a task looping on always-ready leaves still
/// yields. It delivers a pending cancellation then (the forced yield is a
/// suspension point), or wakes the task and returns `Pending`.
///
/// It also drops a waiter recorded by an earlier leaf: the task has moved
/// on to this leaf, so it is no longer suspended on that one (a forwarding
/// leaf still pending records itself again when it returns `Pending`).
pub(crate) fn budget<T>(cx: &mut Context<'_>, suspended: &mut bool) -> Option<Poll<Result<T>>> {
    clear_stale_waiter();
    if crate::current::consume_budget() {
        return None;
    }
    if let Some(err) = deliver() {
        return Some(Poll::Ready(Err(err)));
    }
    *suspended = true;
    cx.waker().wake_by_ref();
    Some(Poll::Pending)
}

/// Takes the task's pending delivery, if any, as a cancellation error.
pub(crate) fn take_delivery(header: &Header) -> Option<Error> {
    if !header.cancel.is_pending() {
        return None;
    }
    let mut slot = header.slot.lock();
    if !header.cancel.take_pending() {
        return None;
    }
    Some(Error::cancelled(slot.take_message()))
}

/// The delivery point for leaves: the current task's pending cancellation.
/// `None` outside a task.
pub(crate) fn deliver() -> Option<Error> {
    raw::with_current(take_delivery).flatten()
}

/// For a leaf that waits on a cancellable target: forward a pending
/// cancellation of the current task to it. Returns the error to deliver
/// here if the target refused (it was already done).
pub(crate) fn forward_pending(target: impl FnOnce(Option<String>) -> bool) -> Option<Error> {
    let message = raw::with_current(|header| {
        if !header.cancel.is_pending() {
            return None;
        }
        let mut slot = header.slot.lock();
        if !header.cancel.take_pending() {
            return None;
        }
        Some(slot.take_message())
    })
    .flatten()?;
    if target(message.clone()) {
        None
    } else {
        Some(Error::cancelled(message))
    }
}

/// Drops the current task's recorded waiter, if any (one atomic load when
/// there is none).
pub(crate) fn clear_stale_waiter() {
    raw::with_current(|header| {
        if header.state.load().has(super::state::WAITER) {
            header.slot.lock().waiter = None;
            header.state.clear_flag(super::state::WAITER);
        }
    });
}

/// Records `waiter` as what the current task is suspended on, for this
/// suspension only (the task's next poll clears it; a leaf still pending
/// then records itself again). Returns the current task, to clear the waiter
/// with [`clear_waiter`] when the leaf completes or is dropped.
pub(crate) fn set_waiter(waiter: Waiter) -> Option<RawTask> {
    let owner = raw::current_raw()?;
    owner.header().slot.lock().waiter = Some(waiter);
    owner.header().state.set_flag(super::state::WAITER);
    Some(owner)
}

/// Clears `owner`'s waiter if it is still the one `is_same` recognises.
pub(crate) fn clear_waiter(owner: &RawTask, is_same: impl Fn(&Waiter) -> bool) {
    let mut slot = owner.header().slot.lock();
    if slot.waiter.as_ref().is_some_and(is_same) {
        slot.waiter = None;
    }
}

/// Forwarding target for promises and other leaves.
pub(crate) fn target_waiter(target: std::sync::Arc<dyn CancelTarget>) -> Waiter {
    Waiter::Target(target)
}

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
    Cancellable { future, suspended: false }
}

pin_project_lite::pin_project! {
    /// The future returned by [`cancellable`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Cancellable<F> {
        #[pin]
        future: F,
        suspended: bool,
    }
}

impl<F: Future> Future for Cancellable<F> {
    type Output = Result<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Some(poll) = budget(cx, this.suspended) {
            return poll;
        }
        if *this.suspended {
            if let Some(err) = deliver() {
                return Poll::Ready(Err(err));
            }
        }
        match this.future.poll(cx) {
            Poll::Ready(out) => Poll::Ready(Ok(out)),
            Poll::Pending => {
                if let Some(err) = deliver() {
                    return Poll::Ready(Err(err));
                }
                *this.suspended = true;
                Poll::Pending
            }
        }
    }
}
