//! TaskGroup misuse: spawning into a finished or aborting group, a scope
//! outside a task (asyncio-semantics §2.I: I17, I18).
//!
//! I18 ("has already been entered") and I17's "has not been entered" have
//! no Ravel equivalent: a `TaskGroup` handle only exists inside the scope
//! that `TaskGroup::run` creates and enters exactly once.

use ravel::{Error, Promise, TaskGroup};
use ravel_tests::block;
use ravel_tests::both;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// Sets its flag when dropped: tells whether a refused future was dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, SeqCst);
    }
}

/// A future that records whether it was polled and whether it was dropped.
fn probe() -> (impl Future<Output = ravel::Result<()>> + Send + 'static, Arc<AtomicBool>, Arc<AtomicBool>) {
    let polled = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicBool::new(false));
    let guard = DropFlag(dropped.clone());
    let p = polled.clone();
    let fut = async move {
        let _guard = guard;
        p.store(true, SeqCst);
        Ok(())
    };
    (fut, polled, dropped)
}

/// I17: spawning after the scope ended is refused with "…is finished" and
/// the future is dropped without being polled (asyncio closes the
/// coroutine: no "never awaited" warning).
/// CPython: `test_taskgroups.py::test_taskgroup_finished`, `test_coro_closed_when_tg_closed`.
#[test]
fn i17_spawn_after_finished() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let g = TaskGroup::run(|g| async move { Ok(g) }).await?;
            let (fut, polled, dropped) = probe();
            let err = g.spawn(fut).unwrap_err();
            assert!(err.is_invalid_state(), "{flavour}: {err:?}");
            assert_eq!(err.to_string(), "TaskGroup <TaskGroup> is finished");
            assert!(dropped.load(SeqCst) && !polled.load(SeqCst));
            assert_eq!(format!("{g:?}"), "<TaskGroup>");
            Ok(())
        });
    }
}

/// I17: spawning while the group aborts after a failure is refused with
/// "…is shutting down" (the repr names the live children, the error count
/// and `cancelling`), the future dropped unpolled; the group still fails
/// with just the original error.
/// CPython: `test_taskgroups.py::test_taskgroup_no_create_task_after_failure`.
#[test]
fn i17_spawn_while_shutting_down() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let started = Promise::new();
            let st = started.clone();
            let err = TaskGroup::run(|g| async move {
                g.spawn(async move {
                    started.await?;
                    ravel::sleep(Duration::from_millis(1)).await?;
                    Err::<(), _>(Error::msg("1/0"))
                })?;
                let g2 = g.clone();
                g.spawn(async move {
                    st.set_result(())?;
                    match ravel::sleep(Duration::from_secs(1)).await {
                        Err(e) if e.is_cancelled() => {
                            let (fut, polled, dropped) = probe();
                            let refused = g2.spawn(fut).unwrap_err();
                            assert!(refused.is_invalid_state());
                            assert_eq!(
                                refused.to_string(),
                                "TaskGroup <TaskGroup tasks=1 errors=1 cancelling> is shutting down"
                            );
                            assert!(dropped.load(SeqCst) && !polled.load(SeqCst));
                            Err(e)
                        }
                        other => other,
                    }
                })?;
                Ok(())
            })
            .await
            .unwrap_err();
            let group = err.as_group().unwrap_or_else(|| panic!("{flavour}: {err:?}"));
            assert_eq!(group.len(), 1);
            assert_eq!(group.errors()[0].to_string(), "1/0");
            Ok(())
        });
    }
}

/// I17: a scope outside any task fails at once with "cannot determine the
/// parent task", without running the body.
/// CPython: `test_taskgroups.py::test_taskgroup_without_parent_task`.
#[test]
fn i17_scope_outside_a_task() {
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let mut scope = pin!(TaskGroup::run(|_g| async move {
        r.store(true, SeqCst);
        Ok(())
    }));
    let mut cx = Context::from_waker(Waker::noop());
    let Poll::Ready(Err(err)) = scope.as_mut().poll(&mut cx) else {
        panic!("a scope outside a task must fail at once");
    };
    assert!(err.is_invalid_state());
    assert!(err.to_string().contains("cannot determine the parent task"), "{err}");
    assert!(!ran.load(SeqCst));
}

/// I17/I30: after `cancel()` the group refuses new children ("…is shutting
/// down") even before anything failed.
/// CPython main: `TaskGroup.cancel()` sets `_aborting`.
#[test]
fn i17_spawn_after_cancel() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let v = TaskGroup::run(|g| async move {
                g.cancel();
                let (fut, polled, dropped) = probe();
                let err = g.spawn(fut).unwrap_err();
                assert_eq!(err.to_string(), "TaskGroup <TaskGroup cancelling> is shutting down");
                assert!(dropped.load(SeqCst) && !polled.load(SeqCst));
                match ravel::yield_now().await {
                    Err(e) if e.is_cancelled() => Ok("cancelled"),
                    other => other.map(|_| "not cancelled"),
                }
            })
            .await?;
            assert_eq!(v, "cancelled", "{flavour}");
            Ok(())
        });
    }
}
