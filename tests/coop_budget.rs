//! The cooperative budget: a task looping on always-ready Ravel leaves is
//! made to yield, so it cannot starve the other tasks of its worker, and the
//! forced yield is a cancellation delivery point.
//!
//! (In asyncio `while True: await done_future` never suspends and starves the
//! loop; Ravel adds a budget so that a multi-task runtime stays fair. The
//! leaf rule still holds: a leaf ready on its first poll returns its value
//! with a cancel pending; only the forced yield delivers it.)
//!
//! A starved runtime would hang the test, so a watchdog thread raises a flag
//! after a generous deadline and the looping task gives up when it sees it;
//! the test then fails on the loop's outcome.

use ravel::{Promise, Result, Runtime, TaskRef};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Raises `flag` after `after` unless dropped first.
struct Watchdog {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    fn new(flag: Arc<AtomicBool>, after: Duration) -> Watchdog {
        let (tx, rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(after) {
                flag.store(true, SeqCst);
            }
        });
        Watchdog { stop: Some(tx), thread: Some(thread) }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.stop.take());
        let _ = self.thread.take().unwrap().join();
    }
}

#[derive(Clone, Copy, Debug)]
enum Leaf {
    /// Awaiting a clone of an already-completed `Promise`.
    DonePromise,
    /// `wait_done()` on an already-finished task.
    WaitDoneFinished,
    /// `sleep_until` a deadline in the past.
    PastSleep,
    /// `cancellable(std::future::ready(()))`.
    CancellableReady,
}

const LEAVES: [Leaf; 4] = [Leaf::DonePromise, Leaf::WaitDoneFinished, Leaf::PastSleep, Leaf::CancellableReady];

/// Loops on `leaf`, which is ready every time, counting iterations, until a
/// leaf returns an error (the cancellation) or the watchdog fires
/// (`Ok(iterations)`: starved).
/// With `self_cancel`, the task cancels itself right before the loop.
fn spin_on(
    leaf: Leaf,
    iterations: Arc<AtomicU64>,
    gave_up: Arc<AtomicBool>,
    self_cancel: bool,
) -> Pin<Box<dyn Future<Output = Result<u64>> + Send>> {
    Box::pin(async move {
        let promise: Promise<u32> = Promise::new();
        promise.set_result(7).unwrap();
        let finished: TaskRef = {
            let t = ravel::spawn(async { Ok(()) });
            t.wait_done().await?;
            t.as_task_ref().clone()
        };
        let past = Instant::now();
        if self_cancel {
            assert!(ravel::current_task().unwrap().cancel());
        }
        loop {
            match leaf {
                Leaf::DonePromise => assert_eq!(promise.clone().await?, 7),
                Leaf::WaitDoneFinished => finished.wait_done().await?,
                Leaf::PastSleep => ravel::sleep_until(past).await?,
                Leaf::CancellableReady => ravel::cancellable(std::future::ready(())).await?,
            }
            let n = iterations.fetch_add(1, SeqCst) + 1;
            if gave_up.load(SeqCst) {
                return Ok(n);
            }
        }
    })
}

fn one_worker_runtimes() -> Vec<(&'static str, Runtime)> {
    vec![("current_thread", ravel_tests::current_thread()), ("multi_thread(1)", ravel_tests::multi_thread(1))]
}

