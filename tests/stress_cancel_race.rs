//! Stress: `cancel()` from a foreign OS thread racing task completion.
//!
//! The protocol (runtime/src/task/mod.rs, "The cancel word"): a cancel that
//! races completion either counts before the task ends (and then, if it was
//! not delivered, the task ends cancelled: asyncio A11) or returns `false`
//! and leaves the counter alone. So for every task exactly one of:
//!
//! * `cancel()` returned `false`: `cancelling() == 0`, the task ended with
//!   its own `Ok` value and is not `cancelled()`;
//! * `cancel()` returned `true`: `cancelling() == 1`, the task is
//!   `cancelled()`, its result is a cancellation error with the message
//!   given to `cancel_with` (delivered at a leaf, before the first step
//!   (A01), or undelivered at completion (A11): all end cancelled).
//!
//! And every task ends exactly once: its future is dropped once, its done
//! callback runs once.

use ravel::{Runtime, Task, TaskRef};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::Duration;

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Completes on its first poll.
    Immediate,
    /// One `yield_now` first.
    Yield,
    /// A short sleep first.
    Sleep,
}

/// Counts drops of the future (one per task) into a per-task slot.
struct DropGuard {
    drops: Arc<Vec<AtomicUsize>>,
    index: usize,
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.drops[self.index].fetch_add(1, SeqCst);
    }
}

#[derive(Default, Debug)]
struct Tally {
    not_counted: usize,
    cancelled_body_finished: usize,
    cancelled_body_not_finished: usize,
}

const MESSAGE: &str = "race";

