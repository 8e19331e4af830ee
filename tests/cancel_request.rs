//! Cancellation requests: `cancel()` / `cancel_with()` return values, the
//! `cancelling()` counter and cancellation messages (asyncio-semantics §2.A:
//! A01, A02, A03, A05, A11, A17).

use ravel::Error;
use ravel_tests::block;
use ravel_tests::{both, current_thread};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(10);

/// A01: a task cancelled before its first step never runs its body, and the
/// message comes out of `await t`.
/// CPython: `test_tasks.py::test_cancel_with_message_before_starting_task`.
/// Order-dependent (the body must not have started): current-thread only.
#[test]
fn a01_cancel_before_first_step_body_never_runs() {
    let rt = current_thread();
    block(&rt, async {
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let mut t = ravel::spawn(async move {
            r.store(true, SeqCst);
            ravel::sleep(LONG).await?;
            Ok(1)
        });
        assert!(t.cancel_with("m"), "cancel() on a pending task returns true");
        assert_eq!(t.cancelling(), 1, "counted immediately");
        let err = (&mut t).await.unwrap_err();
        assert!(err.is_cancelled(), "{err:?}");
        assert!(!err.is_aborted());
        assert_eq!(err.cancel_message(), Some("m"));
        assert!(!ran.load(SeqCst), "the body of a task cancelled before its first step never runs");
        assert!(t.done());
        assert!(t.cancelled());
        assert_eq!(t.cancelling(), 1, "the counter stays 1 after completion");
        Ok(())
    });
}

/// A01 without a message (asyncio `cancel()` gives `args == ()`).
/// CPython: `test_tasks.py::test_cancel_with_message_before_starting_task`.
#[test]
fn a01_cancel_before_first_step_without_message() {
    let rt = current_thread();
    block(&rt, async {
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let mut t = ravel::spawn(async move {
            r.store(true, SeqCst);
            Ok(())
        });
        assert!(t.cancel());
        let err = (&mut t).await.unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(err.cancel_message(), None);
        assert!(!ran.load(SeqCst));
        assert!(t.cancelled());
        assert_eq!(t.cancelling(), 1);
        Ok(())
    });
}

/// A01, the parts that hold whether or not the task has started (on a
/// multi-thread runtime another worker may start it before `cancel`):
/// true, counter 1, message out of `await`, cancelled, counter still 1.
/// CPython: `test_tasks.py::test_cancel_with_message_before_starting_task`.
#[test]
fn a01_cancel_right_after_spawn_both_flavours() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let mut t = ravel::spawn(async {
                ravel::sleep(LONG).await?;
                Ok(1)
            });
            assert!(t.cancel_with("m"), "{flavour}");
            assert_eq!(t.cancelling(), 1, "{flavour}");
            let err = (&mut t).await.unwrap_err();
            assert!(err.is_cancelled(), "{flavour}: {err:?}");
            assert_eq!(err.cancel_message(), Some("m"), "{flavour}");
            assert!(t.cancelled(), "{flavour}");
            assert_eq!(t.cancelling(), 1, "{flavour}");
            Ok(())
        });
    }
}

/// A02: `cancel()` on a done task (returned, failed, or cancelled) returns
/// false and leaves `cancelling()` unchanged.
/// CPython: `test_tasks.py::test_cancel`, `test_cancel_yield`.
#[test]
fn a02_cancel_on_done_task_returns_false() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let mut ok = ravel::spawn(async { Ok(1) });
            let mut failed = ravel::spawn(async { Err::<(), _>(Error::msg("boom")) });
            let mut cancelled = ravel::spawn(async {
                ravel::sleep(LONG).await?;
                Ok(())
            });
            assert_eq!((&mut ok).await.unwrap(), 1);
            assert!(!(&mut failed).await.unwrap_err().is_cancelled());
            assert!(cancelled.cancel());
            assert!((&mut cancelled).await.unwrap_err().is_cancelled());

            for (what, t, count) in [
                ("returned", ok.as_task_ref(), 0),
                ("failed", failed.as_task_ref(), 0),
                ("cancelled", cancelled.as_task_ref(), 1),
            ] {
                assert!(t.done(), "{flavour}/{what}");
                assert!(!t.cancel(), "{flavour}/{what}: cancel() on a done task");
                assert!(!t.cancel_with("again"), "{flavour}/{what}: cancel_with() on a done task");
                assert_eq!(t.cancelling(), count, "{flavour}/{what}: counter unchanged");
            }
            assert!(!ok.cancelled() && !failed.cancelled() && cancelled.cancelled(), "{flavour}");
            Ok(())
        });
    }
}

