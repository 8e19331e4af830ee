//! `ravel::shield` (asyncio `shield()`; asyncio-semantics §1.10 and §2.E:
//! E01–E04).
//!
//! asyncio's `outer` future maps to the task awaiting the [`ravel::Shield`]:
//! "outer.cancel()" is cancelling that task.

use ravel::runtime::UnhandledError;
use ravel::{Error, Promise};
use ravel_tests::block;
use ravel_tests::{both, current_thread, Log};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug)]
struct Boom;

impl std::fmt::Display for Boom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("boom")
    }
}

impl std::error::Error for Boom {}

/// E01: the inner task's value passes through the shield, whether the task
/// is still running or already done when shielded.
/// CPython: `test_tasks.py::test_shield_result`, `test_shield_shortcut`.
#[test]
fn e01_shield_result() {
    for (flavour, rt) in both() {
        let (running, done) = block(&rt, async {
            let inner = ravel::spawn(async {
                ravel::sleep(Duration::from_millis(2)).await?;
                Ok(42)
            });
            let running = ravel::shield(inner).await?;
            let inner = ravel::spawn(async { Ok(43) });
            inner.wait_done().await?;
            let done = ravel::shield(inner).await?;
            Ok((running, done))
        });
        assert_eq!((running, done), (42, 43), "{flavour}");
    }
}

/// E01: the inner task's error becomes the shield's error (the same error:
/// it downcasts to the original type).
/// CPython: `test_tasks.py::test_shield_exception`.
#[test]
fn e01_shield_exception() {
    for (flavour, rt) in both() {
        let err = block(&rt, async {
            let inner = ravel::spawn(async {
                ravel::yield_now().await?;
                Err::<(), _>(Error::new(Boom))
            });
            Ok(ravel::shield(inner).await.unwrap_err())
        });
        assert!(!err.is_cancelled(), "{flavour}");
        assert!(err.downcast_ref::<Boom>().is_some(), "{flavour}: {err:?}");
    }
}

/// E02: cancelling the task awaiting the shield gives it CE('o') at once,
/// with `cancelling()==1`, and does not touch the inner task, which
/// completes (proof == 1, never 101).
/// CPython: `test_tasks.py::test_shield_effect`.
#[test]
fn e02_shield_effect() {
    for (flavour, rt) in both() {
        let proof = Arc::new(AtomicU32::new(0));
        let p = proof.clone();
        block(&rt, async move {
            let waiter = Promise::<()>::new();
            let entered = Promise::<()>::new();
            let w = waiter.clone();
            let p_inner = p.clone();
            let inner = ravel::spawn(async move {
                w.await?;
                p_inner.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
            let inner_ref = inner.as_task_ref().clone();
            let e = entered.clone();
            let p_outer = p.clone();
            let mut outer = ravel::spawn(async move {
                e.set_result(())?;
                ravel::shield(inner).await?;
                p_outer.fetch_add(100, Ordering::SeqCst);
                Ok(())
            });
            entered.await?;
            assert!(outer.cancel_with("o"));
            let err = (&mut outer).await.unwrap_err();
            assert_eq!(err.cancel_message(), Some("o"));
            assert!(outer.cancelled());
            assert_eq!(outer.cancelling(), 1);
            // The awaiter was cancelled while the inner task still waits.
            assert!(!inner_ref.done());
            assert_eq!(inner_ref.cancelling(), 0);
            waiter.set_result(())?;
            inner_ref.wait_done().await?;
            assert!(!inner_ref.cancelled());
            Ok(())
        });
        assert_eq!(proof.load(Ordering::SeqCst), 1, "{flavour}");
    }
}

/// E03: cancelling the inner task (with a message) cancels the awaiter of
/// the shield, and its CE has **no** message (asyncio `outer.cancel()`
/// without args).
/// CPython: `test_tasks.py::test_shield_cancel_inner`. Current-thread.
#[test]
fn e03_cancel_inner_cancels_outer_without_message() {
    let rt = current_thread();
    block(&rt, async {
        let inner = ravel::spawn(async {
            ravel::sleep(Duration::from_secs(10)).await?;
            Ok(())
        });
        let inner_ref = inner.as_task_ref().clone();
        let mut outer = ravel::spawn(async move { ravel::shield(inner).await });
        ravel::yield_now().await?; // outer waits in the shield
        assert!(inner_ref.cancel_with("im"));
        let err = (&mut outer).await.unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(err.cancel_message(), None, "the inner message is not copied");
        assert!(outer.cancelled());
        assert_eq!(outer.cancelling(), 0);
        assert_eq!(inner_ref.exception().unwrap_err().cancel_message(), Some("im"));
        Ok(())
    });
}

/// E03 counterpart (asyncio's shortcut `if inner.done(): return inner`): a
/// task already cancelled when shielded is awaited directly, so its message
/// is kept.
/// CPython: `tasks.py::shield` (shortcut), as in `test_shield_shortcut`.
#[test]
fn e03_already_cancelled_inner_is_awaited_directly() {
    for (flavour, rt) in both() {
        let err = block(&rt, async {
            let inner = ravel::spawn(async {
                ravel::sleep(Duration::from_secs(10)).await?;
                Ok(())
            });
            inner.cancel_with("im");
            inner.wait_done().await?;
            Ok(ravel::shield(inner).await.unwrap_err())
        });
        assert_eq!(err.cancel_message(), Some("im"), "{flavour}");
    }
}

/// E04: "outer.cancel()" (cancelling the task awaiting the shield) returns
/// true and the awaiter ends cancelled, while the inner task runs on.
///
/// The spec's third E04 bullet (a later inner exception is marked retrieved)
/// does not hold on CPython 3.13.0: outer's done callback removes inner's
/// callback first, so `Task exception was never retrieved` is logged (checked
/// by running the scenario). Ravel does the same: the inner task, detached
/// when the shield is dropped, reports its late failure to the
/// unhandled-error hook.
/// CPython: `test_tasks.py::test_shield_cancel_outer`.
#[test]
fn e04_cancel_outer() {
    let reports = Log::new();
    let r = reports.clone();
    let rt = ravel::Builder::new_current_thread()
        .unhandled_error_hook(move |u: &UnhandledError| r.push(format!("{}: {}", u.message(), u.error())))
        .build()
        .unwrap();
    block(&rt, async {
        let gate = Promise::<()>::new();
        let g = gate.clone();
        let inner = ravel::spawn(async move {
            g.await?;
            Err::<(), _>(Error::new(Boom))
        });
        let inner_ref = inner.as_task_ref().clone();
        let mut outer = ravel::spawn(async move { ravel::shield(inner).await });
        ravel::yield_now().await?;
        assert!(outer.cancel());
        let err = (&mut outer).await.unwrap_err();
        assert!(err.is_cancelled() && err.cancel_message().is_none());
        assert!(outer.cancelled());
        assert!(!inner_ref.done() && inner_ref.cancelling() == 0);
        drop(inner_ref);
        gate.set_result(())?;
        for _ in 0..5 {
            ravel::yield_now().await?;
        }
        Ok(())
    });
    drop(rt);
    let events = reports.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0].contains("never retrieved") && events[0].contains("boom"), "{events:?}");
}
