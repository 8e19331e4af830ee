//! J01–J05: eager tasks (asyncio `eager_task_factory`), per-task
//! `eager_start`, and the limits of eagerness.

use ravel::{Promise, Runtime, TaskRef};
use ravel_tests::{current_thread, current_thread_eager, Log};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Both runtime flavours with eager tasks on.
fn both_eager() -> Vec<(&'static str, Runtime)> {
    vec![
        ("current_thread", current_thread_eager()),
        ("multi_thread", Runtime::builder().worker_threads(2).eager_tasks(true).build().unwrap()),
    ]
}

/// J01: a child that returns without awaiting runs inside `spawn`, as the
/// current task, listed in `all_tasks()`; `spawn` returns it done, the parent
/// is current again, and the child is no longer listed.
/// CPython: `test_eager_task_factory.py::test_eager_completion`,
/// `test_current_task`, `test_all_tasks_with_eager_completion`.
#[test]
fn j01_synchronous_completion() {
    for (flavour, rt) in both_eager() {
        rt.block_on(async move {
            let parent = ravel::current_task().unwrap();
            let seen: Arc<Mutex<Option<(TaskRef, bool, std::thread::ThreadId)>>> = Arc::default();
            let s = seen.clone();
            let child = ravel::spawn(async move {
                let me = ravel::current_task().unwrap();
                let listed = ravel::all_tasks().contains(&me);
                *s.lock().unwrap() = Some((me, listed, std::thread::current().id()));
                Ok("child result")
            });
            let (inside, listed, thread) = seen.lock().unwrap().take().expect("the body ran inside spawn");
            assert!(child.done(), "{flavour}: done when spawn returns");
            assert_eq!(&inside, child.as_task_ref(), "{flavour}: current_task() was the child");
            assert_ne!(inside, parent, "{flavour}");
            assert!(listed, "{flavour}: the child is in all_tasks() during its eager step");
            assert_eq!(thread, std::thread::current().id(), "{flavour}: ran on the spawning thread");
            assert_eq!(ravel::current_task(), Some(parent), "{flavour}: parent current again");
            assert!(!ravel::all_tasks().contains(child.as_task_ref()), "{flavour}: done, not listed");
            assert_eq!(child.result()?, "child result");
            Ok(())
        })
        .unwrap();
    }
}

/// J02: a child that blocks after its eager step is not done when `spawn`
/// returns and is listed; it resumes later as the same task, and leaves
/// `all_tasks()` once done.
/// CPython: `test_eager_task_factory.py::test_block_after_eager_step`,
/// `test_all_tasks_with_blocking`.
#[test]
fn j02_blocks_after_eager_step() {
    for (flavour, rt) in both_eager() {
        rt.block_on(async move {
            let log = Log::new();
            let l = log.clone();
            let gate: Promise<u32> = Promise::new();
            let g = gate.clone();
            let selves: Arc<Mutex<Vec<TaskRef>>> = Arc::default();
            let s = selves.clone();
            let child = ravel::spawn(async move {
                s.lock().unwrap().push(ravel::current_task().unwrap());
                l.push("first step");
                let v = g.await?;
                s.lock().unwrap().push(ravel::current_task().unwrap());
                l.push("second step");
                Ok(v * 2)
            });
            assert_eq!(log.events(), ["first step"], "{flavour}: the first step ran inside spawn");
            assert!(!child.done(), "{flavour}");
            assert!(ravel::all_tasks().contains(child.as_task_ref()), "{flavour}");
            gate.set_result(21)?;
            let child_ref = child.as_task_ref().clone();
            assert_eq!(child.await?, 42);
            assert_eq!(log.events(), ["first step", "second step"]);
            assert_eq!(*selves.lock().unwrap(), vec![child_ref.clone(), child_ref.clone()], "{flavour}");
            assert!(!ravel::all_tasks().contains(&child_ref), "{flavour}");
            Ok(())
        })
        .unwrap();
    }
}

