//! TaskGroup and cancellation: outside cancels of the parent (in the body,
//! at the end of the scope, racing a child failure), a timeout around a
//! group, and `TaskGroup::cancel()` (asyncio-semantics §2.I: I05, I06, I07,
//! I24, I30 from CPython main).

use ravel::{current_task, Error, Promise, TaskGroup, TaskRef};
use ravel_tests::block;
use ravel_tests::{both, current_thread, Log};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(10);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[derive(Debug)]
struct Py(&'static str);

impl fmt::Display for Py {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Py {}

fn py(name: &'static str) -> Error {
    Error::new(Py(name))
}

/// The member names of a TaskGroup error (sorted, deduplicated).
fn group_types(err: &Error) -> Vec<&'static str> {
    let group = err.as_group().unwrap_or_else(|| panic!("not a group: {err:?}"));
    let mut names: Vec<_> = group.errors().iter().map(|e| e.downcast_ref::<Py>().expect("a Py error").0).collect();
    names.sort();
    names.dedup();
    names
}

/// A child that sleeps long; on cancellation logs the message it got.
async fn sleeper(log: Log) -> ravel::Result<()> {
    match ravel::sleep(LONG).await {
        Err(e) if e.is_cancelled() => {
            log.push(format!("child CE {:?}", e.cancel_message()));
            Err(e)
        }
        other => other,
    }
}

/// I05: an outside `cancel("ext")` while the body awaits: the body sees
/// ('ext',) with `cancelling()==1`; the children get a message-less
/// cancellation; the parent ends cancelled with ('ext',), `cancelling()==1`,
/// not a group.
/// CPython: `test_taskgroups.py::test_taskgroup_07`, `test_cancellation`.
#[test]
fn i05_outside_cancel_while_body_awaits() {
    for (flavour, rt) in both() {
        let log = Log::new();
        let l = log.clone();
        block(&rt, async move {
            let entered = Promise::new();
            let e = entered.clone();
            let r = ravel::spawn(async move {
                TaskGroup::run(|g| async move {
                    let started = Arc::new(AtomicUsize::new(0));
                    for _ in 0..5 {
                        let (st, child) = (started.clone(), sleeper(l.clone()));
                        g.spawn(async move {
                            st.fetch_add(1, SeqCst);
                            child.await
                        })?;
                    }
                    while started.load(SeqCst) < 5 {
                        ravel::yield_now().await?;
                    }
                    e.set_result(())?;
                    match ravel::sleep(LONG).await {
                        Err(c) if c.is_cancelled() => {
                            let n = current_task().unwrap().cancelling();
                            l.push(format!("body CE {:?} cancelling={n}", c.cancel_message()));
                            Err(c)
                        }
                        other => other,
                    }
                })
                .await
            });
            entered.await?;
            assert!(!r.done());
            r.cancel_with("ext");
            let rr = r.as_task_ref().clone();
            let err = r.await.unwrap_err();
            assert!(err.is_cancelled() && !err.is_group(), "{flavour}: {err:?}");
            assert_eq!(err.cancel_message(), Some("ext"));
            assert!(rr.cancelled());
            assert_eq!(rr.cancelling(), 1);
            Ok(())
        });
        let mut events = log.events();
        events.sort();
        let mut expected = vec!["body CE Some(\"ext\") cancelling=1".to_string()];
        expected.extend(std::iter::repeat_n("child CE None".to_string(), 5));
        expected.sort();
        assert_eq!(events, expected, "{flavour}");
    }
}

/// I06: an outside cancel while the parent waits at the end of the scope:
/// the children are cancelled and the parent raises the outside
/// cancellation; a scope without children behaves the same.
/// CPython: `test_taskgroups.py::test_taskgroup_22`, `test_taskgroup_17`, `test_cancellation`.
#[test]
fn i06_outside_cancel_while_exiting() {
    for (flavour, rt) in both() {
        let log = Log::new();
        let l = log.clone();
        block(&rt, async move {
            let started = Promise::new();
            let s = started.clone();
            let r = ravel::spawn(async move {
                TaskGroup::run(|g| async move {
                    for _ in 0..2 {
                        g.spawn(sleeper(l.clone()))?;
                    }
                    let s = s.clone();
                    g.spawn(async move {
                        s.set_result(())?; // the body has returned by the time this runs
                        ravel::sleep(LONG).await
                    })?;
                    Ok("body")
                })
                .await
            });
            started.await?;
            r.cancel_with("ext2");
            let err = r.await.unwrap_err();
            assert!(err.is_cancelled(), "{flavour}: {err:?}");
            assert_eq!(err.cancel_message(), Some("ext2"));

            // test_taskgroup_17: no children, the body catches nothing.
            let entered = Promise::new();
            let e = entered.clone();
            let r = ravel::spawn(async move {
                TaskGroup::run(|_g| async move {
                    e.set_result(())?;
                    ravel::sleep(LONG).await
                })
                .await
            });
            entered.await?;
            r.cancel();
            assert!(r.await.unwrap_err().is_cancelled());
            Ok(())
        });
        assert_eq!(log.events(), ["child CE None", "child CE None"], "{flavour}");
    }
}

/// I07: an outside cancel while the children fail in their cleanup: the
/// group of their errors wins over the cancellation.
/// CPython: `test_taskgroups.py::test_taskgroup_08`.
#[test]
fn i07_children_fail_during_cancel_group_wins() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let entered = Promise::new();
            let e = entered.clone();
            let r = ravel::spawn(async move {
                TaskGroup::run(|g| async move {
                    let started = Arc::new(AtomicUsize::new(0));
                    for _ in 0..5 {
                        let st = started.clone();
                        g.spawn(async move {
                            st.fetch_add(1, SeqCst);
                            let _ = ravel::sleep(LONG).await;
                            Err::<(), _>(py("ZeroDivisionError")) // finally: 1/0
                        })?;
                    }
                    while started.load(SeqCst) < 5 {
                        ravel::yield_now().await?;
                    }
                    e.set_result(())?;
                    ravel::sleep(LONG).await
                })
                .await
            });
            entered.await?;
            r.cancel();
            let err = r.await.unwrap_err();
            assert_eq!(group_types(&err), ["ZeroDivisionError"], "{flavour}");
            assert_eq!(err.as_group().unwrap().len(), 5);
            Ok(())
        });
    }
}

