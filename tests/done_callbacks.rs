//! Done callbacks: `TaskRef::add_done_callback` / `remove_done_callback`
//! (asyncio `Future.add_done_callback`, run through `call_soon`).

use ravel::{Error, Promise, TaskRef};
use ravel_tests::{both, current_thread, Log};

/// Callbacks run once each, after the task is done, in the order they were
/// added, and see the finished task (value, error or cancellation).
/// CPython: `test_futures.py::BaseFutureDoneCallbackTests::test_callbacks_invoked_on_set_result`,
/// `test_callbacks_invoked_on_set_exception`.
#[test]
fn callbacks_run_after_completion_in_order() {
    for (flavour, rt) in both() {
        let log = Log::new();
        let l = log.clone();
        rt.block_on(async move {
            let gate: Promise<()> = Promise::new();
            let g = gate.clone();
            let ok = ravel::spawn(async move { g.await.map(|_| 1) });
            let failed = ravel::spawn(async { Err::<(), _>(Error::msg("boom")) });
            let all_ran: Promise<()> = Promise::new();
            for i in 1..=3 {
                let l = l.clone();
                ok.add_done_callback(move |t: &TaskRef| {
                    l.push(format!("ok cb{i} done={} exc={:?}", t.done(), t.exception().map(|e| e.is_some())))
                });
            }
            let l2 = l.clone();
            let failed_ran: Promise<()> = Promise::new();
            let failed_done = failed_ran.clone();
            failed.add_done_callback(move |t| {
                let e = t.exception().unwrap().unwrap();
                l2.push(format!("failed cb: {e}"));
                let _ = failed_done.set_result(());
            });
            failed.wait_done().await?;
            let done = all_ran.clone();
            ok.add_done_callback(move |_| {
                let _ = done.set_result(());
            });
            assert!(l.events().iter().all(|e| !e.starts_with("ok")), "{flavour}: nothing before completion");
            gate.set_result(())?;
            all_ran.await?;
            // On the multi-thread runtime the failed task's callback may run
            // on another worker after the root resumed: wait for it too.
            failed_ran.await?;
            assert_eq!(ok.await?, 1);
            Ok(())
        })
        .unwrap();
        let events = log.events();
        let ok_events: Vec<_> = events.iter().filter(|e| e.starts_with("ok")).cloned().collect();
        assert_eq!(
            ok_events,
            ["ok cb1 done=true exc=Ok(false)", "ok cb2 done=true exc=Ok(false)", "ok cb3 done=true exc=Ok(false)"],
            "{flavour}"
        );
        assert!(events.contains(&"failed cb: boom".to_string()), "{flavour}: {events:?}");
    }
}

/// A callback on a cancelled task sees it cancelled.
/// CPython: `test_tasks.py::BaseTaskTests::test_cancel` (done callbacks of a
/// cancelled task run); `test_futures.py::BaseFutureTests::test_cancel`.
#[test]
fn callback_sees_cancelled_task() {
    for (flavour, rt) in both() {
        let seen = rt
            .block_on(async {
                let child = ravel::spawn(ravel::sleep(std::time::Duration::from_secs(10)));
                let seen: Promise<(bool, bool)> = Promise::new();
                let s = seen.clone();
                child.add_done_callback(move |t| {
                    let _ = s.set_result((t.cancelled(), t.exception().unwrap_err().is_cancelled()));
                });
                child.cancel();
                assert!(child.await.unwrap_err().is_cancelled());
                seen.await
            })
            .unwrap();
        assert_eq!(seen, (true, true), "{flavour}");
    }
}