/// A03: repeated `cancel()` calls all return true and all count; the Debug
/// format (asyncio repr) shows the "cancelling" state; awaiting raises.
/// CPython: `test_tasks.py::test_cancelling`. Exact repr checks need the
/// task to stay pending between calls: current-thread.
#[test]
fn a03_repeated_cancel_counts_and_repr() {
    let rt = current_thread();
    block(&rt, async {
        let mut t = ravel::task::Builder::new().name("sleeper").spawn(async {
            ravel::sleep(LONG).await?;
            Ok(())
        });
        let id = t.id();
        assert_eq!(t.cancelling(), 0);
        assert_eq!(format!("{t:?}"), format!("<Task pending name='sleeper' id={id}>"));
        assert!(!format!("{t:?}").contains("cancelling"));

        assert!(t.cancel());
        assert_eq!(t.cancelling(), 1);
        assert_eq!(format!("{t:?}"), format!("<Task cancelling name='sleeper' id={id} cancelling=1>"));

        assert!(t.cancel(), "a repeated cancel() also returns true");
        assert_eq!(t.cancelling(), 2, "repeats are not collapsed");
        assert_eq!(format!("{t:?}"), format!("<Task cancelling name='sleeper' id={id} cancelling=2>"));

        let err = (&mut t).await.unwrap_err();
        assert!(err.is_cancelled());
        assert!(t.cancelled());
        assert_eq!(t.cancelling(), 2);
        assert_eq!(format!("{t:?}"), format!("<Task cancelled name='sleeper' id={id} cancelling=2>"));
        // The TaskRef view formats the same way.
        assert_eq!(format!("{:?}", t.as_task_ref()), format!("{t:?}"));
        Ok(())
    });
}

/// A03 on both flavours, with the task already sleeping: both calls count,
/// the cancellation is delivered once, and awaiting raises.
/// CPython: `test_tasks.py::test_cancelling`.
#[test]
fn a03_repeated_cancel_while_sleeping_both_flavours() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let started = ravel::Promise::<()>::new();
            let s = started.clone();
            let mut t = ravel::spawn(async move {
                s.set_result(())?;
                ravel::sleep(LONG).await?;
                Ok(())
            });
            started.await?;
            assert!(t.cancel(), "{flavour}");
            assert!(t.cancel(), "{flavour}");
            assert_eq!(t.cancelling(), 2, "{flavour}");
            assert!(format!("{t:?}").contains(" cancelling=2"), "{flavour}: {t:?}");
            let err = (&mut t).await.unwrap_err();
            assert!(err.is_cancelled(), "{flavour}");
            assert!(t.cancelled(), "{flavour}");
            assert_eq!(t.cancelling(), 2, "{flavour}");
            Ok(())
        });
    }
}