/// I07 (3.13): the group error wins, but the outside cancellation is not
/// lost: in the handler `cancelling()==1`, and the next await is cancelled,
/// so the task ends cancelled.
/// CPython: `test_taskgroups.py::test_error_and_cancel`.
/// Order-dependent, so current-thread only: on several workers the group's
/// abort may cancel the child before it raises, and then (by the same rules)
/// no error is recorded and the outside cancellation comes out alone.
#[test]
fn i07_outside_cancel_rearmed_after_group_error() {
    {
        let (flavour, rt) = ("current_thread", current_thread());
        block(&rt, async move {
            let event = Promise::new();
            let ev = event.clone();
            let log = Log::new();
            let l = log.clone();
            let t = ravel::spawn(async move {
                let err = TaskGroup::run(|tg| async move {
                    let ev = ev.clone();
                    tg.spawn(async move {
                        ev.set_result(())?;
                        ravel::sleep(Duration::ZERO).await?;
                        Err::<(), _>(py("RuntimeError"))
                    })?;
                    ravel::sleep(Duration::from_secs(1)).await?;
                    panic!("sleep in group should have been cancelled");
                    #[allow(unreachable_code)]
                    Ok(())
                })
                .await
                .unwrap_err();
                assert_eq!(group_types(&err), ["RuntimeError"]);
                l.push(format!("except*: cancelling={}", current_task().unwrap().cancelling()));
                let after = ravel::sleep(Duration::from_secs(1)).await;
                l.push(format!("sleep after group cancelled: {}", after.as_ref().is_err_and(Error::is_cancelled)));
                after
            });
            event.await?;
            assert_eq!(t.cancelling(), 0);
            t.cancel();
            assert_eq!(t.cancelling(), 1);
            let tr = t.as_task_ref().clone();
            assert!(t.await.unwrap_err().is_cancelled(), "{flavour}");
            assert!(tr.cancelled());
            assert_eq!(log.events(), ["except*: cancelling=1", "sleep after group cancelled: true"], "{flavour}");
            Ok(())
        });
    }
}

