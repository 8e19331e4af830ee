//! `ravel::wait_for` (asyncio `wait_for`, 3.12+ implementation on top of
//! `timeout`) (asyncio-semantics §2.D: D01–D08).
//!
//! Ravel's `wait_for` runs a plain future inline in the calling task (as
//! asyncio does with a coroutine since 3.12) and awaits a `Task` directly,
//! so the cancellation reaches it and `wait_for` waits for its outcome.

use ravel::{current_task, Error, Promise};
use ravel_tests::block;
use ravel_tests::{both, current_thread};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LONG: Duration = Duration::from_secs(10);
const EPSILON: Duration = Duration::from_micros(100);

#[derive(Debug)]
struct Foo;

impl fmt::Display for Foo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FooException")
    }
}

impl std::error::Error for Foo {}

fn flag() -> (Arc<AtomicBool>, Arc<AtomicBool>) {
    let f = Arc::new(AtomicBool::new(false));
    (f.clone(), f)
}

/// D01: on timeout the task is cancelled and awaited through its async
/// cleanup; the result is a timeout error whose cause and context are the
/// cancellation; the task ends cancelled; the caller's counter is 0.
/// CPython: `test_waitfor.py::test_wait_for_waits_for_task_cancellation`, `test_wait_for`.
#[test]
fn d01_timeout_cancels_and_waits_for_the_task() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let (done, d) = flag();
            let inner = ravel::spawn(async move {
                let out = match ravel::sleep(LONG).await {
                    Err(e) if e.is_cancelled() => {
                        ravel::sleep(EPSILON).await?;
                        Err(e)
                    }
                    other => other.map(|_| "done"),
                };
                d.store(true, SeqCst); // finally
                out
            });
            let r = inner.as_task_ref().clone();
            let err = ravel::wait_for(inner, EPSILON).await.unwrap_err();
            assert!(done.load(SeqCst), "{flavour}: wait_for returned before the task's cleanup finished");
            assert!(err.is_timeout(), "{flavour}: {err:?}");
            assert!(err.cause().unwrap().is_cancelled());
            assert!(err.context().unwrap().is_cancelled());
            assert!(r.done() && r.cancelled());
            assert_eq!(current_task().unwrap().cancelling(), 0);
            // The caller is not cancelled.
            ravel::sleep(Duration::from_millis(1)).await?;
            Ok(())
        });
    }
}

/// D02: a zero timeout on an already-finished promise returns its result
/// without suspending (a task queued before it has not run yet).
/// CPython: `test_waitfor.py::test_wait_for_timeout_less_then_0_or_0_future_done`.
/// Order-dependent: current-thread.
#[test]
fn d02_zero_timeout_done_future() {
    let rt = current_thread();
    block(&rt, async move {
        let fut = Promise::new();
        fut.set_result("done")?;
        let (ran, r) = flag();
        drop(ravel::spawn(async move {
            r.store(true, SeqCst);
            Ok(())
        }));
        let v = ravel::wait_for(fut.clone(), Duration::ZERO).await?;
        assert_eq!(v, "done");
        assert!(fut.done());
        assert!(!ran.load(SeqCst), "wait_for(done, 0) did not suspend");
        assert_eq!(current_task().unwrap().cancelling(), 0);
        // No cancellation left pending.
        ravel::yield_now().await?;
        assert!(ran.load(SeqCst));
        Ok(())
    });
}

/// D02 with a finished task: its result is returned.
/// CPython: `tasks.py::wait_for` (`if fut.done(): return fut.result()`).
#[test]
fn d02_zero_timeout_done_task() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let t = ravel::spawn(async { Ok(5) });
            t.wait_done().await?;
            assert_eq!(ravel::wait_for(t, Duration::ZERO).await?, 5, "{flavour}");
            Ok(())
        });
    }
}

