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

/// The registry (an intrusive list per shard) follows tasks that end in any
/// order, from any worker: after each round of completions `all_tasks()` is
/// exactly the tasks still pending, plus the current one.
/// CPython: spec B03 (`all_tasks` is the set of not-done tasks).
#[test]
fn b03_registry_follows_completions_in_any_order() {
    for (flavour, rt) in both() {
        rt.block_on(async move {
            let me = ravel::current_task().unwrap();
            let n = 300;
            let gates: Vec<Promise<()>> = (0..n).map(|_| Promise::new()).collect();
            let tasks: Vec<_> = gates.iter().map(|g| ravel::spawn(g.clone())).collect();
            let refs: Vec<TaskRef> = tasks.iter().map(|t| t.as_task_ref().clone()).collect();
            let mut pending: Vec<usize> = (0..n).collect();
            // Newest first (list heads), oldest first (list tails), then
            // every third of the rest (middles), then the remainder.
            let rounds: Vec<Vec<usize>> = vec![
                (n - 20..n).rev().collect(),
                (0..20).collect(),
                (20..n - 20).step_by(3).collect(),
                (20..n - 20).filter(|i| (i - 20) % 3 != 0).collect(),
            ];
            let mut tasks: Vec<Option<_>> = tasks.into_iter().map(Some).collect();
            for round in rounds {
                for &i in &round {
                    gates[i].set_result(())?;
                }
                for &i in &round {
                    tasks[i].take().expect("each task ends once").await?;
                }
                pending.retain(|i| !round.contains(i));
                let all = ravel::all_tasks();
                assert!(all.contains(&me), "{flavour}");
                assert_eq!(all.len(), pending.len() + 1, "{flavour}: {} listed", all.len());
                for &i in &pending {
                    assert!(all.contains(&refs[i]), "{flavour}: pending task {i} listed");
                }
            }
            assert_eq!(ravel::all_tasks(), vec![me], "{flavour}");
            Ok(())
        })
        .unwrap();
    }
}
