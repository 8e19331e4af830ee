//! Nested timeout scopes and outside cancellations: only the scope whose
//! cancellation is the last one left converts it to a timeout error
//! (asyncio-semantics §2.C: C07, C08, C09, C11, C14).

use ravel::{current_task, Error, Timeout};
use ravel_tests::block;
use ravel_tests::{both, current_thread};
use std::time::{Duration, Instant};

const LONG: Duration = Duration::from_secs(10);
const SHORT: Duration = Duration::from_millis(10);

fn cancelling() -> u32 {
    current_task().unwrap().cancelling()
}

/// C07: two scopes with the same deadline: the body sees a cancellation with
/// `cancelling()==2`; the inner scope passes the cancellation through
/// (`uncancel()` gives 1, above its snapshot 0) leaving 1; the outer one
/// converts it (0) to a timeout error. Both are expired.
/// CPython: `test_timeouts.py::test_nested_timeouts`.
#[test]
fn c07_nested_same_deadline() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let deadline = Instant::now() + SHORT;
            let cm1 = Timeout::at(Some(deadline));
            let cm2 = Timeout::at(Some(deadline));
            let inner_cm = cm2.clone();
            let err = cm1
                .run(async move {
                    let inner = inner_cm
                        .run(async {
                            let e = ravel::sleep(LONG).await.unwrap_err();
                            assert!(e.is_cancelled(), "{e:?}");
                            assert_eq!(cancelling(), 2, "both scopes cancelled the task");
                            Err::<(), _>(e)
                        })
                        .await
                        .unwrap_err();
                    assert!(inner.is_cancelled(), "{flavour}: the inner scope passes the cancellation: {inner:?}");
                    assert_eq!(cancelling(), 1);
                    Err::<(), _>(inner)
                })
                .await
                .unwrap_err();
            assert!(err.is_timeout(), "{flavour}: {err:?}");
            assert_eq!(cancelling(), 0);
            assert!(cm1.expired() && cm2.expired());
            Ok(())
        });
    }
}

/// C08: the inner scope is shorter: it raises the timeout error, which the
/// outer body catches with `cancelling()==0`; the outer body then finishes.
/// CPython: spec C08 (✔ on 3.13.0).
#[test]
fn c08_inner_shorter() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let outer = Timeout::after(Duration::from_secs(1));
            let inner = Timeout::after(SHORT);
            let i = inner.clone();
            let v = outer
                .run(async move {
                    let err = i.run(ravel::sleep(LONG)).await.unwrap_err();
                    assert!(err.is_timeout(), "{err:?}");
                    assert_eq!(cancelling(), 0);
                    ravel::sleep(Duration::from_millis(1)).await?;
                    Ok("outer body done")
                })
                .await?;
            assert_eq!(v, "outer body done", "{flavour}");
            assert!(!outer.expired());
            assert!(inner.expired());
            Ok(())
        });
    }
}

/// C09: the outer scope is shorter: the inner one passes the cancellation
/// through (`cancelling()==1`, not expired, `[finished]`); the outer one
/// raises the timeout error with the counter back at 0.
/// CPython: `test_timeouts.py::test_nested_timeouts_concurrent`.
#[test]
fn c09_outer_shorter() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let outer = Timeout::after(SHORT);
            let inner = Timeout::after(LONG);
            let i = inner.clone();
            let err = outer
                .run(async move {
                    let e = i.run(ravel::sleep(LONG)).await.unwrap_err();
                    assert!(e.is_cancelled(), "{flavour}: {e:?}");
                    assert_eq!(cancelling(), 1);
                    assert!(!i.expired());
                    assert_eq!(format!("{i:?}"), "<Timeout [finished]>");
                    Err::<(), _>(e)
                })
                .await
                .unwrap_err();
            assert!(err.is_timeout(), "{flavour}: {err:?}");
            assert_eq!(cancelling(), 0);
            assert!(outer.expired());
            Ok(())
        });
    }
}

/// C09 with a busy loop: the thread blocks past both deadlines; both scopes
/// expire (the inner one first) and both cancellations arrive as one; the
/// inner passes it through with `cancelling()==1`, the outer one raises the
/// timeout error.
/// CPython: `test_timeouts.py::test_nested_timeouts_loop_busy` (run on 3.13.0:
/// inner sees CancelledError, cancelling 1, both expired).
#[test]
fn c09_nested_loop_busy() {
    let rt = current_thread();
    block(&rt, async move {
        let t0 = Instant::now();
        let outer = Timeout::after(Duration::from_millis(100));
        let inner = Timeout::after(SHORT);
        let (o, i) = (outer.clone(), inner.clone());
        let err = outer
            .run(async move {
                let e = i
                    .run(async {
                        std::thread::sleep(Duration::from_millis(100)); // the loop is busy
                        ravel::sleep(Duration::from_secs(1)).await
                    })
                    .await
                    .unwrap_err();
                assert!(e.is_cancelled(), "{e:?}");
                assert_eq!(cancelling(), 1);
                assert!(o.expired() && i.expired());
                // Both expiries were delivered as one cancellation (asyncio
                // `_must_cancel` on a waiter already cancelled): re-raise it.
                Err::<(), _>(e)
            })
            .await
            .unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        assert_eq!(cancelling(), 0);
        assert!(t0.elapsed() < Duration::from_secs(1));
        Ok(())
    });
}