/// D03: a zero timeout on work that would suspend: the work is cancelled at
/// its first suspension and the result is a timeout error with the
/// cancellation as context; the code after that suspension never runs.
/// Ravel runs a plain future inline, so it starts (like asyncio under the
/// eager task factory, J16): a future that finishes without suspending
/// returns its value.
/// CPython: `test_waitfor.py::test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started`.
#[test]
fn d03_zero_timeout_future() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let (after, a) = flag();
            let err = ravel::wait_for(
                async move {
                    ravel::sleep(LONG).await?;
                    a.store(true, SeqCst);
                    Ok(())
                },
                Duration::ZERO,
            )
            .await
            .unwrap_err();
            assert!(err.is_timeout(), "{flavour}: {err:?}");
            assert!(err.context().unwrap().is_cancelled());
            assert!(!after.load(SeqCst));
            // A future that finishes on its first poll returns its value (J16).
            assert_eq!(ravel::wait_for(async { Ok("eager") }, Duration::ZERO).await?, "eager");
            assert_eq!(current_task().unwrap().cancelling(), 0);
            ravel::sleep(Duration::from_millis(1)).await?;
            Ok(())
        });
    }
}

/// D04: a zero timeout on a running task cancels it and waits until it has
/// finished (its `finally` ran), then raises a timeout error.
/// CPython: `test_waitfor.py::test_wait_for_timeout_less_then_0_or_0` (the
/// negative timeout has no `Duration` equivalent),
/// `test_wait_for_waits_for_task_cancellation_w_timeout_0`.
#[test]
fn d04_zero_timeout_running_task() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let started = Promise::new();
            let (running, r) = flag();
            let s = started.clone();
            let task = ravel::spawn(async move {
                r.store(true, SeqCst);
                s.set_result(())?;
                let out = match ravel::sleep(LONG).await {
                    Err(e) if e.is_cancelled() => {
                        // async cleanup before re-raising
                        ravel::sleep(EPSILON).await.ok();
                        Err(e)
                    }
                    other => other.map(|_| "done"),
                };
                r.store(false, SeqCst); // finally
                out
            });
            started.await?;
            let t = task.as_task_ref().clone();
            let err = ravel::wait_for(task, Duration::ZERO).await.unwrap_err();
            assert!(err.is_timeout(), "{flavour}: {err:?}");
            assert!(err.context().unwrap().is_cancelled());
            assert!(t.done() && t.cancelled());
            assert!(!running.load(SeqCst), "the task's finally has run");
            assert_eq!(current_task().unwrap().cancelling(), 0);
            Ok(())
        });
    }
}

/// D05: work that swallows the cancellation and returns a value makes
/// `wait_for` return that value, not a timeout error (GH-86296), inline or
/// as a task.
/// CPython: `test_waitfor.py::test_wait_for_cancel_suppressed`,
/// `test_wait_for_cancellation_race_condition`.
#[test]
fn d05_suppressed_cancellation_returns_value() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let return_42 = || async {
                match ravel::sleep(LONG).await {
                    Err(e) if e.is_cancelled() => Ok(42),
                    other => other.map(|_| 0),
                }
            };
            assert_eq!(ravel::wait_for(return_42(), Duration::from_millis(10)).await?, 42, "{flavour}");
            assert_eq!(current_task().unwrap().cancelling(), 0);
            let task = ravel::spawn(return_42());
            assert_eq!(ravel::wait_for(task, Duration::from_millis(10)).await?, 42, "{flavour}");
            // test_wait_for_cancellation_race_condition
            let inner = async {
                let e = ravel::sleep(Duration::from_secs(1)).await.unwrap_err();
                assert!(e.is_cancelled());
                Ok(1)
            };
            assert_eq!(ravel::wait_for(inner, Duration::from_millis(10)).await?, 1);
            assert_eq!(current_task().unwrap().cancelling(), 0);
            ravel::sleep(Duration::from_millis(1)).await?;
            Ok(())
        });
    }
}

