//! Which message a task sees when it is cancelled more than once before the
//! cancellation reaches it (asyncio-semantics §1.2, §1.3). asyncio passes
//! `cancel(msg)` on to the future the task is suspended on, so once the
//! task is suspended at an await the **first** message wins and later
//! requests only count; a task that is queued (not started yet, woken
//! because what it awaited completed, or yielding with `sleep(0)`) or that
//! cancels itself before its next await takes the **last** message.
//!
//! Written from CPython 3.13.0 (3.12.1 prints the same), scenario
//! `t = create_task(body(ready)); await ready; <setup>; t.cancel(m) for m in
//! msgs; await t`:
//!
//! ```text
//! before first step: CancelledError('second',) cancelling=2
//! suspended on sleep(10): CancelledError('first',) cancelling=2
//! suspended on sleep(10), cancel() then cancel('second'): CancelledError() cancelling=2
//! suspended on a Future: CancelledError('first',) cancelling=2
//! suspended on sleep(0): CancelledError('second',) cancelling=2
//! suspended awaiting a Task: CancelledError('first',) cancelling=2
//! self-cancel a, b, then await sleep: CancelledError('b',)
//! future done, wakeup queued: CancelledError('second',) cancelling=2
//! suspended on a Future, three cancels: CancelledError('first',) cancelling=3
//! ```
//!
//! and, when what the task awaits was cancelled by someone else first (its
//! wake-up of the task is queued) and then the task is cancelled:
//!
//! ```text
//! future cancelled by other, then task.cancel: ('fut',) 1
//! inner task cancelled by other, then outer.cancel: ('inner',) 1
//! future done with a value, then task.cancel: ('task',)
//! ```
//!
//! The cases that need the task to be exactly queued (or exactly parked)
//! when the cancels arrive run on the current-thread runtime; the others on
//! both flavours (on several workers a cancel that reaches a task still
//! running on its way to the await counts as one at the await).

use ravel::{Promise, Task};
use ravel_tests::{block, both, current_thread};
use std::time::Duration;

const LONG: Duration = Duration::from_secs(10);

/// Cancels `t` with each message, awaits it, and returns the message of the
/// cancellation it ended with and its `cancelling()`.
async fn cancel_and_await(mut t: Task<()>, msgs: &[Option<&str>]) -> ravel::Result<(Option<String>, u32)> {
    for m in msgs {
        assert!(match m {
            Some(m) => t.cancel_with(*m),
            None => t.cancel(),
        });
    }
    let err = (&mut t).await.expect_err("the task must end cancelled");
    assert!(err.is_cancelled(), "{err:?}");
    assert!(t.cancelled());
    Ok((err.cancel_message().map(str::to_string), t.cancelling()))
}

const FIRST_SECOND: &[Option<&str>] = &[Some("first"), Some("second")];

/// A task that signals `ready` and then sleeps long.
fn sleeper(ready: Promise<()>) -> Task<()> {
    ravel::spawn(async move {
        ready.set_result(())?;
        ravel::sleep(LONG).await
    })
}

#[test]
fn two_cancels_before_the_first_step_last_message_wins() {
    let rt = current_thread();
    let out = block(&rt, async {
        let t = ravel::spawn(async { ravel::sleep(LONG).await });
        cancel_and_await(t, FIRST_SECOND).await
    });
    assert_eq!(out, (Some("second".to_string()), 2));
}

#[test]
fn two_cancels_while_suspended_on_sleep_first_message_wins() {
    for (flavour, rt) in both() {
        let out = block(&rt, async {
            let ready = Promise::new();
            let t = sleeper(ready.clone());
            ready.await?;
            cancel_and_await(t, FIRST_SECOND).await
        });
        assert_eq!(out, (Some("first".to_string()), 2), "{flavour}");
    }
}

#[test]
fn cancel_without_message_then_with_one_while_suspended_keeps_no_message() {
    for (flavour, rt) in both() {
        let out = block(&rt, async {
            let ready = Promise::new();
            let t = sleeper(ready.clone());
            ready.await?;
            cancel_and_await(t, &[None, Some("second")]).await
        });
        assert_eq!(out, (None, 2), "{flavour}");
    }
}

