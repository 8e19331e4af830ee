//! Moving a timeout's deadline, and the state errors of `reschedule` and of
//! entering a scope (asyncio-semantics §2.C: C16, C18, C19).

use ravel::{current_task, Promise, Timeout};
use ravel_tests::block;
use ravel_tests::{both, current_thread};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

const LONG: Duration = Duration::from_secs(10);

/// C16: another task reads and moves the deadline (`when()` follows),
/// `reschedule(None)` disables it, and a cancel from outside afterwards is a
/// plain cancellation with the scope not expired.
/// CPython: `test_timeouts.py::test_reschedule`.
#[test]
fn c16_reschedule_from_another_task() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let entered = Promise::<Timeout>::new();
            let e = entered.clone();
            let deadline1 = Instant::now() + LONG;
            let deadline2 = deadline1 + Duration::from_secs(20);
            let task = ravel::spawn(async move {
                let cm = Timeout::at(Some(deadline1));
                let inside = cm.clone();
                cm.run(async move {
                    e.set_result(inside)?;
                    ravel::sleep(Duration::from_secs(50)).await
                })
                .await
            });
            let cm = entered.await?;
            assert_eq!(cm.when(), Some(deadline1));
            cm.reschedule(Some(deadline2))?;
            assert_eq!(cm.when(), Some(deadline2));
            cm.reschedule(None)?;
            assert_eq!(cm.when(), None);
            assert_eq!(format!("{cm:?}"), "<Timeout [active] when=None>");
            task.cancel();
            let err = task.await.unwrap_err();
            assert!(err.is_cancelled(), "{flavour}: {err:?}");
            assert!(!cm.expired());
            Ok(())
        });
    }
}

/// C16: extending the deadline from inside keeps the scope from expiring.
/// CPython: spec C16 (✔ on 3.13.0).
#[test]
fn c16_extend() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let cm = Timeout::after(Duration::from_millis(10));
            let inside = cm.clone();
            let v = cm
                .run(async move {
                    inside.reschedule(Some(Instant::now() + Duration::from_millis(200)))?;
                    ravel::sleep(Duration::from_millis(30)).await?;
                    Ok("no timeout")
                })
                .await?;
            assert_eq!(v, "no timeout", "{flavour}");
            assert!(!cm.expired());
            Ok(())
        });
    }
}

/// C16: shortening fires at the new deadline; a deadline moved into the
/// past expires the scope (on the next iteration: on one worker it beats
/// the body's tick, see `c16_past_deadline_beats_the_next_tick`).
/// CPython: spec C16 (✔ on 3.13.0).
#[test]
fn c16_shorten_and_past() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let start = Instant::now();
            let cm = Timeout::after(LONG);
            let inside = cm.clone();
            let err = cm
                .run(async move {
                    let new = Instant::now() + Duration::from_millis(20);
                    inside.reschedule(Some(new))?;
                    assert_eq!(inside.when(), Some(new));
                    ravel::sleep(LONG).await
                })
                .await
                .unwrap_err();
            assert!(err.is_timeout(), "{flavour}: {err:?}");
            let took = start.elapsed();
            assert!(took >= Duration::from_millis(20) && took < Duration::from_secs(5), "{flavour}: {took:?}");

            let cm = Timeout::after(LONG);
            let inside = cm.clone();
            let err = cm
                .run(async move {
                    inside.reschedule(Some(Instant::now() - Duration::from_millis(1)))?;
                    ravel::sleep(LONG).await
                })
                .await
                .unwrap_err();
            assert!(err.is_timeout(), "{flavour}: {err:?}");
            assert!(cm.expired());
            assert_eq!(current_task().unwrap().cancelling(), 0);
            Ok(())
        });
    }
}

/// C16/C05: a deadline moved into the past is queued with call_soon before
/// the body's tick re-queues the task, so it fires first. Order-dependent:
/// current-thread (on several workers the tick may win the race).
/// CPython: `timeouts.py::Timeout.reschedule` (`when <= loop.time()` → `call_soon`).
#[test]
fn c16_past_deadline_beats_the_next_tick() {
    let rt = current_thread();
    block(&rt, async move {
        let cm = Timeout::after(LONG);
        let inside = cm.clone();
        let err = cm
            .run(async move {
                inside.reschedule(Some(Instant::now() - Duration::from_millis(1)))?;
                ravel::yield_now().await
            })
            .await
            .unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        assert!(cm.expired());
        Ok(())
    });
}

/// C16 across threads: a foreign OS thread shortens the deadline of a scope
/// that is waiting on a worker.
/// CPython: spec C16; Ravel: `Timeout` is `Send + Sync`.
#[test]
fn c16_reschedule_from_a_foreign_thread() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let (tx, rx) = std::sync::mpsc::channel::<Timeout>();
            let mover = std::thread::spawn(move || {
                let cm = rx.recv().unwrap();
                cm.reschedule(Some(Instant::now() + Duration::from_millis(5))).unwrap();
            });
            let cm = Timeout::after(LONG);
            let inside = cm.clone();
            let start = Instant::now();
            let err = cm
                .run(async move {
                    tx.send(inside).unwrap();
                    ravel::sleep(LONG).await
                })
                .await
                .unwrap_err();
            mover.join().unwrap();
            assert!(err.is_timeout(), "{flavour}: {err:?}");
            assert!(start.elapsed() < Duration::from_secs(5));
            Ok(())
        });
    }
}