/// D06: a task that raises another error while being cancelled: that error
/// propagates, not a timeout error, with the timeout error as its context
/// (3.13; 3.12 has the cancellation).
/// CPython: `test_waitfor.py::test_wait_for_reraises_exception_during_cancellation`.
#[test]
fn d06_other_error_during_cancellation() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let inner = ravel::spawn(async {
                let _ = ravel::sleep(Duration::from_millis(200)).await;
                Err::<(), _>(Error::new(Foo)) // finally: raise FooException
            });
            let err = ravel::wait_for(inner, EPSILON).await.unwrap_err();
            assert!(err.downcast_ref::<Foo>().is_some(), "{flavour}: {err:?}");
            let ctx = err.context().expect("3.13: a TimeoutError as context");
            assert!(ctx.is_timeout(), "{ctx:?}");
            assert!(ctx.cause().unwrap().is_cancelled());
            assert_eq!(current_task().unwrap().cancelling(), 0);
            Ok(())
        });
    }
}

/// D07: cancelling the task that runs `wait_for(task, 60s)` or
/// `wait_for(task, None)` cancels the awaited task too (issue 23219).
/// CPython: `test_waitfor.py::test_cancel_wait_for`, `test_cancel_blocking_wait_for`.
#[test]
fn d07_cancelling_the_caller_cancels_the_task() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            for limit in [Some(Duration::from_secs(60)), None] {
                let blocking = ravel::spawn(async {
                    let never = Promise::<()>::new();
                    never.await
                });
                let b = blocking.as_task_ref().clone();
                let started = Promise::new();
                let s = started.clone();
                let wait = ravel::spawn(async move {
                    s.set_result(())?;
                    ravel::wait_for(blocking, limit).await
                });
                started.await?; // `wait` has started (asyncio: call_soon(wait.cancel))
                wait.cancel();
                let err = wait.await.unwrap_err();
                assert!(err.is_cancelled(), "{flavour} {limit:?}: {err:?}");
                assert!(b.cancelled(), "{flavour} {limit:?}: the awaited task is cancelled too");
            }
            Ok(())
        });
    }
}

/// D07 with inline work that ignores cancellation: cancelling the caller
/// waits for the work (it runs in the caller) to finish.
/// CPython: `test_waitfor.py::test_asyncio_wait_for_cancelled`.
#[test]
fn d07_cancelling_the_caller_with_slow_inline_work() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let (exited, x) = flag();
            let slow = async move {
                // SlowTask.run: sleep until its end time, ignoring cancellation.
                let exit_at = Instant::now() + Duration::from_millis(60);
                while let Some(left) = exit_at.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) {
                    let _ = ravel::sleep(left).await;
                }
                x.store(true, SeqCst);
                Ok(())
            };
            let started = Promise::new();
            let s = started.clone();
            let wait = ravel::spawn(async move {
                s.set_result(())?;
                ravel::wait_for(slow, Duration::from_millis(120)).await
            });
            started.await?;
            wait.cancel();
            let w = wait.as_task_ref().clone();
            let _ = wait.await;
            assert!(w.done());
            assert!(exited.load(SeqCst), "{flavour}: the slow work finished first");
            Ok(())
        });
    }
}

/// D01 with inline work that ignores cancellation: `wait_for` returns only
/// when it has finished, and with its value (the cancellation was swallowed).
/// CPython: `test_waitfor.py::test_asyncio_wait_for_timeout` (3.13.0 run:
/// returns the value, `exited` True).
#[test]
fn d01_slow_inline_work_finishes_first() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let (exited, x) = flag();
            let slow = async move {
                let exit_at = Instant::now() + Duration::from_millis(60);
                while let Some(left) = exit_at.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) {
                    let _ = ravel::sleep(left).await;
                }
                x.store(true, SeqCst);
                Ok("slowret")
            };
            assert_eq!(ravel::wait_for(slow, Duration::from_millis(30)).await?, "slowret", "{flavour}");
            assert!(exited.load(SeqCst));
            assert_eq!(current_task().unwrap().cancelling(), 0);
            Ok(())
        });
    }
}

