//! TaskGroup without failures: results after the scope, explicit child
//! cancellation, children spawning children, names and context
//! (asyncio-semantics §2.I: I01, I15, I16, I26).

use ravel::{current_task, ContextVar, TaskGroup};
use ravel_tests::block;
use ravel_tests::{both, current_thread, Log};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// I01: children spawned before or during the body all have results once
/// the scope ends; the body's value is returned.
/// CPython: `test_taskgroups.py::test_taskgroup_01`, `test_taskgroup_02`.
#[test]
fn i01_basic() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let (t1, t2, v) = TaskGroup::run(|g| async move {
                let t1 = g.spawn(async {
                    ravel::sleep(ms(10)).await?;
                    Ok(42)
                })?;
                ravel::sleep(ms(15)).await?;
                let t2 = g.spawn(async {
                    ravel::sleep(ms(20)).await?;
                    Ok(11)
                })?;
                Ok((t1, t2, "body"))
            })
            .await?;
            assert_eq!(v, "body");
            assert!(t1.done() && t2.done(), "{flavour}: every child is done when the scope ends");
            assert_eq!(t1.result()?, 42);
            assert_eq!(t2.result()?, 11);
            assert_eq!(current_task().unwrap().cancelling(), 0);
            Ok(())
        });
    }
}

/// I01: an empty group and a group whose children finish at once.
/// CPython: `taskgroups.py::TaskGroup.__aexit__` (nothing to wait for).
#[test]
fn i01_empty_and_immediate() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            assert_eq!(TaskGroup::run(|_| async { Ok(1) }).await?, 1);
            let n = Arc::new(AtomicUsize::new(0));
            let count = n.clone();
            TaskGroup::run(|g| async move {
                for _ in 0..50 {
                    let c = count.clone();
                    g.spawn(async move {
                        c.fetch_add(1, SeqCst);
                        Ok(())
                    })?;
                }
                Ok(())
            })
            .await?;
            assert_eq!(n.load(SeqCst), 50, "{flavour}");
            Ok(())
        });
    }
}

/// I15: cancelling one child explicitly does not abort the group: the
/// others finish, that child is cancelled, no error, counter 0.
/// CPython: `test_taskgroups.py::test_taskgroup_03`.
#[test]
fn i15_cancel_one_child() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let (t1, t2) = TaskGroup::run(|g| async move {
                let t1 = g.spawn(async {
                    ravel::sleep(Duration::from_secs(1)).await?;
                    Ok(42)
                })?;
                ravel::sleep(ms(15)).await?;
                t1.cancel();
                let t2 = g.spawn(async {
                    ravel::sleep(ms(20)).await?;
                    Ok(11)
                })?;
                Ok((t1, t2))
            })
            .await?;
            assert!(t1.cancelled(), "{flavour}");
            assert_eq!(t2.result()?, 11);
            assert_eq!(current_task().unwrap().cancelling(), 0);
            Ok(())
        });
    }
}

/// I16: children may spawn into the group while the parent waits at the end
/// of the scope; the scope ends after the grandchildren. Events: `leaf1`,
/// `root done`, `leaf2`, then the scope ends.
/// CPython: `test_taskgroups.py::test_taskgroup_24`. Order-dependent: current-thread.
#[test]
fn i16_children_spawn_children() {
    let rt = current_thread();
    let log = Log::new();
    let l = log.clone();
    block(&rt, async move {
        let l2 = l.clone();
        TaskGroup::run(|g| async move {
            let g2 = g.clone();
            g.spawn(async move {
                ravel::sleep(ms(10)).await?;
                for (name, delay) in [("leaf1", 10), ("leaf2", 40)] {
                    let l = l2.clone();
                    g2.spawn(async move {
                        ravel::sleep(ms(delay)).await?;
                        l.push(name);
                        Ok(())
                    })?;
                }
                ravel::sleep(ms(25)).await?;
                l2.push("root done");
                Ok(())
            })?;
            Ok(())
        })
        .await?;
        l.push("group exited");
        Ok(())
    });
    assert_eq!(log.events(), ["leaf1", "root done", "leaf2", "group exited"]);
}

