//! TaskGroup failures: a child fails, the body fails, both fail, panics
//! (asyncio-semantics §2.I: I02, I03, I04, I12).

use ravel::{current_task, Error, Promise, TaskGroup};
use ravel_tests::block;
use ravel_tests::{both, current_thread, Log};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(10);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A user error standing in for Python's exception types.
#[derive(Debug, PartialEq)]
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

/// The set of leaf error names of a TaskGroup error.
fn group_types(err: &Error) -> Vec<&'static str> {
    let group = err.as_group().unwrap_or_else(|| panic!("not a group: {err:?}"));
    assert_eq!(group.message(), "unhandled errors in a TaskGroup");
    let mut names: Vec<_> = group
        .errors()
        .iter()
        .map(|e| e.downcast_ref::<Py>().unwrap_or_else(|| panic!("unexpected member {e:?}")).0)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// I02: a child fails while the body awaits: the sibling is cancelled, then
/// the body gets a cancellation with `cancelling()==1`, then the scope fails
/// with a group of exactly the child's error; the code after the scope in
/// the body is skipped; afterwards the counter is 0 and the task goes on.
/// CPython: `test_taskgroups.py::test_taskgroup_04`, `test_cancel_children_on_child_error`.
/// Order-dependent: current-thread.
#[test]
fn i02_child_fails_while_body_awaits() {
    let rt = current_thread();
    let log = Log::new();
    let l = log.clone();
    block(&rt, async move {
        let me = current_task().unwrap();
        let l2 = l.clone();
        let err = TaskGroup::run(|g| async move {
            g.spawn(async {
                ravel::sleep(ms(10)).await?;
                Err::<(), _>(py("ZeroDivisionError"))
            })?;
            let ls = l2.clone();
            let t2 = g.spawn(async move {
                match ravel::sleep(Duration::from_secs(1)).await {
                    Err(e) if e.is_cancelled() => {
                        ls.push("sibling cancelled");
                        Err(e)
                    }
                    other => other,
                }
            })?;
            match ravel::sleep(LONG).await {
                Err(e) if e.is_cancelled() => {
                    l2.push(format!("body cancelled, cancelling={}", current_task().unwrap().cancelling()));
                    Err(e)
                }
                other => {
                    l2.push("next_line");
                    other.map(|_| t2)
                }
            }
        })
        .await
        .unwrap_err();
        l.push("group error");
        assert_eq!(group_types(&err), ["ZeroDivisionError"]);
        assert_eq!(err.as_group().unwrap().len(), 1);
        assert_eq!(me.cancelling(), 0);
        ravel::sleep(ms(1)).await?;
        Ok(())
    });
    assert_eq!(log.events(), ["sibling cancelled", "body cancelled, cancelling=1", "group error"]);
}

/// I02 with three failing children: the group holds only their error type,
/// every sibling and the body were cancelled; the parent task ends failed
/// (with the group) not cancelled.
/// CPython: `test_taskgroups.py::test_cancel_children_on_child_error`.
#[test]
fn i02_several_failing_children() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let sibling_cancelled = Arc::new(AtomicBool::new(false));
            let body_cancelled = Arc::new(AtomicBool::new(false));
            let (s, b) = (sibling_cancelled.clone(), body_cancelled.clone());
            let runner = ravel::spawn(async move {
                TaskGroup::run(|g| async move {
                    let sibling_started = Promise::new();
                    for _ in 0..3 {
                        let started = sibling_started.clone();
                        g.spawn(async move {
                            started.await?;
                            ravel::sleep(ms(10)).await?;
                            Err::<(), _>(py("ZeroDivisionError"))
                        })?;
                    }
                    g.spawn(async move {
                        sibling_started.set_result(())?;
                        let r = ravel::sleep(Duration::from_secs(5)).await;
                        s.store(r.as_ref().is_err_and(Error::is_cancelled), SeqCst);
                        r
                    })?;
                    let r = ravel::sleep(LONG).await;
                    b.store(r.as_ref().is_err_and(Error::is_cancelled), SeqCst);
                    r
                })
                .await
            });
            let r = runner.as_task_ref().clone();
            let err = runner.await.unwrap_err();
            assert_eq!(group_types(&err), ["ZeroDivisionError"], "{flavour}");
            assert!(sibling_cancelled.load(SeqCst) && body_cancelled.load(SeqCst));
            assert!(!r.cancelled());
            assert_eq!(r.cancelling(), 0);
            Ok(())
        });
    }
}