/// `remove_done_callback` removes a callback not yet run (true), reports a
/// second removal or an unknown id as false, and a removed callback never
/// runs; removing the first, second or third of three leaves the others in
/// order.
/// CPython: `test_futures.py::BaseFutureDoneCallbackTests::test_remove_done_callback`,
/// `test_callbacks_remove_first_callback`, `test_callbacks_remove_third_callback`.
#[test]
fn remove_done_callback() {
    for (flavour, rt) in both() {
        for removed in 0..3 {
            let log = Log::new();
            let l = log.clone();
            rt.block_on(async move {
                let gate: Promise<()> = Promise::new();
                let g = gate.clone();
                let child = ravel::spawn(g);
                let ids: Vec<_> = (1..=3)
                    .map(|i| {
                        let l = l.clone();
                        child.add_done_callback(move |_| l.push(format!("cb{i}")))
                    })
                    .collect();
                assert!(child.remove_done_callback(ids[removed]), "{flavour}");
                assert!(!child.remove_done_callback(ids[removed]), "{flavour}: already removed");
                let last: Promise<()> = Promise::new();
                let lp = last.clone();
                child.add_done_callback(move |_| {
                    let _ = lp.set_result(());
                });
                gate.set_result(())?;
                last.await?;
                // Once run, a callback cannot be removed any more.
                let still_there = (removed + 1) % 3;
                assert!(!child.remove_done_callback(ids[still_there]), "{flavour}: already ran");
                child.await
            })
            .unwrap();
            let expected: Vec<String> = (1..=3).filter(|i| i - 1 != removed).map(|i| format!("cb{i}")).collect();
            assert_eq!(log.events(), expected, "{flavour}: removed cb{}", removed + 1);
        }
    }
}

/// A callback added to a task that is already done is scheduled, never run
/// inline: it has not run when `add_done_callback` returns and runs one
/// iteration later; several run in the order added.
/// CPython: spec section 1 item 1 ("`add_done_callback` on a done future"
/// goes through `call_soon`; checked on 3.13: `['cb2', 'cb3']` only after a tick).
#[test]
fn added_to_done_task_is_scheduled_not_inline() {
    let rt = current_thread();
    let log = Log::new();
    let l = log.clone();
    rt.block_on(async move {
        let mut child = ravel::spawn(async { Ok(()) });
        (&mut child).await?;
        assert!(child.done());
        for i in 1..=3 {
            let l = l.clone();
            child.add_done_callback(move |_| l.push(format!("cb{i}")));
        }
        l.push("added");
        ravel::yield_now().await?;
        l.push("after one tick");
        Ok(())
    })
    .unwrap();
    assert_eq!(log.events(), ["added", "cb1", "cb2", "cb3", "after one tick"]);

    // Both flavours: never inline (a callback run inside the call would see
    // this thread's IN_ADD flag), and it does run.
    thread_local! {
        static IN_ADD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    for (flavour, rt) in both() {
        let ran_inline = rt
            .block_on(async {
                let mut child = ravel::spawn(async { Ok(()) });
                (&mut child).await?;
                let ran: Promise<bool> = Promise::new();
                let r = ran.clone();
                IN_ADD.with(|f| f.set(true));
                child.add_done_callback(move |_| {
                    let _ = r.set_result(IN_ADD.with(|f| f.get()));
                });
                IN_ADD.with(|f| f.set(false));
                ran.await
            })
            .unwrap();
        assert!(!ran_inline, "{flavour}: not run inside add_done_callback");
    }
}

/// Completion does not run callbacks inline either: a callback added before
/// the parent awaits the child runs before the parent resumes (asyncio
/// queues the callbacks in the order they were added, the awaiter's wakeup
/// last).
/// CPython 3.13 prints `['child done', 'cb', 'parent resumed']` for this
/// scenario (spec section 1 item 1: "a task resumes one iteration after the
/// future it awaits completes").
#[test]
fn callback_added_before_await_runs_before_awaiter_resumes() {
    let rt = current_thread();
    let log = Log::new();
    let l = log.clone();
    rt.block_on(async move {
        let inner = l.clone();
        let child = ravel::spawn(async move {
            ravel::yield_now().await?;
            inner.push("child done");
            Ok(1)
        });
        let cb = l.clone();
        child.add_done_callback(move |_| cb.push("cb"));
        child.await?;
        l.push("parent resumed");
        Ok(())
    })
    .unwrap();
    assert_eq!(log.events(), ["child done", "cb", "parent resumed"]);
}
