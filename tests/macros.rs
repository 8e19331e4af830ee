//! `#[ravel::main]` and `#[ravel::test]`: the runtime each option builds,
//! the body run as `Runtime::run` runs main (a task named "main"), and
//! outcomes (values, errors, panics) reaching the caller.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// The default test flavour is current-thread: the body runs on the test's
/// own thread, as a task named "main", and may hold `Rc`/`RefCell`.
#[ravel::test]
async fn test_default_is_current_thread_and_allows_non_send_state() -> ravel::Result<()> {
    let here = std::thread::current().id();
    let state = Rc::new(RefCell::new(0));
    let child = ravel::spawn(async { Ok(std::thread::current().id()) });
    *state.borrow_mut() += 1;
    assert_eq!(child.await?, here, "one thread runs everything");
    assert_eq!(*state.borrow(), 1);
    assert_eq!(ravel::current_task().unwrap().name(), "main");
    Ok(())
}

/// A test returning `()` works too.
#[ravel::test]
async fn test_returning_unit_runs() {
    ravel::sleep(Duration::from_millis(1)).await.unwrap();
}

/// `flavor = "multi_thread", worker_threads = 2`: the body runs on a worker
/// thread of a two-worker runtime.
#[ravel::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_multi_thread_runs_on_workers() -> ravel::Result<()> {
    let name = std::thread::current().name().map(str::to_string);
    assert!(name.as_deref().is_some_and(|n| n.starts_with("ravel-worker-")), "{name:?}");
    let names: Vec<String> = ravel::gather((0..8).map(|_| async {
        ravel::yield_now().await?;
        Ok(std::thread::current().name().unwrap().to_string())
    }))
    .await?;
    assert!(names.iter().all(|n| n == "ravel-worker-0" || n == "ravel-worker-1"), "{names:?}");
    Ok(())
}

/// `eager_tasks`: a spawned future that is ready completes inside `spawn`.
#[ravel::test(eager_tasks)]
async fn test_eager_tasks_start_inside_spawn() -> ravel::Result<()> {
    let task = ravel::spawn(async { Ok(1) });
    assert!(task.done(), "eager: born done");
    Ok(())
}

/// `eager_tasks = false` is the default, spelled out.
#[ravel::test(eager_tasks = false)]
async fn test_eager_tasks_false_queues_spawns() -> ravel::Result<()> {
    let task = ravel::spawn(async { Ok(1) });
    assert!(!task.done(), "lazy: not run yet");
    task.await.map(drop)
}

/// `#[ravel::main]` on a function other than `main` (called here): its
/// value comes back; the default flavour is multi-thread.
#[ravel::main]
async fn main_default_flavour() -> ravel::Result<bool> {
    Ok(std::thread::current().name().is_some_and(|n| n.starts_with("ravel-worker-")))
}

#[test]
fn main_defaults_to_multi_thread_and_returns_the_value() {
    assert!(main_default_flavour().unwrap());
}

/// `#[ravel::main(flavor = "current_thread")]` runs on the calling thread
/// with a non-Send body, and returns its error unchanged.
#[ravel::main(flavor = "current_thread")]
async fn main_current_thread_fails() -> ravel::Result<std::thread::ThreadId> {
    let rc = Rc::new(std::thread::current().id());
    ravel::yield_now().await?;
    Err(ravel::Error::msg(format!("failed on {:?}", *rc)))
}

#[test]
fn main_current_thread_runs_here_and_returns_errors() {
    let err = main_current_thread_fails().unwrap_err();
    assert_eq!(err.to_string(), format!("failed on {:?}", std::thread::current().id()));
}

/// Leftover tasks are cancelled and awaited when the body ends, as
/// `ravel::run` does.
#[ravel::main(flavor = "current_thread")]
async fn main_with_leftover() -> ravel::Result<ravel::TaskRef> {
    let leftover = ravel::spawn(async {
        ravel::sleep(Duration::from_secs(3600)).await?;
        Ok(())
    });
    ravel::yield_now().await?;
    Ok(leftover.to_task_ref())
}

#[test]
fn main_cancels_leftover_tasks() {
    let leftover = main_with_leftover().unwrap();
    assert!(leftover.cancelled());
}

/// A panic in the body resumes in the caller with its payload, so a
/// failed assertion fails the test that ran it.
#[ravel::main(flavor = "current_thread")]
async fn main_that_panics() {
    ravel::yield_now().await.unwrap();
    std::panic::panic_any(41_u32);
}

#[test]
fn main_panic_resumes_in_the_caller() {
    let payload = std::panic::catch_unwind(main_that_panics).unwrap_err();
    assert_eq!(payload.downcast_ref::<u32>(), Some(&41));
}

/// A `#[ravel::test]` whose assertion fails fails the test.
#[ravel::test]
#[should_panic(expected = "assertion `left == right` failed")]
async fn test_failed_assert_fails_the_test() {
    ravel::yield_now().await.unwrap();
    assert_eq!(1, 2);
}
