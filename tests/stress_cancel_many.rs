//! Stress: 100,000 suspended tasks (sleeping, or parked on a `Promise`)
//! cancelled from another OS thread. Every task takes its cleanup path
//! exactly once, every future is dropped exactly once, nothing hangs, and
//! nothing is left in `all_tasks()`.

use ravel::{Promise, Runtime, Task, TaskRef};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

struct DropGuard(Arc<AtomicUsize>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

const MESSAGE: &str = "mass cancel";

fn cancel_many(rt: &Runtime, n: usize) {
    let drops = Arc::new(AtomicUsize::new(0));
    let cleaned = Arc::new(AtomicUsize::new(0));
    let unexpected = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let all_started: Promise<()> = Promise::new();

    let mut promises = Vec::with_capacity(n / 2);
    let tasks: Vec<Task<()>> = (0..n)
        .map(|i| {
            let guard = DropGuard(drops.clone());
            let (cleaned, unexpected, started) = (cleaned.clone(), unexpected.clone(), started.clone());
            let all_started = all_started.clone();
            let promise = (i % 2 == 1).then(|| {
                let p: Promise<u32> = Promise::new();
                promises.push(p.clone());
                p
            });
            rt.handle().spawn(async move {
                let _guard = guard;
                if started.fetch_add(1, SeqCst) + 1 == n {
                    all_started.set_result(()).unwrap();
                }
                let outcome = match promise {
                    None => ravel::sleep(Duration::from_secs(3600)).await,
                    Some(p) => p.await.map(drop),
                };
                match outcome {
                    Err(e) if e.is_cancelled() => {
                        assert_eq!(e.cancel_message(), Some(MESSAGE));
                        cleaned.fetch_add(1, SeqCst);
                        Err(e)
                    }
                    other => {
                        unexpected.fetch_add(1, SeqCst);
                        other
                    }
                }
            })
        })
        .collect();

    // Every body has started (it may still be on its way to suspending).
    rt.block_on(all_started).unwrap();
    assert_eq!(drops.load(SeqCst), 0);

    let refs: Vec<TaskRef> = tasks.iter().map(|t| t.as_task_ref().clone()).collect();
    let canceller = std::thread::spawn(move || refs.iter().filter(|r| r.cancel_with(MESSAGE)).count());

    let refs: Vec<TaskRef> = tasks.iter().map(|t| t.as_task_ref().clone()).collect();
    rt.block_on(async move {
        for r in &refs {
            r.wait_done().await?;
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(canceller.join().unwrap(), n, "cancel() returned true for every pending task");

    assert_eq!(unexpected.load(SeqCst), 0);
    assert_eq!(cleaned.load(SeqCst), n, "each task ran its cleanup path once");
    assert_eq!(drops.load(SeqCst), n, "each future dropped once");
    for (i, task) in tasks.iter().enumerate() {
        assert!(task.cancelled(), "task {i}: {task:?}");
        assert_eq!(task.cancelling(), 1, "task {i}");
    }
    for (i, p) in promises.iter().enumerate() {
        assert!(p.cancelled(), "promise {i}: a task cancelled while awaiting it cancels it");
    }
    for task in tasks {
        let err = task.result().unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(err.cancel_message(), Some(MESSAGE));
    }
    let left: Vec<TaskRef> = rt.handle().all_tasks();
    assert!(left.is_empty(), "all_tasks() after every task ended: {left:?}");
}

/// 100k fits the time budget in a debug build too.
const COUNT: usize = 100_000;

/// A01/A02 at scale: cancelling a suspended task delivers once at its
/// suspension point; a task cancelled while awaiting a future cancels the
/// future. CPython: `test_tasks.py::test_cancel` / `test_cancel_yield`,
/// `test_cancel_inner_future`, here 100k at once from a foreign thread.
#[test]
fn a02_cancel_100k_suspended_tasks_multi_thread() {
    cancel_many(&ravel_tests::multi_thread(2), COUNT);
}

/// The same on a current-thread runtime driven by `block_on` while the
/// canceller thread runs. CPython: `test_tasks.py::test_cancel_inner_future`.
#[test]
fn a02_cancel_many_suspended_tasks_current_thread() {
    cancel_many(&ravel_tests::current_thread(), COUNT / 2);
}