/// Spawns `rounds * batch` tasks of `kind` from this (foreign) thread; a
/// canceller thread cancels each one while the runtime runs them.
fn race(rt: &Runtime, kind: Kind, rounds: usize, batch: usize) -> Tally {
    let total = rounds * batch;
    let drops: Arc<Vec<AtomicUsize>> = Arc::new((0..total).map(|_| AtomicUsize::new(0)).collect());
    let callbacks: Arc<Vec<AtomicUsize>> = Arc::new((0..total).map(|_| AtomicUsize::new(0)).collect());
    let finished: Arc<Vec<AtomicUsize>> = Arc::new((0..total).map(|_| AtomicUsize::new(0)).collect());

    // Each task is handed to the canceller as soon as it is spawned, so the
    // cancel lands around the time a worker runs (and completes) it.
    let (to_canceller, canceller_rx) = mpsc::channel::<TaskRef>();
    let (results_tx, from_canceller) = mpsc::channel::<bool>();
    let canceller = std::thread::spawn(move || {
        for (n, r) in canceller_rx.into_iter().enumerate() {
            // Vary the distance between spawn and cancel to sweep the window.
            for _ in 0..(n % 29) * 10 {
                std::hint::spin_loop();
            }
            results_tx.send(r.cancel_with(MESSAGE)).unwrap();
        }
    });

    let mut tally = Tally::default();
    for round in 0..rounds {
        let base = round * batch;
        let tasks: Vec<Task<usize>> = (base..base + batch)
            .map(|i| {
                let guard = DropGuard { drops: drops.clone(), index: i };
                let finished = finished.clone();
                let task = rt.handle().spawn(async move {
                    let _guard = guard;
                    match kind {
                        Kind::Immediate => {}
                        Kind::Yield => ravel::yield_now().await?,
                        Kind::Sleep => ravel::sleep(Duration::from_micros(100)).await?,
                    }
                    finished[i].fetch_add(1, SeqCst);
                    Ok(i)
                });
                let callbacks = callbacks.clone();
                task.add_done_callback(move |_| {
                    callbacks[i].fetch_add(1, SeqCst);
                });
                to_canceller.send(task.as_task_ref().clone()).unwrap();
                task
            })
            .collect();
        let refs: Vec<TaskRef> = tasks.iter().map(|t| t.as_task_ref().clone()).collect();
        rt.block_on(async move {
            for r in &refs {
                r.wait_done().await?;
            }
            Ok(())
        })
        .unwrap();
        let returned: Vec<bool> = (0..batch).map(|_| from_canceller.recv().unwrap()).collect();
        for (k, (task, cancel_returned)) in tasks.into_iter().zip(returned).enumerate() {
            let i = base + k;
            assert!(task.done(), "{kind:?} task {i} not done after wait_done");
            assert_eq!(drops[i].load(SeqCst), 1, "{kind:?} task {i}: future dropped once before done");
            let ran_to_end = finished[i].load(SeqCst);
            assert!(ran_to_end <= 1);
            if task.cancelled() {
                assert!(cancel_returned, "{kind:?} task {i}: ended cancelled, but cancel() returned false");
            }
            if cancel_returned {
                assert_eq!(task.cancelling(), 1, "{kind:?} task {i}: cancel() true counts once");
                assert!(task.cancelled(), "{kind:?} task {i}: cancel() returned true but the task ended {task:?}");
                let err = task.exception().unwrap_err();
                assert!(err.is_cancelled());
                let err = task.result().unwrap_err();
                assert!(err.is_cancelled(), "{kind:?} task {i}: {err:?}");
                assert_eq!(err.cancel_message(), Some(MESSAGE));
                if ran_to_end == 1 {
                    tally.cancelled_body_finished += 1;
                } else {
                    tally.cancelled_body_not_finished += 1;
                }
            } else {
                assert_eq!(task.cancelling(), 0, "{kind:?} task {i}: cancel() false leaves the counter");
                assert!(!task.cancelled(), "{kind:?} task {i}: cancel() false but ended cancelled");
                assert!(matches!(task.exception(), Ok(None)));
                assert_eq!(task.result().unwrap(), i);
                assert_eq!(ran_to_end, 1);
                tally.not_counted += 1;
            }
        }
    }
    drop(to_canceller);
    canceller.join().unwrap();

    // Done callbacks run via call_soon, possibly after wait_done returned:
    // drain with a bounded yield loop, then each must have run exactly once.
    let cbs = callbacks.clone();
    rt.block_on(async move {
        for _ in 0..1_000_000 {
            if cbs.iter().all(|c| c.load(SeqCst) != 0) {
                break;
            }
            ravel::yield_now().await?;
        }
        Ok(())
    })
    .unwrap();
    for (i, c) in callbacks.iter().enumerate() {
        assert_eq!(c.load(SeqCst), 1, "{kind:?} task {i}: done callback ran once");
    }
    assert_eq!(tally.not_counted + tally.cancelled_body_finished + tally.cancelled_body_not_finished, total);
    tally
}

fn rounds() -> usize {
    if cfg!(debug_assertions) {
        200
    } else {
        1000
    }
}

const BATCH: usize = 50;

fn run_all_kinds(name: &str, rt: &Runtime) {
    for kind in [Kind::Immediate, Kind::Yield, Kind::Sleep] {
        let tally = race(rt, kind, rounds(), BATCH);
        eprintln!("{name} {kind:?}: {tally:?}");
    }
}

/// A11/A01 under a real race: `cancel()` returning `true` means the task
/// ends cancelled, `false` means it already ended with its own result.
/// CPython: `test_tasks.py::test_cancel_at_end` (an undelivered cancel at
/// completion makes the task end cancelled) and `Task.cancel` on a done task
/// returning False with the counter unchanged (semantics section 1.2); here
/// the two race on different threads.
#[test]
fn a11_cancel_races_completion_multi_thread() {
    run_all_kinds("multi_thread(2)", &ravel_tests::multi_thread(2));
}

/// Same race with the block_on thread driving a current-thread runtime
/// while the canceller runs on another OS thread.
/// CPython: `test_tasks.py::test_cancel_at_end`.
#[test]
fn a11_cancel_races_completion_current_thread() {
    run_all_kinds("current_thread", &ravel_tests::current_thread());
}
