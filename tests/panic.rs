//! Panics in tasks: the task fails with a panic error whose payload can be
//! taken back, and the worker thread that polled it keeps running.

use ravel::{Error, Runtime, Task};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Once};
use std::thread::ThreadId;
use std::time::Duration;

/// Panics raised on purpose carry this prefix; the panic hook keeps them
/// off stderr (any other panic, e.g. a failed assertion, is printed).
const TAG: &str = "ravel-test-panic:";

fn quiet_test_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let p = info.payload();
            let msg = p.downcast_ref::<&str>().copied().or_else(|| p.downcast_ref::<String>().map(String::as_str));
            if !msg.is_some_and(|m| m.starts_with(TAG)) {
                default(info);
            }
        }));
    });
}

fn payload_str(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .expect("a string payload")
}

fn flavours() -> Vec<(&'static str, Runtime)> {
    vec![("current_thread", ravel_tests::current_thread()), ("multi_thread(1)", ravel_tests::multi_thread(1))]
}

/// A task whose future panics ends failed (not cancelled) with an error
/// that `is_panic()`; the payload can be taken once and re-raised with
/// `resume_unwind`, caught by `catch_unwind` with the original payload.
/// CPython analogue: `test_tasks.py::test_exception_marking` family (an
/// exception raised in the coroutine becomes the task's exception).
#[test]
fn panic_task_fails_with_recoverable_payload() {
    quiet_test_panics();
    for (name, rt) in flavours() {
        let task: Task<u32> = rt.handle().spawn(async {
            ravel::yield_now().await?;
            panic!("{TAG} boom");
        });
        let out = rt.block_on(async move { Ok(task.wait_done().await.map(|_| task)) }).unwrap().unwrap();
        assert!(out.done() && !out.cancelled(), "{name}: {out:?}");
        let exc = out.exception().unwrap().expect("failed");
        assert!(exc.is_panic() && !exc.is_cancelled(), "{name}: {exc:?}");
        let err = out.result().unwrap_err();
        assert!(err.is_panic(), "{name}");

        // Payload: taken once (shared by clones).
        let clone: Error = err.clone();
        let payload = err.take_panic().expect("payload present");
        assert_eq!(payload_str(&*payload), format!("{TAG} boom"));
        assert!(clone.take_panic().is_none(), "{name}: taken once");
        assert!(exc.take_panic().is_none(), "{name}: exception() shares the payload");

        // resume_unwind re-raises the original payload.
        let task: Task<()> = rt.handle().spawn(async { panic!("{TAG} again") });
        let err = rt.block_on(async move { Ok(task.await) }).unwrap().unwrap_err();
        let caught = catch_unwind(AssertUnwindSafe(move || err.resume_unwind())).unwrap_err();
        assert_eq!(payload_str(&*caught), format!("{TAG} again"), "{name}");
    }
}

/// Awaiting a panicked task from another task gives the panic error there
/// (it does not unwind through the awaiting task).
#[test]
fn panic_awaiter_gets_error_not_unwind() {
    quiet_test_panics();
    for (name, rt) in flavours() {
        let out = rt
            .block_on(async {
                let child: Task<()> = ravel::spawn(async { panic!("{TAG} child") });
                let err = child.await.unwrap_err();
                Ok((err.is_panic(), payload_str(&*err.take_panic().unwrap())))
            })
            .unwrap();
        assert_eq!(out, (true, format!("{TAG} child")), "{name}");
    }
}

/// 100 panicking tasks on a one-worker runtime, then a normal task: it
/// completes, on the same worker thread that polled the panicking ones.
#[test]
fn panic_worker_survives_100_panics() {
    quiet_test_panics();
    for (name, rt) in flavours() {
        let (tx, rx) = mpsc::channel::<ThreadId>();
        let tasks: Vec<Task<()>> = (0..100)
            .map(|i| {
                let tx = tx.clone();
                rt.handle().spawn(async move {
                    if i % 2 == 0 {
                        ravel::yield_now().await?;
                    }
                    tx.send(std::thread::current().id()).unwrap();
                    panic!("{TAG} #{i}");
                })
            })
            .collect();
        let normal = rt.handle().spawn(async { Ok((std::thread::current().id(), 42)) });
        let (results, (thread, value)) = rt
            .block_on(async move {
                let mut results = Vec::new();
                for t in tasks {
                    results.push(t.await);
                }
                Ok((results, normal.await?))
            })
            .unwrap();
        assert_eq!(value, 42, "{name}");
        for (i, r) in results.into_iter().enumerate() {
            let err = r.unwrap_err();
            assert!(err.is_panic(), "{name}: task {i}");
            assert_eq!(payload_str(&*err.take_panic().unwrap()), format!("{TAG} #{i}"));
        }
        drop(tx);
        let threads: Vec<ThreadId> = rx.iter().collect();
        assert_eq!(threads.len(), 100);
        assert!(threads.iter().all(|t| *t == thread), "{name}: one worker polled them all and survived");
    }
}

