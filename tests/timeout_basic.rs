//! Timeout scopes, single level: expiry, no expiry, disabled deadlines,
//! when the deadline is computed, zero/past deadlines and the repr
//! (asyncio-semantics §2.C: C01, C02, C03, C04, C05, C25).

use ravel::{current_task, Timeout};
use ravel_tests::block;
use ravel_tests::{both, current_thread};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LONG: Duration = Duration::from_secs(10);
const SHORT: Duration = Duration::from_millis(10);

/// C01: a body that outlives the deadline gets a timeout error whose cause
/// and context are the cancellation; the scope is expired; the enclosing
/// task is not left cancelled (its counter is back to 0 and it can keep
/// awaiting).
/// CPython: `test_timeouts.py::test_timeout_basic`, `test_outer_task_is_not_cancelled`.
#[test]
fn c01_basic_expiry() {
    for (flavour, rt) in both() {
        let outer = block(&rt, async move {
            let outer = ravel::spawn(async move {
                let cm = Timeout::after(SHORT);
                let err = cm.run(ravel::sleep(LONG)).await.unwrap_err();
                assert!(err.is_timeout(), "{flavour}: {err:?}");
                let cause = err.cause().expect("a timeout error has the cancellation as its cause");
                assert!(cause.is_cancelled(), "{flavour}: {cause:?}");
                assert_eq!(cause.cancel_message(), None, "the expiry cancels without a message");
                assert!(err.context().expect("and as its context").is_cancelled());
                assert!(cm.expired());
                assert_eq!(format!("{cm:?}"), "<Timeout [expired]>");
                let me = current_task().unwrap();
                assert_eq!(me.cancelling(), 0, "{flavour}: counter restored");
                // Not cancelled any more: the next suspension completes.
                ravel::sleep(Duration::from_millis(1)).await?;
                Ok("outer finished")
            });
            outer.wait_done().await?;
            Ok(outer)
        });
        assert!(outer.done());
        assert!(!outer.cancelled(), "{flavour}: the task running the scope is not cancelled");
        assert_eq!(outer.result().unwrap(), "outer finished");
    }
}

/// C01 with an absolute deadline: `timeout_at` keeps the deadline given.
/// CPython: `test_timeouts.py::test_timeout_at_basic`.
#[test]
fn c01_timeout_at_basic() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let deadline = Instant::now() + SHORT;
            let cm = Timeout::at(Some(deadline));
            let err = cm.run(ravel::sleep(LONG)).await.unwrap_err();
            assert!(err.is_timeout(), "{flavour}: {err:?}");
            assert!(cm.expired());
            assert_eq!(cm.when(), Some(deadline));
            // The free function does the same.
            let err = ravel::timeout_at(Some(Instant::now() + SHORT), ravel::sleep(LONG)).await.unwrap_err();
            assert!(err.is_timeout());
            // A bare Instant works too, as `timeout` takes a bare Duration.
            let err = ravel::timeout_at(Instant::now() + SHORT, ravel::sleep(LONG)).await.unwrap_err();
            assert!(err.is_timeout());
            assert_eq!(Timeout::at(deadline).when(), Some(deadline));
            assert_eq!(current_task().unwrap().cancelling(), 0);
            Ok(())
        });
    }
}

/// C01: the body itself sees the cancellation (and may clean up) before the
/// scope turns it into a timeout error.
/// CPython: `test_timeouts.py::test_waiter_cancelled`.
#[test]
fn c01_body_sees_the_cancellation() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let saw = Arc::new(AtomicBool::new(false));
            let s = saw.clone();
            let err = ravel::timeout(SHORT, async move {
                match ravel::sleep(LONG).await {
                    Err(e) if e.is_cancelled() => {
                        assert_eq!(current_task().unwrap().cancelling(), 1);
                        // Async cleanup inside the expired scope is allowed.
                        ravel::sleep(Duration::from_millis(1)).await?;
                        s.store(true, SeqCst);
                        Err(e)
                    }
                    other => other,
                }
            })
            .await
            .unwrap_err();
            assert!(err.is_timeout(), "{flavour}: {err:?}");
            assert!(saw.load(SeqCst), "{flavour}: the body saw the cancellation and finished its cleanup");
            Ok(())
        });
    }
}

