//! B04 and timers: `ravel::sleep`, `sleep_until`, `yield_now`.

use ravel::{Promise, TaskRef};
use ravel_tests::{both, current_thread, Log};
use std::time::{Duration, Instant};

/// B04: `sleep(0)` is exactly one loop iteration: something queued just
/// before (asyncio `call_soon(cb)`; here a spawned task) has run when it
/// returns, but not what that queued in turn, and no timer is involved.
/// CPython: `test_tasks.py::SleepTests::test_sleep_zero`.
#[test]
fn b04_sleep_zero_is_one_iteration() {
    let rt = current_thread();
    let log = Log::new();
    let l = log.clone();
    rt.block_on(async move {
        let inner = l.clone();
        drop(ravel::spawn(async move {
            inner.push("cb");
            ravel::yield_now().await?;
            inner.push("cb again");
            Ok(())
        }));
        l.push("before sleep(0)");
        ravel::sleep(Duration::ZERO).await?;
        l.push("after sleep(0)");
        ravel::sleep(Duration::ZERO).await?;
        l.push("after second sleep(0)");
        Ok(())
    })
    .unwrap();
    assert_eq!(log.events(), ["before sleep(0)", "cb", "after sleep(0)", "cb again", "after second sleep(0)"]);
}

/// B04 with a done callback (asyncio's `call_soon` proper): a callback
/// queued before `sleep(0)` has run when it returns; `yield_now` is the same
/// one iteration.
/// CPython: `test_tasks.py::SleepTests::test_sleep_zero`.
#[test]
fn b04_callback_queued_before_sleep_zero_has_run() {
    let rt = current_thread();
    let log = Log::new();
    let l = log.clone();
    rt.block_on(async move {
        let mut done = ravel::spawn(async { Ok(10) });
        (&mut done).await?;
        let cb = l.clone();
        done.add_done_callback(move |_| cb.push("cb"));
        l.push("queued");
        ravel::sleep(Duration::ZERO).await?;
        l.push("after sleep(0)");
        let cb = l.clone();
        done.add_done_callback(move |_| cb.push("cb 2"));
        ravel::yield_now().await?;
        l.push("after yield_now");
        Ok(())
    })
    .unwrap();
    assert_eq!(log.events(), ["queued", "cb", "after sleep(0)", "cb 2", "after yield_now"]);
}

/// Timers fire in deadline order, not spawn order, on one worker, and
/// never early.
/// CPython: spec section 3 ("timers due in the same iteration run in `when`
/// order"); `test_tasks.py::SleepTests`.
#[test]
fn b04_sleeps_end_in_deadline_order() {
    let rt = current_thread();
    let log = Log::new();
    let l = log.clone();
    rt.block_on(async move {
        let mut tasks = Vec::new();
        for ms in [60u64, 20, 40, 0, 80] {
            let l = l.clone();
            tasks.push(ravel::spawn(async move {
                let start = Instant::now();
                ravel::sleep(Duration::from_millis(ms)).await?;
                assert!(start.elapsed() >= Duration::from_millis(ms), "{ms} ms sleep ended early");
                l.push(format!("{ms}"));
                Ok(())
            }));
        }
        for t in tasks {
            t.await?;
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(log.events(), ["0", "20", "40", "60", "80"]);
}

/// A `Duration::MAX` sleep neither overflows nor ends; cancelling the task
/// ends it with a cancellation carrying the message.
/// CPython: `test_tasks.py::BaseTaskTests::test_task_cancel_sleeping_task`
/// (a long sleep that gets cancelled).
#[test]
fn b04_duration_max_sleep_is_cancellable() {
    for (flavour, rt) in both() {
        let (err, cancelled, cancelling) = rt
            .block_on(async {
                let started: Promise<()> = Promise::new();
                let s = started.clone();
                let sleeper = ravel::spawn(async move {
                    s.set_result(())?;
                    ravel::sleep(Duration::MAX).await?;
                    Ok("woke up")
                });
                started.await?;
                ravel::yield_now().await?;
                assert!(!sleeper.done());
                assert!(sleeper.cancel_with("stop sleeping"));
                let tref: TaskRef = sleeper.as_task_ref().clone();
                let err = sleeper.await.unwrap_err();
                Ok((err, tref.cancelled(), tref.cancelling()))
            })
            .unwrap();
        assert!(err.is_cancelled(), "{flavour}: {err:?}");
        assert_eq!(err.cancel_message(), Some("stop sleeping"), "{flavour}");
        assert!(cancelled, "{flavour}");
        assert_eq!(cancelling, 1, "{flavour}");
    }
}

/// `sleep_until` a deadline in the past is ready on its first poll: it does
/// not yield, and (a leaf that is ready at once) returns `Ok` even with a
/// cancellation pending; the next suspending await delivers it.
/// Ravel's rule for leaves ("a leaf that is ready on its first poll returns
/// its value even if a cancel is pending"). Note: CPython's `sleep(d)` with
/// `d <= 0` always yields once (`__sleep0`); Ravel's `sleep_until` has no
/// asyncio counterpart and, by design, does not (only `sleep(ZERO)` yields).
#[test]
fn b04_sleep_until_past_is_ready() {
    let rt = current_thread();
    let log = Log::new();
    let l = log.clone();
    let out = rt.block_on(async move {
        let other = l.clone();
        let sibling = ravel::spawn(async move {
            other.push("sibling ran");
            Ok(())
        });
        let past = Instant::now() - Duration::from_secs(1);
        ravel::sleep_until(past).await?;
        l.push("past deadline passed without yielding");
        ravel::sleep_until(Instant::now()).await?;
        l.push("now deadline passed without yielding");
        // With a cancel pending, a ready leaf still returns its value.
        let me = ravel::current_task().unwrap();
        assert!(me.cancel_with("later"));
        let first = ravel::sleep_until(past).await;
        l.push(format!("past sleep with cancel pending: ok={}", first.is_ok()));
        let second = ravel::yield_now().await;
        let e = second.unwrap_err();
        l.push(format!("tick delivers: {:?}", e.cancel_message()));
        assert_eq!(me.uncancel(), 0);
        sibling.await?;
        Ok(())
    });
    out.unwrap();
    assert_eq!(
        log.events(),
        [
            "past deadline passed without yielding",
            "now deadline passed without yielding",
            "past sleep with cancel pending: ok=true",
            "tick delivers: Some(\"later\")",
            "sibling ran",
        ]
    );
}

/// `sleep(d)` waits at least `d` on both flavours, and `sleep(0)` with a
/// cancel pending delivers it (asyncio's bare `yield` resumes into
/// `_must_cancel`).
/// CPython: `test_tasks.py::BaseTaskTests::test_cancel_yield` (a cancel
/// pending at a bare `yield` is thrown in on resumption); spec section 1
/// item 3.
#[test]
fn b04_sleep_waits_and_sleep_zero_delivers_cancel() {
    for (flavour, rt) in both() {
        let (elapsed, zero) = rt
            .block_on(async {
                let start = ravel::time();
                ravel::sleep(Duration::from_millis(30)).await?;
                let elapsed = start.elapsed();
                let me = ravel::current_task().unwrap();
                me.cancel();
                let zero = ravel::sleep(Duration::ZERO).await;
                me.uncancel();
                Ok((elapsed, zero))
            })
            .unwrap();
        assert!(elapsed >= Duration::from_millis(30), "{flavour}: {elapsed:?}");
        let e = zero.unwrap_err();
        assert!(e.is_cancelled() && e.cancel_message().is_none(), "{flavour}: {e:?}");
    }
}
