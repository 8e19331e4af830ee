//! Structured concurrency under cross-thread stress (multi_thread(2) and
//! multi_thread(4)):
//!
//! * timeouts nested three deep, expiring on whichever worker processes the
//!   timers, while a foreign OS thread cancels the task running them: the
//!   outside cancellation is never swallowed (the task ends cancelled) and
//!   the `cancelling()` arithmetic is exact;
//! * 1,000 concurrent TaskGroups, each with one failing child and a few
//!   sleepers: each fails with a group of exactly that error, no child
//!   outlives its group, every parent's counter is back to 0, and no task is
//!   left at the end.
//!
//! asyncio-semantics §1 items 8 and 13–14; §2.C07/C09/C11, §2.I02.

use ravel::{current_task, Error, TaskGroup, TaskRef};
use ravel_tests::block;
use ravel_tests::multi_thread;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

const LONG: Duration = Duration::from_secs(30);

/// Busy-waits until `until`, to vary where the foreign cancel lands
/// (jitter, not synchronisation).
fn spin_until(until: Instant) {
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// What one iteration of the nested-timeouts scenario saw.
#[derive(Debug, Default)]
struct Outcomes {
    cancelled_out_of_scopes: AtomicUsize,
    timeout_out_of_scopes: AtomicUsize,
}

/// Every task ends cancelled, with exactly the outside cancel counted.
async fn check(tasks: Vec<ravel::Task<()>>) {
    for t in tasks {
        let r = t.as_task_ref().clone();
        let out = t.await;
        assert!(matches!(&out, Err(e) if e.is_cancelled()), "{out:?}");
        assert!(r.cancelled(), "the task ends cancelled: {r:?}");
        assert_eq!(r.cancelling(), 1, "exactly the outside cancel is left: {r:?}");
    }
}

/// Tasks racing at a time (the foreign canceller serves them in turn).
const BATCH: usize = 6;

fn nested_timeouts_with_foreign_cancel(workers: usize) {
    let rt = multi_thread(workers);
    let iterations = 1000usize;
    let outcomes = Arc::new(Outcomes::default());
    let (tx, rx) = mpsc::channel::<(TaskRef, Instant)>();
    // The foreign canceller: one OS thread outside the runtime.
    let canceller = std::thread::spawn(move || {
        let mut refused = 0;
        for (task, at) in rx {
            spin_until(at);
            if !task.cancel_with("ext") {
                refused += 1;
            }
        }
        refused
    });
    let o = outcomes.clone();
    block(&rt, async move {
        let mut tasks: Vec<ravel::Task<()>> = Vec::new();
        for i in 0..iterations {
            if tasks.len() == BATCH {
                check(std::mem::take(&mut tasks)).await;
            }
            let tx = tx.clone();
            let o = o.clone();
            let d3 = Duration::from_micros(200 + (i as u64 % 7) * 150);
            let d2 = d3 + Duration::from_micros((i as u64 % 3) * 200);
            let d1 = d2 + Duration::from_micros((i as u64 % 5) * 100);
            let jitter = Duration::from_micros((i as u64 % 11) * 150);
            tasks.push(ravel::spawn(async move {
                let me = current_task().unwrap();
                let scopes = ravel::timeout(
                    d1,
                    ravel::timeout(
                        d2,
                        ravel::timeout(d3, async move {
                            // Every scope is entered: now let the foreign thread cancel us.
                            tx.send((current_task().unwrap(), Instant::now() + jitter)).unwrap();
                            ravel::sleep(LONG).await
                        }),
                    ),
                )
                .await;
                match scopes {
                    Err(e) if e.is_cancelled() => {
                        // Only the outside cancellation can be left: every
                        // timeout took back its own.
                        assert_eq!(me.cancelling(), 1, "cancellation out of the scopes: {e:?}");
                        o.cancelled_out_of_scopes.fetch_add(1, SeqCst);
                        Err(e)
                    }
                    Err(e) if e.is_timeout() => {
                        // The timeouts finished before the outside cancel was
                        // counted (0), or it was counted after the outermost
                        // scope's check (1): either way it is still to come.
                        let n = me.cancelling();
                        assert!(n <= 1, "cancelling()={n} after a timeout error");
                        o.timeout_out_of_scopes.fetch_add(1, SeqCst);
                        // (Its message may be gone: a later message-less
                        // expiry overwrites a pending cancel's message, as
                        // asyncio's `Task.cancel()` does.)
                        match ravel::sleep(Duration::from_secs(5)).await {
                            Err(c) if c.is_cancelled() => Err(c),
                            other => panic!("the outside cancellation was swallowed: {other:?}"),
                        }
                    }
                    other => panic!("unexpected outcome of the scopes: {other:?}"),
                }
            }));
        }
        drop(tx);
        check(tasks).await;
        Ok(())
    });
    assert_eq!(canceller.join().unwrap(), 0, "every outside cancel reached a live task");
    let c = outcomes.cancelled_out_of_scopes.load(SeqCst);
    let t = outcomes.timeout_out_of_scopes.load(SeqCst);
    assert_eq!(c + t, iterations);
    eprintln!("multi_thread({workers}): cancellation out of the scopes {c}, timeout then cancel {t}");
    assert!(c > 0 && t > 0, "both orders of the race were exercised");
    assert!(rt.handle().all_tasks().is_empty());
}

/// Nested timeouts vs a foreign cancel on two workers.
/// CPython: `timeouts.py::Timeout.__aexit__` (per-scope snapshot, `uncancel()`).
#[test]
fn nested_timeouts_foreign_cancel_2_workers() {
    nested_timeouts_with_foreign_cancel(2);
}

/// Nested timeouts vs a foreign cancel on four workers.
/// CPython: `timeouts.py::Timeout.__aexit__`.
#[test]
fn nested_timeouts_foreign_cancel_4_workers() {
    nested_timeouts_with_foreign_cancel(4);
}

/// Decrements the group's live-children count when the child's future is
/// dropped (finished, cancelled or aborted).
struct Live(Arc<AtomicUsize>);

impl Live {
    fn enter(count: &Arc<AtomicUsize>) -> Live {
        count.fetch_add(1, SeqCst);
        Live(count.clone())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

fn many_failing_groups(workers: usize) {
    let rt = multi_thread(workers);
    let groups = 1000usize;
    let total_live = Arc::new(AtomicUsize::new(0));
    let tl = total_live.clone();
    block(&rt, async move {
        let mut parents = Vec::new();
        for i in 0..groups {
            let tl = tl.clone();
            parents.push(ravel::spawn(async move {
                let live = Arc::new(AtomicUsize::new(0));
                let l = live.clone();
                let err = TaskGroup::run(|g| async move {
                    for k in 0..3 {
                        let (l, tl) = (l.clone(), tl.clone());
                        g.spawn(async move {
                            let _live = (Live::enter(&l), Live::enter(&tl));
                            match ravel::sleep(LONG).await {
                                Err(e) if e.is_cancelled() && k == 0 => {
                                    // Some sleepers clean up asynchronously.
                                    ravel::sleep(Duration::from_micros(200)).await.ok();
                                    Err(e)
                                }
                                other => other,
                            }
                        })?;
                    }
                    let (l2, tl2) = (l.clone(), tl.clone());
                    g.spawn(async move {
                        let _live = (Live::enter(&l2), Live::enter(&tl2));
                        for _ in 0..(i % 3) {
                            ravel::yield_now().await?;
                        }
                        Err::<(), _>(Error::msg(format!("child of group {i} failed")))
                    })?;
                    ravel::sleep(LONG).await
                })
                .await
                .unwrap_err();
                assert_eq!(live.load(SeqCst), 0, "group {i}: a child outlived its group");
                let group = err.as_group().unwrap_or_else(|| panic!("group {i}: {err:?}"));
                assert_eq!(group.len(), 1, "group {i}: {group:?}");
                assert_eq!(group.errors()[0].to_string(), format!("child of group {i} failed"));
                assert_eq!(current_task().unwrap().cancelling(), 0, "group {i}");
                Ok(())
            }));
        }
        for p in parents {
            let r = p.as_task_ref().clone();
            p.await?;
            assert_eq!(r.cancelling(), 0);
            assert!(!r.cancelled());
        }
        Ok(())
    });
    assert_eq!(total_live.load(SeqCst), 0);
    let left = rt.handle().all_tasks();
    assert!(left.is_empty(), "tasks left: {left:?}");
}

/// 1,000 failing groups on two workers.
/// CPython: `taskgroups.py::_on_task_done` / `__aexit__`; `test_taskgroups.py::test_taskgroup_04`.
#[test]
fn thousand_failing_groups_2_workers() {
    many_failing_groups(2);
}

/// 1,000 failing groups on four workers.
/// CPython: `taskgroups.py::_on_task_done` / `__aexit__`.
#[test]
fn thousand_failing_groups_4_workers() {
    many_failing_groups(4);
}
