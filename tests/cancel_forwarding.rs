//! Forwarding a cancellation to the task being awaited (asyncio
//! `_fut_waiter`; asyncio-semantics §1.2 and §2.A: A14), through chains of
//! awaiting tasks.

use ravel::{Promise, Task};
use ravel_tests::block;
use ravel_tests::{both, current_thread, Log};
use std::future::Future;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(10);

/// A task that sleeps, logs the cancellation it sees as `<name>:<msg>:<cancelling>`,
/// and re-raises it.
async fn sleeper(name: &'static str, log: Log) -> ravel::Result<u32> {
    match ravel::sleep(LONG).await {
        Err(e) => {
            let n = ravel::current_task().unwrap().cancelling();
            log.push(format!("{name}:{}:{n}", e.cancel_message().unwrap_or("-")));
            Err(e)
        }
        Ok(()) => Ok(0),
    }
}

/// A task that sets `started` (if given), awaits `inner`, logs an error it
/// sees the same way, and propagates it; on success returns the value plus
/// one.
async fn awaiter(name: &'static str, inner: Task<u32>, log: Log, started: Option<Promise<()>>) -> ravel::Result<u32> {
    if let Some(started) = started {
        started.set_result(())?;
    }
    match inner.await {
        Err(e) => {
            let n = ravel::current_task().unwrap().cancelling();
            log.push(format!("{name}:{}:{n}", e.cancel_message().unwrap_or("-")));
            Err(e)
        }
        Ok(v) => {
            log.push(format!("{name}:ok:{v}"));
            Ok(v + 1)
        }
    }
}

/// A14: cancelling an outer task that awaits an inner task cancels the
/// inner one **immediately** (`i.cancelling()==1` right after `o.cancel`),
/// both end cancelled, and outer sees `'x'` with `cancelling()==1`.
/// CPython: `test_tasks.py::test_yield_future_passes_cancel`,
/// `test_cancel_awaited_task`. "Immediately" needs outer to be suspended on
/// inner when cancelled: current-thread.
#[test]
fn a14_cancel_outer_forwards_to_awaited_task_immediately() {
    let rt = current_thread();
    block(&rt, async {
        let log = Log::new();
        let i = ravel::spawn(sleeper("inner", log.clone()));
        let i_ref = i.as_task_ref().clone();
        let mut o = ravel::spawn(awaiter("outer", i, log.clone(), None));
        ravel::yield_now().await?; // inner sleeps, outer awaits inner

        assert!(o.cancel_with("x"));
        assert_eq!(i_ref.cancelling(), 1, "forwarded to inner immediately");
        assert_eq!(o.cancelling(), 1);
        assert!(!i_ref.done() && !o.done());

        let err = (&mut o).await.unwrap_err();
        assert_eq!(err.cancel_message(), Some("x"));
        assert!(o.cancelled());
        assert!(i_ref.cancelled());
        assert_eq!(log.events(), ["inner:x:1", "outer:x:1"]);
        Ok(())
    });
}

/// A14 on both flavours: whether the cancel reaches outer while it is
/// suspended on inner or before it gets there, inner is cancelled with the
/// message, both end cancelled, and outer sees `'x'` with `cancelling()==1`.
/// CPython: `test_tasks.py::test_yield_future_passes_cancel`.
#[test]
fn a14_cancel_outer_forwards_to_awaited_task() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let log = Log::new();
            let started = Promise::<()>::new();
            let (s, l) = (started.clone(), log.clone());
            let i = ravel::spawn(async move {
                s.set_result(())?;
                sleeper("inner", l).await
            });
            let i_ref = i.as_task_ref().clone();
            // Both bodies must have started: a task cancelled before its
            // first step never runs, so it would never await (and forward to)
            // inner.
            let outer_started = Promise::<()>::new();
            let mut o = ravel::spawn(awaiter("outer", i, log.clone(), Some(outer_started.clone())));
            started.await?;
            outer_started.await?;
            assert!(o.cancel_with("x"));
            let err = (&mut o).await.unwrap_err();
            assert_eq!(err.cancel_message(), Some("x"), "{flavour}");
            assert!(o.cancelled() && i_ref.cancelled(), "{flavour}");
            assert_eq!(i_ref.cancelling(), 1, "{flavour}");
            assert_eq!(o.cancelling(), 1, "{flavour}");
            assert_eq!(log.events(), ["inner:x:1", "outer:x:1"], "{flavour}");
            Ok(())
        });
    }
}

