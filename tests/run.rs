//! L01, L03, L04, L08, L14: `ravel::run` and `Runtime::run` (asyncio
//! `asyncio.run` / `Runner`).

use ravel::{Error, Promise, TaskRef};
use ravel_tests::both_with_hook;
use ravel_tests::{both, current_thread, Log};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug)]
struct ValueError(&'static str);

impl std::fmt::Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ValueError: {}", self.0)
    }
}

impl std::error::Error for ValueError {}

/// L01: `run` returns main's value, and main's error propagates unchanged.
/// CPython: `test_runners.py::RunTests::test_asyncio_run_return`,
/// `test_asyncio_run_raises`.
#[test]
fn l01_result_and_error() {
    assert_eq!(ravel::run(async { Ok(42) }).unwrap(), 42);
    let err = ravel::run(async { Err::<(), _>(Error::new(ValueError("spam"))) }).unwrap_err();
    assert_eq!(err.downcast_ref::<ValueError>().map(|e| e.0), Some("spam"));
    assert!(!err.is_cancelled());
    for (flavour, rt) in both() {
        assert_eq!(rt.run(async { Ok(42) }).unwrap(), 42, "{flavour}");
        let err = rt.run(async { Err::<(), _>(Error::msg("spam")) }).unwrap_err();
        assert_eq!(err.to_string(), "spam", "{flavour}");
    }
}

/// L01: main runs as a task named "main", and the free `run` uses a
/// multi-thread runtime of its own.
/// CPython: `test_runners.py::RunTests::test_asyncio_run_return` (main is a
/// task); spec section 1 item 16.
#[test]
fn l01_main_is_a_task_named_main() {
    let name = ravel::run(async { Ok(ravel::current_task().map(|t| t.name())) }).unwrap();
    assert_eq!(name.as_deref(), Some("main"));
    for (flavour, rt) in both() {
        let name = rt.run(async { Ok(ravel::current_task().unwrap().name()) }).unwrap();
        assert_eq!(name, "main", "{flavour}");
    }
}

/// L03: `ravel::run` (and `Runtime::run`) inside a running runtime returns an
/// invalid-state error with asyncio's message, and main is never run.
/// CPython: `test_runners.py::RunTests::test_asyncio_run_from_running_loop`,
/// `RunnerTests::test_recursive_run`.
#[test]
fn l03_run_inside_a_runtime_is_an_error() {
    for (flavour, rt) in both() {
        let polled = Arc::new(AtomicBool::new(false));
        let p = polled.clone();
        let (nested, nested_rt) = rt
            .block_on(async move {
                let p2 = p.clone();
                let nested = ravel::run(async move {
                    p.store(true, Ordering::SeqCst);
                    Ok(1)
                });
                let other = current_thread();
                let nested_rt = other.run(async move {
                    p2.store(true, Ordering::SeqCst);
                    Ok(2)
                });
                Ok((nested, nested_rt))
            })
            .unwrap();
        for (what, out) in [("ravel::run", nested), ("Runtime::run", nested_rt)] {
            let err = out.unwrap_err();
            assert!(err.is_invalid_state(), "{flavour} {what}: {err:?}");
            assert_eq!(err.to_string(), "ravel::run() cannot be called from a running event loop", "{flavour} {what}");
        }
        assert!(!polled.load(Ordering::SeqCst), "{flavour}: the nested main never ran");
    }
}

