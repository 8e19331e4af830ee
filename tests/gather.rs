//! `ravel::gather` / `gather_tuple` (asyncio `gather()`; asyncio-semantics
//! §1.11 and §2.F: F01, F03–F09).
//!
//! F02 (duplicate arguments are deduplicated by identity) does not apply:
//! Rust futures are moved into `gather`, so no future can be passed twice.
//!

use ravel::runtime::UnhandledError;
use ravel::{Error, Promise, TaskRef};
use ravel_tests::block;
use ravel_tests::{both, current_thread, current_thread_eager, Log};
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A child that sleeps "forever" (until cancelled).
async fn forever() -> ravel::Result<u32> {
    ravel::sleep(Duration::from_secs(10)).await?;
    Ok(0)
}

/// F01: children finishing in the order b, a, c still give the results in
/// argument order.
/// CPython: `test_tasks.py::GatherTestsBase::test_success`.
#[test]
fn f01_results_follow_argument_order() {
    for (flavour, rt) in both() {
        let (values, order) = block(&rt, async {
            let log = Log::new();
            let gates: Vec<Promise<()>> = (0..3).map(|_| Promise::new()).collect();
            let g = ravel::gather(["a", "b", "c"].into_iter().zip(gates.clone()).map(|(name, gate)| {
                let log = log.clone();
                async move {
                    gate.await?;
                    log.push(name);
                    Ok(name.to_uppercase())
                }
            }));
            let kids = g.children().to_vec();
            for i in [1, 0, 2] {
                gates[i].set_result(())?;
                kids[i].wait_done().await?;
            }
            Ok((g.await?, log.events()))
        });
        assert_eq!(order, ["b", "a", "c"], "{flavour}");
        assert_eq!(values, ["A", "B", "C"], "{flavour}");
    }
}

/// F03: gathering nothing gives an empty vector.
/// CPython: `test_tasks.py::test_constructor_empty_sequence_use_running_loop`.
#[test]
fn f03_no_arguments() {
    for (flavour, rt) in both() {
        let values = block(&rt, async {
            let g = ravel::gather(Vec::<std::future::Ready<ravel::Result<u8>>>::new());
            assert!(g.done() && g.children().is_empty());
            assert!(!g.cancel());
            g.await
        });
        assert!(values.is_empty(), "{flavour}");
    }
}

/// F04: the first error propagates as soon as that child fails; the other
/// children are not cancelled and run to completion; their later failures
/// are ignored and marked retrieved (nothing reaches the unhandled-error
/// hook); `gf.cancel()` afterwards returns false.
/// CPython: `test_tasks.py::test_one_exception`. Current-thread.
#[test]
fn f04_first_exception_wins() {
    let reports = Log::new();
    let r = reports.clone();
    let rt = ravel::Builder::new_current_thread()
        .unhandled_error_hook(move |u: &UnhandledError| r.push(format!("{}: {}", u.message(), u.error())))
        .build()
        .unwrap();
    block(&rt, async {
        let gate = Promise::<()>::new();
        let (g1, g2) = (gate.clone(), gate.clone());
        let mut gf = ravel::gather(vec![
            Box::pin(async {
                ravel::yield_now().await?;
                Err(Error::msg("first"))
            }) as std::pin::Pin<Box<dyn Future<Output = ravel::Result<u32>> + Send>>,
            Box::pin(async move {
                g1.await?;
                Ok(2)
            }),
            Box::pin(async move {
                g2.await?;
                Err(Error::msg("later"))
            }),
        ]);
        let kids = gf.children().to_vec();
        let err = (&mut gf).await.unwrap_err();
        assert_eq!(err.to_string(), "first");
        assert!(gf.done());
        assert!(!kids[1].done() && !kids[2].done(), "the others keep running");
        assert_eq!(kids[1].cancelling() + kids[2].cancelling(), 0, "and are not cancelled");
        assert!(!gf.cancel(), "a done gather refuses cancel()");
        gate.set_result(())?;
        for kid in &kids {
            kid.wait_done().await?;
        }
        assert!(!kids[1].cancelled() && !kids[2].cancelled());
        drop(gf);
        drop(kids);
        for _ in 0..3 {
            ravel::yield_now().await?;
        }
        Ok(())
    });
    drop(rt);
    assert_eq!(reports.events(), Vec::<String>::new());
}

