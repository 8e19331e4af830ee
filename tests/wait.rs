//! `ravel::wait` (asyncio `wait()`; asyncio-semantics §2.G: G01–G03, G05,
//! G08, G09).
//!
//! asyncio returns `(done, pending)` sets; Ravel returns vectors in input
//! order, so the tests compare names regardless of the runtime flavour.
//! G08's rows other than the empty input cannot be written in Rust (the
//! `ReturnWhen` enum has no invalid value; the argument is a `Vec` of tasks,
//! neither a single future nor a coroutine).

use ravel::{Error, Promise, ReturnWhen, Task};
use ravel_tests::block;
use ravel_tests::{both, current_thread};
use std::time::{Duration, Instant};

/// A named task that sleeps `ms` and then returns its name, or fails if
/// `fail`.
fn child(name: &'static str, ms: u64, fail: bool) -> Task<&'static str> {
    ravel::task::Builder::new().name(name).spawn(async move {
        ravel::sleep(Duration::from_millis(ms)).await?;
        if fail {
            return Err(Error::msg(name));
        }
        Ok(name)
    })
}

/// The tasks' names; also marks failures retrieved (so the runtime does not
/// report them when the handles are dropped).
fn names(tasks: &[Task<&'static str>]) -> Vec<String> {
    tasks
        .iter()
        .map(|t| {
            let _ = t.exception();
            t.name()
        })
        .collect()
}

/// G01: ALL_COMPLETED returns every task in `done`, never raises a child's
/// error, and returns when the last child finishes.
/// CPython: `test_tasks.py::test_wait`, `test_wait_with_exception`.
#[test]
fn g01_all_completed() {
    for (flavour, rt) in both() {
        let (done, pending, elapsed) = block(&rt, async {
            let start = Instant::now();
            let tasks = vec![child("a", 10, false), child("b", 1, true), child("c", 20, false)];
            let (done, pending) = ravel::wait(tasks, ReturnWhen::AllCompleted, None).await?;
            Ok((names(&done), names(&pending), start.elapsed()))
        });
        assert_eq!(done, ["a", "b", "c"], "{flavour}");
        assert!(pending.is_empty(), "{flavour}");
        assert!(elapsed >= Duration::from_millis(20), "{flavour}: {elapsed:?}");
    }
}

/// G02: FIRST_COMPLETED returns as soon as one is done; the other is
/// pending and not cancelled.
/// CPython: `test_tasks.py::test_wait_first_completed`.
#[test]
fn g02_first_completed() {
    for (flavour, rt) in both() {
        let (done, pending) = block(&rt, async {
            let tasks = vec![child("a", 10_000, false), child("b", 1, false)];
            let (done, pending) = ravel::wait(tasks, ReturnWhen::FirstCompleted, None).await?;
            assert!(!pending[0].cancelled() && pending[0].cancelling() == 0);
            assert_eq!(done[0].result()?, "b");
            pending[0].cancel();
            Ok((names(&done), names(&pending)))
        });
        assert_eq!((done, pending), (vec!["b".to_string()], vec!["a".to_string()]), "{flavour}");
    }
}

/// G03: FIRST_EXCEPTION with a child that has already failed returns at
/// once with done == [b], pending == [a].
/// CPython: `test_tasks.py::test_wait_first_exception_in_wait` (already-failed variant,
/// `test_wait_first_exception`). Current-thread.
#[test]
fn g03_first_exception_already_failed() {
    let rt = current_thread();
    block(&rt, async {
        let a = child("a", 10_000, false);
        let b = child("b", 0, true);
        b.wait_done().await?;
        let start = Instant::now();
        let (done, pending) = ravel::wait(vec![a, b], ReturnWhen::FirstException, None).await?;
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(names(&done), ["b"]);
        assert_eq!(names(&pending), ["a"]);
        assert!(!pending[0].cancelled());
        pending[0].cancel();
        Ok(())
    });
}

/// G03: a child failing during the wait ends it at that time; a cancelled
/// child does not count as an exception (CPython's `_on_completion` checks
/// `not f.cancelled()`; checked on 3.13.0).
/// CPython: `test_tasks.py::test_wait_first_exception_in_wait`.
#[test]
fn g03_first_exception_during_wait() {
    for (flavour, rt) in both() {
        let (done, pending, elapsed) = block(&rt, async {
            let a = child("a", 10_000, false);
            let b = child("b", 10_000, false);
            let c = child("c", 30, true);
            b.cancel();
            let start = Instant::now();
            let (done, pending) = ravel::wait(vec![a, b, c], ReturnWhen::FirstException, None).await?;
            let elapsed = start.elapsed();
            for t in &pending {
                t.cancel();
            }
            Ok((names(&done), names(&pending), elapsed))
        });
        assert_eq!(done, ["b", "c"], "{flavour}");
        assert_eq!(pending, ["a"], "{flavour}");
        assert!(elapsed >= Duration::from_millis(30) && elapsed < Duration::from_secs(5), "{flavour}: {elapsed:?}");
    }
}

/// G05: a timeout returns (done, pending) without an error; pending tasks
/// are not cancelled.
/// CPython: `test_tasks.py::test_wait_with_timeout`, `test_wait_concurrent_complete`.
#[test]
fn g05_timeout() {
    for (flavour, rt) in both() {
        let (done, pending, elapsed) = block(&rt, async {
            let b = child("b", 0, false);
            b.wait_done().await?; // done before the wait, whatever the load
            let tasks = vec![child("a", 10_000, false), b];
            let start = Instant::now();
            let (done, pending) = ravel::wait(tasks, ReturnWhen::AllCompleted, Some(Duration::from_millis(30))).await?;
            let elapsed = start.elapsed();
            assert!(!pending[0].done() && pending[0].cancelling() == 0);
            pending[0].cancel();
            Ok((names(&done), names(&pending), elapsed))
        });
        assert_eq!(done, ["b"], "{flavour}");
        assert_eq!(pending, ["a"], "{flavour}");
        assert!(elapsed >= Duration::from_millis(30) && elapsed < Duration::from_secs(5), "{flavour}: {elapsed:?}");
    }
}

/// G08: an empty input is an error ("Set of Tasks/Futures is empty.").
/// CPython: `test_tasks.py::test_wait_errors`.
#[test]
fn g08_empty_input() {
    for (flavour, rt) in both() {
        let err = block(&rt, async {
            Ok(ravel::wait(Vec::<Task<()>>::new(), ReturnWhen::FirstCompleted, None).await.unwrap_err())
        });
        assert!(err.is_invalid_state(), "{flavour}");
        assert_eq!(err.to_string(), "Set of Tasks/Futures is empty.", "{flavour}");
    }
}

/// G09: cancelling the task that awaits `wait` cancels only that task; the
/// tasks it waited for are not cancelled and complete.
/// CPython: `test_tasks.py::test_yield_wait_does_not_shield_cancel`.
#[test]
fn g09_cancel_the_caller() {
    for (flavour, rt) in both() {
        let (err, results) = block(&rt, async {
            let gate = Promise::<()>::new();
            let entered = Promise::<()>::new();
            let kids: Vec<Task<&'static str>> = ["a", "b"]
                .into_iter()
                .map(|name| {
                    let gate = gate.clone();
                    ravel::task::Builder::new().name(name).spawn(async move {
                        gate.await?;
                        Ok(name)
                    })
                })
                .collect();
            let refs: Vec<_> = kids.iter().map(|k| k.as_task_ref().clone()).collect();
            let e = entered.clone();
            let mut caller = ravel::spawn(async move {
                e.set_result(())?;
                ravel::wait(kids, ReturnWhen::AllCompleted, None).await
            });
            entered.await?;
            assert!(caller.cancel_with("caller"));
            let err = (&mut caller).await.unwrap_err();
            assert!(refs.iter().all(|r| !r.done() && r.cancelling() == 0));
            gate.set_result(())?;
            let mut results = Vec::new();
            for r in &refs {
                r.wait_done().await?;
                results.push((r.cancelled(), r.exception()?.is_none()));
            }
            Ok((err, results))
        });
        assert_eq!(err.cancel_message(), Some("caller"), "{flavour}");
        assert_eq!(results, [(false, true), (false, true)], "{flavour}");
    }
}

/// `wait` is a Ravel leaf: if the condition already holds on its first poll
/// it returns the split even with a cancellation pending (the cancellation
/// is then delivered by the next await).
#[test]
fn wait_ready_on_first_poll_returns_despite_pending_cancel() {
    for (flavour, rt) in both() {
        let (done, next) = block(&rt, async {
            let t = ravel::spawn(async { Ok(1) });
            t.wait_done().await?;
            ravel::current_task().unwrap().cancel_with("late");
            let (done, _) = ravel::wait(vec![t], ReturnWhen::AllCompleted, None).await?;
            let next = ravel::yield_now().await.unwrap_err();
            ravel::current_task().unwrap().uncancel();
            Ok((done.len(), next))
        });
        assert_eq!(done, 1, "{flavour}");
        assert_eq!(next.cancel_message(), Some("late"), "{flavour}");
    }
}

/// G02/G03 timing: asyncio's `wait` hears of a completion through a done
/// callback (one iteration after the task ended), which releases its waiter
/// future, and the waiting task resumes one iteration after that. So a
/// second task that finishes in the iteration after the first one is in
/// `done` too; one that needs another iteration is pending. Current-thread.
/// CPython 3.13.0 (3.12.1 the same), `first()` returns at once (or raises
/// for FIRST_EXCEPTION), `second()` does `sleep(0)` n times:
///
/// ```text
/// FIRST_COMPLETED, second yields 1x: done ['first', 'second'] pending []
/// FIRST_COMPLETED, second yields 2x: done ['first'] pending ['second']
/// FIRST_EXCEPTION, second yields 1x: done ['first', 'second'] pending []
/// FIRST_EXCEPTION, second yields 2x: done ['first'] pending ['second']
/// ```
#[test]
fn g02_g03_wait_wakes_through_a_done_callback_and_a_waiter() {
    let rt = current_thread();
    for when in [ReturnWhen::FirstCompleted, ReturnWhen::FirstException] {
        for (yields, expected_done, expected_pending) in
            [(1, &["first", "second"][..], &[][..]), (2, &["first"][..], &["second"][..])]
        {
            let (done, pending) = block(&rt, async move {
                let first = ravel::task::Builder::new().name("first").spawn(async move {
                    if when == ReturnWhen::FirstException {
                        return Err(Error::msg("boom"));
                    }
                    Ok("first")
                });
                let second = ravel::task::Builder::new().name("second").spawn(async move {
                    for _ in 0..yields {
                        ravel::yield_now().await?;
                    }
                    Ok("second")
                });
                let (done, pending) = ravel::wait(vec![first, second], when, None).await?;
                for t in &pending {
                    t.cancel();
                }
                let names = |ts: &[ravel::Task<&'static str>]| {
                    ts.iter()
                        .map(|t| {
                            let _ = t.exception();
                            t.name()
                        })
                        .collect::<Vec<_>>()
                };
                Ok((names(&done), names(&pending)))
            });
            assert_eq!(done, expected_done, "{when:?}, second yields {yields}x");
            assert_eq!(pending, expected_pending, "{when:?}, second yields {yields}x");
        }
    }
}