/// A05: message values round-trip through `await t` and through
/// `exception()` (asyncio `task.exception()` raises the CancelledError).
/// asyncio's `cancel()` and `cancel(None)` are both Ravel's `cancel()`
/// (message `None`); Ravel messages are strings, so asyncio's `cancel(5)`
/// becomes `cancel_with("5")` and must come back as `"5"`.
/// CPython: `test_tasks.py::test_cancel_with_message_then_future_result`,
/// `test_cancel_with_message_then_future_exception`.
#[test]
fn a05_message_values_round_trip() {
    let cases: [Option<&'static str>; 3] = [None, Some("my message"), Some("5")];
    for (flavour, rt) in both() {
        for msg in cases {
            // then_future_result: `await task` raises CE(args).
            let got = block(&rt, async move {
                let mut t = ravel::spawn(async {
                    ravel::sleep(LONG).await?;
                    Ok(())
                });
                ravel::yield_now().await?;
                match msg {
                    None => assert!(t.cancel()),
                    Some(m) => assert!(t.cancel_with(m)),
                }
                let err = (&mut t).await.unwrap_err();
                assert!(err.is_cancelled());
                Ok(err.cancel_message().map(str::to_string))
            });
            assert_eq!(got.as_deref(), msg, "{flavour}: await");

            // then_future_exception: wait for it, then `exception()`.
            let got = block(&rt, async move {
                let t = ravel::spawn(async {
                    ravel::sleep(LONG).await?;
                    Ok(())
                });
                ravel::yield_now().await?;
                match msg {
                    None => assert!(t.cancel()),
                    Some(m) => assert!(t.cancel_with(m)),
                }
                t.wait_done().await?;
                let err = t.exception().unwrap_err();
                assert!(err.is_cancelled(), "{err:?}");
                Ok(err.cancel_message().map(str::to_string))
            });
            assert_eq!(got.as_deref(), msg, "{flavour}: exception()");
        }
    }
}

/// A11: a task that cancels itself and then returns ends cancelled; the
/// result is discarded and a later `cancel()` returns false.
/// CPython: `test_tasks.py::test_cancel_at_end`.
#[test]
fn a11_self_cancel_then_return_discards_result() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let mut t = ravel::spawn(async {
                let me = ravel::current_task().expect("inside a task");
                assert!(me.cancel());
                Ok(12)
            });
            let err = (&mut t).await.unwrap_err();
            assert!(err.is_cancelled(), "{flavour}: the result 12 is discarded: {err:?}");
            assert_eq!(err.cancel_message(), None, "{flavour}");
            assert!(t.done(), "{flavour}");
            assert!(t.cancelled(), "{flavour}");
            assert!(!t.cancel(), "{flavour}: done, so cancel() is false");
            assert_eq!(t.cancelling(), 1, "{flavour}");
            Ok(())
        });
    }
}

/// A11 with a message: the discarded result becomes CE carrying the
/// message (asyncio `super().cancel(msg=self._cancel_message)`).
/// CPython: `test_tasks.py::test_cancel_at_end`.
#[test]
fn a11_self_cancel_with_message_then_return() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let mut t = ravel::spawn(async {
                ravel::current_task().unwrap().cancel_with("end");
                Ok("result")
            });
            let err = (&mut t).await.unwrap_err();
            assert_eq!(err.cancel_message(), Some("end"), "{flavour}");
            assert!(t.cancelled(), "{flavour}");
            Ok(())
        });
    }
}

/// A17: a task that raises CancelledError on its own ends cancelled with its
/// own message, and `cancelling()` stays 0 (no request was made).
/// Spec case A17 (no CPython test named).
#[test]
fn a17_own_cancelled_error() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let mut t = ravel::spawn(async {
                ravel::yield_now().await?;
                Err::<u32, _>(Error::cancelled(Some("own")))
            });
            let err = (&mut t).await.unwrap_err();
            assert!(err.is_cancelled(), "{flavour}");
            assert!(!err.is_aborted(), "{flavour}");
            assert_eq!(err.cancel_message(), Some("own"), "{flavour}");
            assert!(t.cancelled(), "{flavour}");
            assert_eq!(t.cancelling(), 0, "{flavour}: no cancel() was requested");
            assert_eq!(t.exception().unwrap_err().cancel_message(), Some("own"), "{flavour}");
            Ok(())
        });
    }
}
