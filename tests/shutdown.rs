//! Runtime shutdown: dropping a runtime ends every task by dropping its
//! future (the task ends aborted), `shutdown_timeout` does not wait past
//! its timeout for a stuck worker, and a shut-down runtime's handle refuses
//! work with an error instead of hanging.
//!
//! A hung shutdown must fail rather than block the suite: the operation runs
//! on a helper thread and the test waits for it with a generous bound.

use ravel::{ErrorKind, Handle, Promise, Runtime, Task};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Upper bound for "returns promptly" (the runtime's own drop timeout is
/// 10 s; a hang or a full drop timeout fails).
const BOUND: Duration = Duration::from_secs(5);

struct DropGuard(Arc<AtomicUsize>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Runs `f` on a helper thread; panics if it does not return within `BOUND`.
fn bounded<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(BOUND).unwrap_or_else(|_| panic!("{what} did not return within {BOUND:?}"))
}

/// Spawns `n` tasks that sleep forever (half on a sleep, half on a promise)
/// and waits until all of them have started.
fn spawn_sleepers(rt: &Runtime, n: usize, drops: &Arc<AtomicUsize>) -> (Vec<Task<()>>, Vec<Promise<()>>) {
    let started = Arc::new(AtomicUsize::new(0));
    let all_started: Promise<()> = Promise::new();
    let mut promises = Vec::new();
    let tasks = (0..n)
        .map(|i| {
            let guard = DropGuard(drops.clone());
            let (started, all_started) = (started.clone(), all_started.clone());
            let promise: Option<Promise<()>> = (i % 2 == 1).then(Promise::new);
            promises.extend(promise.clone());
            rt.handle().spawn(async move {
                let _guard = guard;
                if started.fetch_add(1, SeqCst) + 1 == n {
                    all_started.set_result(()).unwrap();
                }
                match promise {
                    None => ravel::sleep(Duration::from_secs(3600)).await,
                    Some(p) => p.await,
                }
            })
        })
        .collect();
    rt.block_on(all_started).unwrap();
    (tasks, promises)
}

fn flavours() -> Vec<(&'static str, Runtime)> {
    vec![
        ("current_thread", ravel_tests::current_thread()),
        ("multi_thread(1)", ravel_tests::multi_thread(1)),
        ("multi_thread(2)", ravel_tests::multi_thread(2)),
    ]
}

/// Dropping a runtime whose tasks sleep forever returns promptly, drops
/// every future exactly once, and the tasks end cancelled (aborted).
/// CPython analogue: `test_base_events.py` loop close with pending tasks
/// (Ravel's drop is tokio-style: futures are dropped, not cancelled).
#[test]
fn l_drop_runtime_with_sleeping_tasks_drops_every_future() {
    for (name, rt) in flavours() {
        let n = 2_000;
        let drops = Arc::new(AtomicUsize::new(0));
        let (tasks, _promises) = spawn_sleepers(&rt, n, &drops);
        assert_eq!(drops.load(SeqCst), 0, "{name}");
        bounded("dropping the runtime", move || drop(rt));
        assert_eq!(drops.load(SeqCst), n, "{name}: every future dropped once");
        for t in tasks {
            assert!(t.done() && t.cancelled(), "{name}: {t:?}");
            let err = t.result().unwrap_err();
            assert!(err.is_cancelled() && err.is_aborted(), "{name}: {err:?}");
        }
    }
}

/// A future whose drop spawns a new task on the same (shutting-down)
/// runtime: the new task ends at once, unpolled, and its future is dropped
/// too; shutdown still returns.
#[test]
fn l_drop_runtime_future_drop_spawns_during_shutdown() {
    struct SpawnOnDrop {
        handle: Handle,
        drops: Arc<AtomicUsize>,
        polled: Arc<AtomicBool>,
    }
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            self.drops.fetch_add(1, SeqCst);
            let guard = DropGuard(self.drops.clone());
            let polled = self.polled.clone();
            let late = self.handle.spawn(async move {
                let _guard = guard;
                polled.store(true, SeqCst);
                Ok(())
            });
            assert!(late.done(), "a spawn during shutdown ends at once");
            assert!(late.result().unwrap_err().is_aborted());
        }
    }
    for (name, rt) in flavours() {
        let n = 100;
        let drops = Arc::new(AtomicUsize::new(0));
        let polled = Arc::new(AtomicBool::new(false));
        let started = Arc::new(AtomicUsize::new(0));
        let all_started: Promise<()> = Promise::new();
        for _ in 0..n {
            let s = SpawnOnDrop { handle: rt.handle().clone(), drops: drops.clone(), polled: polled.clone() };
            let (started, all_started) = (started.clone(), all_started.clone());
            drop(rt.handle().spawn(async move {
                let _s = s;
                if started.fetch_add(1, SeqCst) + 1 == n {
                    all_started.set_result(()).unwrap();
                }
                ravel::sleep(Duration::from_secs(3600)).await
            }));
        }
        rt.block_on(all_started).unwrap();
        bounded("dropping the runtime", move || drop(rt));
        assert_eq!(drops.load(SeqCst), 2 * n, "{name}: the original and the late futures were all dropped");
        assert!(!polled.load(SeqCst), "{name}: a task spawned during shutdown never runs");
    }
}