/// An outside cancel the body catches and cleans up after, while a child
/// fails during that cleanup: the group error comes out (directly, or
/// through a task awaiting the parent).
/// CPython: `test_taskgroups.py::test_taskgroup_15`, `test_taskgroup_16`.
#[test]
fn i07_child_fails_during_body_cleanup() {
    for (flavour, rt) in both() {
        for nested in [false, true] {
            block(&rt, async move {
                let entered = Promise::new();
                let go = Promise::new();
                let (e, g2) = (entered.clone(), go.clone());
                let inner = async move {
                    TaskGroup::run(|g| async move {
                        let go = g2.clone();
                        g.spawn(async move {
                            go.await?; // crash_soon
                            Err::<(), _>(py("ZeroDivisionError"))
                        })?;
                        e.set_result(())?;
                        match ravel::sleep(LONG).await {
                            Err(c) if c.is_cancelled() => {
                                g2.set_result(())?; // the child crashes during our cleanup
                                let _ = ravel::sleep(LONG).await; // interrupted by the group
                                Err(c)
                            }
                            other => other,
                        }
                    })
                    .await
                };
                let r =
                    if nested { ravel::spawn(async move { ravel::spawn(inner).await }) } else { ravel::spawn(inner) };
                entered.await?;
                r.cancel();
                let err = r.await.unwrap_err();
                assert_eq!(group_types(&err), ["ZeroDivisionError"], "{flavour} nested={nested}: {err:?}");
                Ok(())
            });
        }
    }
}

/// I24: a timeout around a group with two long children: both are
/// cancelled and awaited, then the timeout error comes out with the
/// counter at 0.
/// CPython: spec I24 (✔ on 3.13.0 and 3.12.1).
#[test]
fn i24_timeout_around_group() {
    for (flavour, rt) in both() {
        let log = Log::new();
        let l = log.clone();
        block(&rt, async move {
            let l2 = l.clone();
            let err = ravel::timeout(
                ms(10),
                TaskGroup::run(|g| async move {
                    for _ in 0..2 {
                        let l = l2.clone();
                        g.spawn(async move {
                            let r = ravel::sleep(LONG).await;
                            ravel::sleep(ms(1)).await.ok(); // async cleanup
                            l.push("child done");
                            r
                        })?;
                    }
                    Ok(())
                }),
            )
            .await
            .unwrap_err();
            assert!(err.is_timeout(), "{flavour}: {err:?}");
            assert!(err.cause().unwrap().is_cancelled());
            assert_eq!(l.events(), ["child done", "child done"]);
            assert_eq!(current_task().unwrap().cancelling(), 0);
            ravel::sleep(ms(1)).await?;
            Ok(())
        });
    }
}

// ----- TaskGroup::cancel() (I30, CPython main semantics) -----

/// I30: `cancel()` from the body cancels every child (message-less) and the
/// body; a body that catches the cancellation gives its value; the parent
/// is left not cancelled with its counter at 0.
/// CPython main: `TaskGroup.cancel()` (gh-108951).
#[test]
fn i30_cancel_from_body() {
    for (flavour, rt) in both() {
        let log = Log::new();
        let l = log.clone();
        block(&rt, async move {
            let v = TaskGroup::run(|g| async move {
                let started = Arc::new(AtomicUsize::new(0));
                for _ in 0..3 {
                    let (st, child) = (started.clone(), sleeper(l.clone()));
                    g.spawn(async move {
                        st.fetch_add(1, SeqCst);
                        child.await
                    })?;
                }
                while started.load(SeqCst) < 3 {
                    ravel::yield_now().await?;
                }
                g.cancel();
                match ravel::sleep(LONG).await {
                    Err(e) if e.is_cancelled() => {
                        assert_eq!(e.cancel_message(), None);
                        Ok("stopped")
                    }
                    other => other.map(|_| "slept"),
                }
            })
            .await?;
            assert_eq!(v, "stopped", "{flavour}");
            let me = current_task().unwrap();
            assert_eq!(me.cancelling(), 0);
            ravel::sleep(ms(1)).await?;
            Ok(())
        });
        assert_eq!(log.events(), ["child CE None"; 3], "{flavour}");
    }
}