/// F05: with return_exceptions the outcome is positional, errors as values.
/// CPython: `test_tasks.py::test_return_exceptions`.
#[test]
fn f05_return_exceptions() {
    for (flavour, rt) in both() {
        let outcomes = block(&rt, async {
            ravel::gather((0..4u64).map(|i| async move {
                ravel::sleep(Duration::from_millis(4 - i)).await?;
                match i {
                    0 => Ok(3),
                    1 => Ok(1),
                    2 => Err(Error::msg("exc")),
                    _ => Err(Error::msg("exc2")),
                }
            }))
            .return_exceptions()
            .await
        });
        let shown: Vec<String> = outcomes
            .iter()
            .map(|o| match o {
                Ok(v) => v.to_string(),
                Err(e) => e.to_string(),
            })
            .collect();
        assert_eq!(shown, ["3", "1", "exc", "exc2"], "{flavour}");
    }
}

/// F06: a cancelled child (without return_exceptions) ends the gather at
/// once, with a cancellation error carrying the child's message; the
/// awaiting task's `cancelling()` stays 0; the other child keeps running.
/// CPython: `test_tasks.py::FutureGatherTests::test_one_cancellation`. Current-thread.
#[test]
fn f06_cancelled_child_without_return_exceptions() {
    let rt = current_thread();
    block(&rt, async {
        let mut gf = ravel::gather([forever(), forever()]);
        let kids = gf.children().to_vec();
        ravel::yield_now().await?;
        assert!(kids[1].cancel_with("child"));
        kids[1].wait_done().await?;
        ravel::yield_now().await?; // the done callback runs
        assert!(gf.done());
        let err = (&mut gf).await.unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(err.cancel_message(), Some("child"));
        assert_eq!(ravel::current_task().unwrap().cancelling(), 0);
        assert!(!kids[0].done() && kids[0].cancelling() == 0);
        kids[0].cancel();
        Ok(())
    });
}

/// F07: with return_exceptions a cancelled child gives a cancellation error
/// at its position, with the message `""` (CPython rebuilds
/// `CancelledError('')` for a cancelled Task: its message is lost).
/// CPython: `test_tasks.py::test_result_exception_one_cancellation`.
/// (Issue 16: this test used to assert Ravel's old deviation, the child's
/// message "child"; it now asserts CPython's `""`.)
#[test]
fn f07_cancelled_child_with_return_exceptions() {
    for (flavour, rt) in both() {
        let outcomes = block(&rt, async {
            let gf = ravel::gather([
                Box::pin(forever()) as std::pin::Pin<Box<dyn Future<Output = ravel::Result<u32>> + Send>>,
                Box::pin(async { Ok(7) }),
            ])
            .return_exceptions();
            gf.children()[0].cancel_with("child");
            gf.await
        });
        let err = outcomes[0].as_ref().unwrap_err();
        assert!(err.is_cancelled(), "{flavour}");
        assert_eq!(err.cancel_message(), Some(""), "{flavour}");
        assert_eq!(*outcomes[1].as_ref().unwrap(), 7, "{flavour}");
    }
}

/// F07 for every way a child can end cancelled: with a message while
/// suspended, with a message before its first step, and by raising its own
/// cancellation with a message: each gives `CancelledError('')`. Without
/// `return_exceptions` the first cancelled child's message is kept (F06).
/// CPython 3.13.0 (3.12.1 the same), `gather(a, b, c, d, f,
/// return_exceptions=True)` with `a.cancel("child")` while suspended,
/// `b2.cancel("early")` before its first step, `c` raising
/// `CancelledError("own")`, `d` returning 7 (and `f`, a plain future
/// cancelled with "fut", which has no Ravel counterpart: children are tasks):
///
/// ```text
/// a CancelledError('') ('',)
/// c CancelledError('') ('',)
/// d 7 None
/// f CancelledError('fut') ('fut',)
/// b2 [("CancelledError('')", ('',))]
/// without return_exceptions: ('child',)
/// ```
#[test]
fn f07_cancelled_children_lose_their_message_with_return_exceptions() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let started = Promise::new();
            let s = started.clone();
            let gf = ravel::gather([
                Box::pin(async move {
                    s.set_result(())?;
                    forever().await
                }) as std::pin::Pin<Box<dyn Future<Output = ravel::Result<u32>> + Send>>,
                Box::pin(async {
                    ravel::yield_now().await?;
                    Err(Error::cancelled(Some("own")))
                }),
                Box::pin(async { Ok(7) }),
            ])
            .return_exceptions();
            started.await?;
            gf.children()[0].cancel_with("child");
            let outcomes = gf.await?;
            for (i, outcome) in outcomes.iter().enumerate().take(2) {
                let err = outcome.as_ref().unwrap_err();
                assert!(err.is_cancelled() && err.cancel_message() == Some(""), "{flavour} child {i}: {err:?}");
            }
            assert_eq!(*outcomes[2].as_ref().unwrap(), 7);

            let early = ravel::gather([forever()]).return_exceptions();
            early.children()[0].cancel_with("early");
            let outcomes = early.await?;
            assert_eq!(outcomes[0].as_ref().unwrap_err().cancel_message(), Some(""), "{flavour}");

            let started = Promise::new();
            let s = started.clone();
            let plain = ravel::gather([async move {
                s.set_result(())?;
                forever().await
            }]);
            started.await?;
            plain.children()[0].cancel_with("child");
            assert_eq!(plain.await.unwrap_err().cancel_message(), Some("child"), "{flavour}");
            Ok(())
        });
    }
}