/// I16: a child spawns siblings and the count of live children (`len`)
/// follows; after the scope, `len()` is 0.
/// CPython: `test_taskgroups.py::test_taskgroup_23` (`len(g._tasks)`).
#[test]
fn i16_len_follows_children() {
    let rt = current_thread();
    block(&rt, async move {
        let g_after = TaskGroup::run(|g| async move {
            for count in 0..10 {
                ravel::sleep(ms(10)).await?;
                g.spawn(async { ravel::sleep(ms(30)).await })?;
                if count == 5 {
                    assert!(g.len() < 5, "{}", g.len());
                }
            }
            ravel::sleep(ms(100)).await?;
            assert_eq!(g.len(), 0);
            assert!(g.is_empty());
            Ok(g)
        })
        .await?;
        assert_eq!(g_after.len(), 0);
        Ok(())
    });
}

/// I16: the hydra: children keep spawning children until a sibling fails;
/// the group then fails with exactly that error (a head that tries to spawn
/// while the group aborts gets "is shutting down" with its own cancellation
/// pending).
/// CPython: `test_taskgroups.py::test_taskgroup_25`.
#[test]
fn i16_hydra() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let heads = Arc::new(AtomicUsize::new(0));
            // Not `async fn`: a recursive async fn's `Send` cannot be inferred.
            #[allow(clippy::manual_async_fn)]
            fn hydra(g: TaskGroup, heads: Arc<AtomicUsize>) -> impl Future<Output = ravel::Result<()>> + Send {
                async move {
                    heads.fetch_add(1, SeqCst);
                    ravel::sleep(ms(1)).await?;
                    for _ in 0..2 {
                        if let Err(e) = g.spawn(hydra(g.clone(), heads.clone())) {
                            // On several workers a head can be running while
                            // the group aborts: its cancellation is on its
                            // way; take it at an await.
                            assert!(e.to_string().ends_with("is shutting down"), "{e}");
                            loop {
                                ravel::yield_now().await?;
                            }
                        }
                    }
                    Ok(())
                }
            }
            let h = heads.clone();
            let err = TaskGroup::run(|g| async move {
                g.spawn(hydra(g.clone(), h.clone()))?;
                g.spawn(async move {
                    while h.load(SeqCst) < 10 {
                        ravel::sleep(ms(2)).await?;
                    }
                    Err::<(), _>(ravel::Error::msg("hercules: 1/0"))
                })?;
                Ok(())
            })
            .await
            .unwrap_err();
            let group = err.as_group().unwrap_or_else(|| panic!("{flavour}: {err:?}"));
            assert_eq!(group.len(), 1, "{group:?}");
            assert_eq!(group.errors()[0].to_string(), "hercules: 1/0");
            assert!(heads.load(SeqCst) >= 10);
            assert_eq!(current_task().unwrap().cancelling(), 0);
            Ok(())
        });
    }
}

/// I26: `spawn_with` passes the task name through.
/// CPython: `test_taskgroups.py::test_taskgroup_task_name`.
#[test]
fn i26_task_name() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            TaskGroup::run(|g| async move {
                let t = g.spawn_with(ravel::task::Builder::new().name("yolo"), async {
                    let me = current_task().unwrap();
                    ravel::yield_now().await?;
                    Ok(me.name())
                })?;
                assert_eq!(t.name(), "yolo", "{flavour}");
                assert_eq!(t.await?, "yolo");
                Ok(())
            })
            .await
        });
    }
}

/// I26 (context part): a child gets a snapshot of the parent's context at
/// spawn; its own changes stay in the child. Ravel has no `context=`
/// argument, so CPython's shared-context half is not portable.
/// CPython: `test_taskgroups.py::test_taskgroup_task_context` (adapted).
#[test]
fn i26_child_gets_context_snapshot() {
    static CVAR: ContextVar<u32> = ContextVar::new("cvar");
    for (flavour, rt) in both() {
        block(&rt, async move {
            CVAR.set(7);
            TaskGroup::run(|g| async move {
                let t = g.spawn(async {
                    let seen = CVAR.get();
                    ravel::yield_now().await?;
                    CVAR.set(1);
                    Ok(seen)
                })?;
                CVAR.set(8); // after the spawn: not seen by the child
                assert_eq!(t.await?, Some(7), "{flavour}");
                assert_eq!(CVAR.get(), Some(8));
                Ok(())
            })
            .await?;
            assert_eq!(CVAR.get(), Some(8), "the body runs in the parent's context");
            Ok(())
        });
    }
}