#[test]
fn cancels_while_suspended_on_a_promise_first_message_wins() {
    for (flavour, rt) in both() {
        for (msgs, count) in [(FIRST_SECOND, 2), (&[Some("first"), Some("second"), Some("third")][..], 3)] {
            let out = block(&rt, async move {
                let ready = Promise::new();
                let r = ready.clone();
                let p = Promise::<()>::new();
                let p2 = p.clone();
                let t = ravel::spawn(async move {
                    r.set_result(())?;
                    p2.await
                });
                ready.await?;
                let out = cancel_and_await(t, msgs).await?;
                assert_eq!(p.result().unwrap_err().cancel_message(), Some("first"), "the promise got the first");
                Ok(out)
            });
            assert_eq!(out, (Some("first".to_string()), count), "{flavour}");
        }
    }
}

#[test]
fn two_cancels_while_awaiting_a_task_first_message_wins() {
    for (flavour, rt) in both() {
        let out = block(&rt, async {
            let ready = Promise::new();
            let inner = sleeper(ready.clone());
            let inner_ref = inner.as_task_ref().clone();
            let outer_ready = Promise::new();
            let r = outer_ready.clone();
            let outer = ravel::spawn(async move {
                ready.await?;
                r.set_result(())?;
                inner.await
            });
            outer_ready.await?;
            let out = cancel_and_await(outer, FIRST_SECOND).await?;
            assert!(inner_ref.cancelled());
            assert_eq!(inner_ref.cancelling(), 2, "both requests forwarded");
            Ok(out)
        });
        assert_eq!(out, (Some("first".to_string()), 2), "{flavour}");
    }
}

/// `sleep(0)` is a bare `yield`: the task is queued, not suspended on a
/// future, so the last message wins.
#[test]
fn two_cancels_while_yielding_last_message_wins() {
    let rt = current_thread();
    let out = block(&rt, async {
        let ready = Promise::new();
        let r = ready.clone();
        let t = ravel::spawn(async move {
            r.set_result(())?;
            loop {
                ravel::sleep(Duration::ZERO).await?;
            }
        });
        ready.await?;
        cancel_and_await(t, FIRST_SECOND).await
    });
    assert_eq!(out, (Some("second".to_string()), 2));
}

#[test]
fn self_cancel_twice_before_an_await_last_message_wins() {
    for (flavour, rt) in both() {
        let out = block(&rt, async {
            let t = ravel::spawn(async {
                let me = ravel::current_task().unwrap();
                me.cancel_with("a");
                me.cancel_with("b");
                ravel::sleep(LONG).await
            });
            cancel_and_await(t, &[]).await
        });
        assert_eq!(out, (Some("b".to_string()), 2), "{flavour}");
    }
}

/// The promise got its value, the task's wake-up is queued: the task is not
/// suspended any more, so the last message wins (and the value is lost).
#[test]
fn two_cancels_after_the_awaited_promise_completed_last_message_wins() {
    let rt = current_thread();
    let out = block(&rt, async {
        let ready = Promise::new();
        let r = ready.clone();
        let p = Promise::<()>::new();
        let p2 = p.clone();
        let t = ravel::spawn(async move {
            r.set_result(())?;
            p2.await
        });
        ready.await?;
        ravel::yield_now().await?; // t is suspended on p
        p.set_result(())?;
        cancel_and_await(t, FIRST_SECOND).await
    });
    assert_eq!(out, (Some("second".to_string()), 2));
}

/// The awaited promise was cancelled by someone else first: the task sees
/// the promise's cancellation, not its own request's message.
#[test]
fn awaited_promise_cancelled_first_its_message_wins() {
    let rt = current_thread();
    let out = block(&rt, async {
        let p = Promise::<()>::new();
        let p2 = p.clone();
        let t = ravel::spawn(p2);
        ravel::yield_now().await?; // t is suspended on p
        assert!(p.cancel_with("fut"));
        cancel_and_await(t, &[Some("task")]).await
    });
    assert_eq!(out, (Some("fut".to_string()), 1));
}

/// The awaited task ended cancelled (by someone else) before the awaiter
/// resumed: the awaiter sees that task's cancellation.
#[test]
fn awaited_task_cancelled_first_its_message_wins() {
    let rt = current_thread();
    let out = block(&rt, async {
        let inner = ravel::spawn(async { ravel::sleep(LONG).await });
        let inner_ref = inner.as_task_ref().clone();
        let outer = ravel::spawn(inner);
        ravel::yield_now().await?; // outer is suspended on inner
        assert!(inner_ref.cancel_with("inner"));
        ravel::yield_now().await?; // inner ends cancelled; outer's wake-up is queued
        assert!(inner_ref.done() && !outer.done());
        let out = cancel_and_await(outer, &[Some("outer")]).await?;
        assert_eq!(inner_ref.cancelling(), 1, "the refused request did not count on inner");
        Ok(out)
    });
    assert_eq!(out, (Some("inner".to_string()), 1));
}