/// D08: `None` is a plain await.
/// CPython: `test_waitfor.py::test_wait_for_blocking`, `test_wait_for_race_condition`.
#[test]
fn d08_no_timeout_and_result_before_deadline() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            assert_eq!(ravel::wait_for(async { Ok("done") }, None).await?, "done", "{flavour}");
            // The result arrives before the deadline.
            let fut = Promise::new();
            let setter = fut.clone();
            drop(ravel::spawn(async move { setter.set_result("ok") }));
            assert_eq!(ravel::wait_for(fut, Duration::from_millis(200)).await?, "ok");
            Ok(())
        });
    }
}

/// A task whose `wait_for` on a finished task is cancelled right after:
/// the inner task keeps its result, and the caller does not reach its end.
/// CPython: `test_waitfor.py::test_wait_for_issue86296`.
#[test]
fn d05_issue86296_caller_cancelled_after_inner_done() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let inner = ravel::spawn(async { Ok("done") });
            let i = inner.as_task_ref().clone();
            let (reached, re) = flag();
            let task = ravel::spawn(async move {
                ravel::wait_for(inner, Duration::from_secs(100)).await?;
                ravel::sleep(Duration::from_secs(1)).await?;
                re.store(true, SeqCst);
                Ok(())
            });
            assert!(!task.done());
            // The scenario is "cancelled after the inner task is done": wait for
            // that (one yield is enough on one thread, not on two workers).
            i.wait_done().await?;
            task.cancel();
            assert!(task.await.unwrap_err().is_cancelled(), "{flavour}");
            assert!(i.done() && !i.cancelled());
            assert!(!reached.load(SeqCst));
            Ok(())
        });
    }
}

/// D13: `wait_for(shield(t), 0)`: a timeout error, and `t` is neither done
/// nor cancelled; it finishes later on its own.
/// CPython: `test_waitfor.py::WaitForShieldTests::test_zero_timeout` (Ravel's
/// shield has no `cancelled()` of its own to check).
#[test]
fn d13_shield_zero_timeout() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let task = ravel::spawn(async {
                ravel::sleep(Duration::from_millis(10)).await?;
                Ok("done")
            });
            let t = task.as_task_ref().clone();
            let err = ravel::wait_for(ravel::shield(task), Duration::ZERO).await.unwrap_err();
            assert!(err.is_timeout(), "{flavour}: {err:?}");
            assert!(!t.done() && !t.cancelled(), "{flavour}: the shielded task runs on");
            t.wait_done().await?;
            assert!(!t.cancelled());
            assert!(t.exception()?.is_none(), "it finished with a value");
            Ok(())
        });
    }
}

/// D13: with a short timeout the shield times out and the task later
/// returns "done"; with no timeout the shield waits for the result.
/// CPython: `test_waitfor.py::WaitForShieldTests::test_shielded_timeout`, `test_none_timeout`.
#[test]
fn d13_shield_short_and_no_timeout() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let slow = || async {
                ravel::sleep(Duration::from_millis(40)).await?;
                Ok("done")
            };
            let task = ravel::spawn(slow());
            let t = task.as_task_ref().clone();
            let err = ravel::wait_for(ravel::shield(task), Duration::from_millis(5)).await.unwrap_err();
            assert!(err.is_timeout(), "{flavour}: {err:?}");
            assert!(!t.done() && !t.cancelled());
            t.wait_done().await?;
            assert!(!t.cancelled() && t.exception()?.is_none(), "it returned \"done\" later");

            let task = ravel::spawn(slow());
            assert_eq!(ravel::wait_for(ravel::shield(task), None).await?, "done", "{flavour}");
            Ok(())
        });
    }
}
