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
///
/// Forwarding follows a chain of tasks awaiting tasks iteratively, not by
/// recursion, and stops at a task already in the chain (a waiter cycle) or
/// after [`MAX_FORWARDS`] hops; the request is then delivered to the last
/// task reached, as if the task it awaits had refused it.
pub(crate) fn cancel(task: &RawTask, message: Option<String>) -> bool {
    // The tasks that counted the request and forwarded it to a task they
    // await, outermost first: if the end of the chain refuses, the
    // innermost of them that is not done takes the delivery.
    let mut chain: Vec<RawTask> = Vec::new();
    let mut next: Option<RawTask> = None;
    let mut accepted = loop {
        let cur = next.as_ref().unwrap_or(task);
        let header = cur.header();
        let mut slot = header.slot.lock();
        // A request while a delivery is pending joins it, also with a waiter
        // recorded: the woken leaf forwards the pending one when it resumes.
        let waiter = if header.cancel.is_pending() { None } else { slot.waiter.clone().filter(Waiter::forwards) };
        let Some(waiter) = waiter else {
            match header.cancel.request_delivery(is_suspended(cur)) {
                None => break false,
                Some(true) => slot.set_message(message.clone()),
                Some(false) => {}
            }
            drop(slot);
            cur.wake_by_ref();
            break true;
        };
        if header.cancel.request(false) == Request::Done {
            break false;
        }
        drop(slot);
        match waiter {
            Waiter::Target(target) => break target.cancel_target(message.clone()) || refused(cur, &message),
            Waiter::Leaf(_) => unreachable!("filtered out above"),
            Waiter::Task(inner) => {
                chain.push(cur.clone());
                let inner = inner.raw();
                if chain.len() > MAX_FORWARDS || chain.iter().any(|t| t.ptr() == inner.ptr()) {
                    break false;
                }
                next = Some(inner.clone());
            }
        }
    };
    for level in chain.iter().rev() {
        if accepted {
            break;
        }
        accepted = refused(level, &message);
    }
    accepted
}

/// Forwarding hops one `cancel()` follows (tasks awaiting tasks) before it
/// delivers where it is.
const MAX_FORWARDS: usize = 1024;

/// The waiter of `task`, which already counted the request, refused it
/// (it was done): deliver it to `task` itself, or, if `task` completed
/// meanwhile, take the count back and report false.
fn refused(task: &RawTask, message: &Option<String>) -> bool {
    let header = task.header();
    let mut slot = header.slot.lock();
    let fixed = header.cancel.message_fixed();
    if header.cancel.set_pending() {
        if !fixed {
            slot.set_message(message.clone());
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::state::WAITER;
    use super::super::waiter::Waiter;
    use crate::TaskRef;
    use std::time::Duration;

    fn await_each_other(a: &TaskRef, b: &TaskRef) {
        for (task, awaited) in [(a, b), (b, a)] {
            task.raw().header().slot.lock().waiter = Some(Waiter::Task(awaited.clone()));
            task.raw().header().state.set_flag(WAITER);
        }
    }

    /// A waiter cycle (which `Task::poll` refuses to create, but which two
    /// joins racing on two workers could) does not make `cancel()` go round
    /// it: each task counts the request once and the last task reached, b,
    /// takes the delivery.
    #[test]
    fn cancel_stops_at_a_waiter_cycle() {
        let rt = crate::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let a = crate::spawn(async { crate::sleep(Duration::from_secs(10)).await });
            let b = crate::spawn(async { crate::sleep(Duration::from_secs(10)).await });
            crate::yield_now().await?; // both asleep
            await_each_other(&a, &b);
            assert!(a.cancel_with("x"));
            assert_eq!((a.cancelling(), b.cancelling()), (1, 1));
            assert!(b.raw().header().cancel.is_pending() && !a.raw().header().cancel.is_pending());
            let b_ref = b.as_task_ref().clone();
            assert_eq!(b.await.unwrap_err().cancel_message(), Some("x"));
            // a still records b, which refuses now: a takes the next one.
            assert!(a.cancel_with("y"));
            assert_eq!((a.cancelling(), b_ref.cancelling()), (2, 1));
            assert_eq!(a.await.unwrap_err().cancel_message(), Some("y"));
            Ok(())
        })
        .unwrap();
    }
}
