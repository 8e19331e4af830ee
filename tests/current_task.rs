//! B01, B02: `ravel::current_task()` (asyncio `current_task`).

use ravel::{Promise, TaskRef};
use ravel_tests::{both, current_thread, Log};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// B01: inside a task, `current_task()` is that task; the root future of
/// `block_on` is a task too.
/// CPython: `test_tasks.py::BaseTaskTests::test_current_task`.
#[test]
fn b01_inside_a_task_it_is_that_task() {
    for (flavour, rt) in both() {
        let (root, child, seen_in_child, child_task) = rt
            .block_on(async {
                let root = ravel::current_task().expect("block_on root runs as a task");
                let child = ravel::spawn(async { Ok(ravel::current_task()) });
                let child_ref = child.as_task_ref().clone();
                let seen = child.await?;
                Ok((root, ravel::current_task(), seen, child_ref))
            })
            .unwrap();
        assert_eq!(child, Some(root.clone()), "{flavour}: root sees itself after awaiting");
        assert_eq!(seen_in_child.as_ref(), Some(&child_task), "{flavour}: child sees itself");
        assert_ne!(seen_in_child, Some(root), "{flavour}: child is not the root");
    }
}

/// B01: with no running loop there is no current task (asyncio raises
/// RuntimeError "no running event loop"; Ravel returns `None`), also after
/// `block_on` has returned on this thread.
/// CPython: `test_tasks.py::BaseCurrentLoopTests::test_current_task_no_running_loop`,
/// `test_current_task` (`current_task(loop)` is None after `run_until_complete`).
#[test]
fn b01_outside_a_runtime_it_is_none() {
    assert!(ravel::current_task().is_none());
    for (flavour, rt) in both() {
        let inside = rt.block_on(async { Ok(ravel::current_task().is_some()) }).unwrap();
        assert!(inside, "{flavour}");
        assert!(ravel::current_task().is_none(), "{flavour}: none after block_on returned");
    }
    let on_plain_thread = std::thread::spawn(ravel::current_task).join().unwrap();
    assert!(on_plain_thread.is_none());
}

/// B01: a plain callback (asyncio `call_soon`; in Ravel a done callback,
/// which runs through `call_soon`) has no current task.
/// CPython: `test_tasks.py::BaseTaskTests::test_current_task` (the
/// `call_soon` callback sees `None`).
#[test]
fn b01_in_a_done_callback_it_is_none() {
    for (flavour, rt) in both() {
        let seen = rt
            .block_on(async {
                let child = ravel::spawn(async { Ok(()) });
                let seen: Promise<Option<String>> = Promise::new();
                let slot = seen.clone();
                child.add_done_callback(move |_| {
                    let _ = slot.set_result(ravel::current_task().map(|t| format!("{t:?}")));
                });
                child.await?;
                seen.await
            })
            .unwrap();
        assert_eq!(seen, None, "{flavour}: a done callback must not see a current task");
    }
}

/// B02: interleaved tasks each see themselves before and after every await,
/// also when the multi-thread runtime moves them between workers.
/// CPython: `test_tasks.py::BaseTaskTests::test_current_task_with_interleaving_tasks`.
#[test]
fn b02_interleaving_tasks_see_themselves() {
    for (flavour, rt) in both() {
        let mismatches = rt
            .block_on(async {
                let mismatches = Arc::new(Mutex::new(Vec::<String>::new()));
                let gate: Promise<()> = Promise::new();
                let mut tasks = Vec::new();
                for i in 0..8 {
                    let mismatches = mismatches.clone();
                    let gate = gate.clone();
                    let me: Arc<Mutex<Option<TaskRef>>> = Arc::default();
                    let me2 = me.clone();
                    let task = ravel::spawn(async move {
                        let check = |at: &str| {
                            let cur = ravel::current_task();
                            if cur.as_ref() != me2.lock().unwrap().as_ref() {
                                mismatches.lock().unwrap().push(format!("task {i} {at}: {cur:?}"));
                            }
                        };
                        // Wait until `me` is filled in, then check at every step.
                        gate.await?;
                        check("after promise");
                        for _ in 0..5 {
                            ravel::yield_now().await?;
                            check("after tick");
                        }
                        ravel::sleep(Duration::from_millis(2)).await?;
                        check("after sleep");
                        Ok(())
                    });
                    *me.lock().unwrap() = Some(task.as_task_ref().clone());
                    tasks.push(task);
                }
                gate.set_result(())?;
                for t in tasks {
                    t.await?;
                }
                let out = mismatches.lock().unwrap().clone();
                Ok(out)
            })
            .unwrap();
        assert!(mismatches.is_empty(), "{flavour}: {mismatches:?}");
    }
}

/// B02 in asyncio order: two tasks interleave on one worker, and the log
/// shows each one seeing itself at every step.
/// CPython: `test_tasks.py::BaseTaskTests::test_current_task_with_interleaving_tasks`.
#[test]
fn b02_interleaving_order_on_current_thread() {
    let rt = current_thread();
    let log = Log::new();
    let l = log.clone();
    rt.block_on(async move {
        let mk = |label: &'static str, log: Log| async move {
            let name = || ravel::current_task().map(|t| t.name()).unwrap_or_default();
            log.push(format!("{label} start as {}", name()));
            ravel::yield_now().await?;
            log.push(format!("{label} middle as {}", name()));
            ravel::yield_now().await?;
            log.push(format!("{label} end as {}", name()));
            Ok(())
        };
        let a = ravel::task::Builder::new().name("a").spawn(mk("A", l.clone()));
        let b = ravel::task::Builder::new().name("b").spawn(mk("B", l.clone()));
        a.await?;
        b.await?;
        Ok(())
    })
    .unwrap();
    assert_eq!(
        log.events(),
        ["A start as a", "B start as b", "A middle as a", "B middle as b", "A end as a", "B end as b"]
    );
}
