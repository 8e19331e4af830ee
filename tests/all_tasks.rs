//! B03: `ravel::all_tasks()` / `Handle::all_tasks()` (asyncio `all_tasks`).

use ravel::{Handle, Promise, TaskRef};
use ravel_tests::{both, current_thread};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// B03: `all_tasks()` includes a task created but not yet started, and the
/// current task.
/// CPython: spec B03 (run on 3.13); `test_tasks.py::BaseTaskTests::test_log_destroyed_pending_task`
/// (`all_tasks(loop) == {task}` while pending), `test__register_task_1`.
#[test]
fn b03_includes_unstarted_and_current() {
    let rt = current_thread();
    let started = Arc::new(AtomicBool::new(false));
    let s = started.clone();
    rt.block_on(async move {
        let me = ravel::current_task().unwrap();
        let child = ravel::spawn(async move {
            s.store(true, Ordering::SeqCst);
            Ok(())
        });
        let all = ravel::all_tasks();
        assert!(!s_load(&started), "current_thread: the child has not started yet");
        assert!(all.contains(child.as_task_ref()), "unstarted child listed: {all:?}");
        assert!(all.contains(&me), "current task listed: {all:?}");
        child.await?;
        assert!(s_load(&started));
        Ok(())
    })
    .unwrap();
}

fn s_load(flag: &AtomicBool) -> bool {
    flag.load(Ordering::SeqCst)
}

/// B03 on both flavours: a pending task and the current task are listed; a
/// task leaves the list once it is done.
/// CPython: spec B03 (run on 3.13);
/// `test_eager_task_factory.py::test_all_tasks_with_blocking`.
#[test]
fn b03_done_task_is_excluded() {
    for (flavour, rt) in both() {
        rt.block_on(async move {
            let me = ravel::current_task().unwrap();
            let gate: Promise<()> = Promise::new();
            let g = gate.clone();
            let child = ravel::spawn(g);
            let child_ref = child.as_task_ref().clone();
            let all = ravel::all_tasks();
            assert!(all.contains(&child_ref), "{flavour}: pending child listed: {all:?}");
            assert!(all.contains(&me), "{flavour}: current task listed: {all:?}");
            assert!(all.iter().all(|t| !t.done()), "{flavour}: only tasks not done: {all:?}");
            gate.set_result(())?;
            child.await?;
            assert!(child_ref.done());
            let all = ravel::all_tasks();
            assert!(!all.contains(&child_ref), "{flavour}: done child excluded: {all:?}");
            assert!(all.contains(&me), "{flavour}");
            Ok(())
        })
        .unwrap();
    }
}

/// B03: `Handle::all_tasks()` works from outside the runtime and lists the
/// same not-done tasks; a task cancelled while pending leaves the list when it
/// ends.
/// CPython: spec B03 (`all_tasks(loop)` with an explicit loop).
#[test]
fn b03_handle_all_tasks_from_outside() {
    for (flavour, rt) in both() {
        let gate: Promise<()> = Promise::new();
        let g = gate.clone();
        let pending = rt.handle().spawn(g);
        let listed: Vec<TaskRef> = rt.handle().all_tasks();
        assert!(listed.contains(pending.as_task_ref()), "{flavour}: {listed:?}");
        assert!(pending.cancel());
        let out = rt.block_on(pending);
        assert!(out.unwrap_err().is_cancelled(), "{flavour}");
        drop(gate);
        let listed = rt.handle().all_tasks();
        assert!(listed.is_empty(), "{flavour}: nothing left: {listed:?}");
    }
}

/// B03: `all_tasks()` lists tasks, not callbacks: a done callback waiting to
/// run (asyncio: a `call_soon` handle) is not a task.
/// CPython: spec B03 / section 1 item 1 (done callbacks are `call_soon` handles).
#[test]
fn b03_scheduled_callbacks_are_not_tasks() {
    let rt = current_thread();
    rt.block_on(async move {
        let child = ravel::spawn(async { Ok(()) });
        child.add_done_callback(|_| {});
        child.add_done_callback(|_| {});
        let mut done_child = ravel::spawn(async { Ok(()) });
        (&mut done_child).await?;
        // A callback added to a done task is queued at once (call_soon).
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        done_child.add_done_callback(move |_| r.store(true, Ordering::SeqCst));
        let me = ravel::current_task().unwrap();
        let all = Handle::current().all_tasks();
        assert!(child.done(), "child ran before done_child");
        assert!(!ran.load(Ordering::SeqCst), "the callback is queued, not run inline");
        assert_eq!(all, vec![me], "only the root task is alive while a callback is queued");
        ravel::yield_now().await?;
        assert!(ran.load(Ordering::SeqCst));
        Ok(())
    })
    .unwrap();
}
