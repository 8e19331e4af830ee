//! Fault injection: destructors. A future whose `Drop` panics — on
//! completion, on cancellation, at runtime shutdown — and the runtime
//! dropped from inside a task's destructor. The worker survives; a drop
//! panic after a successful result becomes the task's panic error, after
//! an error or a cancellation the task keeps that outcome (the drop panic
//! is only printed by the panic hook); nothing else is lost.

use ravel_tests::faults::{panic_text, quiet_panics, workers_still_run, DropCount, TAG};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::Duration;

const BOUND: Duration = Duration::from_secs(10);

/// Panics in `Drop` (after counting), unless already unwinding.
struct PanicOnDrop(&'static str, Arc<AtomicUsize>);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        self.1.fetch_add(1, SeqCst);
        if !std::thread::panicking() {
            panic!("{TAG} {}", self.0);
        }
    }
}

/// Holds `guard` past the inner future's end, so the runtime's drop of the
/// finished future drops it (not the future's own last poll).
struct Hold<F> {
    inner: std::pin::Pin<Box<F>>,
    _guard: PanicOnDrop,
}

impl<F: std::future::Future> std::future::Future for Hold<F> {
    type Output = F::Output;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<F::Output> {
        self.inner.as_mut().poll(cx)
    }
}

fn hold<F: std::future::Future>(guard: PanicOnDrop, f: F) -> Hold<F> {
    Hold { inner: Box::pin(f), _guard: guard }
}

fn flavours() -> Vec<(&'static str, usize, ravel::Runtime)> {
    vec![("current_thread", 1, ravel_tests::current_thread()), ("multi_thread", 2, ravel_tests::multi_thread(2))]
}

/// Completion: an `Ok` becomes the drop's panic error; an `Err` is kept.
#[test]
fn drop_panic_on_completion_fails_an_ok_task_and_keeps_an_error() {
    quiet_panics();
    for (name, workers, rt) in flavours() {
        let drops = Arc::new(AtomicUsize::new(0));
        let (g1, g2) = (PanicOnDrop("ok", drops.clone()), PanicOnDrop("err", drops.clone()));
        let ok = rt.handle().spawn(hold(g1, async move {
            ravel::yield_now().await?;
            Ok(1)
        }));
        let err = rt.handle().spawn(hold(g2, async move {
            ravel::yield_now().await?;
            Err::<u32, _>(ravel::Error::msg("its own error"))
        }));
        let (a, b) = rt.block_on(async move { Ok((ok.await, err.await)) }).unwrap();
        assert_eq!(panic_text(&a.unwrap_err()), format!("{TAG} ok"), "{name}");
        assert_eq!(b.unwrap_err().to_string(), "its own error", "{name}");
        assert_eq!(drops.load(SeqCst), 2, "{name}");
        workers_still_run(&rt, workers);
    }
}

/// Cancellation: the task ends cancelled (its cancellation is kept), the
/// drop ran once, and the tasks around it are untouched.
#[test]
fn drop_panic_on_cancellation_keeps_the_cancellation() {
    quiet_panics();
    for (name, workers, rt) in flavours() {
        let drops = Arc::new(AtomicUsize::new(0));
        let guard = PanicOnDrop("cancelled", drops.clone());
        let (outcome, neighbour) = rt
            .block_on(async move {
                let victim = ravel::spawn(hold(guard, ravel::sleep(Duration::from_secs(3600))));
                let neighbour = ravel::spawn(async {
                    ravel::yield_now().await?;
                    ravel::yield_now().await?;
                    Ok(7)
                });
                ravel::yield_now().await?;
                victim.cancel_with("stop");
                Ok((victim.await, neighbour.await?))
            })
            .unwrap();
        let err = outcome.unwrap_err();
        assert!(err.is_cancelled(), "{name}: {err:?}");
        assert_eq!(err.cancel_message(), Some("stop"), "{name}");
        assert_eq!((drops.load(SeqCst), neighbour), (1, 7), "{name}");
        workers_still_run(&rt, workers);
    }
}

