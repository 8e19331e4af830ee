//! `ravel::Promise` (asyncio `Future`) and cancellation of a task waiting on
//! one (asyncio-semantics §2.A: A12; §1.1 done callbacks; §1.2 forwarding).

use ravel::{Error, Promise};
use ravel_tests::block;
use ravel_tests::{both, current_thread, Log};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// A12: cancelling a task that waits on a promise cancels the promise
/// synchronously, then the task raises CE.
/// asyncio asserts `t._fut_waiter is fut` before and `None` after; the
/// observable consequences: `t.cancel()` cancels exactly that promise at
/// once, and once the task has moved on to another promise, a second
/// cancel reaches the new one (not the old one).
/// CPython: `test_tasks.py::test_task_cancel_waiter_future`. Current-thread.
#[test]
fn a12_cancel_while_waiting_on_promise() {
    let rt = current_thread();
    block(&rt, async {
        let fut = Promise::<u32>::new();
        let f = fut.clone();
        let mut t = ravel::spawn(f);
        ravel::yield_now().await?;
        assert!(!fut.done());
        assert!(t.cancel());
        assert!(fut.cancelled(), "the awaited promise is cancelled synchronously by t.cancel()");
        let err = (&mut t).await.unwrap_err();
        assert!(err.is_cancelled());
        assert!(t.cancelled());
        assert!(fut.cancelled());
        Ok(())
    });
}

/// A12, waiter tracking: after catching the first cancellation the task
/// awaits a second promise; a second cancel cancels the second promise.
/// CPython: `test_tasks.py::test_task_cancel_waiter_future` (the
/// `_fut_waiter` white-box asserts). Current-thread.
#[test]
fn a12_waiter_follows_the_current_await() {
    let rt = current_thread();
    block(&rt, async {
        let (p1, p2) = (Promise::<u32>::new(), Promise::<u32>::new());
        let (f1, f2) = (p1.clone(), p2.clone());
        let mut t = ravel::spawn(async move {
            let first = f1.await.unwrap_err();
            assert!(first.is_cancelled());
            f2.await
        });
        ravel::yield_now().await?;
        assert!(t.cancel_with("one"));
        assert!(p1.cancelled() && !p2.done());
        ravel::yield_now().await?; // t catches and awaits p2
        assert!(t.cancel_with("two"));
        assert!(p2.cancelled(), "the second cancel goes to the promise awaited now");
        assert_eq!(p1.result().unwrap_err().cancel_message(), Some("one"));
        assert_eq!(p2.result().unwrap_err().cancel_message(), Some("two"));
        let err = (&mut t).await.unwrap_err();
        assert_eq!(err.cancel_message(), Some("two"));
        assert_eq!(t.cancelling(), 2);
        Ok(())
    });
}

/// A task cancelled while awaiting a promise cancels the promise with the
/// message; another task awaiting the same promise then sees CE too, and
/// ends cancelled with `cancelling()==0` (asyncio A13: the future, not the
/// task, was cancelled).
/// CPython: `test_tasks.py::test_task_cancel_waiter_future`, `test_cancel_inner_future`.
#[test]
fn task_cancelled_while_awaiting_cancels_promise() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let p = Promise::<String>::new();
            let started = Promise::<()>::new();
            let (p1, s) = (p.clone(), started.clone());
            let mut t = ravel::spawn(async move {
                s.set_result(())?;
                p1.await
            });
            let p2 = p.clone();
            let mut other = ravel::spawn(p2);
            started.await?;
            assert!(t.cancel_with("bye"));
            let err = (&mut t).await.unwrap_err();
            assert_eq!(err.cancel_message(), Some("bye"), "{flavour}");
            assert!(p.cancelled(), "{flavour}");
            assert_eq!(p.result().unwrap_err().cancel_message(), Some("bye"), "{flavour}");
            let err = (&mut other).await.unwrap_err();
            assert!(err.is_cancelled(), "{flavour}");
            assert_eq!(err.cancel_message(), Some("bye"), "{flavour}");
            assert!(other.cancelled(), "{flavour}");
            assert_eq!(other.cancelling(), 0, "{flavour}: the promise was cancelled, not the task");
            Ok(())
        });
    }
}

/// Completing a done promise again is an invalid-state error; `cancel()` on
/// a done promise returns false (asyncio `Future.cancel` returns False);
/// the first outcome stays.
/// CPython: `test_futures.py::test_exception`/`test_result`/`test_cancel`
/// (InvalidStateError on a second set_result/set_exception).
#[test]
fn complete_twice_is_invalid_state() {
    // Set first.
    let p = Promise::<u32>::new();
    assert!(p.set_result(1).is_ok());
    assert!(p.set_result(2).unwrap_err().is_invalid_state());
    assert!(p.set_exception(Error::msg("late")).unwrap_err().is_invalid_state());
    assert!(!p.cancel());
    assert!(!p.cancel_with("late"));
    assert_eq!(p.result().unwrap(), 1);
    assert!(!p.cancelled());

    // Failed first.
    let p = Promise::<u32>::new();
    assert!(p.set_exception(Error::msg("first")).is_ok());
    assert!(p.set_exception(Error::msg("second")).unwrap_err().is_invalid_state());
    assert!(p.set_result(2).unwrap_err().is_invalid_state());
    assert!(!p.cancel());
    assert_eq!(p.result().unwrap_err().to_string(), "first");

    // Cancelled first.
    let p = Promise::<u32>::new();
    assert!(p.cancel_with("c"));
    assert!(!p.cancel(), "a second cancel returns false");
    assert!(p.set_result(2).unwrap_err().is_invalid_state());
    assert!(p.set_exception(Error::msg("x")).unwrap_err().is_invalid_state());
    assert!(p.cancelled());
    assert_eq!(p.result().unwrap_err().cancel_message(), Some("c"));
}

