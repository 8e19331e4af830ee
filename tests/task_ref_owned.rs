//! Owned type-erased handles from a `Task`: `to_task_ref` keeps a handle
//! while the `Task` moves elsewhere; `into_task_ref` (and the `From`
//! impls) turn a `Task` into its `TaskRef`, detaching the output.

use ravel::TaskRef;
use ravel_tests::{block, both};

/// `to_task_ref()` and `TaskRef::from(&task)` are owned handles to the same
/// task (equal, same id) that stay usable after the `Task` moved into
/// another task and was awaited there.
#[test]
fn to_task_ref_outlives_the_moved_task() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let task = ravel::spawn(async {
                ravel::yield_now().await?;
                Ok(7)
            });
            let kept = task.to_task_ref();
            let also: TaskRef = (&task).into();
            assert_eq!(kept, also, "{flavour}");
            assert_eq!(kept.id(), task.id(), "{flavour}");
            let joiner = ravel::spawn(task); // a task whose future joins `task`
            assert_eq!(joiner.await?, 7, "{flavour}");
            assert!(kept.done() && !kept.cancelled(), "{flavour}");
            Ok(())
        });
    }
}

/// `into_task_ref()` keeps cancellation and watching: cancelling through
/// it cancels the task, which ends cancelled.
#[test]
fn into_task_ref_can_still_cancel_and_watch() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let task: TaskRef = ravel::spawn(async {
                ravel::sleep(std::time::Duration::from_secs(3600)).await?;
                Ok(())
            })
            .into();
            ravel::yield_now().await?;
            assert!(task.cancel(), "{flavour}");
            task.wait_done().await?;
            assert!(task.cancelled(), "{flavour}");
            Ok(())
        });
    }
}