/// I03: the body fails (after an await, or at once): every child is
/// cancelled and the scope fails with a group of the body's error; the
/// counter stays 0.
/// CPython: `test_taskgroups.py::test_taskgroup_09`, `test_taskgroup_10`.
#[test]
fn i03_body_fails() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            for wait_first in [true, false] {
                let slot = Arc::new(std::sync::Mutex::new(Vec::new()));
                let s = slot.clone();
                let err = TaskGroup::run(|g| async move {
                    let t1 = g.spawn(async {
                        ravel::sleep(Duration::from_secs(1)).await?;
                        Ok(42)
                    })?;
                    let t2 = g.spawn(async {
                        ravel::sleep(Duration::from_secs(2)).await?;
                        Ok(11)
                    })?;
                    s.lock().unwrap().extend([t1.as_task_ref().clone(), t2.as_task_ref().clone()]);
                    if wait_first {
                        ravel::sleep(ms(10)).await?;
                    }
                    Err::<(), _>(py("ZeroDivisionError"))
                })
                .await
                .unwrap_err();
                assert_eq!(group_types(&err), ["ZeroDivisionError"], "{flavour}");
                for t in slot.lock().unwrap().iter() {
                    assert!(t.cancelled(), "{flavour}: {t:?}");
                }
                assert_eq!(current_task().unwrap().cancelling(), 0);
            }
            Ok(())
        });
    }
}

/// I04: the body and a child both fail: the group holds both errors.
/// CPython: `test_taskgroups.py::test_taskgroup_19`.
#[test]
fn i04_body_and_child_fail() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let r = ravel::spawn(async {
                TaskGroup::run(|g| async move {
                    g.spawn(async {
                        ravel::sleep(ms(10)).await?;
                        Err::<(), _>(py("ZeroDivisionError"))
                    })?;
                    // nested(): try: sleep(10) finally: raise MyExc
                    let _ = ravel::sleep(LONG).await;
                    Err::<(), _>(py("MyExc"))
                })
                .await
            });
            let err = r.await.unwrap_err();
            assert_eq!(group_types(&err), ["MyExc", "ZeroDivisionError"], "{flavour}");
            assert_eq!(err.as_group().unwrap().len(), 2);
            Ok(())
        });
    }
}

/// Two errors from the same failure path: a child's and the body's
/// cleanup's; the counter is 0 in the handler.
/// CPython: `test_taskgroups.py::test_taskgroup_context_manager_exit_raises` (gh-95289).
#[test]
fn i04_body_cleanup_raises_after_child_error() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let main = ravel::spawn(async {
                let err = TaskGroup::run(|tg| async move {
                    // async with database(): (its exit raises CustomException)
                    tg.spawn(async { Err::<(), _>(py("CustomException")) })?;
                    let _ = ravel::sleep(Duration::from_secs(1)).await;
                    Err::<(), _>(py("CustomException"))
                })
                .await
                .unwrap_err();
                assert_eq!(current_task().unwrap().cancelling(), 0);
                Ok(err)
            });
            let err = main.await?;
            assert_eq!(err.as_group().unwrap().len(), 2, "{flavour}: {err:?}");
            assert_eq!(group_types(&err), ["CustomException"]);
            Ok(())
        });
    }
}

/// The counter is restored after a child error is handled.
/// CPython: `test_taskgroups.py::test_cancelling_level_preserved`.
#[test]
fn i02_cancelling_level_preserved() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let err = TaskGroup::run(|tg| async move {
                tg.spawn(async {
                    ravel::sleep(Duration::ZERO).await?;
                    Err::<(), _>(py("RuntimeError"))
                })?;
                Ok(())
            })
            .await
            .unwrap_err();
            assert_eq!(group_types(&err), ["RuntimeError"], "{flavour}");
            assert_eq!(current_task().unwrap().cancelling(), 0);
            Ok(())
        });
    }
}

