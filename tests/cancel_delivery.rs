//! Delivery of a cancellation at the next Ravel await, the "leaf rule"
//! (asyncio-semantics §2.A: A06, A10, A18), and `ravel::cancellable` on
//! foreign futures.

use ravel::Promise;
use ravel_tests::block;
use ravel_tests::{both, current_thread, Log};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

const LONG: Duration = Duration::from_secs(10);

/// A06: the task catches the cancellation of its sleep and returns a value:
/// `await t` gives 42, `cancelled()` is false, and `cancelling()` stays 1.
/// asyncio checks `fut.cancelled()` on the sleep's internal future right
/// after `t.cancel()`; Ravel's sleep has no such object, so we assert the
/// observable consequence instead: the 10 s sleep ends promptly.
/// CPython: `test_tasks.py::test_cancel_task_catching`.
#[test]
fn a06_catch_and_return() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let started = Promise::<()>::new();
            let s = started.clone();
            let mut t = ravel::spawn(async move {
                s.set_result(())?;
                match ravel::sleep(LONG).await {
                    Err(e) if e.is_cancelled() => Ok(42),
                    other => panic!("expected a cancellation, got {other:?}"),
                }
            });
            started.await?;
            let before = Instant::now();
            assert!(t.cancel(), "{flavour}");
            assert_eq!((&mut t).await.unwrap(), 42, "{flavour}");
            assert!(before.elapsed() < Duration::from_secs(5), "{flavour}: the sleep was interrupted");
            assert!(!t.cancelled(), "{flavour}");
            assert!(t.done(), "{flavour}");
            assert_eq!(t.cancelling(), 1, "{flavour}: catching does not reset the counter");
            Ok(())
        });
    }
}

/// A10: a task cancels itself, then sleeps: the sleep returns the
/// cancellation at once, and the task ends cancelled; `cancel()` is then
/// false. (asyncio asserts `_must_cancel` before/after; the observable
/// consequences are the prompt delivery at the next await and, in
/// `a10_self_cancel_delivered_once`, that it is delivered only once.)
/// CPython: `test_tasks.py::test_cancel_current_task`.
#[test]
fn a10_self_cancel_then_await() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let log = Log::new();
            let l = log.clone();
            let mut t = ravel::spawn(async move {
                let me = ravel::current_task().unwrap();
                assert!(me.cancel());
                l.push("before sleep");
                ravel::sleep(Duration::from_secs(100)).await?;
                l.push("after sleep");
                Ok(12)
            });
            let before = Instant::now();
            let err = (&mut t).await.unwrap_err();
            assert!(before.elapsed() < Duration::from_secs(5), "{flavour}");
            assert!(err.is_cancelled(), "{flavour}");
            assert!(t.done() && t.cancelled(), "{flavour}");
            assert!(!t.cancel(), "{flavour}");
            assert_eq!(log.events(), ["before sleep"], "{flavour}");
            Ok(())
        });
    }
}

/// A10, `_must_cancel` is False after delivery: observable as "delivered
/// exactly once": after catching it, further awaits complete normally.
/// CPython: `test_tasks.py::test_cancel_current_task` (white-box asserts
/// on `_must_cancel`).
#[test]
fn a10_self_cancel_delivered_once() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let mut t = ravel::spawn(async {
                let me = ravel::current_task().unwrap();
                me.cancel_with("self");
                let first = ravel::sleep(Duration::from_secs(100)).await.unwrap_err();
                assert_eq!(first.cancel_message(), Some("self"));
                ravel::yield_now().await?;
                ravel::sleep(Duration::from_millis(1)).await?;
                Ok("after")
            });
            assert_eq!((&mut t).await.unwrap(), "after", "{flavour}");
            assert!(!t.cancelled(), "{flavour}");
            assert_eq!(t.cancelling(), 1, "{flavour}");
            Ok(())
        });
    }
}

/// A10: after a self-cancel, awaiting leaves that are already done does not
/// raise (asyncio does not suspend on a done future); the cancellation,
/// with its message, arrives at the first real suspension.
/// Spec case A10 (✔ on CPython 3.13.0).
#[test]
fn a10_done_leaves_do_not_deliver() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let finished = ravel::spawn(async { Ok(9) });
            finished.wait_done().await?;
            let mut t = ravel::spawn(async move {
                let mut finished = finished;
                let ready = Promise::new();
                ready.set_result(3)?;
                ravel::current_task().unwrap().cancel_with("m");
                assert_eq!(ready.clone().await?, 3, "done promise");
                assert_eq!((&mut finished).await?, 9, "done task");
                finished.wait_done().await?;
                assert_eq!(ravel::cancellable(std::future::ready(4)).await?, 4, "ready foreign future");
                match ravel::yield_now().await {
                    Err(e) if e.is_cancelled() => Ok(e.cancel_message().map(str::to_string)),
                    other => panic!("expected the cancellation at the first suspension, got {other:?}"),
                }
            });
            assert_eq!((&mut t).await.unwrap().as_deref(), Some("m"), "{flavour}");
            assert!(!t.cancelled(), "{flavour}");
            Ok(())
        });
    }
}