/// I30: a body interrupted by `cancel()` that propagates the cancellation:
/// `run` returns that cancellation, but the parent task is not cancelled
/// (counter restored, the next await completes).
/// CPython main: `TaskGroup.__aexit__` (`_parent_cancel_requested` and `uncancel()==0`).
#[test]
fn i30_body_propagates_cancel() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let t = ravel::spawn(async {
                let err = TaskGroup::run(|g| async move {
                    g.spawn(async { ravel::sleep(LONG).await })?;
                    g.cancel();
                    ravel::sleep(LONG).await
                })
                .await
                .unwrap_err();
                assert!(err.is_cancelled(), "{err:?}");
                let me = current_task().unwrap();
                assert_eq!(me.cancelling(), 0);
                ravel::sleep(ms(1)).await?;
                Ok("parent went on")
            });
            let tr = t.as_task_ref().clone();
            assert_eq!(t.await?, "parent went on", "{flavour}");
            assert!(!tr.cancelled());
            Ok(())
        });
    }
}

/// I30: `cancel()` from a child, while the parent waits at the end of the
/// scope: the other children are cancelled and the scope ends with the
/// body's value.
/// CPython main: `TaskGroup.cancel()`.
#[test]
fn i30_cancel_from_child_while_exiting() {
    for (flavour, rt) in both() {
        let log = Log::new();
        let l = log.clone();
        block(&rt, async move {
            let v = TaskGroup::run(|g| async move {
                g.spawn(sleeper(l.clone()))?;
                g.spawn(sleeper(l.clone()))?;
                let g2 = g.clone();
                g.spawn(async move {
                    ravel::sleep(ms(5)).await?;
                    g2.cancel();
                    Ok(())
                })?;
                Ok(7)
            })
            .await?;
            assert_eq!(v, 7, "{flavour}");
            assert_eq!(current_task().unwrap().cancelling(), 0);
            ravel::sleep(ms(1)).await?;
            Ok(())
        });
        assert_eq!(log.events(), ["child CE None"; 2], "{flavour}");
    }
}

/// I30: `cancel()` is idempotent (the parent is cancelled once), `spawn`
/// afterwards is refused ("is shutting down"), and `cancel()` after the
/// scope has ended is a no-op.
/// CPython main: `TaskGroup.cancel()` (`_aborting`, `_parent_cancel_requested`).
#[test]
fn i30_cancel_idempotent_and_after_exit() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let me = current_task().unwrap();
            let g = TaskGroup::run(|g| async move {
                g.spawn(async { ravel::sleep(LONG).await })?;
                g.cancel();
                g.cancel();
                assert_eq!(current_task().unwrap().cancelling(), 1, "the parent is cancelled once");
                let err = g.spawn(async { Ok(()) }).unwrap_err();
                assert!(err.to_string().ends_with("is shutting down"), "{err}");
                let _ = ravel::sleep(LONG).await;
                Ok(g)
            })
            .await?;
            assert_eq!(me.cancelling(), 0, "{flavour}");
            g.cancel();
            assert_eq!(me.cancelling(), 0, "cancel() after the scope is a no-op");
            ravel::sleep(ms(1)).await?;
            let err = g.spawn(async { Ok(()) }).unwrap_err();
            assert!(err.to_string().ends_with("is finished"), "{err}");
            Ok(())
        });
    }
}

/// I30: `cancel()` from a foreign OS thread stops a group running on the
/// workers.
/// CPython main: `TaskGroup.cancel()`; Ravel: `TaskGroup` is `Send + Sync`.
#[test]
fn i30_cancel_from_foreign_thread() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let (tx, rx) = std::sync::mpsc::channel::<TaskGroup>();
            let canceller = std::thread::spawn(move || rx.recv().unwrap().cancel());
            let v = TaskGroup::run(|g| async move {
                for _ in 0..4 {
                    g.spawn(async { ravel::sleep(LONG).await })?;
                }
                tx.send(g.clone()).unwrap();
                match ravel::sleep(LONG).await {
                    Err(e) if e.is_cancelled() => Ok("cancelled from a thread"),
                    other => other.map(|_| "slept"),
                }
            })
            .await?;
            canceller.join().unwrap();
            assert_eq!(v, "cancelled from a thread", "{flavour}");
            assert_eq!(current_task().unwrap().cancelling(), 0);
            Ok(())
        });
    }
}

