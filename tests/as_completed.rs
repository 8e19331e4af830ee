//! `ravel::as_completed` (asyncio `as_completed()`, the 3.13 iterator
//! object used with `async for`; asyncio-semantics §2.H: H01–H03).
//!
//! H07 (`as_completed(fut)` with a single future raises TypeError) is moot:
//! the argument is a `Vec<Task<T>>`, so passing a single future does not
//! compile.
//!
//! The `futures_core::Stream` implementation is exercised by the doctest on
//! `ravel::AsCompleted`: this package cannot name the `Stream` trait without
//! a `futures-core` dependency, which it does not have. Here `next()` is
//! used, which shares the same poll function.

use ravel::{Promise, Task, TaskRef};
use ravel_tests::block;
use ravel_tests::{both, current_thread, current_thread_eager};
use std::time::{Duration, Instant};

fn sleeper(name: &'static str, ms: u64) -> Task<&'static str> {
    ravel::spawn(async move {
        ravel::sleep(Duration::from_millis(ms)).await?;
        Ok(name)
    })
}

/// H01: tasks come out in completion order: ['a', 'b', 'c'] for delays of
/// 10, 20 and 30 ms passed in a different order.
/// CPython: `test_tasks.py::test_as_completed`. Current-thread.
#[test]
fn h01_completion_order() {
    let rt = current_thread();
    let order = block(&rt, async {
        let tasks = vec![sleeper("c", 30), sleeper("a", 10), sleeper("b", 20)];
        let mut it = ravel::as_completed(tasks, None);
        let mut order = Vec::new();
        while let Some(task) = it.next().await {
            order.push(task?.result()?);
        }
        Ok(order)
    });
    assert_eq!(order, ["a", "b", "c"]);
}

/// H01 with the completion order forced by promises, on both flavours:
/// each task is released only after the previous one was yielded.
/// CPython: `test_tasks.py::test_as_completed`.
#[test]
fn h01_completion_order_controlled() {
    for (flavour, rt) in both() {
        let order = block(&rt, async {
            let gates: Vec<Promise<()>> = (0..3).map(|_| Promise::new()).collect();
            let tasks: Vec<Task<usize>> = gates
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, gate)| {
                    ravel::spawn(async move {
                        gate.await?;
                        Ok(i)
                    })
                })
                .collect();
            let mut it = ravel::as_completed(tasks, None);
            let mut order = Vec::new();
            for i in [2, 0, 1] {
                gates[i].set_result(())?;
                order.push(it.next().await.unwrap()?.result()?);
            }
            assert!(it.next().await.is_none());
            Ok(order)
        });
        assert_eq!(order, [2, 0, 1], "{flavour}");
    }
}

/// H02: the yielded tasks are the original ones (same identity).
/// CPython: `test_tasks.py::test_as_completed_same_tasks_in_as_out`.
#[test]
fn h02_yields_the_original_tasks() {
    for (flavour, rt) in both() {
        let (input, output) = block(&rt, async {
            let tasks = vec![sleeper("x", 2), sleeper("y", 1), sleeper("z", 0)];
            let input: Vec<TaskRef> = tasks.iter().map(|t| t.as_task_ref().clone()).collect();
            let mut it = ravel::as_completed(tasks, None);
            let mut output = Vec::new();
            while let Some(task) = it.next().await {
                output.push(task?.as_task_ref().clone());
            }
            Ok((input, output))
        });
        assert_eq!(output.len(), 3, "{flavour}");
        for t in &input {
            assert_eq!(output.iter().filter(|o| *o == t).count(), 1, "{flavour}");
        }
    }
}