async fn p(label: &'static str, log: Log) -> ravel::Result<()> {
    log.push(format!("{label} first"));
    ravel::yield_now().await?;
    log.push(format!("{label} second"));
    Ok(())
}

fn j03_log(rt: Runtime) -> Vec<String> {
    let log = Log::new();
    let l = log.clone();
    rt.block_on(async move {
        let t1 = ravel::spawn(p("A", l.clone()));
        l.push("parent after A");
        let t2 = ravel::spawn(p("B", l.clone()));
        l.push("parent after B");
        t1.await?;
        t2.await?;
        Ok(())
    })
    .unwrap();
    log.events()
}

/// J03: eager ordering (each child's first step runs inside `spawn`), and the
/// normal order without eager tasks. Output checked against CPython 3.13.
/// CPython: spec J03 (run on 3.13); `test_eager_task_factory.py`.
#[test]
fn j03_ordering() {
    assert_eq!(
        j03_log(current_thread_eager()),
        ["A first", "parent after A", "B first", "parent after B", "A second", "B second"]
    );
    assert_eq!(
        j03_log(current_thread()),
        ["parent after A", "parent after B", "A first", "B first", "A second", "B second"]
    );
}

/// J04: cancelling a task that completed eagerly returns false and changes
/// nothing.
/// CPython: `test_eager_task_factory.py::test_cancellation_after_eager_completion`.
#[test]
fn j04_cancel_after_eager_completion() {
    for (flavour, rt) in both_eager() {
        rt.block_on(async move {
            let child = ravel::spawn(async { Ok(7) });
            assert!(child.done(), "{flavour}");
            assert!(!child.cancel(), "{flavour}: cancel() on a done task is false");
            assert!(!child.cancel_with("msg"), "{flavour}");
            let tref = child.as_task_ref().clone();
            assert_eq!(child.await?, 7, "{flavour}");
            assert!(!tref.cancelled(), "{flavour}");
            assert_eq!(tref.cancelling(), 0, "{flavour}");
            Ok(())
        })
        .unwrap();
    }
}

/// J05: cancelling a task whose eager step blocked: the counter rises and
/// awaiting it gives the cancellation with the message.
/// CPython: `test_eager_task_factory.py::test_cancellation_after_eager_step_blocks`.
#[test]
fn j05_cancel_after_eager_step_blocks() {
    for (flavour, rt) in both_eager() {
        rt.block_on(async move {
            let child = ravel::spawn(async {
                ravel::sleep(Duration::from_secs(10)).await?;
                Ok(())
            });
            assert!(!child.done(), "{flavour}");
            assert!(child.cancel_with("cancellation message"), "{flavour}");
            assert!(child.cancelling() > 0, "{flavour}");
            let tref = child.as_task_ref().clone();
            let err = child.await.unwrap_err();
            assert!(err.is_cancelled(), "{flavour}: {err:?}");
            assert_eq!(err.cancel_message(), Some("cancellation message"), "{flavour}");
            assert!(tref.cancelled(), "{flavour}");
            assert_eq!(tref.cancelling(), 1, "{flavour}");
            Ok(())
        })
        .unwrap();
    }
}

/// A name given with `task::Builder::name` is visible during the eager step
/// (Ravel follows 3.14 here; 3.12/3.13 show the default name, spec J09 row).
/// CPython: spec section 3, "Name visible during the eager step" row.
#[test]
fn eager_name_visible_during_eager_step() {
    for (flavour, rt) in both_eager() {
        rt.block_on(async move {
            let child = ravel::task::Builder::new()
                .name("eager-child")
                .spawn(async { Ok(ravel::current_task().unwrap().name()) });
            assert!(child.done(), "{flavour}");
            assert_eq!(child.name(), "eager-child");
            assert_eq!(child.await?, "eager-child", "{flavour}");
            Ok(())
        })
        .unwrap();
    }
}