/// F08: `gf.cancel("outer")` returns true and cancels the children with
/// "outer"; awaiting the gather fails with CE('outer') even with
/// return_exceptions (issue 32684), after every child is done.
/// CPython: `test_tasks.py::test_cancel_gather_1`, issue 32684.
#[test]
fn f08_cancel_gather_itself() {
    let mut runtimes = both();
    runtimes.push(("current_thread_eager", current_thread_eager()));
    for (flavour, rt) in runtimes {
        let (err, kids) = block(&rt, async {
            let gf = ravel::gather([forever(), forever()]).return_exceptions();
            let kids = gf.children().to_vec();
            assert!(gf.cancel_with("outer"));
            let err = gf.await.unwrap_err();
            Ok((err, kids))
        });
        assert!(err.is_cancelled(), "{flavour}");
        assert_eq!(err.cancel_message(), Some("outer"), "{flavour}");
        for kid in &kids {
            assert!(kid.cancelled(), "{flavour}");
            assert_eq!(kid.exception().unwrap_err().cancel_message(), Some("outer"), "{flavour}");
        }
    }
}

/// F08 without return_exceptions: the first cancelled child already fails
/// the gather with its CE('outer'); a second `cancel()` is refused once the
/// gather is done.
/// CPython: `test_tasks.py::test_cancel_gather_1`.
#[test]
fn f08_cancel_gather_without_return_exceptions() {
    for (flavour, rt) in both() {
        let err = block(&rt, async {
            let mut gf = ravel::gather([forever(), forever()]);
            assert!(gf.cancel_with("outer"));
            let err = (&mut gf).await.unwrap_err();
            assert!(!gf.cancel());
            Ok(err)
        });
        assert_eq!(err.cancel_message(), Some("outer"), "{flavour}");
    }
}

/// F09: cancelling the task awaiting a gather cancels both children (with
/// the task's message); the task gets CE('gm'); `gatherer.cancel()` then
/// returns false; proof stays 0.
/// CPython: `test_tasks.py::test_cancellation_broadcast`, `test_cancel_gather_2`. Current-thread.
#[test]
fn f09_cancel_the_task_awaiting_gather() {
    let rt = current_thread();
    let proof = Arc::new(AtomicU32::new(0));
    let p = proof.clone();
    block(&rt, async move {
        let kids: Arc<Mutex<Vec<TaskRef>>> = Arc::default();
        let k = kids.clone();
        let mut outer = ravel::spawn(async move {
            let child = |p: Arc<AtomicU32>| async move {
                ravel::sleep(Duration::from_secs(10)).await?;
                p.fetch_add(1, Ordering::SeqCst);
                Ok(())
            };
            let mut gatherer = ravel::gather([child(p.clone()), child(p.clone())]);
            *k.lock().unwrap() = gatherer.children().to_vec();
            let out = (&mut gatherer).await;
            assert!(!gatherer.cancel(), "the gather is done");
            out?;
            p.fetch_add(100, Ordering::SeqCst);
            Ok(())
        });
        ravel::yield_now().await?;
        assert!(outer.cancel_with("gm"));
        let err = (&mut outer).await.unwrap_err();
        assert_eq!(err.cancel_message(), Some("gm"));
        assert!(outer.cancelled());
        assert_eq!(outer.cancelling(), 1);
        for kid in kids.lock().unwrap().iter() {
            assert!(kid.cancelled());
            assert_eq!(kid.exception().unwrap_err().cancel_message(), Some("gm"));
        }
        Ok(())
    });
    assert_eq!(proof.load(Ordering::SeqCst), 0);
}

/// F09, delivery path: a cancellation already pending when the gather is
/// first awaited is forwarded to it too (cancels the children, waits for
/// them), instead of being delivered before the children are cancelled.
/// CPython: `test_tasks.py::test_cancel_gather_2` (cancel before the await).
#[test]
fn f09_pending_cancel_is_forwarded_at_first_poll() {
    for (flavour, rt) in both() {
        let (err, kids) = block(&rt, async {
            let outer = ravel::spawn(async {
                let gf = ravel::gather([forever(), forever()]);
                let kids = gf.children().to_vec();
                ravel::current_task().unwrap().cancel_with("self");
                let err = gf.await.unwrap_err();
                Ok((err, kids))
            });
            outer.await
        });
        assert_eq!(err.cancel_message(), Some("self"), "{flavour}");
        assert!(kids.iter().all(|k| k.cancelled()), "{flavour}");
    }
}

