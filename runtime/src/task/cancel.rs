//! Cancellation: requests (`cancel`, `uncancel`) and delivery.
//!
//! # Requests
//!
//! `cancel(msg)` follows asyncio's `Task.cancel` (semantics §1.2): on a done
//! task it returns false and leaves the counter alone; otherwise it counts
//! the request, and if the task is suspended on a waiter (another task, a
//! [`Promise`](crate::Promise)) and that waiter accepts the cancellation, the
//! request is forwarded there and nothing is left pending on this task.
//! Otherwise one delivery is marked pending, with the message, and the
//! task is woken. Repeated requests before delivery count but deliver once,
//! with the first message if the first request found the task suspended at
//! an await (asyncio passes it to the awaited future), else with the last.
//!
//! # Delivery
//!
//! A request is delivered by the next Ravel awaitable the task polls, by
//! the leaf rule of [`Leaf`](super::Leaf) (module `leaf`), or forwarded to
//! what the task is suspended on.

use super::current;
use super::raw::{Header, RawTask};
use super::state::{Request, NOTIFIED, RUNNING};
use super::waiter::Waiter;

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
    // A request while a delivery is pending joins it, also with a waiter
    // recorded: the woken leaf forwards the pending one when it resumes.
    let waiter = if header.cancel.is_pending() { None } else { slot.waiter.clone() };
    let Some(waiter) = waiter else {
        match header.cancel.request_delivery(is_suspended(task)) {
            None => return false,
            Some(true) => slot.set_message(message),
            Some(false) => {}
        }
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
    let fixed = header.cancel.message_fixed();
    if header.cancel.set_pending() {
        if !fixed {
            slot.set_message(message);
        }
        drop(slot);
        task.wake_by_ref();
        true
    } else {
        header.cancel.undo_request();
        false
    }
}

/// Whether `task` counts as suspended at an await for a new request, so
/// the request's message is final (asyncio: `cancel(msg)` cancels the
/// awaited future with `msg`; later requests find it done and their
/// messages are lost). A task that is queued (not started yet, woken, or
/// yielding, as asyncio's bare `yield`) is not, and neither is the task
/// running on this thread (a self-cancel before the next await): there the
/// latest message wins. A task running on another thread is treated as
/// suspended at the await it is about to reach.
fn is_suspended(task: &RawTask) -> bool {
    let s = task.header().state.load();
    if s.has(NOTIFIED) {
        return false;
    }
    // Running here: the current task, or (an eager first step is running)
    // possibly the task that spawned it, further up this thread's stack.
    let running_here = current::task_ptr() == Some(task.ptr().cast()) || current::eager_depth() > 0;
    !s.has(RUNNING) || !running_here
}

/// The running task's `cancelling()` count, read through the current-task
/// pointer (no handle needed); `None` outside a task.
pub(crate) fn current_cancelling() -> Option<u32> {
    super::raw::with_current(|header| header.cancel.count())
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
