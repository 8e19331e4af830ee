//! `uncancel()` (asyncio-semantics §1.4 and §2.A: A07): decrement rules,
//! the 3.13 withdrawal of an undelivered request at zero, and use on done
//! tasks.

use ravel_tests::block;
use ravel_tests::{both, current_thread};
use std::time::Duration;

const LONG: Duration = Duration::from_secs(10);

/// A07: catch the cancellation, `uncancel()`, sleep again; a second cancel
/// then ends the task; `uncancel()` on the done task changes neither
/// `cancelled()` nor `done()`.
/// CPython: `test_tasks.py::test_uncancel_basic`. Order-dependent ("after
/// the task has run"): current-thread.
#[test]
fn a07_uncancel_basic() {
    let rt = current_thread();
    block(&rt, async {
        let mut t = ravel::spawn(async {
            match ravel::sleep(LONG).await {
                Err(e) if e.is_cancelled() => {
                    assert_eq!(ravel::current_task().unwrap().uncancel(), 0);
                    ravel::sleep(LONG).await?;
                }
                other => panic!("expected a cancellation, got {other:?}"),
            }
            Ok(())
        });
        ravel::yield_now().await?; // the task is now sleeping

        // Cancel the first sleep.
        assert!(t.cancel());
        assert!(format!("{t:?}").contains("cancelling"), "{t:?}");
        assert_eq!(t.cancelling(), 1);
        assert!(!t.cancelled());
        ravel::yield_now().await?; // the task catches, uncancels, sleeps again

        assert!(!t.done());
        assert!(!format!("{t:?}").contains("cancelling"), "{t:?}");
        assert_eq!(t.cancelling(), 0);
        assert!(!t.cancelled());

        // Cancel the second sleep.
        assert!(t.cancel());
        assert_eq!(t.cancelling(), 1);
        assert!(!t.cancelled());
        let err = (&mut t).await.unwrap_err();
        assert!(err.is_cancelled());
        assert!(t.cancelled());
        assert!(t.done());

        // uncancel on the done task: counter goes down, outcome unchanged.
        assert_eq!(t.uncancel(), 0);
        assert!(t.cancelled());
        assert!(t.done());
        Ok(())
    });
}

/// 3.13 rule: `uncancel()` reaching 0 withdraws a request that was not
/// yet delivered (`_must_cancel = False`), here from inside the task.
/// Checked on CPython 3.13.0: `ct.cancel("m"); ct.uncancel(); await sleep(0); return 5` returns 5.
#[test]
fn uncancel_to_zero_withdraws_undelivered_self_cancel() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let mut t = ravel::spawn(async {
                let me = ravel::current_task().unwrap();
                assert!(me.cancel_with("m"));
                assert_eq!(me.uncancel(), 0);
                ravel::yield_now().await?;
                ravel::sleep(Duration::from_millis(1)).await?;
                Ok(5)
            });
            assert_eq!((&mut t).await.unwrap(), 5, "{flavour}");
            assert!(!t.cancelled(), "{flavour}");
            assert_eq!(t.cancelling(), 0, "{flavour}");
            Ok(())
        });
    }
}

/// 3.13 rule, from outside before the task starts: `cancel(); uncancel()`
/// leaves nothing to deliver, so the task runs its body and returns.
/// Checked on CPython 3.13.0 (`t.cancel(); t.uncancel(); await t` gives the result).
#[test]
fn uncancel_to_zero_withdraws_cancel_before_start() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let mut t = ravel::spawn(async {
                ravel::yield_now().await?;
                Ok(5)
            });
            assert!(t.cancel());
            assert_eq!(t.uncancel(), 0);
            assert_eq!((&mut t).await.unwrap(), 5, "{flavour}: the body ran and returned");
            assert!(!t.cancelled(), "{flavour}");
            Ok(())
        });
    }
}

