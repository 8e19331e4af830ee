//! Misuse and unhandled failures: what Ravel reports instead of asyncio's
//! RuntimeError / InvalidStateError / "never retrieved" log line.

use ravel::{Error, Handle, Promise};
use ravel_tests::both_with_hook;
use ravel_tests::{both, current_thread};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else {
        String::from("<non-string panic>")
    }
}

/// `ravel::spawn` outside a runtime panics with a message naming it (asyncio:
/// `create_task` needs a running loop, RuntimeError "no running event loop").
/// CPython: `test_tasks.py::BaseCurrentLoopTests::test_current_task_no_running_loop_implicit`
/// ("no running event loop").
#[test]
fn spawn_outside_a_runtime_panics() {
    let payload = catch_unwind(|| drop(ravel::spawn(async { Ok(()) }))).unwrap_err();
    let msg = panic_message(&*payload);
    assert!(msg.contains("ravel::spawn"), "{msg}");
    let payload = catch_unwind(|| drop(ravel::task::Builder::new().name("x").spawn(async { Ok(()) }))).unwrap_err();
    assert!(panic_message(&*payload).contains("ravel::spawn"));
}

/// Outside a runtime, `Handle::try_current()` is an error and
/// `Handle::current()` panics; inside, both work (asyncio
/// `get_running_loop()`).
/// CPython: `test_events.py::GetEventLoopTestsMixin::test_get_event_loop_returns_running_loop`
/// (`get_running_loop()` raises "no running event loop" outside, returns the
/// loop inside).
#[test]
fn handle_current_outside_is_an_error() {
    let err = Handle::try_current().unwrap_err();
    assert!(!err.is_cancelled());
    assert!(err.to_string().contains("outside of a Ravel runtime"), "{err}");
    assert!(catch_unwind(Handle::current).is_err());
    for (flavour, rt) in both() {
        let ok = rt.block_on(async { Ok(Handle::try_current().is_ok()) }).unwrap();
        assert!(ok, "{flavour}");
    }
}

/// `block_on` called inside a task panics (blocking there would deadlock):
/// caught inside the task, the message names `block_on`; uncaught, the task
/// fails with a panic error.
/// CPython: `test_runners.py::RunnerTests::test_recursive_run` (running a
/// loop from inside a running loop is refused).
#[test]
fn block_on_inside_a_task_panics() {
    for (flavour, rt) in both() {
        let caught = rt
            .block_on(async {
                let nested = current_thread();
                let r = catch_unwind(AssertUnwindSafe(|| nested.block_on(async { Ok(1) })));
                drop(nested);
                Ok(r.map_err(|p| panic_message(&*p)))
            })
            .unwrap();
        let msg = caught.unwrap_err();
        assert!(msg.contains("block_on"), "{flavour}: {msg}");

        let err = rt
            .block_on(async {
                let task = ravel::spawn(async {
                    let nested = current_thread();
                    nested.block_on(async { Ok(1) })
                });
                Ok(task.await.unwrap_err())
            })
            .unwrap();
        assert!(err.is_panic(), "{flavour}: {err:?}");
        let payload = err.take_panic().expect("payload kept");
        assert!(panic_message(&*payload).contains("block_on"), "{flavour}");
    }
}

/// `result()` on a pending task is an invalid-state error; the output can be
/// taken once, so a second `result()` (or an `.await` after it) is an
/// invalid-state error too.
/// CPython: `test_futures.py::BaseFutureTests::test_result` (InvalidStateError
/// "Result is not set." while pending).
#[test]
fn result_misuse() {
    for (flavour, rt) in both() {
        rt.block_on(async move {
            let gate: Promise<()> = Promise::new();
            let g = gate.clone();
            let mut t = ravel::spawn(async move {
                g.await?;
                Ok(String::from("value"))
            });
            let err = t.result().unwrap_err();
            assert!(err.is_invalid_state(), "{flavour}: {err:?}");
            assert_eq!(err.to_string(), "Result is not set.");
            assert!(t.exception().unwrap_err().is_invalid_state(), "{flavour}");
            gate.set_result(())?;
            t.wait_done().await?;
            assert_eq!(t.result()?, "value");
            let second = t.result().unwrap_err();
            assert!(second.is_invalid_state(), "{flavour}: {second:?}");
            let awaited = (&mut t).await.unwrap_err();
            assert!(awaited.is_invalid_state(), "{flavour}: {awaited:?}");
            Ok(())
        })
        .unwrap();
    }
}