/// A14: outer catches the forwarded cancellation (seen through inner's
/// outcome) and returns normally; inner's awaited promise is cancelled.
/// CPython: `test_tasks.py::test_yield_future_passes_cancel` (proof == 101).
#[test]
fn a14_yield_future_passes_cancel() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let waiter = Promise::<()>::new();
            let started = Promise::<()>::new();
            let (w, s) = (waiter.clone(), started.clone());
            let mut o = ravel::spawn(async move {
                let mut proof = 0;
                let inner = ravel::spawn(async move {
                    s.set_result(())?;
                    match w.await {
                        Err(e) if e.is_cancelled() => Err::<(), _>(e),
                        other => panic!("got past the waiter in inner: {other:?}"),
                    }
                });
                match inner.await {
                    Err(e) if e.is_cancelled() => proof += 100,
                    _ => proof += 10,
                }
                Ok(proof + 1)
            });
            started.await?;
            assert!(o.cancel());
            assert_eq!((&mut o).await.unwrap(), 101, "{flavour}");
            assert!(waiter.cancelled(), "{flavour}");
            assert!(!o.cancelled(), "{flavour}");
            Ok(())
        });
    }
}

/// A14 (bpo-34872): a task that cancels itself and then awaits a nested task
/// cancels the nested task and the future it awaits.
/// CPython: `test_tasks.py::test_cancel_awaited_task`.
#[test]
fn a14_self_cancel_then_await_nested_task() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let fut = Promise::<()>::new();
            let started = Promise::<()>::new();
            let (f, s) = (fut.clone(), started.clone());
            let nested_slot = std::sync::Arc::new(std::sync::Mutex::new(None));
            let slot = nested_slot.clone();
            let mut task = ravel::spawn(async move {
                let nested = ravel::spawn(async move {
                    s.set_result(())?;
                    f.await
                });
                *slot.lock().unwrap() = Some(nested.as_task_ref().clone());
                started.await?;
                ravel::current_task().unwrap().cancel();
                nested.await
            });
            let err = (&mut task).await.unwrap_err();
            assert!(err.is_cancelled(), "{flavour}");
            assert!(task.cancelled(), "{flavour}");
            let nested = nested_slot.lock().unwrap().clone().unwrap();
            assert!(nested.cancelled(), "{flavour}");
            assert!(fut.cancelled(), "{flavour}");
            Ok(())
        });
    }
}

/// Forwarding through a chain of three awaiting tasks: `a` awaits `b`
/// awaits `c`. Cancelling `a` reaches `c` at once; every counter is 1, all
/// end cancelled, and each sees the message with `cancelling()==1`.
/// Checked on CPython 3.13.0. Current-thread ("at once").
#[test]
fn chain_of_three_forwards_immediately() {
    let rt = current_thread();
    block(&rt, async {
        let log = Log::new();
        let c = ravel::spawn(sleeper("c", log.clone()));
        let c_ref = c.as_task_ref().clone();
        let b = ravel::spawn(awaiter("b", c, log.clone(), None));
        let b_ref = b.as_task_ref().clone();
        let mut a = ravel::spawn(awaiter("a", b, log.clone(), None));
        ravel::yield_now().await?;

        assert!(a.cancel_with("x"));
        assert_eq!((a.cancelling(), b_ref.cancelling(), c_ref.cancelling()), (1, 1, 1));
        assert!(!c_ref.done());

        let err = (&mut a).await.unwrap_err();
        assert_eq!(err.cancel_message(), Some("x"));
        assert!(a.cancelled() && b_ref.cancelled() && c_ref.cancelled());
        assert_eq!(log.events(), ["c:x:1", "b:x:1", "a:x:1"]);
        Ok(())
    });
}

/// Chain of three where the innermost task catches the cancellation and
/// returns 7: the value flows back up, no task ends cancelled, and each
/// counter stays 1 (the forwarded request was counted on every task).
/// Checked on CPython 3.13.0: `True 1 1 1`, then `9 False False False`.
#[test]
fn chain_of_three_innermost_catches() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let log = Log::new();
            let started = Promise::<()>::new();
            let (s, l) = (started.clone(), log.clone());
            let c = ravel::spawn(async move {
                s.set_result(())?;
                match ravel::sleep(LONG).await {
                    Err(e) if e.is_cancelled() => {
                        let n = ravel::current_task().unwrap().cancelling();
                        l.push(format!("c:{}:{n}", e.cancel_message().unwrap_or("-")));
                        Ok(7)
                    }
                    other => panic!("expected a cancellation, got {other:?}"),
                }
            });
            let c_ref = c.as_task_ref().clone();
            let b_started = Promise::<()>::new();
            let b = ravel::spawn(awaiter("b", c, log.clone(), Some(b_started.clone())));
            let b_ref = b.as_task_ref().clone();
            let a_started = Promise::<()>::new();
            let mut a = ravel::spawn(awaiter("a", b, log.clone(), Some(a_started.clone())));
            // All three bodies have started (a task cancelled before its first
            // step would never await, so never forward). Whether `a` and `b`
            // are already suspended or only about to await, the cancel is
            // forwarded down the chain when they get there.
            started.await?;
            b_started.await?;
            a_started.await?;
            assert!(a.cancel_with("x"));
            assert_eq!((&mut a).await.unwrap(), 9, "{flavour}");
            assert!(!a.cancelled() && !b_ref.cancelled() && !c_ref.cancelled(), "{flavour}");
            assert_eq!((a.cancelling(), b_ref.cancelling(), c_ref.cancelling()), (1, 1, 1), "{flavour}");
            assert_eq!(log.events(), ["c:x:1", "b:ok:7", "a:ok:8"], "{flavour}");
            Ok(())
        });
    }
}