/// `uncancel()` that does not reach 0 keeps the undelivered request: two
/// cancels, one uncancel (count 1), and the next await still raises.
/// Checked on CPython 3.13.0.
#[test]
fn uncancel_above_zero_keeps_pending_request() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let mut t = ravel::spawn(async {
                let me = ravel::current_task().unwrap();
                me.cancel();
                me.cancel();
                assert_eq!(me.uncancel(), 1);
                match ravel::yield_now().await {
                    Err(e) if e.is_cancelled() => Ok("caught"),
                    other => panic!("expected the pending cancellation, got {other:?}"),
                }
            });
            assert_eq!((&mut t).await.unwrap(), "caught", "{flavour}");
            assert!(!t.cancelled(), "{flavour}");
            assert_eq!(t.cancelling(), 1, "{flavour}");
            Ok(())
        });
    }
}

/// `uncancel()` at 0 stays 0, on a pending task and repeatedly.
/// asyncio-semantics §1.4 ("decrements it if > 0").
#[test]
fn uncancel_at_zero_stays_zero() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let t = ravel::spawn(async {
                ravel::sleep(LONG).await?;
                Ok(())
            });
            assert_eq!(t.uncancel(), 0, "{flavour}");
            assert_eq!(t.uncancel(), 0, "{flavour}");
            assert_eq!(t.cancelling(), 0, "{flavour}");
            // A later cancel still counts from zero.
            assert!(t.cancel());
            assert_eq!(t.cancelling(), 1, "{flavour}");
            let me = ravel::current_task().unwrap();
            assert_eq!(me.uncancel(), 0, "{flavour}: the current task too");
            t.wait_done().await?;
            assert!(t.cancelled(), "{flavour}");
            Ok(())
        });
    }
}

/// `uncancel()` works on done tasks: it decrements and returns the new
/// count, but never changes the outcome (cancelled or not).
/// CPython: `test_tasks.py::test_uncancel_basic` (last part); §1.4.
#[test]
fn uncancel_on_done_tasks() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            // Cancelled twice, ended cancelled.
            let cancelled = ravel::spawn(async {
                ravel::sleep(LONG).await?;
                Ok(())
            });
            cancelled.cancel();
            cancelled.cancel();
            cancelled.wait_done().await?;
            assert!(cancelled.cancelled(), "{flavour}");
            assert_eq!(cancelled.uncancel(), 1, "{flavour}");
            assert_eq!(cancelled.uncancel(), 0, "{flavour}");
            assert_eq!(cancelled.uncancel(), 0, "{flavour}");
            assert!(cancelled.cancelled() && cancelled.done(), "{flavour}");
            assert!(!cancelled.cancel(), "{flavour}: still done");
            assert_eq!(cancelled.cancelling(), 0, "{flavour}");

            // Caught the cancellation and returned: done, not cancelled.
            let started = ravel::Promise::<()>::new();
            let s = started.clone();
            let mut caught = ravel::spawn(async move {
                s.set_result(())?;
                match ravel::sleep(LONG).await {
                    Err(e) if e.is_cancelled() => Ok(42),
                    other => panic!("expected a cancellation, got {other:?}"),
                }
            });
            started.await?; // the body has started, so the cancel is caught there
            caught.cancel();
            assert_eq!((&mut caught).await.unwrap(), 42, "{flavour}");
            assert_eq!(caught.cancelling(), 1, "{flavour}");
            assert_eq!(caught.uncancel(), 0, "{flavour}");
            assert!(caught.done() && !caught.cancelled(), "{flavour}");
            Ok(())
        });
    }
}

/// After `uncancel()` withdrew a request, a new `cancel()` is delivered
/// normally.
/// asyncio-semantics §1.2/§1.4.
#[test]
fn cancel_after_withdrawn_request_is_delivered() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let mut t = ravel::spawn(async {
                let me = ravel::current_task().unwrap();
                me.cancel_with("first");
                me.uncancel();
                ravel::yield_now().await?; // nothing pending: Ok
                me.cancel_with("second");
                ravel::yield_now().await?; // delivered here
                Ok(())
            });
            let err = (&mut t).await.unwrap_err();
            assert_eq!(err.cancel_message(), Some("second"), "{flavour}");
            assert!(t.cancelled(), "{flavour}");
            assert_eq!(t.cancelling(), 1, "{flavour}");
            Ok(())
        });
    }
}