/// C02: a scope whose deadline does not pass: the body's value, not
/// expired, `when()` still in the future, repr `[finished]`.
/// CPython: `test_timeouts.py::test_timeout_not_called`, `test_repr_finished`.
#[test]
fn c02_not_triggered() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let cm = Timeout::after(LONG);
            let v = cm
                .run(async {
                    ravel::sleep(SHORT).await?;
                    Ok(7)
                })
                .await?;
            assert_eq!(v, 7);
            let t1 = Instant::now();
            assert!(!cm.expired(), "{flavour}");
            assert!(cm.when().unwrap() > t1);
            assert_eq!(format!("{cm:?}"), "<Timeout [finished]>");
            assert_eq!(current_task().unwrap().cancelling(), 0);

            let cm = Timeout::after(LONG);
            cm.run(ravel::yield_now()).await?;
            assert_eq!(format!("{cm:?}"), "<Timeout [finished]>");
            Ok(())
        });
    }
}

/// C03: `None` deadlines (relative and absolute) never fire; `when()` is
/// `None`; the repr while active is `<Timeout [active] when=None>`.
/// CPython: `test_timeouts.py::test_timeout_disabled`, `test_timeout_at_disabled`, `test_repr_disabled`.
#[test]
fn c03_disabled() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            for cm in [Timeout::after(None), Timeout::at(None)] {
                let inside = cm.clone();
                let repr = cm
                    .run(async move {
                        let repr = format!("{inside:?}");
                        ravel::sleep(SHORT).await?;
                        Ok(repr)
                    })
                    .await?;
                assert_eq!(repr, "<Timeout [active] when=None>", "{flavour}");
                assert!(!cm.expired());
                assert_eq!(cm.when(), None);
                assert_eq!(format!("{cm:?}"), "<Timeout [finished]>");
            }
            assert_eq!(ravel::timeout(None, async { Ok(3) }).await?, 3);
            Ok(())
        });
    }
}

/// C04: the deadline is computed when `Timeout::after` is called, not when
/// the scope is entered.
/// CPython: spec C04 (✔ on 3.13.0).
#[test]
fn c04_deadline_computed_at_creation() {
    let rt = current_thread();
    block(&rt, async move {
        let t0 = Instant::now();
        let cm = Timeout::after(Duration::from_millis(50));
        let t1 = Instant::now();
        ravel::sleep(Duration::from_millis(30)).await?;
        let when = cm.when().unwrap();
        assert!(when >= t0 + Duration::from_millis(50) && when <= t1 + Duration::from_millis(50));
        let inside = cm.clone();
        let start = Instant::now();
        let err = cm
            .run(async move {
                assert_eq!(inside.when(), Some(when), "entering does not move the deadline");
                ravel::sleep(LONG).await
            })
            .await
            .unwrap_err();
        assert!(err.is_timeout());
        assert_eq!(cm.when(), Some(when));
        // Fired about 20 ms after entry, not 50 ms.
        assert!(start.elapsed() < Duration::from_millis(45), "fired {:?} after entry", start.elapsed());
        Ok(())
    });
}