/// An outside cancel turned into an error by the body: a group of that
/// error; the outside cancel is re-armed, so the parent task ends failed
/// with `cancelling()==1` (3.13).
/// CPython: `test_taskgroups.py::test_taskgroup_18` (3.13.0 run: EG[KeyError],
/// not cancelled, cancelling 1).
#[test]
fn i05_body_turns_outside_cancel_into_error() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let entered = Promise::new();
            let e = entered.clone();
            let hits = Arc::new(AtomicUsize::new(0));
            let h = hits.clone();
            let r = ravel::spawn(async move {
                TaskGroup::run(|_g| async move {
                    e.set_result(())?;
                    match ravel::sleep(LONG).await {
                        Err(c) if c.is_cancelled() => {
                            h.fetch_add(10, SeqCst);
                            Err::<(), _>(py("MyExc"))
                        }
                        other => other,
                    }
                })
                .await
            });
            entered.await?;
            r.cancel();
            let rr = r.as_task_ref().clone();
            let err = r.await.unwrap_err();
            assert_eq!(group_types(&err), ["MyExc"], "{flavour}");
            assert_eq!(hits.load(SeqCst), 10);
            assert!(!rr.cancelled());
            assert_eq!(rr.cancelling(), 1);
            Ok(())
        });
    }
}

/// I12: a panic (asyncio KeyboardInterrupt) in the body while a child
/// fails: the bare panic comes out of the parent, after the children are
/// done; the child's error is dropped; the parent's counter stays 1 (3.13:
/// the base error is raised before `uncancel`).
/// CPython: `test_taskgroups.py::test_taskgroup_20`.
#[test]
fn i12_panic_in_body_while_child_fails() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let r = ravel::spawn(async {
                TaskGroup::run(|g| async move {
                    g.spawn(async {
                        ravel::sleep(ms(10)).await?;
                        Err::<(), _>(py("ZeroDivisionError"))
                    })?;
                    // nested(): try: sleep(10) finally: raise KeyboardInterrupt
                    let _ = ravel::sleep(LONG).await;
                    if true {
                        panic!("KeyboardInterrupt");
                    }
                    Ok(())
                })
                .await
            });
            let rr = r.as_task_ref().clone();
            let err = r.await.unwrap_err();
            assert!(err.is_panic(), "{flavour}: a bare panic, not a group: {err:?}");
            let payload = err.take_panic().unwrap();
            assert_eq!(payload.downcast_ref::<&str>(), Some(&"KeyboardInterrupt"));
            assert_eq!(rr.cancelling(), 1, "{flavour}: the counter is not restored");
            Ok(())
        });
    }
}

/// A panicking child: the panic is resumed in the parent only after the
/// other children have finished their cleanup.
/// CPython: `taskgroups.py::_on_task_done` / `__aexit__` (`_base_error`).
#[test]
fn i12_child_panic_resumed_after_siblings() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let cleaned = Arc::new(AtomicBool::new(false));
            let c = cleaned.clone();
            let r = ravel::spawn(async move {
                TaskGroup::run(|g| async move {
                    let sibling_started = Promise::new();
                    let started = sibling_started.clone();
                    g.spawn(async move {
                        started.set_result(())?;
                        if let Err(e) = ravel::sleep(LONG).await {
                            ravel::sleep(ms(20)).await.ok(); // slow async cleanup
                            c.store(true, SeqCst);
                            return Err(e);
                        }
                        Ok(())
                    })?;
                    g.spawn(async move {
                        sibling_started.await?;
                        if true {
                            panic!("child panicked");
                        }
                        Ok(())
                    })?;
                    ravel::sleep(LONG).await
                })
                .await
            });
            let err = r.await.unwrap_err();
            assert!(err.is_panic(), "{flavour}: {err:?}");
            assert_eq!(err.take_panic().unwrap().downcast_ref::<&str>(), Some(&"child panicked"));
            assert!(cleaned.load(SeqCst), "{flavour}: the sibling's cleanup finished before the panic surfaced");
            Ok(())
        });
    }
}