/// `uncancel()` at 0 stays 0 (also on a done task), and `cancel()` on a done
/// task returns false leaving the counter as it was.
/// CPython: `test_tasks.py::BaseTaskTests::test_uncancel_basic`,
/// `test_futures.py::BaseFutureTests::test_cancel` (`cancel()` of a done
/// future is False); spec section 1 items 2 and 4.
#[test]
fn counters_at_the_edges() {
    for (flavour, rt) in both() {
        rt.block_on(async move {
            let ok = ravel::spawn(async { Ok(()) });
            assert_eq!(ok.uncancel(), 0, "{flavour}");
            assert_eq!(ok.cancelling(), 0);
            ok.wait_done().await?;
            assert!(!ok.cancel(), "{flavour}");
            assert_eq!(ok.cancelling(), 0, "{flavour}");
            assert_eq!(ok.uncancel(), 0, "{flavour}");

            let sleeper = ravel::spawn(ravel::sleep(Duration::from_secs(10)));
            assert!(sleeper.cancel());
            sleeper.wait_done().await?;
            assert!(sleeper.cancelled());
            assert!(!sleeper.cancel(), "{flavour}");
            assert!(!sleeper.cancel_with("late"), "{flavour}");
            assert_eq!(sleeper.cancelling(), 1, "{flavour}: unchanged by cancel() on a done task");
            assert_eq!(sleeper.uncancel(), 0, "{flavour}: uncancel works on done tasks");
            assert_eq!(sleeper.uncancel(), 0, "{flavour}");
            assert!(sleeper.cancelled(), "{flavour}: still cancelled");
            Ok(())
        })
        .unwrap();
    }
}

/// A detached task's failure nobody retrieved is reported to the hook with
/// "never retrieved" once its last handle is gone, and not before.
/// CPython: `test_futures.py::BaseFutureTests::test_tb_logger_exception_unretrieved`
/// ("exception was never retrieved").
#[test]
fn unretrieved_failure_is_reported() {
    for (flavour, rt, reports) in both_with_hook() {
        rt.block_on(async {
            // Detached at once.
            drop(ravel::task::Builder::new().name("detached").spawn(async {
                ravel::yield_now().await?;
                Err::<(), _>(Error::msg("lost error"))
            }));
            // Kept until done, then dropped.
            let kept = ravel::task::Builder::new().name("kept").spawn(async { Err::<(), _>(Error::msg("kept error")) });
            kept.wait_done().await?;
            assert!(kept.done());
            Ok(kept)
        })
        .map(|kept| {
            // Still held: at most the detached task has been reported.
            let early: Vec<_> = reports.try_iter().collect();
            assert!(early.iter().all(|r| r.task_name() == "detached"), "{flavour}: {early:?}");
            drop(kept);
            let mut all: Vec<_> = early;
            while all.len() < 2 {
                all.push(reports.recv_timeout(Duration::from_secs(2)).expect("report"));
            }
            let mut seen: Vec<_> =
                all.iter().map(|r| (r.task_name().to_string(), r.error().to_string(), r.message())).collect();
            seen.sort();
            for (_, _, msg) in &seen {
                assert!(msg.contains("never retrieved"), "{flavour}: {msg}");
            }
            let names: Vec<_> = seen.iter().map(|(n, e, _)| (n.as_str(), e.as_str())).collect();
            assert_eq!(names, [("detached", "lost error"), ("kept", "kept error")], "{flavour}");
        })
        .unwrap();
        drop(rt);
        assert!(reports.try_iter().next().is_none(), "{flavour}: each reported once");
    }
}

/// A failure that was retrieved (awaited, or looked at with `exception()`)
/// is not reported.
/// CPython: `test_futures.py::BaseFutureTests::test_tb_logger_exception_retrieved`.
#[test]
fn retrieved_failure_is_not_reported() {
    for (flavour, rt, reports) in both_with_hook() {
        rt.block_on(async {
            let awaited = ravel::spawn(async { Err::<(), _>(Error::msg("awaited")) });
            assert_eq!(awaited.await.unwrap_err().to_string(), "awaited");
            let looked = ravel::spawn(async { Err::<(), _>(Error::msg("looked at")) });
            looked.wait_done().await?;
            assert_eq!(looked.exception()?.unwrap().to_string(), "looked at");
            drop(looked);
            let taken = ravel::spawn(async { Err::<(), _>(Error::msg("taken")) });
            taken.wait_done().await?;
            assert!(taken.result().is_err());
            Ok(())
        })
        .unwrap();
        drop(rt);
        let got: Vec<_> = reports.try_iter().map(|r| r.to_string()).collect();
        assert!(got.is_empty(), "{flavour}: {got:?}");
    }
}