/// C05: a zero or past deadline expires the scope even if the body only
/// ticks: the expiry is queued (call_soon) when the scope is entered, before
/// the body re-queues itself, so it fires first.
/// CPython: `test_timeouts.py::test_timeout_zero`, `test_timeout_zero_sleep_zero`,
/// `test_timeout_in_the_past_sleep_zero`. Order-dependent: current-thread.
#[test]
fn c05_zero_and_past_deadlines() {
    let rt = current_thread();
    block(&rt, async move {
        // timeout(0) around a long sleep.
        let t0 = Instant::now();
        let cm = Timeout::after(Duration::ZERO);
        let err = cm.run(ravel::sleep(LONG)).await.unwrap_err();
        let t1 = Instant::now();
        assert!(err.is_timeout(), "{err:?}");
        assert!(cm.expired());
        let when = cm.when().unwrap();
        assert!(t0 <= when && when <= t1);

        // timeout(0) around sleep(0).
        let cm = Timeout::after(Duration::ZERO);
        let err = cm.run(ravel::sleep(Duration::ZERO)).await.unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        assert!(cm.expired());

        // timeout(0) around yield_now.
        let cm = Timeout::after(Duration::ZERO);
        let err = cm.run(ravel::yield_now()).await.unwrap_err();
        assert!(err.is_timeout(), "{err:?}");

        // A deadline 11 s in the past (asyncio timeout(-11)) around sleep(0).
        let t0 = Instant::now();
        let past = t0.checked_sub(Duration::from_secs(11)).unwrap_or(t0);
        let cm = Timeout::at(Some(past));
        let err = cm.run(ravel::sleep(Duration::ZERO)).await.unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        assert!(cm.expired());
        assert!(cm.when().unwrap() <= t0);
        assert_eq!(current_task().unwrap().cancelling(), 0);
        Ok(())
    });
}

/// C05: the body runs up to its first suspension before the queued expiry
/// fires; a body that never suspends returns its value.
/// CPython: `timeouts.py::Timeout.reschedule` (`when <= loop.time()` → `call_soon`).
#[test]
fn c05_zero_deadline_body_runs_to_first_suspension() {
    let rt = current_thread();
    block(&rt, async move {
        let ran = Arc::new(AtomicBool::new(false));
        let after_tick = Arc::new(AtomicBool::new(false));
        let (r, a) = (ran.clone(), after_tick.clone());
        let err = ravel::timeout(Duration::ZERO, async move {
            r.store(true, SeqCst);
            ravel::yield_now().await?;
            a.store(true, SeqCst);
            Ok(())
        })
        .await
        .unwrap_err();
        assert!(err.is_timeout());
        assert!(ran.load(SeqCst), "the body ran up to its first suspension");
        assert!(!after_tick.load(SeqCst), "the tick after the expiry was cancelled");
        // No suspension at all: the scope finishes before the expiry runs.
        let cm = Timeout::after(Duration::ZERO);
        assert_eq!(cm.run(async { Ok(5) }).await?, 5);
        assert!(!cm.expired());
        assert_eq!(format!("{cm:?}"), "<Timeout [finished]>");
        // The expiry queued for it does nothing later.
        ravel::sleep(Duration::from_millis(1)).await?;
        assert_eq!(current_task().unwrap().cancelling(), 0);
        Ok(())
    });
}

/// C25: while active, the repr shows the time left rounded to 3 places
/// (Ravel: relative to now, `when=+9.999s`; asyncio shows the loop time).
/// CPython: `test_timeouts.py::test_repr_active`.
#[test]
fn c25_active_repr() {
    let rt = current_thread();
    block(&rt, async move {
        let cm = Timeout::after(LONG);
        let inside = cm.clone();
        let repr = cm.run(async move { Ok(format!("{inside:?}")) }).await?;
        let rest = repr.strip_prefix("<Timeout [active] when=+").unwrap_or_else(|| panic!("{repr}"));
        let secs = rest.strip_suffix("s>").unwrap_or_else(|| panic!("{repr}"));
        let (int, frac) = secs.split_once('.').unwrap_or_else(|| panic!("{repr}"));
        assert_eq!(frac.len(), 3, "{repr}");
        assert!(int.chars().all(|c| c.is_ascii_digit()) && frac.chars().all(|c| c.is_ascii_digit()), "{repr}");
        let left: f64 = secs.parse().unwrap();
        assert!(left > 9.0 && left <= 10.0, "{repr}");
        let created = Timeout::after(LONG);
        assert_eq!(format!("{created:?}"), "<Timeout [created]>");
        Ok(())
    });
}