/// L04: when main returns, every leftover task is cancelled once (no
/// message), sees `cancelling() == 1`, may clean up with awaits, and is
/// waited for; one that fails instead is reported to the unhandled-error
/// hook ("... shutdown"), one that re-raises is not; `run` returns main's
/// value.
/// CPython: `test_runners.py::RunTests::test_asyncio_run_cancels_hanging_tasks`,
/// `test_asyncio_run_reports_hanging_tasks_errors`.
#[test]
fn l04_leftovers_cancelled_once_waited_and_reported() {
    for (flavour, rt, reports) in both_with_hook() {
        let log = Log::new();
        let leftovers: Arc<Mutex<Vec<TaskRef>>> = Arc::default();
        let (l, lo) = (log.clone(), leftovers.clone());
        let out = rt.run(async move {
            let mut started = Vec::new();
            for i in 0..3 {
                let l = l.clone();
                let sleeping: Promise<()> = Promise::new();
                started.push(sleeping.clone());
                let task = ravel::task::Builder::new().name(format!("leftover-{i}")).spawn(async move {
                    sleeping.set_result(())?;
                    match ravel::sleep(Duration::from_secs(10)).await {
                        Err(e) if e.is_cancelled() => {
                            let me = ravel::current_task().unwrap();
                            l.push(format!("{i} CE msg={:?} cancelling={}", e.cancel_message(), me.cancelling()));
                            ravel::sleep(Duration::from_millis(20)).await?; // async cleanup
                            l.push(format!("{i} cleaned up"));
                            if i == 1 {
                                return Err(Error::msg("division by zero"));
                            }
                            Err(e)
                        }
                        other => other,
                    }
                });
                lo.lock().unwrap().push(task.as_task_ref().clone());
            }
            // Every leftover has started (the sleep may not be registered yet,
            // which does not matter: the cancel is delivered either way).
            for s in started {
                s.await?;
            }
            ravel::yield_now().await?;
            Ok(123)
        });
        assert_eq!(out.unwrap(), 123, "{flavour}");
        let mut events = log.events();
        events.sort();
        assert_eq!(
            events,
            [
                "0 CE msg=None cancelling=1",
                "0 cleaned up",
                "1 CE msg=None cancelling=1",
                "1 cleaned up",
                "2 CE msg=None cancelling=1",
                "2 cleaned up"
            ],
            "{flavour}"
        );
        for (i, t) in leftovers.lock().unwrap().iter().enumerate() {
            assert!(t.done(), "{flavour}: leftover {i} waited for");
            assert_eq!(t.cancelled(), i != 1, "{flavour}: leftover {i}");
            assert_eq!(t.cancelling(), 1, "{flavour}: cancelled exactly once");
        }
        let report = reports.recv_timeout(Duration::from_secs(2)).expect("failure reported");
        assert!(report.message().contains("shutdown"), "{flavour}: {report}");
        assert_eq!(report.task_name(), "leftover-1", "{flavour}");
        assert_eq!(report.error().to_string(), "division by zero", "{flavour}");
        drop(rt);
        let more: Vec<_> = reports.try_iter().map(|r| r.to_string()).collect();
        assert!(more.is_empty(), "{flavour}: only one report: {more:?}");
    }
}

/// L04 with the free `ravel::run`: leftovers are cancelled and waited for.
/// CPython: `test_runners.py::RunTests::test_asyncio_run_cancels_hanging_tasks`.
#[test]
fn l04_free_run_cancels_leftovers() {
    let leftovers: Arc<Mutex<Vec<TaskRef>>> = Arc::default();
    let lo = leftovers.clone();
    let out = ravel::run(async move {
        for _ in 0..3 {
            let t = ravel::spawn(ravel::sleep(Duration::from_secs(10)));
            lo.lock().unwrap().push(t.as_task_ref().clone());
        }
        ravel::yield_now().await?;
        Ok(123)
    });
    assert_eq!(out.unwrap(), 123);
    for t in leftovers.lock().unwrap().iter() {
        assert!(t.done() && t.cancelled(), "{t:?}");
        assert_eq!(t.cancelling(), 1);
    }
}

/// L04: a done callback that was queued (asyncio `call_soon`) when main
/// returned still runs during shutdown; it is not a task to cancel.
/// CPython: asyncio runs the queued handles while `_cancel_all_tasks` waits
/// (checked on 3.13: the callback runs); spec section 1 item 17.
#[test]
fn l04_queued_callbacks_still_run() {
    for (flavour, rt) in both() {
        let log = Log::new();
        let l = log.clone();
        let out = rt.run(async move {
            let mut t = ravel::spawn(async { Ok(5) });
            (&mut t).await?;
            let l = l.clone();
            t.add_done_callback(move |_| l.push("cb ran"));
            Ok(2)
        });
        assert_eq!(out.unwrap(), 2, "{flavour}");
        // Give a multi-thread worker time to run it if it was merely late.
        let deadline = Instant::now() + Duration::from_secs(1);
        while log.events().is_empty() && Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert_eq!(log.events(), ["cb ran"], "{flavour}");
    }
}

