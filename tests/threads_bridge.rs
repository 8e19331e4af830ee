//! K04–K07: `ravel::run_coroutine_threadsafe` and `ConcurrentFuture`
//! (asyncio `run_coroutine_threadsafe` and `concurrent.futures.Future`,
//! spec section 1 item 19), `Handle::call_soon_threadsafe`, and the bridge's
//! behaviour around runtime shutdown.

use ravel::{ConcurrentFuture, ErrorKind, Handle, Runtime, TaskRef};
use ravel_tests::{both, current_thread, multi_thread};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

const LONG: Duration = Duration::from_secs(10);

/// Runs `body` on a thread outside the runtime (a `to_thread` pool thread,
/// as CPython's tests use `run_in_executor`) while this thread drives `rt`
/// (needed by the current-thread flavour). `body` gets the runtime's handle
/// and the driving root task (to tell it apart in `all_tasks`). A panic in
/// `body` is re-raised here.
fn from_foreign_thread<R: Send + 'static>(rt: &Runtime, body: impl FnOnce(Handle, TaskRef) -> R + Send + 'static) -> R {
    let out = rt.block_on(async move {
        let handle = Handle::current();
        let root = ravel::current_task().expect("block_on runs a task");
        ravel::to_thread(move || Ok(body(handle, root))).await
    });
    match out {
        Ok(v) => v,
        Err(e) if e.is_panic() => e.resume_unwind(),
        Err(e) => panic!("driver failed: {e:?}"),
    }
}

/// Waits (bounded) until `handle` has no undone task other than `except`,
/// yielding this thread between looks.
fn wait_no_tasks_except(handle: &Handle, except: Option<&TaskRef>) -> Vec<TaskRef> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left: Vec<TaskRef> = handle.all_tasks().into_iter().filter(|t| Some(t) != except).collect();
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::yield_now();
    }
}

/// K04: from another thread, `result(timeout)` gives the coroutine's value 3.
/// CPython: `test_tasks.py::RunCoroutineThreadsafeTests::test_run_coroutine_threadsafe`.
#[test]
fn k04_result_from_other_thread() {
    for (flavour, rt) in both() {
        let (value, done_before, done_after) = from_foreign_thread(&rt, |handle, _| {
            let f = ravel::run_coroutine_threadsafe(
                async {
                    ravel::sleep(Duration::from_millis(5)).await?;
                    Ok(1 + 2)
                },
                &handle,
            )
            .expect("submit");
            let done_before = f.done();
            let value = f.result(Some(LONG)).expect("value");
            (value, done_before, f.done())
        });
        assert_eq!(value, 3, "{flavour}");
        assert!(!done_before, "{flavour}: pending while the coroutine sleeps");
        assert!(done_after, "{flavour}");
    }
}

/// K04: an error is re-raised by `result()` as the same type with the same
/// message ("Fail!").
/// CPython: `test_tasks.py::RunCoroutineThreadsafeTests::test_run_coroutine_threadsafe_with_exception`.
#[test]
fn k04_error_reraised() {
    for (flavour, rt) in both() {
        let err = from_foreign_thread(&rt, |handle, _| {
            let f = ravel::run_coroutine_threadsafe(
                async {
                    ravel::sleep(Duration::from_millis(5)).await?;
                    Err::<i32, _>(std::io::Error::other("Fail!").into())
                },
                &handle,
            )
            .expect("submit");
            f.result(Some(LONG)).unwrap_err()
        });
        let io = err.downcast_ref::<std::io::Error>().unwrap_or_else(|| panic!("{flavour}: {err:?}"));
        assert_eq!(io.to_string(), "Fail!", "{flavour}");
    }
}

/// The outcome is taken once (documented: `result()` gives an invalid-state
/// error "if the outcome was already taken"): a second `result()` on a
/// finished future returns that error at once, it does not block.
/// (CPython's `concurrent.futures.Future.result()` returns the same outcome
/// every time; Ravel moves the value out, so it refuses instead; either way
/// the call must not wait for an outcome that is already there.)
#[test]
fn second_result_is_invalid_state_not_a_hang() {
    let rt = multi_thread(2);
    let f = ravel::run_coroutine_threadsafe(async { Ok(3) }, rt.handle()).unwrap();
    assert_eq!(f.result(Some(LONG)).unwrap(), 3);
    assert!(f.done());
    let t0 = Instant::now();
    let again = f.result(Some(Duration::from_secs(2))).unwrap_err();
    assert!(again.is_invalid_state(), "the outcome is taken once, got {again:?}");
    assert!(t0.elapsed() < Duration::from_secs(1), "returned at once");
}

