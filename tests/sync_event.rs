//! `ravel::sync::Event` against CPython 3.13's `asyncio.Event`
//! (asyncio-sync-semantics §2.S, Event: S12–S15).
//!
//! Each case was written as a Python script and run on CPython 3.13.0 (and
//! 3.12.1, which printed the same); what it printed is quoted above each
//! test. `tick` is `await asyncio.sleep(0)` = `ravel::yield_now()`;
//! `call_soon(f)` is a task spawned to do `f`; `len(ev._waiters)` =
//! `Event::waiters()`.

use ravel::sync::Event;
use ravel::{current_task, Result};
use ravel_tests::{block, both, current_thread, Log};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SHORT: Duration = Duration::from_millis(10);

async fn tick() -> Result<()> {
    ravel::yield_now().await
}

/// S12: basics and repr; waiting on a set event returns before a callback
/// queued earlier runs (it does not suspend).
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// False True                           # is_set(), repr ends "[unset]>"
/// True True                            # is_set(), repr ends "[set]>"
/// True ['wait returned']
/// ['wait returned', 'callback']
/// False                                # is_set() after clear()
/// unset, waiters:1]>
/// ```
#[test]
fn s12_basics_wait_on_set_does_not_suspend() {
    let rt = current_thread();
    block(&rt, async {
        let ev = Event::new();
        assert!(!ev.is_set());
        assert!(format!("{ev:?}").ends_with("[unset]>"), "{ev:?}");
        ev.set();
        assert!(ev.is_set());
        assert!(format!("{ev:?}").ends_with("[set]>"), "{ev:?}");
        let log = Log::new();
        let l = log.clone();
        let callback = ravel::spawn(async move {
            l.push("callback");
            Ok(())
        });
        ev.wait().await?;
        log.push("wait returned");
        assert_eq!(log.events(), ["wait returned"]);
        tick().await?;
        assert_eq!(log.events(), ["wait returned", "callback"]);
        callback.await?;
        ev.clear();
        assert!(!ev.is_set());
        let e = ev.clone();
        let t = ravel::spawn(async move { e.wait().await });
        tick().await?;
        assert!(format!("{ev:?}").ends_with("[unset, waiters:1]>"), "{ev:?}");
        ev.set();
        t.await
    });
}

/// S12 on both runtimes: a set event's wait is ready at once, also for a
/// task with a cancellation pending (the leaf rule: ready on the first
/// poll wins), and repeated waits keep returning.
#[test]
fn s12_set_event_wait_is_ready_on_both_runtimes() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let ev = Event::new();
            ev.set();
            for _ in 0..3 {
                ev.wait().await?;
            }
            let me = current_task().unwrap();
            me.cancel();
            ev.wait().await.unwrap_or_else(|e| panic!("{flavour}: ready on the first poll: {e:?}"));
            let err = tick().await.unwrap_err();
            assert!(err.is_cancelled(), "{flavour}: delivered at the next suspension");
            me.uncancel();
            Ok(())
        });
    }
}

/// S13: `set()` wakes every waiter; the futures stay queued until their
/// tasks run; a task started before `set()` and not yet run finds the
/// flag set and goes first.
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// after tick []
/// after set 2                          # len(_waiters)
/// after tick [(3, True), (1, True), (2, True)] 0
/// [(3, True), (1, True), (2, True)]
/// ```
#[test]
fn s13_set_wakes_all_new_task_goes_first() {
    let rt = current_thread();
    block(&rt, async {
        let ev = Event::new();
        let result = Arc::new(Mutex::new(Vec::new()));
        let c = |i: u32| {
            let (ev, result) = (ev.clone(), result.clone());
            ravel::spawn(async move {
                ev.wait().await?;
                result.lock().unwrap().push(i);
                Ok(())
            })
        };
        let got = || result.lock().unwrap().clone();
        let t1 = c(1);
        let t2 = c(2);
        tick().await?;
        assert_eq!(got(), [] as [u32; 0]);
        let t3 = c(3);
        ev.set();
        assert_eq!(ev.waiters(), 2, "woken waiters stay queued until they run");
        tick().await?;
        assert_eq!(got(), [3, 1, 2]);
        assert_eq!(ev.waiters(), 0);
        t1.await?;
        t2.await?;
        t3.await?;
        Ok(())
    });
}