/// `result()` / `exception()` in each state: pending (invalid state),
/// value, failed, cancelled (with and without message).
/// CPython: `test_futures.py::test_result`, `test_exception`, `test_cancel`.
#[test]
fn result_and_exception_states() {
    let p = Promise::<u32>::new();
    assert!(!p.done() && !p.cancelled());
    assert!(p.result().unwrap_err().is_invalid_state());
    assert!(p.exception().unwrap_err().is_invalid_state());

    p.set_result(7).unwrap();
    assert!(p.done() && !p.cancelled());
    assert_eq!(p.result().unwrap(), 7);
    assert_eq!(p.result().unwrap(), 7, "result() can be read many times");
    assert!(p.exception().unwrap().is_none());

    let p = Promise::<u32>::new();
    p.set_exception(Error::msg("boom")).unwrap();
    assert!(p.done() && !p.cancelled());
    let err = p.result().unwrap_err();
    assert!(!err.is_cancelled());
    assert_eq!(err.to_string(), "boom");
    assert_eq!(p.exception().unwrap().unwrap().to_string(), "boom");

    let p = Promise::<u32>::new();
    assert!(p.cancel());
    assert!(p.done() && p.cancelled());
    let err = p.result().unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(err.cancel_message(), None);
    let err = p.exception().unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(err.cancel_message(), None);

    let p = Promise::<u32>::new();
    assert!(p.cancel_with("msg"));
    assert_eq!(p.result().unwrap_err().cancel_message(), Some("msg"));
    assert_eq!(p.exception().unwrap_err().cancel_message(), Some("msg"));
}

/// A promise awaited by several tasks gives each a clone of the value; an
/// error reaches all of them too.
/// CPython: `test_futures.py` (a future may be awaited by many).
#[test]
fn awaited_by_several_tasks() {
    for (flavour, rt) in both() {
        let got = block(&rt, async {
            let p = Promise::<String>::new();
            let tasks: Vec<_> = (0..3)
                .map(|_| {
                    let p = p.clone();
                    ravel::spawn(p)
                })
                .collect();
            ravel::yield_now().await?;
            p.set_result("v".to_string())?;
            let mut out = vec![p.clone().await?];
            for t in tasks {
                out.push(t.await?);
            }
            Ok(out)
        });
        assert_eq!(got, ["v", "v", "v", "v"], "{flavour}");

        let got = block(&rt, async {
            let p = Promise::<u32>::new();
            let tasks: Vec<_> = (0..3)
                .map(|_| {
                    let p = p.clone();
                    ravel::spawn(p)
                })
                .collect();
            ravel::yield_now().await?;
            p.set_exception(Error::msg("bad"))?;
            let mut out = Vec::new();
            for t in tasks {
                let err = t.await.unwrap_err();
                assert!(!err.is_cancelled());
                out.push(err.to_string());
            }
            Ok(out)
        });
        assert_eq!(got, ["bad", "bad", "bad"], "{flavour}");
    }
}

/// A promise set from another `std::thread` wakes the task awaiting it; an
/// error set from another thread arrives too; done callbacks run on the
/// runtime, not inline on the setting thread.
/// Ravel API (`Promise` docs: "set later, from any thread").
#[test]
fn set_from_another_thread() {
    for (flavour, rt) in both() {
        let (value, cb_thread, setter_thread) = block(&rt, async {
            let p = Promise::<u32>::new();
            let cb_thread = Arc::new(Mutex::new(None));
            let c = cb_thread.clone();
            let cb_done = Promise::<()>::new();
            let d = cb_done.clone();
            p.add_done_callback(move |_| {
                *c.lock().unwrap() = Some(std::thread::current().id());
                d.set_result(()).unwrap();
            });
            let (go_tx, go_rx) = mpsc::channel::<()>();
            let setter = p.clone();
            let thread = std::thread::spawn(move || {
                go_rx.recv().unwrap();
                setter.set_result(11).unwrap();
                std::thread::current().id()
            });
            let waiter = p.clone();
            let t = ravel::spawn(waiter);
            ravel::yield_now().await?; // t is suspended on p
            go_tx.send(()).unwrap();
            let value = t.await?;
            let setter_thread = thread.join().unwrap();
            cb_done.await?;
            let cb_thread = cb_thread.lock().unwrap().unwrap();
            Ok((value, cb_thread, setter_thread))
        });
        assert_eq!(value, 11, "{flavour}");
        assert_ne!(cb_thread, setter_thread, "{flavour}: the callback ran on the runtime");

        let err = block(&rt, async {
            let p = Promise::<u32>::new();
            let setter = p.clone();
            let waiter = p.clone();
            let t = ravel::spawn(waiter);
            ravel::yield_now().await?;
            std::thread::spawn(move || setter.set_exception(Error::msg("remote")).unwrap()).join().unwrap();
            Ok(t.await.unwrap_err())
        });
        assert_eq!(err.to_string(), "remote", "{flavour}");
    }
}