/// I30 with an outside cancel too: the outside cancellation is not
/// swallowed (the parent ends cancelled, `cancelling()==1`).
/// CPython main: `TaskGroup.__aexit__` (`uncancel()` is 1, not 0).
#[test]
fn i30_cancel_does_not_swallow_outside_cancel() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let entered = Promise::<TaskGroup>::new();
            let e = entered.clone();
            let r = ravel::spawn(async move {
                TaskGroup::run(|g| async move {
                    g.spawn(async { ravel::sleep(LONG).await })?;
                    e.set_result(g.clone())?;
                    ravel::sleep(LONG).await
                })
                .await
            });
            let g = entered.await?;
            r.cancel_with("outside");
            g.cancel();
            let rr: TaskRef = r.as_task_ref().clone();
            let err = r.await.unwrap_err();
            assert!(err.is_cancelled(), "{flavour}: {err:?}");
            assert!(rr.cancelled());
            assert_eq!(rr.cancelling(), 1);
            Ok(())
        });
    }
}

/// I30: a child failing during the cancellation still makes a group error.
/// CPython main: `TaskGroup.__aexit__` (errors win over the cancellation).
#[test]
fn i30_child_error_after_cancel_is_reported() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let err = TaskGroup::run(|g| async move {
                let started = Promise::new();
                let st = started.clone();
                g.spawn(async move {
                    st.set_result(())?;
                    let _ = ravel::sleep(LONG).await;
                    Err::<(), _>(py("CleanupError"))
                })?;
                started.await?;
                g.cancel();
                let _ = ravel::sleep(LONG).await;
                Ok(())
            })
            .await
            .unwrap_err();
            assert_eq!(group_types(&err), ["CleanupError"], "{flavour}");
            assert_eq!(current_task().unwrap().cancelling(), 0);
            ravel::sleep(ms(1)).await?;
            Ok(())
        });
    }
}

/// I30: the scope ends only after the cancelled children have finished
/// their async cleanup.
/// CPython main: `TaskGroup.cancel()` then `__aexit__` waits for `_tasks`.
#[test]
fn i30_scope_waits_for_cancelled_children() {
    for (flavour, rt) in both() {
        let log = Log::new();
        let l = log.clone();
        block(&rt, async move {
            let l2 = l.clone();
            let started = Promise::new();
            let st = started.clone();
            let err = TaskGroup::run(|g| async move {
                let lc = l2.clone();
                g.spawn(async move {
                    st.set_result(())?;
                    let r = ravel::sleep(LONG).await;
                    ravel::sleep(ms(5)).await.ok(); // async cleanup after the cancel
                    lc.push("child cleaned up");
                    r
                })?;
                started.await?;
                g.cancel();
                ravel::sleep(LONG).await
            })
            .await
            .unwrap_err();
            l.push("scope ended");
            assert!(err.is_cancelled(), "{flavour}: {err:?}");
            Ok(())
        });
        assert_eq!(log.events(), ["child cleaned up", "scope ended"], "{flavour}");
    }
}

// ----- gh-155433: a cancellation from outside while `cancel()` aborts -----
//
// CPython 3.13 has no `TaskGroup.cancel()`, so the expected values come
// from 3.13.0 with two emulations. `MainTG` adds `cancel()` exactly as
// CPython main does; `FixedTG` also applies the gh-155433 fix to 3.13's own
// `__aexit__` source (patched text, exec'd): a CancelledError caught in the
// wait loop is remembered (`pending = ex`), and after `uncancel()`:
// `elif propagate is None: propagate = pending`.
//
//   class MainTG(asyncio.TaskGroup):
//       def cancel(self):
//           if self._exiting and not self._tasks: return
//           if not self._aborting: self._abort()
//           if self._parent_task and not self._parent_cancel_requested:
//               self._parent_cancel_requested = True
//               self._parent_task.cancel()
//   async def worker(log):
//       try: await asyncio.sleep(3600)
//       finally:
//           log.append("worker cleanup starts")
//           await asyncio.sleep(0.2)   # outlasts the deadline / the outside cancel
//           log.append("worker cleanup ends")
//   # timeout: async with timeout(0.05) as cm:
//   #              async with TG() as tg:
//   #                  tg.create_task(worker(log)); await sleep(0); tg.cancel()
//   # outside: task = create_task(body())   # body: the same group, then
//   #          await sleep(0.05)              # `return "body value"`
//   #          task.cancel("outside"); await task
//   # own only: the group alone, no timeout, no outside cancel
//
// Output (3.13.0; 3.12.1 gives the MainTG rows, FixedTG's patch does not
// apply to 3.12's different `__aexit__`):
//
//   MainTG
//     timeout: returned normally; expired=True cancelling=0
//     outside: returned 'body value'; cancelled=False cancelling=1
//     own only: no error; cancelling=0
//   FixedTG
//     timeout: TimeoutError, cause=CancelledError(); expired=True cancelling=0
//     outside: CancelledError('outside',); cancelled=True cancelling=1
//     own only: no error; cancelling=0
//
// Ravel follows FixedTG (CPython main with gh-155433); MainTG is the bug.
// The "own only" row is `i30_cancel_from_child_while_exiting` and
// `i30_scope_waits_for_cancelled_children`. The Rust worker's cleanup polls
// the condition it must outlast instead of sleeping a fixed time.