/// Shutdown: every future is dropped, the panics stay inside the runtime's
/// drop, and the non-panicking futures dropped with them are dropped too.
#[test]
fn drop_panics_at_shutdown_stay_inside_the_runtimes_drop() {
    quiet_panics();
    for (name, _, rt) in flavours() {
        let drops = Arc::new(AtomicUsize::new(0));
        let quiet = Arc::new(AtomicUsize::new(0));
        let all = ravel::Promise::<()>::new();
        let started = Arc::new(AtomicUsize::new(0));
        for i in 0..10 {
            let (g, q) = (PanicOnDrop("shutdown", drops.clone()), DropCount(quiet.clone()));
            let (started, all) = (started.clone(), all.clone());
            drop(rt.handle().spawn(async move {
                let _guards = if i % 2 == 0 { (Some(g), q) } else { (None, q) };
                if started.fetch_add(1, SeqCst) + 1 == 10 {
                    all.set_result(()).unwrap();
                }
                ravel::sleep(Duration::from_secs(3600)).await
            }));
        }
        rt.block_on(all).unwrap();
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(rt)));
        assert!(dropped.is_ok(), "{name}: a drop panic escaped Runtime's drop");
        assert_eq!((drops.load(SeqCst), quiet.load(SeqCst)), (10, 10), "{name}: every future dropped");
    }
}

/// Owns the last reference to a runtime; drops it (from its destructor).
struct OwnsRuntime(Option<Arc<ravel::Runtime>>, mpsc::Sender<&'static str>);

impl Drop for OwnsRuntime {
    fn drop(&mut self) {
        drop(self.0.take());
        let _ = self.1.send("runtime dropped");
    }
}

/// The last reference to a multi-thread runtime, held by one of its own
/// tasks' futures, dropped when that future is dropped on completion (on a
/// worker): no deadlock, the other tasks' futures are dropped, and the
/// thread that spawned it carries on.
#[test]
fn runtime_dropped_from_its_own_tasks_destructor() {
    for round in 0..10 {
        let rt = Arc::new(ravel_tests::multi_thread(2));
        let others = Arc::new(AtomicUsize::new(0));
        for _ in 0..20 {
            let guard = DropCount(others.clone());
            drop(rt.handle().spawn(async move {
                let _guard = guard;
                ravel::sleep(Duration::from_secs(3600)).await
            }));
        }
        let (tx, rx) = mpsc::channel();
        let go = ravel::Promise::<()>::new();
        let owner = OwnsRuntime(Some(rt.clone()), tx);
        let wait = go.clone();
        drop(rt.handle().spawn(async move {
            let _owner = owner;
            wait.await
        }));
        drop(rt); // the task's future now holds the last reference
        go.set_result(()).unwrap();
        assert_eq!(rx.recv_timeout(BOUND), Ok("runtime dropped"), "round {round}: the drop returned");
        // The drop (on the worker) ended every task before it returned.
        assert_eq!(others.load(SeqCst), 20, "round {round}: every other future was dropped");
    }
}

/// A future on runtime A owns runtime B; A's shutdown drops it, and with
/// it B: both shut down fully, from inside A's shutdown.
#[test]
fn runtime_dropped_from_a_destructor_run_by_another_runtimes_shutdown() {
    for (name, _, a) in flavours() {
        let b = Arc::new(ravel_tests::multi_thread(2));
        let b_futures = Arc::new(AtomicUsize::new(0));
        let guard = DropCount(b_futures.clone());
        drop(b.handle().spawn(async move {
            let _guard = guard;
            ravel::sleep(Duration::from_secs(3600)).await
        }));
        let (tx, rx) = mpsc::channel();
        let owner = OwnsRuntime(Some(b), tx);
        let parked = ravel::Promise::<()>::new();
        let p = parked.clone();
        drop(a.handle().spawn(async move {
            let _owner = owner;
            p.set_result(())?;
            ravel::sleep(Duration::from_secs(3600)).await
        }));
        a.block_on(parked).unwrap();
        drop(a);
        assert_eq!(rx.recv_timeout(BOUND), Ok("runtime dropped"), "{name}");
        assert_eq!(b_futures.load(SeqCst), 1, "{name}: B's task was dropped by B's shutdown");
    }
}
