//! J06 and context-variable semantics of tasks (`ravel::ContextVar`).

use ravel::{ContextVar, Promise};
use ravel_tests::{both, current_thread_eager};
use std::time::Duration;

/// J06: with eager start the child sees the parent's value during its eager
/// step and sets its own; the parent still sees its value right after
/// `spawn` and at the end; the child's second step sees its own value.
/// CPython: `test_eager_task_factory.py::test_context_vars`.
#[test]
fn j06_eager_context_vars() {
    static CV: ContextVar<i32> = ContextVar::with_default("cv", 0);
    let rt = current_thread_eager();
    rt.block_on(async {
        CV.set(1);
        let steps: Promise<()> = Promise::new();
        let first_step = steps.clone();
        let child = ravel::spawn(async move {
            assert_eq!(CV.get(), Some(1));
            CV.set(2);
            assert_eq!(CV.get(), Some(2));
            first_step.set_result(())?;
            ravel::sleep(Duration::from_millis(20)).await?;
            assert_eq!(CV.get(), Some(2), "second step sees the child's own value");
            CV.set(3);
            Ok(CV.get())
        });
        assert!(steps.done(), "the first step ran inside spawn");
        assert!(!child.done(), "the second step did not");
        assert_eq!(CV.get(), Some(1), "the parent still sees 1 right after spawn");
        assert_eq!(child.await?, Some(3));
        assert_eq!(CV.get(), Some(1), "the parent still sees 1 at the end");
        Ok(())
    })
    .unwrap();
}

/// A normal task gets a snapshot of its spawner's context at spawn time: a
/// `set` in the parent after `spawn` is invisible to the child, whether the
/// child has started yet or not.
/// CPython: `test_tasks.py::BaseTaskTests::test_context_1` (a task runs in
/// the `copy_context()` taken by `create_task`).
#[test]
fn snapshot_at_spawn() {
    static CV: ContextVar<&'static str> = ContextVar::new("snapshot");
    for (flavour, rt) in both() {
        let seen = rt
            .block_on(async {
                CV.set("before spawn");
                let go: Promise<()> = Promise::new();
                let g = go.clone();
                let child = ravel::spawn(async move {
                    let at_start = CV.get();
                    g.await?;
                    Ok((at_start, CV.get()))
                });
                CV.set("after spawn");
                go.set_result(())?;
                let seen = child.await?;
                assert_eq!(CV.get(), Some("after spawn"));
                Ok(seen)
            })
            .unwrap();
        assert_eq!(seen, (Some("before spawn"), Some("before spawn")), "{flavour}");
    }
}

/// A value the child sets is invisible to the parent, also after the child
/// is done; a value set before any `set` in the parent reads as the default.
/// CPython: `test_tasks.py::BaseTaskTests::test_context_1` (the subtask's
/// `set` does not reach `main`).
#[test]
fn child_set_invisible_to_parent() {
    static CV: ContextVar<u32> = ContextVar::with_default("isolation", 7);
    for (flavour, rt) in both() {
        let (child_saw, parent_after) = rt
            .block_on(async {
                let child = ravel::spawn(async {
                    let before = CV.get();
                    CV.set(99);
                    ravel::yield_now().await?;
                    Ok((before, CV.get()))
                });
                let child_saw = child.await?;
                Ok((child_saw, CV.get()))
            })
            .unwrap();
        assert_eq!(child_saw, (Some(7), Some(99)), "{flavour}");
        assert_eq!(parent_after, Some(7), "{flavour}: the parent sees the default");
    }
}

/// A task keeps its own context across awaits (and across workers on the
/// multi-thread runtime); a token can be reset after an await in the same
/// task.
/// CPython: `test_tasks.py::BaseTaskTests::test_context_3` (100 tasks each
/// modifying the variable across awaits).
#[test]
fn task_context_persists_across_awaits() {
    static CV: ContextVar<u64> = ContextVar::new("persist");
    for (flavour, rt) in both() {
        rt.block_on(async move {
            let mut tasks = Vec::new();
            for i in 0..6u64 {
                tasks.push(ravel::spawn(async move {
                    let token = CV.set(i);
                    for _ in 0..10 {
                        ravel::yield_now().await?;
                        assert_eq!(CV.get(), Some(i));
                    }
                    ravel::sleep(Duration::from_millis(1)).await?;
                    CV.reset(token)?;
                    Ok(CV.get())
                }));
            }
            for t in tasks {
                assert_eq!(t.await?, None, "{flavour}: reset restored 'unset'");
            }
            Ok(())
        })
        .unwrap();
    }
}

/// `reset` errors: a token from another variable, or from another context
/// (made in the parent, reset in a child task), is an invalid-state error
/// with asyncio's message; the value is left unchanged.
/// CPython: `test_context.py::ContextTest::test_context_getset_2` ("by a
/// different" ContextVar), `test_context_getset_4` ("different Context").
#[test]
fn reset_errors() {
    static A: ContextVar<u8> = ContextVar::new("a");
    static B: ContextVar<u8> = ContextVar::new("b");
    for (flavour, rt) in both() {
        rt.block_on(async move {
            let token_a = A.set(1);
            let err = B.reset(token_a).unwrap_err();
            assert!(err.is_invalid_state(), "{flavour}: {err:?}");
            assert!(err.to_string().contains("was created by a different ContextVar"), "{flavour}: {err}");
            assert_eq!(A.get(), Some(1));

            let token = A.set(2);
            let child = ravel::spawn(async move {
                let out = A.reset(token);
                Ok((out, A.get()))
            });
            let (out, child_value) = child.await?;
            let err = out.unwrap_err();
            assert!(err.is_invalid_state(), "{flavour}: {err:?}");
            assert!(err.to_string().contains("was created in a different Context"), "{flavour}: {err}");
            assert_eq!(child_value, Some(2), "{flavour}: failed reset changes nothing");
            assert_eq!(A.get(), Some(2), "{flavour}");
            Ok(())
        })
        .unwrap();
    }
}

/// The root future of `block_on` starts from a snapshot of the calling
/// thread's context; what it sets does not leak back to the thread.
/// CPython: `test_runners.py::RunnerTests::test_run_keeps_context` (the run
/// starts from a copy of the caller's context).
#[test]
fn block_on_snapshots_the_thread_context() {
    static CV: ContextVar<&'static str> = ContextVar::new("thread");
    for (flavour, rt) in both() {
        let token = CV.set("thread value");
        let seen = rt
            .block_on(async {
                let seen = CV.get();
                CV.set("inside");
                Ok(seen)
            })
            .unwrap();
        assert_eq!(seen, Some("thread value"), "{flavour}");
        assert_eq!(CV.get(), Some("thread value"), "{flavour}");
        CV.reset(token).unwrap();
    }
}