/// L08 (where it applies): `run` returns only after the leftovers' cleanup
/// has finished, however long it takes (asyncio joins the default executor
/// the same way; Ravel has no executor yet, so a 200 ms cleanup stands in).
/// CPython: spec L08 (`run` returns about 0.2 s later).
#[test]
fn l08_run_waits_for_slow_cleanup() {
    for (flavour, rt) in both() {
        let log = Log::new();
        let l = log.clone();
        let start = Instant::now();
        let out = rt.run(async move {
            let sleeping: Promise<()> = Promise::new();
            let s = sleeping.clone();
            drop(ravel::spawn(async move {
                s.set_result(())?;
                let e = ravel::sleep(Duration::from_secs(10)).await.unwrap_err();
                ravel::sleep(Duration::from_millis(200)).await?;
                l.push("cleanup finished");
                Err::<(), _>(e)
            }));
            sleeping.await?;
            Ok("main done")
        });
        assert_eq!(out.unwrap(), "main done", "{flavour}");
        assert!(start.elapsed() >= Duration::from_millis(200), "{flavour}: {:?}", start.elapsed());
        assert_eq!(log.events(), ["cleanup finished"], "{flavour}");
    }
}

/// L14 (mapped to reusing one `Runtime`): several `run` and `block_on` calls
/// on one runtime work in turn; each `run` cleans up its own leftovers, and
/// a task left pending by `block_on` (which does not cancel leftovers)
/// survives into the next call.
/// CPython: `test_runners.py::RunnerTests::test_run`, `test_explicit_close`,
/// `test_double_close` (one Runner, several `run` calls).
#[test]
fn l14_runtime_reused_for_several_calls() {
    for (flavour, rt) in both() {
        let mut previous: Vec<TaskRef> = Vec::new();
        for i in 0..3 {
            let before = previous.clone();
            let out = rt.run(async move {
                let leftover = ravel::spawn(ravel::sleep(Duration::from_secs(10)));
                ravel::yield_now().await?;
                let all = ravel::all_tasks();
                assert!(all.contains(&ravel::current_task().unwrap()));
                assert!(all.contains(leftover.as_task_ref()));
                assert!(before.iter().all(|t| !all.contains(t)), "earlier leftovers are gone: {all:?}");
                Ok((i, leftover.as_task_ref().clone()))
            });
            let (got, leftover) = out.unwrap();
            assert_eq!(got, i, "{flavour}");
            assert!(leftover.done() && leftover.cancelled(), "{flavour}: run {i} cancelled its leftover");
            previous.push(leftover);
        }
        let gate: Promise<u32> = Promise::new();
        let g = gate.clone();
        let pending = rt
            .block_on(async move {
                let t = ravel::spawn(async move { Ok(g.await? + 1) });
                ravel::yield_now().await?;
                Ok(t)
            })
            .unwrap();
        assert!(!pending.done(), "{flavour}");
        assert!(rt.handle().all_tasks().contains(pending.as_task_ref()), "{flavour}");
        let got = rt
            .block_on(async move {
                gate.set_result(41)?;
                pending.await
            })
            .unwrap();
        assert_eq!(got, 42, "{flavour}");
        assert_eq!(rt.run(async { Ok("again") }).unwrap(), "again", "{flavour}");
    }
}

/// L04: once `run` has returned, no task of the runtime is left alive
/// (asyncio: `all_tasks(loop)` is empty after `Runner.run`).
/// CPython: `test_runners.py::RunTests::test_asyncio_run_cancels_hanging_tasks`
/// (every task done after `run`).
#[test]
fn l04_no_task_alive_after_run() {
    let rt = ravel_tests::multi_thread(2);
    for i in 0..200 {
        rt.run(async {
            drop(ravel::spawn(ravel::sleep(Duration::from_secs(10))));
            ravel::yield_now().await?;
            Ok(())
        })
        .unwrap();
        let left = rt.handle().all_tasks();
        assert!(left.is_empty(), "run {i}: tasks alive after run returned: {left:?}");
    }
}

/// L14: every `run()` of one Runner shares one context, so a value set by
/// one run is seen by the next (-1, then 1, then 2).
/// CPython: `test_runners.py::RunnerTests::test_run_keeps_context`.
#[test]
fn l14_runs_share_one_context() {
    static CV: ravel::ContextVar<i32> = ravel::ContextVar::with_default("cvar", -1);
    for (flavour, rt) in both() {
        let f = |val: i32| async move {
            let old = CV.get();
            ravel::yield_now().await?;
            CV.set(val);
            Ok(old)
        };
        assert_eq!(rt.run(f(1)).unwrap(), Some(-1), "{flavour}");
        assert_eq!(rt.run(f(2)).unwrap(), Some(1), "{flavour}");
        assert_eq!(rt.run(async { Ok(CV.get()) }).unwrap(), Some(2), "{flavour}");
    }
}