/// S13 on both runtimes: every waiter is woken by one `set()`.
#[test]
fn s13_set_wakes_every_waiter_on_both_runtimes() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let ev = Event::new();
            let ts: Vec<_> = (0..8)
                .map(|i| {
                    let ev = ev.clone();
                    ravel::spawn(async move {
                        ev.wait().await?;
                        Ok(i)
                    })
                })
                .collect();
            while ev.waiters() < 8 {
                tick().await?;
            }
            ev.set();
            let mut got = Vec::new();
            for t in ts {
                got.push(t.await?);
            }
            assert_eq!(got, (0..8).collect::<Vec<_>>(), "{flavour}");
            assert_eq!(ev.waiters(), 0);
            Ok(())
        });
    }
}

/// S14: a waiter woken by `set()` returns even if `clear()` ran before it
/// resumed; repeated `set()` calls are no-ops.
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// False 1                              # is_set(), len(_waiters) after set(); clear()
/// [True] False
/// True
/// ```
#[test]
fn s14_woken_waiter_returns_after_clear() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let ev = Event::new();
            let e = ev.clone();
            let t = ravel::spawn(async move { e.wait().await });
            while ev.waiters() == 0 {
                tick().await?;
            }
            ev.set();
            ev.clear();
            assert!(!ev.is_set());
            t.await.unwrap_or_else(|e| panic!("{flavour}: the woken waiter returns: {e:?}"));
            assert!(!ev.is_set());
            ev.set();
            ev.set();
            assert!(ev.is_set());
            Ok(())
        });
    }
}

/// S15: a cancelled wait, `timeout()` around a wait, and a waiter woken by
/// `set()` and cancelled in the same iteration (cancel accepted, the
/// waiter raises a cancellation, the event stays set).
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// CE () 0                              # args, len(_waiters)
/// TE () 0 0                            # args, len(_waiters), cancelling()
/// cancel True
/// woken+cancelled CE () [('CE', ())] True 0
/// ```
#[test]
fn s15_cancel_timeout_and_woken_then_cancelled() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let ev = Event::new();
            let e = ev.clone();
            let t = ravel::spawn(async move { e.wait().await });
            let (tr, e) = (t.as_task_ref().clone(), ev.clone());
            // `call_soon(t.cancel)`, once the waiter is queued.
            ravel::spawn(async move {
                while e.waiters() == 0 {
                    tick().await?;
                }
                tr.cancel();
                Ok(())
            });
            let err = t.await.unwrap_err();
            assert!(err.is_cancelled() && err.cancel_message().is_none(), "{flavour}: {err:?}");
            assert_eq!(ev.waiters(), 0);

            let err = ravel::timeout(SHORT, ev.wait()).await.unwrap_err();
            assert!(err.is_timeout(), "{flavour}: {err:?}");
            assert_eq!(ev.waiters(), 0);
            assert_eq!(current_task().unwrap().cancelling(), 0);
            Ok(())
        });
    }
    // Woken and cancelled in the same iteration: one thread, so that the
    // woken task cannot run in between.
    let rt = current_thread();
    block(&rt, async {
        let ev = Event::new();
        let log = Log::new();
        let (e, l) = (ev.clone(), log.clone());
        let t = ravel::spawn(async move {
            match e.wait().await {
                Ok(()) => {
                    l.push("returned");
                    Ok(())
                }
                Err(err) => {
                    l.push(format!("CE {:?}", err.cancel_message()));
                    Err(err)
                }
            }
        });
        while ev.waiters() == 0 {
            tick().await?;
        }
        ev.set();
        assert!(t.cancel(), "cancel() of the woken waiter's task is accepted");
        let err = t.await.unwrap_err();
        assert!(err.is_cancelled() && err.cancel_message().is_none(), "{err:?}");
        assert_eq!(log.events(), ["CE None"]);
        assert!(ev.is_set());
        assert_eq!(ev.waiters(), 0);
        Ok(())
    });
}