/// C18: `reschedule` on a scope that is not active: not entered, finished,
/// expired, expiring.
/// CPython: `test_timeouts.py::test_timeout_not_entered`, `test_timeout_finished`,
/// `test_timeout_expired`, `test_timeout_expiring`.
#[test]
fn c18_reschedule_errors() {
    let rt = current_thread();
    block(&rt, async move {
        let soon = || Some(Instant::now() + Duration::from_millis(20));

        let cm = Timeout::after(Duration::from_millis(10));
        let err = cm.reschedule(soon()).unwrap_err();
        assert!(err.is_invalid_state());
        assert_eq!(err.to_string(), "Timeout has not been entered");

        let cm = Timeout::after(Duration::from_millis(10));
        cm.run(async { Ok(()) }).await?;
        let err = cm.reschedule(soon()).unwrap_err();
        assert_eq!(err.to_string(), "Cannot change state of finished Timeout");

        let cm = Timeout::after(Duration::from_millis(10));
        assert!(cm.run(ravel::sleep(Duration::from_secs(1))).await.unwrap_err().is_timeout());
        let err = cm.reschedule(soon()).unwrap_err();
        assert_eq!(err.to_string(), "Cannot change state of expired Timeout");

        let cm = Timeout::after(Duration::from_millis(10));
        let inside = cm.clone();
        let v = cm
            .run(async move {
                let e = ravel::sleep(Duration::from_secs(1)).await.unwrap_err();
                assert!(e.is_cancelled());
                let err = inside.reschedule(soon()).unwrap_err();
                assert_eq!(err.to_string(), "Cannot change state of expiring Timeout");
                assert_eq!(format!("{inside:?}"), "<Timeout [expiring]>");
                Ok("swallowed")
            })
            .await?;
        // The body swallowed the expiry's cancellation: its value comes out.
        assert_eq!(v, "swallowed");
        assert!(cm.expired());
        assert_eq!(current_task().unwrap().cancelling(), 0);
        Ok(())
    });
}

/// C18/C19: entering outside a task fails ("Timeout should be used inside a
/// task") and leaves the scope not entered.
/// CPython: `test_timeouts.py::test_timeout_without_task`.
#[test]
fn c19_enter_outside_a_task() {
    let cm = Timeout::after(Duration::from_millis(10));
    let mut scope = pin!(cm.run(async { Ok(1) }));
    let mut cx = Context::from_waker(Waker::noop());
    let Poll::Ready(Err(err)) = scope.as_mut().poll(&mut cx) else {
        panic!("entering outside a task must fail at once");
    };
    assert!(err.is_invalid_state());
    assert_eq!(err.to_string(), "Timeout should be used inside a task");
    assert_eq!(cm.reschedule(None).unwrap_err().to_string(), "Timeout has not been entered");
    assert_eq!(format!("{cm:?}"), "<Timeout [created]>");
}

/// C19: a scope can be entered once: again while active, or after exit,
/// is "Timeout has already been entered".
/// CPython: `test_timeouts.py::test_timeout_already_entered`, `test_timeout_double_enter`.
#[test]
fn c19_enter_twice() {
    let rt = current_thread();
    block(&rt, async move {
        let cm = Timeout::after(Duration::from_millis(10));
        let again = cm.clone();
        cm.run(async move {
            let err = again.run(async { Ok(()) }).await.unwrap_err();
            assert!(err.is_invalid_state());
            assert_eq!(err.to_string(), "Timeout has already been entered");
            Ok(())
        })
        .await?;
        let err = cm.run(async { Ok(()) }).await.unwrap_err();
        assert_eq!(err.to_string(), "Timeout has already been entered");
        assert_eq!(format!("{cm:?}"), "<Timeout [finished]>");
        Ok(())
    });
}

/// The handle of a `ravel::timeout(..)` future (whose scope stays inline
/// until needed) can move the deadline from another task while the body
/// waits: extended past the body's sleep, the scope does not expire.
#[test]
fn inline_scope_handle_reschedules() {
    for (flavour, rt) in both() {
        let out = rt
            .block_on(async move {
                let entered = Promise::new();
                let signal = entered.clone();
                let fut = ravel::timeout(Duration::from_millis(20), async move {
                    signal.set_result(())?; // the scope is entered once the body runs
                    ravel::sleep(Duration::from_millis(60)).await?;
                    Ok("slept")
                });
                let handle = fut.handle().clone();
                let extender = ravel::spawn(async move {
                    entered.await?;
                    handle.reschedule(Some(std::time::Instant::now() + Duration::from_secs(5)))?;
                    Ok(handle)
                });
                let (out, handle) = (fut.await, extender.await?);
                Ok((out?, handle.expired(), format!("{handle:?}")))
            })
            .unwrap();
        assert_eq!(out, ("slept", false, "<Timeout [finished]>".to_string()), "{flavour}");
    }
}