/// Per-task `eager_start(false)` overrides a runtime-wide eager setting, and
/// `eager_start(true)` makes one task eager on a normal runtime (asyncio
/// 3.14 `create_task(eager_start=...)`).
/// CPython: spec section 3, "`eager_start` keyword on `create_task`" row.
#[test]
fn eager_start_per_task_overrides_runtime() {
    let runtimes = vec![
        ("current_thread eager", current_thread_eager(), false),
        ("multi_thread eager", Runtime::builder().worker_threads(2).eager_tasks(true).build().unwrap(), false),
        ("current_thread", current_thread(), true),
        ("multi_thread", ravel_tests::multi_thread(2), true),
    ];
    for (flavour, rt, eager) in runtimes {
        rt.block_on(async move {
            let ran_on: Arc<Mutex<Option<std::thread::ThreadId>>> = Arc::default();
            let r = ran_on.clone();
            let gate: Promise<()> = Promise::new();
            let g = gate.clone();
            let child = ravel::task::Builder::new().eager_start(eager).spawn(async move {
                *r.lock().unwrap() = Some(std::thread::current().id());
                g.await
            });
            let ran_inside_spawn = *ran_on.lock().unwrap() == Some(std::thread::current().id());
            if eager {
                assert!(ran_inside_spawn, "{flavour}: eager_start(true) ran the first step inside spawn");
            } else {
                assert!(!ran_inside_spawn, "{flavour}: eager_start(false) did not run inside spawn");
            }
            gate.set_result(())?;
            child.await?;
            Ok(())
        })
        .unwrap();
    }
}

/// A spawn from outside the runtime (`Handle::spawn` on another thread) is
/// never eager, even with eager tasks on: the body runs later, on the
/// runtime. asyncio likewise schedules normally when the loop is not running.
/// CPython: spec section 1 item 15 ("Loop not running → normal scheduling").
#[test]
fn handle_spawn_from_outside_is_never_eager() {
    for (flavour, rt) in both_eager() {
        let ran_on: Arc<Mutex<Option<std::thread::ThreadId>>> = Arc::default();
        let r = ran_on.clone();
        let gate: Promise<()> = Promise::new();
        let g = gate.clone();
        let task = rt.handle().spawn(async move {
            *r.lock().unwrap() = Some(std::thread::current().id());
            g.await?;
            Ok(ravel::current_task().is_some())
        });
        let here = std::thread::current().id();
        assert_ne!(*ran_on.lock().unwrap(), Some(here), "{flavour}: not run inside Handle::spawn");
        let named = ravel::task::Builder::new().name("outside").spawn_on(rt.handle(), async { Ok(()) });
        assert!(!named.done() || flavour == "multi_thread", "{flavour}: spawn_on from outside is not eager");
        let ok = rt
            .block_on(async move {
                gate.set_result(())?;
                named.await?;
                task.await
            })
            .unwrap();
        assert!(ok, "{flavour}");
        if flavour == "current_thread" {
            // The body ran inside block_on, on this thread, not inside spawn.
            assert_eq!(*ran_on.lock().unwrap(), Some(here));
        } else {
            assert_ne!(*ran_on.lock().unwrap(), Some(here), "{flavour}: ran on a worker");
        }
    }
}

type BoxFut = Pin<Box<dyn Future<Output = ravel::Result<u32>> + Send>>;

fn chain(n: u32) -> BoxFut {
    Box::pin(async move {
        if n == 0 {
            return Ok(0);
        }
        let child = ravel::spawn(chain(n - 1));
        Ok(child.await? + 1)
    })
}

/// A chain of 10,000 nested eager spawns (each child spawned inside its
/// parent's eager step) does not overflow the stack.
/// CPython: `test_eager_task_factory.py::test_recursive_taskgroups`,
/// `test_recursive_gather` (deep eager recursion).
#[test]
fn eager_deep_chain_does_not_overflow() {
    for (flavour, rt) in both_eager() {
        let depth = rt.block_on(chain(10_000)).unwrap();
        assert_eq!(depth, 10_000, "{flavour}");
    }
}