/// Done callbacks are scheduled (asyncio `call_soon`), never run inline by
/// `set_result`; they have run one tick later. Same when added to a promise
/// that is already done.
/// CPython: `test_futures.py::test_callbacks_invoked_on_set_result`,
/// asyncio-semantics §1.1; order checked on CPython 3.13.0
/// (`['after', 'cb', 'tick']`). Current-thread.
#[test]
fn done_callbacks_run_after_not_inline() {
    let rt = current_thread();
    let events = block(&rt, async {
        let log = Log::new();
        let p = Promise::<u32>::new();
        let l = log.clone();
        p.add_done_callback(move |p| l.push(format!("cb:{}", p.result().unwrap())));
        p.set_result(1)?;
        log.push("after set");
        ravel::yield_now().await?;
        log.push("tick");

        let l = log.clone();
        p.add_done_callback(move |_| l.push("cb on done"));
        log.push("after add");
        ravel::yield_now().await?;
        log.push("tick 2");
        Ok(log.events())
    });
    assert_eq!(events, ["after set", "cb:1", "tick", "after add", "cb on done", "tick 2"]);
}

/// Callbacks run for every outcome and see it (value, error, cancelled).
/// CPython: `test_futures.py::test_callbacks_invoked_on_set_result`,
/// `test_callbacks_invoked_on_set_exception`, `test_cancel`.
#[test]
fn done_callbacks_see_the_outcome() {
    for (flavour, rt) in both() {
        let seen = block(&rt, async {
            let mut seen = Vec::new();
            for outcome in ["value", "error", "cancel"] {
                let p = Promise::<u32>::new();
                let reported = Promise::<String>::new();
                let r = reported.clone();
                p.add_done_callback(move |p| {
                    let what = match p.result() {
                        Ok(v) => format!("value {v}"),
                        Err(e) if e.is_cancelled() => format!("cancelled {}", p.cancelled()),
                        Err(e) => format!("error {e}"),
                    };
                    r.set_result(what).unwrap();
                });
                match outcome {
                    "value" => p.set_result(3)?,
                    "error" => p.set_exception(Error::msg("e"))?,
                    _ => assert!(p.cancel()),
                }
                seen.push(reported.await?);
            }
            Ok(seen)
        });
        assert_eq!(seen, ["value 3", "error e", "cancelled true"], "{flavour}");
    }
}

/// A removed callback never runs; removing it again returns false.
/// Callbacks run in registration order (asyncio FIFO), so once the last
/// callback has run, the removed one would have too: current-thread.
/// CPython: `test_futures.py::test_remove_done_callback`.
#[test]
fn remove_done_callback() {
    let rt = current_thread();
    let events = block(&rt, async {
        let log = Log::new();
        let p = Promise::<u32>::new();
        let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
        p.add_done_callback(move |_| l1.push("first"));
        let removed = p.add_done_callback(move |_| l2.push("removed ran"));
        p.add_done_callback(move |_| l3.push("last"));
        assert!(p.remove_done_callback(removed));
        assert!(!p.remove_done_callback(removed), "already removed");
        p.set_result(1)?;
        ravel::yield_now().await?;
        Ok(log.events())
    });
    assert_eq!(events, ["first", "last"]);
}

/// A failed promise dropped with nobody having looked at its error is
/// reported to the unhandled-error hook ("Future exception was never
/// retrieved", as asyncio logs); one whose error was awaited is not.
/// CPython: `test_futures.py::test_tb_logger_exception_unretrieved`.
#[test]
fn unretrieved_promise_error_is_reported() {
    for (flavour, rt, reports) in ravel_tests::both_with_hook() {
        rt.block_on(async {
            let seen = Promise::<u32>::new();
            seen.set_exception(ravel::Error::msg("looked at"))?;
            assert!(seen.clone().await.is_err());
            drop(seen);
            let unseen = Promise::<u32>::new();
            unseen.set_exception(ravel::Error::msg("nobody looked"))?;
            drop(unseen);
            Ok(())
        })
        .unwrap();
        let report = reports.recv_timeout(std::time::Duration::from_secs(5)).expect("a report");
        assert_eq!(report.message(), "Future exception was never retrieved", "{flavour}");
        assert_eq!(report.task_id(), None);
        assert_eq!(report.error().to_string(), "nobody looked");
        assert!(reports.try_recv().is_err(), "{flavour}: the retrieved error is not reported");
    }
}