/// K05: `cancel()` from the other thread returns true and `cancelled()` is
/// true at once; the coroutine's task then gets a cancellation with no
/// message and `cancelling() == 1`; `result()` is a cancellation error.
/// CPython: spec K05 (run on 3.13.0); `futures._chain_future` calls
/// `loop.call_soon_threadsafe(task.cancel)`.
#[test]
fn k05_cancel_from_other_thread() {
    for (flavour, rt) in both() {
        let (returned, cancelled_at_once, done_at_once, seen, result) = from_foreign_thread(&rt, |handle, root| {
            let (started_tx, started_rx) = mpsc::channel();
            let (seen_tx, seen_rx) = mpsc::channel();
            let f = ravel::run_coroutine_threadsafe(
                async move {
                    started_tx.send(()).unwrap();
                    match ravel::sleep(Duration::from_secs(3600)).await {
                        Err(e) => {
                            let me = ravel::current_task().unwrap();
                            seen_tx
                                .send((e.is_cancelled(), e.cancel_message().map(String::from), me.cancelling()))
                                .unwrap();
                            Err(e)
                        }
                        Ok(()) => Ok("slept"),
                    }
                },
                &handle,
            )
            .expect("submit");
            started_rx.recv_timeout(LONG).expect("coroutine started");
            let returned = f.cancel();
            let cancelled_at_once = f.cancelled();
            let done_at_once = f.done();
            let seen = seen_rx.recv_timeout(LONG).expect("the task saw the cancellation");
            let result = f.result(Some(LONG)).unwrap_err();
            let left = wait_no_tasks_except(&handle, Some(&root));
            assert!(left.is_empty(), "tasks left: {left:?}");
            (returned, cancelled_at_once, done_at_once, seen, result)
        });
        assert!(returned, "{flavour}: cancel() returns true");
        assert!(cancelled_at_once, "{flavour}: cancelled() is true immediately");
        assert!(done_at_once, "{flavour}: done() too");
        assert_eq!(seen, (true, None, 1), "{flavour}: CE with no message, cancelling()==1");
        assert!(result.is_cancelled(), "{flavour}: {result:?}");
    }
}

/// K06: `result(Some(ZERO))` on a pending future is a timeout error (the
/// coroutine runs on); after `cancel()` the runtime has no undone task left.
/// CPython: `test_tasks.py::RunCoroutineThreadsafeTests::test_run_coroutine_threadsafe_with_timeout`.
#[test]
fn k06_timeout_then_cancel() {
    for (flavour, rt) in both() {
        let (timeout, pending_after_timeout, cancelled, left, result) = from_foreign_thread(&rt, |handle, root| {
            let f = ravel::run_coroutine_threadsafe(
                async {
                    ravel::sleep(Duration::from_secs(3600)).await?;
                    Ok(3)
                },
                &handle,
            )
            .expect("submit");
            let timeout = f.result(Some(Duration::ZERO)).unwrap_err();
            let pending_after_timeout = !f.done() && !f.cancelled();
            let cancelled = f.cancel();
            let left = wait_no_tasks_except(&handle, Some(&root));
            (timeout, pending_after_timeout, cancelled, left, f.result(None).unwrap_err())
        });
        assert!(timeout.is_timeout(), "{flavour}: {timeout:?}");
        assert!(pending_after_timeout, "{flavour}: a timed-out wait leaves the coroutine running");
        assert!(cancelled, "{flavour}");
        assert!(left.is_empty(), "{flavour}: undone tasks left after cancel: {left:?}");
        assert!(result.is_cancelled(), "{flavour}: {result:?}");
    }
}

/// K07: when the coroutine's task is cancelled inside the loop (it cancels
/// itself, then awaits), `result()` is a cancellation error and
/// `cancelled()` is true.
/// CPython: `test_tasks.py::RunCoroutineThreadsafeTests::test_run_coroutine_threadsafe_task_cancelled`.
#[test]
fn k07_task_cancelled_inside_loop() {
    for (flavour, rt) in both() {
        let (err, cancelled) = from_foreign_thread(&rt, |handle, _| {
            let f = ravel::run_coroutine_threadsafe(
                async {
                    ravel::sleep(Duration::from_millis(5)).await?;
                    ravel::current_task().unwrap().cancel();
                    ravel::yield_now().await?;
                    Ok(1 + 2)
                },
                &handle,
            )
            .expect("submit");
            let err = f.result(Some(LONG)).unwrap_err();
            (err, f.cancelled())
        });
        assert!(err.is_cancelled(), "{flavour}: {err:?}");
        assert!(cancelled, "{flavour}: cancelled() is true");
    }
}