/// `shutdown_timeout` with a worker stuck in a busy loop (no sleep, no
/// await) returns by its timeout; the idle tasks' futures are dropped; once
/// released, the stuck task's poll finishes and its future is dropped too.
#[test]
fn l_shutdown_timeout_with_stuck_worker_returns() {
    let rt = ravel_tests::multi_thread(2);
    let drops = Arc::new(AtomicUsize::new(0));
    let (sleepers, _promises) = spawn_sleepers(&rt, 100, &drops);
    let release = Arc::new(AtomicBool::new(false));
    let (entered_tx, entered_rx) = mpsc::channel();
    let (dropped_tx, dropped_rx) = mpsc::channel::<()>();
    struct Notify(mpsc::Sender<()>);
    impl Drop for Notify {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }
    let r = release.clone();
    let notify = Notify(dropped_tx);
    let stuck = rt.handle().spawn(async move {
        let _notify = notify;
        entered_tx.send(()).unwrap();
        while !r.load(SeqCst) {
            std::hint::spin_loop();
        }
        Ok("released")
    });
    entered_rx.recv().unwrap();

    let timeout = Duration::from_millis(300);
    let begin = Instant::now();
    bounded("shutdown_timeout", move || rt.shutdown_timeout(timeout));
    let took = begin.elapsed();
    assert!(took < BOUND, "shutdown_timeout({timeout:?}) took {took:?}");
    assert!(!stuck.done(), "the stuck poll is still running");
    assert_eq!(drops.load(SeqCst), 100, "idle tasks' futures dropped by shutdown");
    for t in sleepers {
        assert!(t.result().unwrap_err().is_aborted());
    }

    release.store(true, SeqCst);
    dropped_rx.recv_timeout(BOUND).expect("the stuck task's future is dropped once its poll returns");
}

/// A shut-down runtime's `Handle` refuses work: `spawn` gives a task that is
/// already done, ended aborted, its future dropped unpolled (no hang);
/// `call_soon_threadsafe` is a runtime-closed error.
#[test]
fn l_spawn_on_shut_down_handle_ends_with_error() {
    for (name, rt) in flavours() {
        let handle = rt.handle().clone();
        drop(rt);
        let drops = Arc::new(AtomicUsize::new(0));
        let polled = Arc::new(AtomicBool::new(false));
        let (guard, p) = (DropGuard(drops.clone()), polled.clone());
        let task = handle.spawn(async move {
            let _guard = guard;
            p.store(true, SeqCst);
            Ok(1)
        });
        assert!(task.done(), "{name}");
        assert!(task.cancelled(), "{name}");
        let err = task.result().unwrap_err();
        assert!(err.is_aborted(), "{name}: {err:?}");
        assert_eq!(drops.load(SeqCst), 1, "{name}");
        assert!(!polled.load(SeqCst), "{name}");

        let named = ravel::task::Builder::new().name("late").spawn_on(&handle, async { Ok(()) });
        assert!(named.done() && named.result().unwrap_err().is_aborted(), "{name}");
        assert!(handle.all_tasks().is_empty(), "{name}");

        let err = handle.call_soon_threadsafe(|| {}).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RuntimeClosed, "{name}: {err:?}");
    }
}

/// Dropping the last reference to a runtime from inside one of its own
/// tasks does not deadlock (the worker cannot wait for itself), and the
/// other tasks' futures are still dropped.
#[test]
fn l_drop_runtime_from_its_own_task() {
    let rt = Arc::new(ravel_tests::multi_thread(2));
    let drops = Arc::new(AtomicUsize::new(0));
    let (_tasks, _promises) = spawn_sleepers(&rt, 50, &drops);
    let (done_tx, done_rx) = mpsc::channel();
    let inner = rt.clone();
    let go: Promise<()> = Promise::new();
    let wait_go = go.clone();
    drop(rt.handle().spawn(async move {
        wait_go.await?;
        drop(inner); // the last reference: the test thread dropped its own
        done_tx.send(()).unwrap();
        Ok(())
    }));
    drop(rt);
    go.set_result(()).unwrap();
    done_rx.recv_timeout(BOUND).expect("drop inside a task returned");
    assert_eq!(drops.load(SeqCst), 50);
}
