//! Nested TaskGroups: which crash comes first decides the shape of the
//! group error; outside cancels through two levels; counters
//! (asyncio-semantics §2.I: I09).

use ravel::{current_task, Error, Promise, TaskGroup};
use ravel_tests::block;
use ravel_tests::{both, current_thread};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(10);

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

/// The shape of an error: `Py` name, or `EG[...]` of member shapes.
fn shape(e: &Error) -> String {
    match e.as_group() {
        Some(g) => {
            let mut members: Vec<_> = g.errors().iter().map(shape).collect();
            members.sort();
            members.dedup();
            format!("EG[{}]", members.join(","))
        }
        None => match e.downcast_ref::<Py>() {
            Some(p) => p.0.to_string(),
            None => format!("{e:?}"),
        },
    }
}

async fn crash_after(ms: u64) -> ravel::Result<()> {
    ravel::sleep(Duration::from_millis(ms)).await?;
    Err(py("ValueError"))
}

/// I09: the outer group's child crashes first: the inner scope ends with
/// the parent's cancellation, the outer one with a group of just the
/// ValueError; counter 0.
/// CPython: `test_taskgroups.py::test_taskgroup_13`.
#[test]
fn i09_outer_child_crashes_first() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let err = TaskGroup::run(|g1| async move {
                g1.spawn(crash_after(10))?;
                let inner = TaskGroup::run(|g2| async move {
                    g2.spawn(crash_after(10_000))?;
                    Ok(())
                })
                .await
                .unwrap_err();
                assert!(inner.is_cancelled(), "{inner:?}");
                Err::<(), _>(inner)
            })
            .await
            .unwrap_err();
            assert_eq!(shape(&err), "EG[ValueError]", "{flavour}");
            assert_eq!(current_task().unwrap().cancelling(), 0);
            Ok(())
        });
    }
}

/// I09: the inner group's child crashes first: the outer group holds the
/// inner group error; the outer group's other child is cancelled; the
/// counter ends at 0.
/// CPython: `test_taskgroups.py::test_taskgroup_14`.
#[test]
fn i09_inner_child_crashes_first() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let slot = Arc::new(std::sync::Mutex::new(None));
            let s = slot.clone();
            let err = TaskGroup::run(|g1| async move {
                let other = g1.spawn(crash_after(10_000))?;
                *s.lock().unwrap() = Some(other.as_task_ref().clone());
                TaskGroup::run(|g2| async move {
                    g2.spawn(crash_after(10))?;
                    Ok(())
                })
                .await
            })
            .await
            .unwrap_err();
            assert_eq!(shape(&err), "EG[EG[ValueError]]", "{flavour}");
            let other = slot.lock().unwrap().take().unwrap();
            assert!(other.cancelled(), "{flavour}: the outer group's other child was cancelled");
            assert_eq!(current_task().unwrap().cancelling(), 0);
            Ok(())
        });
    }
}

/// An outside cancel through two levels, with the inner children failing in
/// their cleanup: a group holding the inner group of their errors (with or
/// without a sleeping child in the outer group).
/// CPython: `test_taskgroups.py::test_taskgroup_11`, `test_taskgroup_12`.
#[test]
fn i09_outside_cancel_through_nested_groups() {
    for (flavour, rt) in both() {
        for outer_child in [false, true] {
            block(&rt, async move {
                let entered = Promise::new();
                let e = entered.clone();
                let r = ravel::spawn(async move {
                    TaskGroup::run(|g1| async move {
                        if outer_child {
                            g1.spawn(ravel::sleep(LONG))?;
                        }
                        TaskGroup::run(|g2| async move {
                            let started = Arc::new(AtomicUsize::new(0));
                            for _ in 0..5 {
                                let st = started.clone();
                                g2.spawn(async move {
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
                    })
                    .await
                });
                entered.await?;
                r.cancel();
                let err = r.await.unwrap_err();
                assert_eq!(shape(&err), "EG[EG[ZeroDivisionError]]", "{flavour} outer_child={outer_child}");
                assert_eq!(err.as_group().unwrap().len(), 1);
                assert_eq!(err.as_group().unwrap().errors()[0].as_group().unwrap().len(), 5);
                Ok(())
            });
        }
    }
}

/// Both groups' children fail at once: after the inner group's error is
/// handled, `cancelling()==1` (the outer group's request); after the outer
/// one's, 0.
/// CPython: `test_taskgroups.py::test_nested_groups_both_cancelled`.
/// Order-dependent: current-thread.
#[test]
fn i09_nested_groups_both_fail() {
    let rt = current_thread();
    block(&rt, async move {
        let raise_after = |name| async move {
            ravel::sleep(Duration::ZERO).await?;
            Err::<(), _>(py(name))
        };
        let err = TaskGroup::run(|outer| async move {
            let inner = TaskGroup::run(|inner| async move {
                inner.spawn(raise_after("RuntimeError"))?;
                outer.spawn(raise_after("ValueError"))?;
                Ok(())
            })
            .await
            .unwrap_err();
            assert_eq!(shape(&inner), "EG[RuntimeError]");
            assert_eq!(current_task().unwrap().cancelling(), 1);
            Ok(())
        })
        .await
        .unwrap_err();
        assert_eq!(shape(&err), "EG[ValueError]");
        assert_eq!(current_task().unwrap().cancelling(), 0);
        Ok(())
    });
}

/// Three levels, innermost crash: each level wraps the error once more and
/// the counter ends at 0.
/// CPython: generalises `test_taskgroups.py::test_taskgroup_14`.
#[test]
fn i09_three_levels() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let err = TaskGroup::run(|a| async move {
                a.spawn(ravel::sleep(LONG))?;
                TaskGroup::run(|b| async move {
                    b.spawn(ravel::sleep(LONG))?;
                    TaskGroup::run(|c| async move {
                        c.spawn(crash_after(5))?;
                        ravel::sleep(LONG).await
                    })
                    .await
                })
                .await
            })
            .await
            .unwrap_err();
            assert_eq!(shape(&err), "EG[EG[EG[ValueError]]]", "{flavour}");
            assert_eq!(err.as_group().unwrap().leaves().len(), 1);
            assert_eq!(current_task().unwrap().cancelling(), 0);
            ravel::sleep(Duration::from_millis(1)).await?;
            Ok(())
        });
    }
}