/// `ConcurrentFuture::task()` is "the task running the coroutine": as with
/// asyncio's `ensure_future(coro)` task, it ends cancelled when the coroutine
/// re-raises a cancellation (K07 self-cancel; K05 cancel from the other
/// thread), and failed with the coroutine's error when it fails.
/// CPython: `tasks.run_coroutine_threadsafe` runs the coroutine as
/// `ensure_future(coro)`; that task's state follows the coroutine (spec
/// section 1 item 3).
#[test]
fn task_outcome_follows_coroutine() {
    let rt = multi_thread(2);
    let handle = rt.handle().clone();
    let wait_done = |t: &TaskRef| {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !t.done() && Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert!(t.done(), "{t:?}");
    };

    let f = ravel::run_coroutine_threadsafe(
        async {
            ravel::current_task().unwrap().cancel();
            ravel::yield_now().await?;
            Ok(3)
        },
        &handle,
    )
    .unwrap();
    assert!(f.result(Some(LONG)).unwrap_err().is_cancelled());
    let task = f.task().unwrap().clone();
    wait_done(&task);
    assert!(task.cancelled(), "K07: {task:?}");

    let (started_tx, started_rx) = mpsc::channel();
    let f = ravel::run_coroutine_threadsafe(
        async move {
            started_tx.send(()).unwrap();
            ravel::sleep(Duration::from_secs(3600)).await?;
            Ok(3)
        },
        &handle,
    )
    .unwrap();
    started_rx.recv_timeout(LONG).unwrap();
    assert!(f.cancel());
    let task = f.task().unwrap().clone();
    wait_done(&task);
    assert!(task.cancelled(), "K05: {task:?}");

    let f = ravel::run_coroutine_threadsafe(async { Err::<i32, _>(ravel::Error::msg("Fail!")) }, &handle).unwrap();
    assert_eq!(f.result(Some(LONG)).unwrap_err().to_string(), "Fail!");
    let task = f.task().unwrap().clone();
    wait_done(&task);
    let exception = task.exception().expect("done, not cancelled");
    assert_eq!(exception.map(|e| e.to_string()).as_deref(), Some("Fail!"), "{task:?}");
}

/// Misuse: calling `run_coroutine_threadsafe` from inside the target runtime
/// (a task on a worker) is an invalid-state error, and so is blocking on
/// `result()` there; nothing is submitted.
/// asyncio: waiting on the concurrent future from the loop thread deadlocks;
/// Ravel refuses instead.
#[test]
fn submit_or_wait_from_inside_runtime_is_error() {
    for (flavour, rt) in both() {
        let outside = ravel::run_coroutine_threadsafe(async { Ok(5) }, rt.handle()).expect("submit from outside");
        let (submit_err, result_err, tasks_before, tasks_after) = rt
            .block_on(async move {
                let handle = Handle::current();
                let before = handle.all_tasks().len();
                let submit_err = ravel::run_coroutine_threadsafe(async { Ok(1) }, &handle).unwrap_err();
                let after = handle.all_tasks().len();
                let result_err = outside.result(Some(Duration::from_millis(10))).unwrap_err();
                Ok((submit_err, result_err, before, after))
            })
            .unwrap();
        assert!(submit_err.is_invalid_state(), "{flavour}: {submit_err:?}");
        assert!(result_err.is_invalid_state(), "{flavour}: {result_err:?}");
        assert!(tasks_after <= tasks_before, "{flavour}: nothing was spawned");
    }
}

/// After shutdown, submitting and `call_soon_threadsafe` are errors.
/// asyncio: `call_soon_threadsafe` on a closed loop raises RuntimeError
/// "Event loop is closed".
#[test]
fn submit_after_shutdown_is_error() {
    for (flavour, rt) in both() {
        let handle = rt.handle().clone();
        rt.shutdown_timeout(Duration::from_secs(1));
        let err = ravel::run_coroutine_threadsafe(async { Ok(1) }, &handle).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RuntimeClosed, "{flavour}: {err:?}");
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        let err = handle
            .call_soon_threadsafe(move || {
                r.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RuntimeClosed, "{flavour}: {err:?}");
        assert_eq!(ran.load(Ordering::SeqCst), 0, "{flavour}: the closure did not run");
    }
}