/// When the awaited task is already done (its result is on the way to the
/// awaiter), it refuses the forwarded cancel, so the awaiter gets the
/// cancellation itself and inner's result is not seen.
/// Checked on CPython 3.13.0 (`o.cancel('late')` after inner finished:
/// `i.cancelling()==0`, outer raises `('late',)`). Current-thread.
#[test]
fn forward_refused_by_done_task_delivers_to_awaiter() {
    let rt = current_thread();
    block(&rt, async {
        let gate = Promise::<()>::new();
        let g = gate.clone();
        let i = ravel::spawn(async move {
            g.await?;
            Ok(5)
        });
        let i_ref = i.as_task_ref().clone();
        let log = Log::new();
        let mut o = ravel::spawn(awaiter("outer", i, log.clone(), None));
        ravel::yield_now().await?;
        gate.set_result(())?;
        ravel::yield_now().await?; // inner completes; outer not yet resumed
        assert!(i_ref.done());
        assert!(!o.done());
        assert!(o.cancel_with("late"));
        assert_eq!(o.cancelling(), 1);
        assert_eq!(i_ref.cancelling(), 0, "a done task refuses the forwarded cancel");
        let err = (&mut o).await.unwrap_err();
        assert_eq!(err.cancel_message(), Some("late"));
        assert!(o.cancelled());
        assert!(!i_ref.cancelled());
        assert_eq!(log.events(), ["outer:late:1"]);
        Ok(())
    });
}

/// `wait_done()` does not forward the cancellation (unlike awaiting the
/// `Task`): the waiter is cancelled, the task it watched runs on.
/// Ravel API (`TaskRef::wait_done`).
#[test]
fn wait_done_does_not_forward() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let gate = Promise::<()>::new();
            let g = gate.clone();
            let mut inner = ravel::spawn(async move {
                g.await?;
                Ok(5)
            });
            let watched = inner.as_task_ref().clone();
            let o_started = Promise::<()>::new();
            let os = o_started.clone();
            let mut o = ravel::spawn(async move {
                os.set_result(())?;
                watched.wait_done().await
            });
            o_started.await?;
            assert!(o.cancel_with("w"));
            let err = (&mut o).await.unwrap_err();
            assert_eq!(err.cancel_message(), Some("w"), "{flavour}");
            assert_eq!(inner.cancelling(), 0, "{flavour}");
            assert!(!inner.done(), "{flavour}");
            assert!(!gate.done(), "{flavour}");
            gate.set_result(())?;
            assert_eq!((&mut inner).await.unwrap(), 5, "{flavour}");
            Ok(())
        });
    }
}

/// A task that polled a join once (a losing `select!` branch) and moved on
/// is no longer waiting on it: `cancel()` reaches the task's current await,
/// not the stale join (asyncio clears `_fut_waiter` at every step).
#[test]
fn stale_waiter_is_not_forwarded_to() {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// Polls the inner future once and is done, whatever it returned.
    struct PollOnce<'a, F>(&'a mut F);
    impl<F: Future + Unpin> Future for PollOnce<'_, F> {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let _ = Pin::new(&mut *self.0).poll(cx);
            Poll::Ready(())
        }
    }

    for (flavour, rt) in both() {
        let out = rt
            .block_on(async move {
                let b = ravel::spawn(async {
                    ravel::sleep(Duration::from_secs(3600)).await?;
                    Ok(())
                });
                let b_ref = b.as_task_ref().clone();
                let started = ravel::Promise::new();
                let s = started.clone();
                let outer = ravel::spawn(async move {
                    let mut b = b;
                    PollOnce(&mut b).await; // registers b as the waiter, once
                    s.set_result(())?;
                    let r = ravel::sleep(Duration::from_secs(3600)).await;
                    drop(b);
                    r
                });
                started.clone().await?;
                assert!(outer.cancel());
                let err = outer.await.unwrap_err();
                ravel::yield_now().await?;
                Ok((err.is_cancelled(), b_ref.cancelling(), b_ref.cancelled()))
            })
            .unwrap();
        assert_eq!(out, (true, 0, false), "{flavour}: the outer sleep is cancelled, b is not");
    }
}