/// A18: `except CE: pass`, then more awaits, which behave normally; the
/// result is returned, `cancelled()` is false, `cancelling()` stays 1.
/// asyncio's white-box `_fut_waiter is fut2` checks become: `t.cancel()`
/// cancels the promise the task is awaiting (fut2) synchronously, and the
/// later promise (fut3) is left alone.
/// CPython: `test_tasks.py::test_cancel_task_ignoring`. Current-thread
/// (run_briefly steps).
#[test]
fn a18_ignore_cancellation_and_carry_on() {
    let rt = current_thread();
    block(&rt, async {
        let (fut1, fut2, fut3) = (Promise::<()>::new(), Promise::<()>::new(), Promise::<u32>::new());
        let (f1, f2, f3) = (fut1.clone(), fut2.clone(), fut3.clone());
        let mut t = ravel::spawn(async move {
            f1.await?;
            match f2.await {
                Err(e) if e.is_cancelled() => {}
                other => panic!("expected a cancellation, got {other:?}"),
            }
            f3.await
        });
        ravel::yield_now().await?;
        fut1.set_result(())?;
        ravel::yield_now().await?;
        assert!(!fut2.done());
        assert!(t.cancel());
        assert!(fut2.cancelled(), "the awaited promise is cancelled synchronously");
        ravel::yield_now().await?;
        assert!(!t.done());
        fut3.set_result(42)?;
        assert_eq!((&mut t).await.unwrap(), 42);
        assert!(!fut3.cancelled());
        assert!(!t.cancelled());
        assert_eq!(t.cancelling(), 1);
        Ok(())
    });
}

/// A18 on both flavours: swallow the cancellation of a sleep, then keep
/// awaiting (yields, a short sleep, a child task) and return normally.
/// CPython: `test_tasks.py::test_cancel_task_ignoring`.
#[test]
fn a18_ignore_then_more_awaits_both_flavours() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let started = Promise::<()>::new();
            let s = started.clone();
            let mut t = ravel::spawn(async move {
                s.set_result(())?;
                if let Err(e) = ravel::sleep(LONG).await {
                    assert!(e.is_cancelled());
                }
                for _ in 0..3 {
                    ravel::yield_now().await?;
                }
                ravel::sleep(Duration::from_millis(1)).await?;
                let child = ravel::spawn(async { Ok(7) });
                Ok(child.await? * 6)
            });
            started.await?;
            assert!(t.cancel());
            assert_eq!((&mut t).await.unwrap(), 42, "{flavour}");
            assert!(!t.cancelled(), "{flavour}");
            assert_eq!(t.cancelling(), 1, "{flavour}");
            Ok(())
        });
    }
}

/// `ravel::cancellable` makes a foreign future that never wakes
/// (`std::future::pending`) a delivery point: the cancel ends the wait,
/// with the message.
/// Ravel API (`cancellable`); the asyncio analogue is any awaited future.
#[test]
fn cancellable_pending_foreign_future() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let started = Promise::<()>::new();
            let s = started.clone();
            let mut t = ravel::spawn(async move {
                s.set_result(())?;
                ravel::cancellable(std::future::pending::<()>()).await?;
                Ok(())
            });
            started.await?;
            assert!(t.cancel_with("stop"));
            let err = (&mut t).await.unwrap_err();
            assert!(err.is_cancelled(), "{flavour}");
            assert_eq!(err.cancel_message(), Some("stop"), "{flavour}");
            assert!(t.cancelled(), "{flavour}");
            Ok(())
        });
    }
}

/// Without `cancellable`, a foreign future cannot see the cancellation: the
/// task stays blocked (the request is counted but not delivered). Abort is
/// what stops it.
/// Ravel API (`cancellable` docs).
#[test]
fn foreign_future_without_cancellable_is_not_interrupted() {
    let rt = current_thread();
    block(&rt, async {
        let mut t = ravel::spawn(async {
            std::future::pending::<()>().await;
            Ok(())
        });
        ravel::yield_now().await?;
        assert!(t.cancel());
        for _ in 0..10 {
            ravel::yield_now().await?;
        }
        assert!(!t.done(), "the foreign future never sees the cancellation");
        assert_eq!(t.cancelling(), 1);
        t.abort();
        let err = (&mut t).await.unwrap_err();
        assert!(err.is_aborted());
        Ok(())
    });
}

/// A foreign future whose readiness is controlled by the test.
#[derive(Clone, Default)]
struct Gate(Arc<Mutex<(bool, Option<Waker>)>>);

impl Gate {
    fn open(&self) {
        let mut g = self.0.lock().unwrap();
        g.0 = true;
        if let Some(w) = g.1.take() {
            w.wake();
        }
    }
}

impl Future for Gate {
    type Output = &'static str;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        let mut g = self.0.lock().unwrap();
        if g.0 {
            Poll::Ready("opened")
        } else {
            g.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// Leaf rule for `cancellable`: once the wrapped future has suspended, a
/// pending cancellation wins over the value it is ready with on resumption
/// (asyncio: `__step` throws CE although the awaited future has a result).
/// Current-thread (open and cancel must both happen before the task runs).
#[test]
fn cancellable_resumed_with_value_and_pending_cancel_delivers_cancel() {
    let rt = current_thread();
    block(&rt, async {
        let gate = Gate::default();
        let g = gate.clone();
        let mut t = ravel::spawn(async move { ravel::cancellable(g).await });
        ravel::yield_now().await?; // suspended inside the gate
        gate.open();
        assert!(t.cancel_with("late"));
        let err = (&mut t).await.unwrap_err();
        assert_eq!(err.cancel_message(), Some("late"));
        assert!(t.cancelled());
        Ok(())
    });
}

/// Leaf rule for `cancellable`: a wrapped future ready on its first poll
/// returns its value even with a cancellation pending; the next suspension
/// delivers.
#[test]
fn cancellable_ready_on_first_poll_returns_value() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let gate = Gate::default();
            gate.open();
            let mut t = ravel::spawn(async move {
                ravel::current_task().unwrap().cancel();
                let v = ravel::cancellable(gate).await?;
                let again = ravel::cancellable(std::future::pending::<()>()).await;
                assert!(again.unwrap_err().is_cancelled());
                Ok(v)
            });
            assert_eq!((&mut t).await.unwrap(), "opened", "{flavour}");
            Ok(())
        });
    }
}