/// On one worker, a task spinning on an always-ready leaf is made to yield:
/// the other task (here the root) runs, cancels it, and it ends cancelled
/// at the forced yield. CPython: none (asyncio would starve here: this is the
/// budget Ravel adds); the cancellation outcome follows
/// `test_tasks.py::test_cancel_yield`.
#[test]
fn budget_spinning_task_does_not_starve_its_worker() {
    for (name, rt) in one_worker_runtimes() {
        for leaf in LEAVES {
            let gave_up = Arc::new(AtomicBool::new(false));
            let _watchdog = Watchdog::new(gave_up.clone(), Duration::from_secs(4));
            let iterations = Arc::new(AtomicU64::new(0));
            let (it, g) = (iterations.clone(), gave_up.clone());
            let out = rt
                .block_on(async move {
                    let spinner = ravel::spawn(spin_on(leaf, it.clone(), g, false));
                    // Let the spinner start; we only get back here if it yields.
                    while it.load(SeqCst) == 0 {
                        ravel::yield_now().await?;
                    }
                    let cancelled = spinner.cancel_with("enough");
                    let outcome = spinner.await;
                    Ok((cancelled, outcome))
                })
                .unwrap();
            let (cancelled, outcome) = out;
            assert!(!gave_up.load(SeqCst), "{name} {leaf:?}: the root task was starved");
            assert!(cancelled, "{name} {leaf:?}");
            let err = outcome.expect_err("the spinner ends cancelled");
            assert!(err.is_cancelled(), "{name} {leaf:?}: {err:?}");
            assert_eq!(err.cancel_message(), Some("enough"));
            assert!(iterations.load(SeqCst) > 0);
        }
    }
}

/// A task that cancels itself and then spins on always-ready leaves: each
/// ready leaf returns its value (A10 leaf rule), but the budget's forced
/// yield delivers the cancellation, so the loop ends and the task ends
/// cancelled. CPython: `test_tasks.py::test_cancel_current_task` (A10)
/// for the value-despite-pending-cancel part.
#[test]
fn a10_budget_forced_yield_delivers_pending_self_cancel() {
    for (name, rt) in one_worker_runtimes() {
        for leaf in LEAVES {
            let gave_up = Arc::new(AtomicBool::new(false));
            let _watchdog = Watchdog::new(gave_up.clone(), Duration::from_secs(4));
            let iterations = Arc::new(AtomicU64::new(0));
            let (it, g) = (iterations.clone(), gave_up.clone());
            let task = rt.handle().spawn(spin_on(leaf, it, g, true));
            let out = rt.block_on(task);
            assert!(!gave_up.load(SeqCst), "{name} {leaf:?}: the pending cancel was never delivered");
            let err = out.expect_err("delivered at the forced yield");
            assert!(err.is_cancelled(), "{name} {leaf:?}: {err:?}");
            assert!(
                iterations.load(SeqCst) > 0,
                "{name} {leaf:?}: ready leaves still return values with a cancel pending"
            );
        }
    }
}

/// A foreign thread cancels a task that spins on always-ready leaves on a
/// worker (multi-thread(2)): the cancel is delivered at a forced yield, the
/// task ends cancelled with the message, `cancelling() == 1`.
/// CPython: `test_tasks.py::test_cancel_yield` (delivery at the next
/// suspension), with the budget providing the suspension.
#[test]
fn a02_budget_spinner_receives_foreign_cancel() {
    let rt = ravel_tests::multi_thread(2);
    for leaf in LEAVES {
        let gave_up = Arc::new(AtomicBool::new(false));
        let _watchdog = Watchdog::new(gave_up.clone(), Duration::from_secs(4));
        let iterations = Arc::new(AtomicU64::new(0));
        let spinner = rt.handle().spawn(spin_on(leaf, iterations.clone(), gave_up.clone(), false));
        // Wait until it spins (a yield loop in a task, not a sleep).
        let it = iterations.clone();
        rt.block_on(async move {
            while it.load(SeqCst) == 0 {
                ravel::yield_now().await?;
            }
            Ok(())
        })
        .unwrap();
        let r = spinner.as_task_ref().clone();
        assert!(std::thread::spawn(move || r.cancel_with("from afar")).join().unwrap());
        let out = rt.block_on(spinner);
        assert!(!gave_up.load(SeqCst), "{leaf:?}: the cancel was never delivered");
        let err = out.expect_err("ends cancelled");
        assert!(err.is_cancelled(), "{leaf:?}: {err:?}");
        assert_eq!(err.cancel_message(), Some("from afar"));
    }
}