/// A `result()` pending when the runtime is shut down (the coroutine sleeps
/// forever; another thread calls `shutdown_timeout`) is released with an
/// error, never left blocked. Also for a submission that never got polled
/// (a current-thread runtime that nobody drives).
/// asyncio: `loop.close()` with a pending task leaves a concurrent future
/// pending forever; Ravel releases it.
#[test]
fn pending_result_released_at_shutdown() {
    let rt = multi_thread(2);
    let (started_tx, started_rx) = mpsc::channel();
    let f = ravel::run_coroutine_threadsafe(
        async move {
            started_tx.send(()).unwrap();
            ravel::sleep(Duration::from_secs(3600)).await?;
            Ok(1)
        },
        rt.handle(),
    )
    .unwrap();
    started_rx.recv_timeout(LONG).expect("coroutine started");
    let t0 = Instant::now();
    let shutter = std::thread::spawn(move || rt.shutdown_timeout(Duration::from_millis(200)));
    let err = f.result(Some(LONG)).unwrap_err();
    assert!(!err.is_timeout(), "released by the shutdown, not by the timeout: {err:?}");
    assert_eq!(err.kind(), ErrorKind::RuntimeClosed, "{err:?}");
    assert!(f.done(), "done after shutdown");
    assert!(t0.elapsed() < Duration::from_secs(5));
    shutter.join().unwrap();

    // Never polled: nobody drives the current-thread runtime.
    let rt = current_thread();
    let f = ravel::run_coroutine_threadsafe(async { Ok(2) }, rt.handle()).unwrap();
    assert!(f.result(Some(Duration::from_millis(20))).unwrap_err().is_timeout(), "not driven, still pending");
    let waiter = {
        let f = f.clone();
        std::thread::spawn(move || f.result(Some(LONG)))
    };
    rt.shutdown_timeout(Duration::from_millis(200));
    let err = waiter.join().unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RuntimeClosed, "{err:?}");
}

/// `call_soon_threadsafe` from a foreign thread runs the closure on the
/// runtime (`Handle::try_current()` works there) as a callback, not a task:
/// `current_task()` is None inside it and it is not in `all_tasks()` (checked
/// on CPython 3.13.0: `(None, 1)` with only main alive). On the
/// current-thread runtime closures run in the order they were scheduled.
/// asyncio: `call_soon_threadsafe` appends a Handle to the FIFO ready queue.
#[test]
fn call_soon_threadsafe_runs_on_runtime() {
    for (flavour, rt) in both() {
        let (seen, order) = from_foreign_thread(&rt, |handle, _| {
            let (tx, rx) = mpsc::channel();
            for i in 0..3 {
                let tx = tx.clone();
                handle
                    .call_soon_threadsafe(move || {
                        let inside = match Handle::try_current() {
                            Ok(h) => ravel::current_task().is_none() && h.all_tasks().len() == 1,
                            Err(_) => false,
                        };
                        tx.send((i, inside)).unwrap();
                    })
                    .expect("scheduled");
            }
            let got: Vec<(i32, bool)> = (0..3).map(|_| rx.recv_timeout(LONG).expect("ran")).collect();
            (got.iter().all(|(_, inside)| *inside), got.iter().map(|(i, _)| *i).collect::<Vec<_>>())
        });
        assert!(seen, "{flavour}: runs inside the runtime, outside any task (only the driver is a task)");
        if flavour == "current_thread" {
            assert_eq!(order, [0, 1, 2], "FIFO");
        } else {
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, [0, 1, 2], "{flavour}");
        }
    }
}