/// H03: with a timeout, the tasks finished before it are yielded, then one
/// timeout error, then the end; the unfinished tasks are not cancelled.
/// CPython: `test_tasks.py::test_as_completed_with_timeout`.
#[test]
fn h03_timeout() {
    for (flavour, rt) in both() {
        let (first, timed_out, end, elapsed, others) = block(&rt, async {
            let gate = Promise::<()>::new();
            let g = gate.clone();
            let a = ravel::spawn(async move {
                g.await?;
                Ok("a")
            });
            let tasks = vec![a, sleeper("b", 10_000), sleeper("c", 10_000)];
            let others: Vec<TaskRef> = tasks[1..].iter().map(|t| t.as_task_ref().clone()).collect();
            let start = Instant::now();
            let mut it = ravel::as_completed(tasks, Some(Duration::from_millis(100)));
            gate.set_result(())?; // `a` finishes well before the deadline
            let first = it.next().await.unwrap()?.result()?;
            let timed_out = it.next().await.unwrap().unwrap_err();
            let elapsed = start.elapsed();
            let end = it.next().await.is_none();
            drop(it);
            let state: Vec<(bool, u32)> = others.iter().map(|t| (t.done(), t.cancelling())).collect();
            for t in &others {
                t.cancel();
            }
            Ok((first, timed_out, end, elapsed, state))
        });
        assert_eq!(first, "a", "{flavour}");
        assert!(timed_out.is_timeout(), "{flavour}: {timed_out:?}");
        assert!(end, "{flavour}");
        assert!(elapsed >= Duration::from_millis(100) && elapsed < Duration::from_secs(5), "{flavour}: {elapsed:?}");
        assert_eq!(others, [(false, 0), (false, 0)], "{flavour}: not cancelled");
    }
}

/// Empty input ends at once, also with a timeout (no timeout error).
/// CPython: `tasks.py::_AsCompletedIterator` (no timer for an empty set).
#[test]
fn as_completed_empty_input() {
    for (flavour, rt) in both() {
        let ends = block(&rt, async {
            let a = ravel::as_completed(Vec::<Task<()>>::new(), None).next().await.is_none();
            let mut it = ravel::as_completed(Vec::<Task<()>>::new(), Some(Duration::ZERO));
            Ok(a && it.next().await.is_none())
        });
        assert!(ends, "{flavour}");
    }
}

/// Tasks already done when `as_completed` is called come first, in input
/// order, before any that finish later (eager tasks finish in `spawn`).
#[test]
fn as_completed_already_done_first() {
    let rt = current_thread_eager();
    let order = block(&rt, async {
        let tasks = vec![sleeper("late", 1), ravel::spawn(async { Ok("one") }), ravel::spawn(async { Ok("two") })];
        let mut it = ravel::as_completed(tasks, None);
        let mut order = Vec::new();
        while let Some(task) = it.next().await {
            order.push(task?.result()?);
        }
        Ok(order)
    });
    assert_eq!(order, ["one", "two", "late"]);
}

/// `next()` is a leaf: cancelling the task iterating ends its wait with a
/// cancellation error and leaves the tasks alone; iteration can go on.
#[test]
fn as_completed_cancel_the_consumer() {
    for (flavour, rt) in both() {
        let (err, resumed) = block(&rt, async {
            let gate = Promise::<()>::new();
            let entered = Promise::<()>::new();
            let g = gate.clone();
            let task = ravel::spawn(async move {
                g.await?;
                Ok(5)
            });
            let task_ref = task.as_task_ref().clone();
            let e = entered.clone();
            let gate2 = gate.clone();
            let mut consumer = ravel::spawn(async move {
                let mut it = ravel::as_completed(vec![task], None);
                e.set_result(())?;
                let err = it.next().await.unwrap().unwrap_err();
                assert_eq!(task_ref.cancelling(), 0, "nothing is forwarded to the tasks");
                ravel::current_task().unwrap().uncancel();
                gate2.set_result(())?;
                let resumed = it.next().await.unwrap()?.result()?;
                Ok((err, resumed))
            });
            entered.await?;
            consumer.cancel_with("consumer");
            (&mut consumer).await
        });
        assert_eq!(err.cancel_message(), Some("consumer"), "{flavour}");
        assert_eq!(resumed, 5, "{flavour}");
    }
}