/// A child whose cleanup after its cancellation lasts until `until()` holds
/// (polled; no timing assumption), logging both ends of the cleanup.
async fn slow_cleanup_worker(
    started: Promise<()>,
    log: Log,
    until: impl Fn() -> bool + Send + 'static,
) -> ravel::Result<()> {
    started.set_result(())?;
    let r = ravel::sleep(LONG).await;
    log.push("worker cleanup starts");
    while !until() {
        ravel::sleep(ms(1)).await?;
    }
    log.push("worker cleanup ends");
    r
}

/// gh-155433: an enclosing timeout that expires while the group is aborting
/// after `cancel()` surfaces as the timeout (cause a cancellation,
/// `expired()`, the counter back to 0), not as the body's value.
#[test]
fn i30_timeout_expiring_during_cancel_cleanup_is_not_swallowed() {
    for (flavour, rt) in both() {
        let log = Log::new();
        let l = log.clone();
        block(&rt, async move {
            let cm = ravel::Timeout::after(ms(20));
            let cm2 = cm.clone();
            let l2 = l.clone();
            let out = cm
                .run(TaskGroup::run(|g| async move {
                    let started = Promise::new();
                    g.spawn(slow_cleanup_worker(started.clone(), l2.clone(), move || cm2.expired()))?;
                    started.await?;
                    g.cancel();
                    l2.push("body returns");
                    Ok("body value")
                }))
                .await;
            l.push("scope ended");
            let err = out.expect_err("the timeout must not be swallowed");
            assert!(err.is_timeout(), "{flavour}: {err:?}");
            assert!(err.cause().expect("a cause").is_cancelled());
            assert!(cm.expired());
            assert_eq!(current_task().unwrap().cancelling(), 0, "{flavour}");
            ravel::sleep(ms(1)).await?; // not left cancelled
            Ok(())
        });
        assert_eq!(
            log.events(),
            ["body returns", "worker cleanup starts", "worker cleanup ends", "scope ended"],
            "{flavour}"
        );
    }
}

/// gh-155433: an outside `cancel()` of the parent while the group is
/// aborting after `cancel()` surfaces as that cancellation (its message,
/// `cancelling()==1`, the parent ends cancelled), not as the body's value.
#[test]
fn i30_outside_cancel_during_cancel_cleanup_is_not_swallowed() {
    for (flavour, rt) in both() {
        let log = Log::new();
        let l = log.clone();
        block(&rt, async move {
            let cleaning = Promise::new();
            let release = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let (c, rel) = (cleaning.clone(), release.clone());
            let r = ravel::spawn(async move {
                TaskGroup::run(|g| async move {
                    let started = Promise::new();
                    let c = c.clone();
                    g.spawn(slow_cleanup_worker(started.clone(), l.clone(), move || {
                        let _ = c.set_result(()); // the cleanup has started
                        rel.load(SeqCst)
                    }))?;
                    started.await?;
                    g.cancel();
                    Ok("body value")
                })
                .await
            });
            cleaning.await?;
            assert!(r.cancel_with("outside"));
            release.store(true, SeqCst);
            let rr = r.as_task_ref().clone();
            let err = r.await.expect_err("the outside cancel must not be swallowed");
            assert!(err.is_cancelled() && !err.is_group(), "{flavour}: {err:?}");
            assert_eq!(err.cancel_message(), Some("outside"), "{flavour}");
            assert!(rr.cancelled());
            assert_eq!(rr.cancelling(), 1, "{flavour}");
            Ok(())
        });
        assert_eq!(log.events(), ["worker cleanup starts", "worker cleanup ends"], "{flavour}");
    }
}