/// Done callbacks of a `ConcurrentFuture`: one added while pending runs once
/// when the coroutine finishes, on the finishing (runtime) thread, and sees
/// the future done; one added when already done runs at once on the adding
/// thread; a removed one never runs (`remove_done_callback` true once, then
/// false); on `cancel()` callbacks run at once on the cancelling thread with
/// `cancelled()` true, and not again when the task ends.
/// CPython: `test_concurrent_futures/test_future.py::FutureTests::test_done_callback_*`.
#[test]
fn done_callbacks() {
    /// (tag, done(), cancelled(), thread it ran on)
    type Entry = (&'static str, bool, bool, ThreadId);
    let rt = multi_thread(2);
    let handle = rt.handle().clone();
    let me = std::thread::current().id();
    let log: Arc<Mutex<Vec<Entry>>> = Arc::default();
    let record = |tag: &'static str| {
        let log = log.clone();
        move |f: &ConcurrentFuture<i32>| {
            log.lock().unwrap().push((tag, f.done(), f.cancelled(), std::thread::current().id()));
        }
    };

    // Pending, then finishes on the runtime.
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let go_rx = Arc::new(Mutex::new(go_rx));
    let f = ravel::run_coroutine_threadsafe(
        async move {
            ravel::to_thread(move || Ok(go_rx.lock().unwrap().recv().is_ok())).await?;
            Ok(7)
        },
        &handle,
    )
    .unwrap();
    f.add_done_callback(record("pending"));
    let removed = f.add_done_callback(record("removed"));
    assert!(f.remove_done_callback(removed));
    assert!(!f.remove_done_callback(removed), "already removed");
    go_tx.send(()).unwrap();
    assert_eq!(f.result(Some(LONG)).unwrap(), 7);
    f.add_done_callback(record("late"));

    // Cancelled from this thread.
    let g = ravel::run_coroutine_threadsafe(
        async {
            ravel::sleep(Duration::from_secs(3600)).await?;
            Ok(0)
        },
        &handle,
    )
    .unwrap();
    g.add_done_callback(record("cancel"));
    assert!(g.cancel());
    assert!(wait_no_tasks_except(&handle, None).is_empty());
    assert!(g.cancel(), "cancel() on a cancelled future returns true (concurrent.futures)");
    assert!(!f.cancel(), "cancel() on a finished future returns false");

    let log = log.lock().unwrap().clone();
    // `result()` is released before the finishing thread runs the callbacks
    // (as in `concurrent.futures`), so "late" may be logged before "pending".
    let mut tags: Vec<&str> = log.iter().map(|e| e.0).collect();
    tags.sort_unstable();
    assert_eq!(tags, ["cancel", "late", "pending"], "each callback once; the removed one never");
    let entry = |tag: &str| *log.iter().find(|e| e.0 == tag).unwrap();
    let (_, done, cancelled, thread) = entry("pending");
    assert!(done && !cancelled);
    assert_ne!(thread, me, "ran on the finishing runtime thread");
    let (_, done, cancelled, thread) = entry("late");
    assert!(done && !cancelled);
    assert_eq!(thread, me, "already done: ran at once on the adding thread");
    let (_, done, cancelled, thread) = entry("cancel");
    assert!(done && cancelled);
    assert_eq!(thread, me, "cancel(): ran on the cancelling thread");
}

/// A coroutine that calls back into the runtime from a `to_thread` closure
/// (the usual asyncio pattern: a worker thread submits to the loop) works,
/// and the closure's `run_coroutine_threadsafe` is not "inside" the runtime.
/// CPython: `test_tasks.py::RunCoroutineThreadsafeTests` (its `target` runs
/// in `run_in_executor` and submits back to the loop).
#[test]
fn submit_back_from_to_thread_closure() {
    for (flavour, rt) in both() {
        let out = rt
            .block_on(async {
                let handle = Handle::current();
                ravel::to_thread(move || {
                    let f = ravel::run_coroutine_threadsafe(
                        async {
                            ravel::yield_now().await?;
                            Ok(ravel::current_task().is_some())
                        },
                        &handle,
                    )?;
                    f.result(Some(LONG))
                })
                .await
            })
            .unwrap();
        assert!(out, "{flavour}");
    }
}

/// K07, cancelled before its first step: the task never runs, and the
/// concurrent future reports a cancellation (not a runtime error).
#[test]
fn k07_cancelled_before_first_step() {
    let rt = ravel_tests::current_thread();
    // Nobody drives the current-thread runtime yet, so the task cannot start.
    let f = ravel::run_coroutine_threadsafe(async { Ok(1) }, rt.handle()).unwrap();
    assert!(f.task().unwrap().cancel());
    // Drive the runtime until the task has ended.
    let task = f.task().unwrap().clone();
    rt.block_on(async move { task.wait_done().await }).unwrap();
    assert!(f.task().unwrap().cancelled());
    let err = f.result(Some(std::time::Duration::from_secs(5))).unwrap_err();
    assert!(err.is_cancelled(), "got {err:?}");
    assert!(f.cancelled());
}