/// C11: a cancellation from outside while the scope is active and not
/// expired passes through unchanged; the counter stays 1.
/// CPython: `test_timeouts.py::test_foreign_cancel_doesnt_timeout_if_not_expired`.
#[test]
fn c11_foreign_cancel_not_expired() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let cm = Timeout::after(LONG);
            let c = cm.clone();
            let t = ravel::spawn(async move {
                c.run(async {
                    current_task().unwrap().cancel_with("foreign");
                    ravel::sleep(LONG).await
                })
                .await
            });
            let r = t.as_task_ref().clone();
            let out = t.await.unwrap_err();
            assert!(out.is_cancelled(), "{flavour}: {out:?}");
            assert_eq!(out.cancel_message(), Some("foreign"));
            assert!(!cm.expired());
            assert!(r.cancelled());
            assert_eq!(r.cancelling(), 1);
            Ok(())
        });
    }
}

/// C11 from another task: a task inside `timeout(10s)` cancelled by a
/// sibling ends cancelled with the sibling's message.
/// CPython: `test_timeouts.py::test_reschedule` (last part).
#[test]
fn c11_cancel_from_sibling() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let entered = ravel::Promise::<()>::new();
            let e = entered.clone();
            let cm = Timeout::after(LONG);
            let c = cm.clone();
            let t = ravel::spawn(async move {
                c.run(async move {
                    e.set_result(())?;
                    ravel::sleep(LONG).await
                })
                .await
            });
            entered.await?;
            t.cancel_with("sibling");
            let r = t.as_task_ref().clone();
            let out = t.await.unwrap_err();
            assert_eq!(out.cancel_message(), Some("sibling"), "{flavour}: {out:?}");
            assert!(!cm.expired());
            assert_eq!(r.cancelling(), 1);
            Ok(())
        });
    }
}

/// C14: a cancellation swallowed before the scope (counter 1, no
/// uncancel): an expiring `timeout(0)` still raises a timeout error,
/// because 1 <= its snapshot 1; the counter stays 1.
/// CPython: `test_timeouts.py::test_timeout_after_cancellation`.
#[test]
fn c14_timeout_after_swallowed_cancel() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let me = current_task().unwrap();
            me.cancel();
            let e = ravel::sleep(Duration::from_secs(1)).await.unwrap_err();
            assert!(e.is_cancelled());
            assert_eq!(me.cancelling(), 1);
            // "finally": cleanup under a timeout.
            let err = ravel::timeout(Duration::ZERO, ravel::sleep(Duration::from_secs(1))).await.unwrap_err();
            assert!(err.is_timeout(), "{flavour}: {err:?}");
            assert_eq!(me.cancelling(), 1, "the swallowed cancel still counts");
            me.uncancel();
            Ok(())
        });
    }
}

/// C14: after a swallowed cancellation, a new cancel inside `timeout(1s)`
/// (counter 2) passes through the unexpired scope as a cancellation.
/// CPython: `test_timeouts.py::test_cancel_in_timeout_after_cancellation`.
#[test]
fn c14_cancel_in_timeout_after_swallowed_cancel() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let t = ravel::spawn(async {
                let me = current_task().unwrap();
                me.cancel();
                assert!(ravel::sleep(Duration::from_secs(1)).await.unwrap_err().is_cancelled());
                let cm = Timeout::after(Duration::from_secs(1));
                let err = cm
                    .run(async {
                        current_task().unwrap().cancel();
                        ravel::sleep(Duration::from_secs(2)).await
                    })
                    .await
                    .unwrap_err();
                assert!(err.is_cancelled(), "{err:?}");
                assert!(!cm.expired());
                assert_eq!(me.cancelling(), 2);
                Err::<(), Error>(err)
            });
            let r = t.as_task_ref().clone();
            assert!(t.await.unwrap_err().is_cancelled(), "{flavour}");
            assert!(r.cancelled());
            assert_eq!(r.cancelling(), 2);
            Ok(())
        });
    }
}

/// A timeout inside the cleanup of an expired timeout: each scope raises its
/// own timeout error (the inner snapshot is 1, so the inner expiry's
/// uncancel back to 1 converts).
/// CPython: `test_timeouts.py::test_nested_timeout_in_finally`.
#[test]
fn c14_nested_timeout_in_cleanup() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let err = ravel::timeout(SHORT, async {
                let e = ravel::sleep(Duration::from_secs(1)).await.unwrap_err();
                assert!(e.is_cancelled());
                assert_eq!(cancelling(), 1);
                // finally: a nested timeout
                let inner = ravel::timeout(SHORT, ravel::sleep(LONG)).await.unwrap_err();
                assert!(inner.is_timeout(), "{inner:?}");
                assert!(inner.cause().unwrap().is_cancelled());
                assert_eq!(cancelling(), 1);
                Err::<(), _>(e)
            })
            .await
            .unwrap_err();
            assert!(err.is_timeout(), "{flavour}: {err:?}");
            assert!(err.cause().unwrap().is_cancelled());
            assert!(err.cause().unwrap().cause().is_none());
            assert_eq!(cancelling(), 0);
            Ok(())
        });
    }
}

/// Three levels with the innermost deadline first, then the middle: each
/// expired scope converts only its own cancellation.
/// CPython: generalises `test_timeouts.py::test_nested_timeouts`.
#[test]
fn c08_three_levels_each_converts_its_own() {
    let rt = current_thread();
    block(&rt, async move {
        let out = ravel::timeout(LONG, async {
            let mid = ravel::timeout(Duration::from_millis(30), async {
                let inner = ravel::timeout(Duration::from_millis(5), ravel::sleep(LONG)).await.unwrap_err();
                assert!(inner.is_timeout(), "{inner:?}");
                assert_eq!(cancelling(), 0);
                ravel::sleep(LONG).await
            })
            .await
            .unwrap_err();
            assert!(mid.is_timeout(), "{mid:?}");
            assert_eq!(cancelling(), 0);
            Ok("outermost body done")
        })
        .await?;
        assert_eq!(out, "outermost body done");
        Ok(())
    });
}