/// Panics in `Drop`, on purpose.
struct PanicOnDrop(&'static str, Arc<AtomicUsize>);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        self.1.fetch_add(1, SeqCst);
        if !std::thread::panicking() {
            panic!("{TAG} {}", self.0);
        }
    }
}

/// Holds `guard` past the inner future's completion, so the guard is dropped
/// by the runtime when it drops the finished future (not inside a poll).
struct HoldUntilDropped<F> {
    inner: std::pin::Pin<Box<F>>,
    _guard: PanicOnDrop,
}

impl<F: std::future::Future> std::future::Future for HoldUntilDropped<F> {
    type Output = F::Output;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<F::Output> {
        self.inner.as_mut().poll(cx)
    }
}

fn hold<F: std::future::Future>(guard: PanicOnDrop, f: F) -> HoldUntilDropped<F> {
    HoldUntilDropped { inner: Box::pin(f), _guard: guard }
}

/// A future that returns `Ok` but whose drop (at completion) panics: the
/// task ends with that panic, the worker survives and runs the next task.
/// A future that returns an error and then panics in drop keeps its error.
#[test]
fn panic_in_future_drop_at_completion_does_not_kill_worker() {
    quiet_test_panics();
    for (name, rt) in flavours() {
        let drops = Arc::new(AtomicUsize::new(0));
        let guard = PanicOnDrop("drop-ok", drops.clone());
        let ok_then_drop: Task<u32> = rt.handle().spawn(hold(guard, async move {
            ravel::yield_now().await?;
            Ok(5)
        }));
        let guard = PanicOnDrop("drop-err", drops.clone());
        let err_then_drop: Task<u32> = rt.handle().spawn(hold(guard, async move {
            ravel::yield_now().await?;
            Err(Error::msg("own error"))
        }));
        let after = rt.handle().spawn(async { Ok(std::thread::current().id()) });
        let (a, b, _) =
            rt.block_on(async move { Ok((ok_then_drop.await, err_then_drop.await, after.await?)) }).unwrap();
        let a = a.unwrap_err();
        assert!(a.is_panic(), "{name}: {a:?}");
        assert_eq!(payload_str(&*a.take_panic().unwrap()), format!("{TAG} drop-ok"));
        let b = b.unwrap_err();
        assert!(!b.is_panic(), "{name}: the future's own error wins: {b:?}");
        assert_eq!(b.to_string(), "own error", "{name}");
        assert_eq!(drops.load(SeqCst), 2, "{name}");
        // The runtime still works afterwards.
        assert_eq!(rt.block_on(async { Ok(7) }).unwrap(), 7, "{name}");
    }
}

/// A panic in a future's drop while the runtime drops it at shutdown does
/// not escape the runtime's drop, and the other futures are still dropped.
#[test]
fn panic_in_future_drop_at_shutdown_is_contained() {
    quiet_test_panics();
    for (name, rt) in flavours() {
        let drops = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let all: ravel::Promise<()> = ravel::Promise::new();
        let n = 10;
        for _ in 0..n {
            let guard = PanicOnDrop("shutdown", drops.clone());
            let (started, all) = (started.clone(), all.clone());
            drop(rt.handle().spawn(async move {
                let _guard = guard;
                if started.fetch_add(1, SeqCst) + 1 == n {
                    all.set_result(()).unwrap();
                }
                ravel::sleep(Duration::from_secs(3600)).await
            }));
        }
        rt.block_on(all).unwrap();
        let dropped = catch_unwind(AssertUnwindSafe(move || drop(rt)));
        assert!(dropped.is_ok(), "{name}: the drop panic escaped Runtime::drop");
        assert_eq!(drops.load(SeqCst), n, "{name}");
    }
}

/// A panicking task nobody awaits is reported through the unhandled-error
/// hook as a panic error (asyncio: "Task exception was never retrieved").
#[test]
fn panic_unretrieved_goes_to_hook() {
    quiet_test_panics();
    let (tx, rx) = mpsc::channel::<(String, bool, String)>();
    let tx = std::sync::Mutex::new(tx);
    let rt = ravel::Builder::new_multi_thread()
        .worker_threads(1)
        .unhandled_error_hook(move |r| {
            let payload = r.error().take_panic().map(|p| payload_str(&*p)).unwrap_or_default();
            let _ = tx.lock().unwrap().send((r.task_name().to_string(), r.error().is_panic(), payload));
        })
        .build()
        .unwrap();
    let task: Task<()> = ravel::task::Builder::new().name("lost").spawn_on(rt.handle(), async {
        panic!("{TAG} lost");
    });
    drop(task);
    let report = rx.recv_timeout(Duration::from_secs(5)).expect("the hook was called");
    assert_eq!(report, ("lost".to_string(), true, format!("{TAG} lost")));
}