/// Eager children that finish during `gather` make it done on return
/// (asyncio handles already-done children synchronously, §1.11).
/// CPython: `tasks.py::gather` (`done_futs` loop), `test_eager_task_factory`.
#[test]
fn gather_eager_children_done_on_return() {
    let rt = current_thread_eager();
    let values = block(&rt, async {
        let g = ravel::gather((1..=3).map(|i| async move { Ok(i) }));
        assert!(g.done());
        g.await
    });
    assert_eq!(values, [1, 2, 3]);
}

/// `gather_tuple`: futures of different output types give a tuple of
/// values in argument order.
#[test]
fn gather_tuple_heterogeneous() {
    for (flavour, rt) in both() {
        let out = block(&rt, async {
            ravel::gather_tuple((
                async {
                    ravel::sleep(Duration::from_millis(3)).await?;
                    Ok(1u8)
                },
                async { Ok("two") },
                async {
                    ravel::yield_now().await?;
                    Ok(vec![3.0f64])
                },
            ))
            .await
        });
        assert_eq!(out, (1, "two", vec![3.0]), "{flavour}");
    }
}

/// `gather_tuple`: the first failure wins and the other child keeps running;
/// cancelling the tuple gather cancels every child.
#[test]
fn gather_tuple_first_error_and_cancel() {
    let rt = current_thread();
    block(&rt, async {
        let mut g = ravel::gather_tuple((forever(), async { Err::<&str, _>(Error::msg("bad")) }));
        let err = (&mut g).await.unwrap_err();
        assert_eq!(err.to_string(), "bad");
        let kids = g.children().to_vec();
        assert!(!kids[0].done() && kids[0].cancelling() == 0);
        assert!(!g.cancel());
        kids[0].cancel();

        let g = ravel::gather_tuple((forever(), forever(), async { Ok('x') }));
        assert!(g.cancel_with("tuple"));
        let err = g.await.unwrap_err();
        assert_eq!(err.cancel_message(), Some("tuple"));
        Ok(())
    });
}

/// F05 with eager children that fail inside `gather` itself: converting to
/// `return_exceptions` afterwards still collects every outcome.
/// CPython: `test_tasks.py::test_return_exceptions` (under `eager_task_factory`).
#[test]
fn f05_return_exceptions_with_eager_failures() {
    let rt = current_thread_eager();
    let outcomes = block(&rt, async {
        ravel::gather((0..3).map(|i| async move {
            if i == 1 {
                return Err(Error::msg("eager failure"));
            }
            Ok(i)
        }))
        .return_exceptions()
        .await
    });
    assert_eq!(*outcomes[0].as_ref().unwrap(), 0);
    assert_eq!(outcomes[1].as_ref().unwrap_err().to_string(), "eager failure");
    assert_eq!(*outcomes[2].as_ref().unwrap(), 2);
}

/// `gather_tasks` awaits existing tasks themselves: the gather's children
/// are those tasks (no wrapper task per argument), the results come in
/// argument order, and cancelling the gather cancels the given tasks.
/// CPython: `test_tasks.py::GatherTestsBase::test_result_exception_success`
/// with tasks as arguments.
#[test]
fn gather_tasks_awaits_the_given_tasks_without_wrapping() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let a = ravel::spawn(async {
                ravel::sleep(Duration::from_millis(2)).await?;
                Ok(1)
            });
            let b = ravel::spawn(async { Ok(2) });
            let ids = [a.id(), b.id()];
            let before = ravel::all_tasks().len();
            let g = ravel::gather_tasks([a, b]);
            assert_eq!(ravel::all_tasks().len(), before, "{flavour}: no task was spawned");
            assert_eq!(g.children().iter().map(|c| c.id()).collect::<Vec<_>>(), ids, "{flavour}");
            assert_eq!(g.await?, [1, 2], "{flavour}");

            let c = ravel::spawn(forever());
            let watch: TaskRef = c.to_task_ref();
            let g = ravel::gather_tasks([c]);
            assert!(g.cancel(), "{flavour}");
            assert!(g.await.unwrap_err().is_cancelled(), "{flavour}");
            assert!(watch.cancelled(), "{flavour}: the given task itself was cancelled");
            Ok(())
        });
    }
}
