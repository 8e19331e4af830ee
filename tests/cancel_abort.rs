//! `TaskRef::abort()`: the hard, Rust-style stop (the future is dropped at
//! its next scheduling point, no async cleanup runs, the task ends
//! cancelled with `is_aborted()`), and how it differs from `cancel()`.
//! Ravel-specific: asyncio has no counterpart.

use ravel::Promise;
use ravel_tests::block;
use ravel_tests::{both, current_thread, Log};
use std::time::Duration;

const LONG: Duration = Duration::from_secs(10);

/// Logs "dropped" when dropped: shows when the task's future is dropped.
struct DropGuard(Log);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.push("dropped");
    }
}

/// A task holding a drop guard across a long sleep, with async cleanup on
/// cancellation. Sets `started` once it is running.
async fn worker(log: Log, started: Promise<()>) -> ravel::Result<u32> {
    let _guard = DropGuard(log.clone());
    log.push("started");
    started.set_result(())?;
    match ravel::sleep(LONG).await {
        Err(e) => {
            log.push("caught");
            ravel::sleep(Duration::from_millis(1)).await.ok();
            log.push("cleanup");
            Err(e)
        }
        Ok(()) => {
            log.push("after sleep");
            Ok(1)
        }
    }
}

/// abort(): the future is dropped (guard runs), no code after the await
/// runs (no catch, no cleanup), and the task ends cancelled with an error
/// for which `is_aborted()` (and `is_cancelled()`) is true.
#[test]
fn abort_drops_future_without_cleanup() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let log = Log::new();
            let started = Promise::new();
            let mut t = ravel::spawn(worker(log.clone(), started.clone()));
            started.await?;
            t.abort();
            let err = (&mut t).await.unwrap_err();
            assert!(err.is_aborted(), "{flavour}: {err:?}");
            assert!(err.is_cancelled(), "{flavour}: an abort is a kind of cancellation");
            assert_eq!(err.cancel_message(), None, "{flavour}");
            assert!(t.done() && t.cancelled(), "{flavour}");
            assert!(t.exception().unwrap_err().is_aborted(), "{flavour}");
            assert_eq!(log.events(), ["started", "dropped"], "{flavour}");
            Ok(())
        });
    }
}

/// The same task with cancel(): the error is delivered into the task, which
/// catches it, runs async cleanup, re-raises; the future is dropped only
/// after that. The error is a plain cancellation, not an abort.
#[test]
fn cancel_runs_cleanup_unlike_abort() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let log = Log::new();
            let started = Promise::new();
            let mut t = ravel::spawn(worker(log.clone(), started.clone()));
            started.await?;
            t.cancel_with("stop");
            let err = (&mut t).await.unwrap_err();
            assert!(err.is_cancelled(), "{flavour}");
            assert!(!err.is_aborted(), "{flavour}");
            assert_eq!(err.cancel_message(), Some("stop"), "{flavour}");
            assert!(t.cancelled(), "{flavour}");
            assert_eq!(log.events(), ["started", "caught", "cleanup", "dropped"], "{flavour}");
            Ok(())
        });
    }
}

/// A task that ignores cancellation keeps running after cancel(); abort()
/// stops it at its next scheduling point anyway.
/// Current-thread (counts the loop iterations between steps).
#[test]
fn abort_stops_a_task_that_ignores_cancel() {
    let rt = current_thread();
    block(&rt, async {
        let log = Log::new();
        let l = log.clone();
        let mut t: ravel::Task<()> = ravel::spawn(async move {
            let _guard = DropGuard(l.clone());
            loop {
                if let Err(e) = ravel::yield_now().await {
                    l.push(format!("ignored {}", e.cancel_message().unwrap_or("-")));
                }
            }
        });
        ravel::yield_now().await?;
        assert!(t.cancel_with("please"));
        for _ in 0..5 {
            ravel::yield_now().await?;
        }
        assert!(!t.done(), "cancel() does not stop a task that ignores it");
        assert_eq!(log.events(), ["ignored please"]);

        t.abort();
        let err = (&mut t).await.unwrap_err();
        assert!(err.is_aborted());
        assert!(t.cancelled());
        assert_eq!(log.events(), ["ignored please", "dropped"]);
        Ok(())
    });
}

/// Aborting a task before its first poll: the body never runs, and the
/// future (with what it captured) is dropped.
/// Current-thread (the task must not have started).
#[test]
fn abort_before_first_poll() {
    let rt = current_thread();
    block(&rt, async {
        let log = Log::new();
        let guard = DropGuard(log.clone());
        let l = log.clone();
        let mut t = ravel::spawn(async move {
            let _guard = guard;
            l.push("body ran");
            Ok(())
        });
        t.abort();
        let err = (&mut t).await.unwrap_err();
        assert!(err.is_aborted());
        assert!(t.cancelled());
        assert_eq!(log.events(), ["dropped"]);
        Ok(())
    });
}

/// A task that aborts itself: the code up to its next await runs, the code
/// after it does not.
#[test]
fn self_abort_stops_at_next_scheduling_point() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let log = Log::new();
            let l = log.clone();
            let mut t = ravel::spawn(async move {
                let _guard = DropGuard(l.clone());
                ravel::current_task().unwrap().abort();
                l.push("before await");
                let r = ravel::yield_now().await;
                l.push(format!("after await {r:?}"));
                Ok(())
            });
            let err = (&mut t).await.unwrap_err();
            assert!(err.is_aborted(), "{flavour}");
            assert_eq!(log.events(), ["before await", "dropped"], "{flavour}");
            Ok(())
        });
    }
}

/// abort() on a done task has no effect: the outcome and output stay.
#[test]
fn abort_on_done_task_has_no_effect() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let t = ravel::spawn(async { Ok(5) });
            t.wait_done().await?;
            t.abort();
            ravel::yield_now().await?;
            assert!(t.done() && !t.cancelled(), "{flavour}");
            assert_eq!(t.result().unwrap(), 5, "{flavour}");
            Ok(())
        });
    }
}

/// An aborted task's awaiter sees the abort error; done callbacks run and
/// see the task cancelled.
#[test]
fn abort_seen_by_awaiter_and_done_callbacks() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let started = Promise::<()>::new();
            let s = started.clone();
            let inner = ravel::spawn(async move {
                s.set_result(())?;
                ravel::sleep(LONG).await?;
                Ok(1)
            });
            let inner_ref = inner.as_task_ref().clone();
            let seen = Promise::<bool>::new();
            let sn = seen.clone();
            inner.add_done_callback(move |t| sn.set_result(t.cancelled()).unwrap());
            let outer = ravel::spawn(inner); // a task whose future awaits `inner`
            started.await?;
            inner_ref.abort();
            let err = outer.await.unwrap_err();
            assert!(err.is_aborted(), "{flavour}: {err:?}");
            assert!(seen.await?, "{flavour}: the callback saw a cancelled task");
            Ok(())
        });
    }
}
