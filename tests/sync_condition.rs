//! `ravel::sync::Condition` against CPython 3.13's `asyncio.Condition`
//! (asyncio-sync-semantics §2.S, Condition: S16–S21, S25–S29).
//!
//! Each case was written as a Python script and run on CPython 3.13.0;
//! what it printed is quoted above each test (3.12.1 printed the same
//! unless a 3.12.1 line is given: Ravel follows 3.13). `tick` is
//! `await asyncio.sleep(0)` = `ravel::yield_now()`; `len(cond._waiters)` =
//! `Condition::waiters()`, `len(cond._lock._waiters)` =
//! `cond.lock().waiters()`.

use ravel::sync::{Condition, Lock};
use ravel::{current_task, Result, Timeout};
use ravel_tests::{block, both, current_thread, Log};
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SHORT: Duration = Duration::from_millis(10);

async fn tick() -> Result<()> {
    ravel::yield_now().await
}

/// `await cond.acquire()` without `async with`.
async fn acquire(cond: &Condition) -> Result<()> {
    cond.acquire().await?.forget();
    Ok(())
}

/// `async with cond: await cond.wait()`, logging how it ended as
/// `"{i} woke"` or `"{i} CE"`.
fn waiter(cond: &Condition, log: &Log, i: u32) -> ravel::Task<()> {
    let (cond, log) = (cond.clone(), log.clone());
    ravel::spawn(async move {
        let _guard = cond.acquire().await?;
        match cond.wait().await {
            Ok(()) => {
                log.push(format!("{i} woke"));
                Ok(())
            }
            Err(e) => {
                log.push(format!("{i} CE"));
                Err(e)
            }
        }
    })
}

/// S16: waiting or notifying without the lock is an error; `wait_for`
/// with a predicate already true needs no lock.
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// wait ('cannot wait on un-acquired lock',)
/// notify ('cannot notify on un-acquired lock',)
/// notify_all ('cannot notify on un-acquired lock',)
/// wait_for true [1, 2, 3]
/// wait_for false ('cannot wait on un-acquired lock',)
/// notify None wait_for 5 5
/// True                                 # repr ends "[unlocked]>"
/// ```
#[test]
fn s16_unacquired_errors_true_predicate_needs_no_lock() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let cond = Condition::new();
            let err = cond.wait().await.unwrap_err();
            assert!(err.is_invalid_state(), "{flavour}: {err:?}");
            assert_eq!(err.to_string(), "cannot wait on un-acquired lock");
            for err in [cond.notify(1).unwrap_err(), cond.notify_all().unwrap_err()] {
                assert!(err.is_invalid_state(), "{flavour}: {err:?}");
                assert_eq!(err.to_string(), "cannot notify on un-acquired lock");
            }
            assert_eq!(cond.wait_for(|| Some(vec![1, 2, 3])).await?, [1, 2, 3]);
            let err = cond.wait_for(|| None::<u32>).await.unwrap_err();
            assert!(err.is_invalid_state(), "{flavour}: {err:?}");
            assert_eq!(err.to_string(), "cannot wait on un-acquired lock");
            {
                let _guard = cond.acquire().await?;
                cond.notify(1)?;
                assert_eq!(cond.wait_for(|| Some(5)).await?, 5);
            }
            assert!(format!("{cond:?}").ends_with("[unlocked]>"), "{flavour}: {cond:?}");
            assert_eq!(cond.waiters(), 0);
            Ok(())
        });
    }
}

/// S17: `notify()` does not release the lock; woken waiters re-acquire it
/// one at a time (each keeps it: they return without releasing).
///
/// CPython 3.13.0 (and 3.12.1), as `(result, locked())`:
/// ```text
/// 1 [] False
/// 2 [] True                            # acquire, notify(), tick
/// 3 [1] True                           # release(), tick
/// 4 [1] True                           # notify(2), tick
/// 5 [1, 2] True                        # release(), tick
/// 6 [1, 2, 3] True                     # release(), tick
/// [True, True, True]
/// ```
#[test]
fn s17_notify_keeps_the_lock_waiters_reacquire_one_at_a_time() {
    let rt = current_thread();
    block(&rt, async {
        let cond = Condition::new();
        let result = Arc::new(Mutex::new(Vec::new()));
        let ts: Vec<_> = (1..=3)
            .map(|i| {
                let (cond, result) = (cond.clone(), result.clone());
                ravel::spawn(async move {
                    acquire(&cond).await?;
                    cond.wait().await?;
                    result.lock().unwrap().push(i);
                    Ok(true)
                })
            })
            .collect();
        let state = || (result.lock().unwrap().clone(), cond.locked());
        tick().await?;
        assert_eq!(state(), (vec![], false));
        acquire(&cond).await?;
        cond.notify(1)?;
        tick().await?;
        assert_eq!(state(), (vec![], true));
        cond.release()?;
        tick().await?;
        assert_eq!(state(), (vec![1], true));
        // Accepted: only `locked()` is checked, not who holds it.
        cond.notify(2)?;
        tick().await?;
        assert_eq!(state(), (vec![1], true));
        cond.release()?;
        tick().await?;
        assert_eq!(state(), (vec![1, 2], true));
        cond.release()?;
        tick().await?;
        assert_eq!(state(), (vec![1, 2, 3], true));
        for t in ts {
            assert!(t.await?);
        }
        cond.release()
    });
}

/// S18: `notify(1)`, `notify(2048)` and `notify_all()` wake in FIFO order.
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// [(1, True)]
/// [(1, True), (2, True), (3, True), (4, True)] 0
/// [(1, True), (2, True), (3, True), (4, True), (5, True), (6, True)]
/// ```
#[test]
fn s18_notify_n_and_notify_all_fifo() {
    let rt = current_thread();
    block(&rt, async {
        let cond = Condition::new();
        let log = Log::new();
        let mut ts: Vec<_> = (1..=4).map(|i| waiter(&cond, &log, i)).collect();
        tick().await?;
        {
            let _guard = cond.acquire().await?;
            cond.notify(1)?;
        }
        tick().await?;
        assert_eq!(log.events(), ["1 woke"]);
        {
            let _guard = cond.acquire().await?;
            cond.notify(1)?;
            cond.notify(2048)?;
        }
        tick().await?;
        assert_eq!(log.events(), ["1 woke", "2 woke", "3 woke", "4 woke"]);
        assert_eq!(cond.waiters(), 0);
        ts.extend((5..=6).map(|i| waiter(&cond, &log, i)));
        tick().await?;
        {
            let _guard = cond.acquire().await?;
            cond.notify_all()?;
        }
        tick().await?;
        assert_eq!(log.events(), ["1 woke", "2 woke", "3 woke", "4 woke", "5 woke", "6 woke"]);
        for t in ts {
            t.await?;
        }
        Ok(())
    });
}

/// S18 on both runtimes: `notify_all()` wakes every waiter, and each
/// returns holding the lock.
#[test]
fn s18_notify_all_wakes_everyone_on_both_runtimes() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let cond = Condition::new();
            let inside = Arc::new(AtomicU32::new(0));
            let ts: Vec<_> = (0..8)
                .map(|i| {
                    let (cond, inside) = (cond.clone(), inside.clone());
                    ravel::spawn(async move {
                        let _guard = cond.acquire().await?;
                        cond.wait().await?;
                        assert!(cond.locked());
                        assert_eq!(inside.fetch_add(1, SeqCst), 0, "one at a time");
                        tick().await?;
                        inside.fetch_sub(1, SeqCst);
                        Ok(i)
                    })
                })
                .collect();
            while cond.waiters() < 8 {
                tick().await?;
            }
            {
                let _guard = cond.acquire().await?;
                cond.notify_all()?;
            }
            let mut got = Vec::new();
            for t in ts {
                got.push(t.await?);
            }
            assert_eq!(got, (0..8).collect::<Vec<_>>(), "{flavour}");
            assert!(!cond.locked());
            assert_eq!(cond.waiters(), 0);
            Ok(())
        });
    }
}

/// S19: `wait_for` checks first, re-checks after every wake-up, and
/// returns the predicate's value, holding the lock.
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// ['pred->0', 'pred->0', 'pred->7', 'returned 7, locked=True']
/// ```
#[test]
fn s19_wait_for_rechecks_and_returns_the_value() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let cond = Condition::new();
            let state = Arc::new(AtomicU32::new(0));
            let log = Log::new();
            let (c, s, l) = (cond.clone(), state.clone(), log.clone());
            let t = ravel::spawn(async move {
                let _guard = c.acquire().await?;
                let r = c
                    .wait_for(|| {
                        let v = s.load(SeqCst);
                        l.push(format!("pred->{v}"));
                        (v != 0).then_some(v)
                    })
                    .await?;
                l.push(format!("returned {r}, locked={}", c.locked()));
                Ok(())
            });
            while cond.waiters() == 0 {
                tick().await?;
            }
            {
                let _guard = cond.acquire().await?;
                cond.notify(1)?;
            }
            // The waiter re-checks (0) and waits again.
            while log.events().len() < 2 || cond.waiters() == 0 {
                tick().await?;
            }
            state.store(7, SeqCst);
            {
                let _guard = cond.acquire().await?;
                cond.notify(1)?;
            }
            t.await?;
            assert_eq!(log.events(), ["pred->0", "pred->0", "pred->7", "returned 7, locked=true"], "{flavour}");
            Ok(())
        });
    }
}

/// S20: cancelled while waiting: the cancellation (with its message)
/// leaves `wait()` only once the lock is held again; a bare `wait()` task
/// cancelled keeps the lock after it ends.
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// waiting locked False
/// CE ('m',) [(('m',), True)]           # the task's error; (args, locked()) in its except
/// after False 0                        # locked(), len(_waiters)
/// bare CE () True
/// ```
#[test]
fn s20_cancelled_wait_returns_with_the_lock_held() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let cond = Condition::new();
            let seen = Arc::new(Mutex::new(None));
            let (c, s) = (cond.clone(), seen.clone());
            let t = ravel::spawn(async move {
                let _guard = c.acquire().await?;
                match c.wait().await {
                    Err(e) => {
                        *s.lock().unwrap() = Some((e.cancel_message().map(String::from), c.locked()));
                        Err(e)
                    }
                    Ok(()) => Ok(()),
                }
            });
            while cond.waiters() == 0 {
                tick().await?;
            }
            assert!(!cond.locked(), "{flavour}: released while waiting");
            t.cancel_with("m");
            let err = t.await.unwrap_err();
            assert!(err.is_cancelled(), "{flavour}: {err:?}");
            assert_eq!(err.cancel_message(), Some("m"));
            assert_eq!(*seen.lock().unwrap(), Some((Some("m".to_string()), true)), "{flavour}");
            assert!(!cond.locked());
            assert_eq!(cond.waiters(), 0);

            // A bare `spawn(cond.wait())` (main's lock released by it),
            // cancelled via `call_soon`: the dead task holds the lock.
            acquire(&cond).await?;
            let c = cond.clone();
            let t = ravel::spawn(async move { c.wait().await });
            let (tr, c) = (t.as_task_ref().clone(), cond.clone());
            ravel::spawn(async move {
                while c.waiters() == 0 {
                    tick().await?;
                }
                tr.cancel();
                Ok(())
            });
            let err = t.await.unwrap_err();
            assert!(err.is_cancelled() && err.cancel_message().is_none(), "{flavour}: {err:?}");
            assert!(cond.locked(), "{flavour}: re-acquired by the cancelled task, never released");
            cond.release()
        });
    }
}

/// S21: `timeout()` and `wait_for()` around `wait()` inside the block: a
/// timeout error with the lock held again, the counter back at 0.
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// TE () True 0                         # args, locked(), cancelling()
/// wait_for TE () True
/// after False
/// ```
#[test]
fn s21_timeout_around_wait_keeps_the_lock() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let cond = Condition::new();
            {
                let _guard = cond.acquire().await?;
                let err = ravel::timeout(SHORT, cond.wait()).await.unwrap_err();
                assert!(err.is_timeout(), "{flavour}: {err:?}");
                assert!(cond.locked());
                assert_eq!(current_task().unwrap().cancelling(), 0);
                let err = ravel::wait_for(cond.wait(), SHORT).await.unwrap_err();
                assert!(err.is_timeout(), "{flavour}: {err:?}");
                assert!(cond.locked());
            }
            assert!(!cond.locked());
            assert_eq!(cond.waiters(), 0);
            Ok(())
        });
    }
}

/// S25: cancelled while re-acquiring the lock after a notification: the
/// cancellation keeps its message (3.12.1 raised a new one), and the task
/// still leaves `wait()` holding the lock. Cancelled twice (in the wait,
/// then while re-acquiring): the last cancellation is the one raised.
///
/// CPython 3.13.0:
/// ```text
/// lock waiters 1 0                     # len(cond._lock._waiters), len(cond._waiters)
/// after cancel+tick [] 1               # it caught the cancellation and queued for the lock again
/// CE ('m',) [('CE', ('m',), True)] False
/// first cancel delivered, reacquiring [] 1
/// CE ('second',) [('CE', ('second',), True)] False
/// ```
/// CPython 3.12.1: `CE () [('CE', (), True)] False` both times.
#[test]
fn s25_cancelled_while_reacquiring_keeps_the_message() {
    let rt = current_thread();
    block(&rt, async {
        let cond = Condition::new();
        let log = Log::new();
        let c = |cond: &Condition, log: &Log| {
            let (cond, log) = (cond.clone(), log.clone());
            ravel::spawn(async move {
                let _guard = cond.acquire().await?;
                match cond.wait().await {
                    Ok(()) => {
                        log.push("woke");
                        Ok(())
                    }
                    Err(e) => {
                        log.push(format!("CE {:?} locked={}", e.cancel_message(), cond.locked()));
                        Err(e)
                    }
                }
            })
        };

        let t = c(&cond, &log);
        tick().await?;
        acquire(&cond).await?;
        cond.notify(1)?;
        tick().await?;
        assert_eq!((cond.lock().waiters(), cond.waiters()), (1, 0), "notified, queued for the lock");
        t.cancel_with("m");
        tick().await?;
        assert_eq!(log.events(), [] as [&str; 0]);
        assert_eq!(cond.lock().waiters(), 1, "it caught the cancellation and queued again");
        cond.release()?;
        let err = t.await.unwrap_err();
        assert_eq!(err.cancel_message(), Some("m"), "{err:?}");
        assert_eq!(log.events(), ["CE Some(\"m\") locked=true"]);
        assert!(!cond.locked());

        let log = Log::new();
        let t = c(&cond, &log);
        tick().await?;
        acquire(&cond).await?;
        t.cancel_with("first");
        tick().await?;
        assert_eq!(log.events(), [] as [&str; 0]);
        assert_eq!(cond.lock().waiters(), 1, "the first cancellation ended the wait; re-acquiring");
        t.cancel_with("second");
        tick().await?;
        cond.release()?;
        let err = t.await.unwrap_err();
        assert_eq!(err.cancel_message(), Some("second"), "{err:?}");
        assert_eq!(log.events(), ["CE Some(\"second\") locked=true"]);
        assert!(!cond.locked());
        Ok(())
    });
}

/// S26: a notified waiter cancelled before it runs passes its
/// notification on to the next waiter (3.12.1 lost it).
///
/// CPython 3.13.0:
/// ```text
/// cancel True
/// ['1 CE', '2 woke'] 1                 # after 4 ticks; len(_waiters)
/// ['1 CE', '2 woke', '3 woke']
/// ```
/// CPython 3.12.1: `['1 CE'] 2` after the 4 ticks.
#[test]
fn s26_notified_then_cancelled_passes_the_notification_on() {
    let rt = current_thread();
    block(&rt, async {
        let cond = Condition::new();
        let log = Log::new();
        let ts: Vec<_> = (1..=3).map(|i| waiter(&cond, &log, i)).collect();
        tick().await?;
        {
            let _guard = cond.acquire().await?;
            cond.notify(1)?;
            assert!(ts[0].cancel());
        }
        for _ in 0..4 {
            tick().await?;
        }
        assert_eq!(log.events(), ["1 CE", "2 woke"]);
        assert_eq!(cond.waiters(), 1);
        {
            let _guard = cond.acquire().await?;
            cond.notify_all()?;
        }
        for t in &ts {
            t.wait_done().await?;
        }
        assert_eq!(log.events(), ["1 CE", "2 woke", "3 woke"]);
        assert!(ts[0].cancelled());
        Ok(())
    });
}

/// S27: a notified waiter whose timeout expires while it waits to
/// re-acquire the lock gets the timeout error (holding the lock) and
/// passes its notification on (3.12.1 lost it: the second waiter hangs).
/// The notifier moves the deadline to now instead of sleeping past it.
///
/// CPython 3.13.0:
/// ```text
/// before release [] 1 1                # log, len(_waiters), len(_lock._waiters)
/// ['1 TE locked=True', '2 woke'] 0
/// ```
/// CPython 3.12.1: `before release [] 1 1`, then waiter 2 never wakes.
#[test]
fn s27_timed_out_while_reacquiring_passes_the_notification_on() {
    let rt = current_thread();
    block(&rt, async {
        let cond = Condition::new();
        let log = Log::new();
        let cm = Timeout::after(None);
        let (c, l, scope) = (cond.clone(), log.clone(), cm.clone());
        let t1 = ravel::spawn(async move {
            let _guard = c.acquire().await?;
            match scope.run(c.wait()).await {
                Ok(()) => l.push("1 woke"),
                Err(e) if e.is_timeout() => l.push(format!("1 TE locked={}", c.locked())),
                Err(e) => return Err(e),
            }
            Ok(())
        });
        let (c, l) = (cond.clone(), log.clone());
        let t2 = ravel::spawn(async move {
            let _guard = c.acquire().await?;
            c.wait().await?;
            l.push("2 woke");
            Ok(())
        });
        tick().await?;
        acquire(&cond).await?;
        cond.notify(1)?;
        cm.reschedule(Some(Instant::now()))?;
        while !cm.expired() {
            tick().await?;
        }
        for _ in 0..3 {
            tick().await?;
        }
        assert_eq!(log.events(), [] as [&str; 0]);
        assert_eq!((cond.waiters(), cond.lock().waiters()), (1, 1));
        cond.release()?;
        t1.await?;
        t2.await?;
        assert_eq!(log.events(), ["1 TE locked=true", "2 woke"]);
        assert_eq!(cond.waiters(), 0);
        Ok(())
    });
}

/// S28: a cancelled waiter that was never notified still passes one
/// notification on: a spurious wake-up of the next waiter, allowed by the
/// condition protocol.
///
/// CPython 3.13.0:
/// ```text
/// ['1 CE', '2 woke'] 0                 # after 4 ticks; len(_waiters)
/// ```
#[test]
fn s28_cancelled_waiter_wakes_the_next_spuriously() {
    let rt = current_thread();
    block(&rt, async {
        let cond = Condition::new();
        let log = Log::new();
        let ts: Vec<_> = (1..=2).map(|i| waiter(&cond, &log, i)).collect();
        tick().await?;
        ts[0].cancel();
        for _ in 0..4 {
            tick().await?;
        }
        assert_eq!(log.events(), ["1 CE", "2 woke"]);
        assert_eq!(cond.waiters(), 0);
        for t in &ts {
            t.wait_done().await?;
        }
        Ok(())
    });
}

/// S29: a condition over an explicit lock: holding either is holding both.
/// (`cond._lock is lock` has no Rust observable beyond this: `Lock` is a
/// handle and `cond.lock()` shares its state, checked below.)
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// True                                 # cond._lock is lock
/// True                                 # cond.locked() while lock is held
/// True                                 # lock.locked() while cond is held
/// False False
/// ```
#[test]
fn s29_condition_over_an_explicit_lock() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let lock = Lock::new();
            let cond = Condition::with_lock(lock.clone());
            {
                let _guard = lock.acquire().await?;
                assert!(cond.locked(), "{flavour}");
                assert!(cond.lock().locked());
            }
            {
                let _guard = cond.acquire().await?;
                assert!(lock.locked(), "{flavour}");
            }
            assert!(!lock.locked() && !cond.locked());
            Ok(())
        });
    }
}

/// Not in asyncio: a notified waiter whose task is aborted before it runs
/// (its `wait()` future dropped, where asyncio would deliver an exception)
/// passes its notification on, as a cancelled one does (S26). The waiters
/// hold the lock by hand (no guard), so the aborted one releases nothing.
#[test]
fn aborted_notified_waiter_passes_the_notification_on() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let cond = Condition::new();
            let log = Log::new();
            let ts: Vec<_> = (1..=2)
                .map(|i| {
                    let (cond, log) = (cond.clone(), log.clone());
                    ravel::spawn(async move {
                        acquire(&cond).await?;
                        cond.wait().await?;
                        log.push(format!("{i} woke"));
                        cond.release()
                    })
                })
                .collect();
            while cond.waiters() < 2 {
                tick().await?;
            }
            {
                let _guard = cond.acquire().await?;
                cond.notify(1)?;
                ts[0].abort();
            }
            let err = ts[0].wait_done().await.and_then(|()| ts[0].result()).unwrap_err();
            assert!(err.is_aborted(), "{flavour}: {err:?}");
            let t2 = ravel::timeout(Duration::from_secs(5), ts[1].wait_done()).await;
            assert!(t2.is_ok(), "{flavour}: the second waiter got the notification");
            ts[1].result()?;
            assert_eq!(log.events(), ["2 woke"], "{flavour}");
            assert_eq!(cond.waiters(), 0);
            assert!(!cond.locked());
            Ok(())
        });
    }
}

/// Not in asyncio: a task aborted while it waits inside
/// `async with cond: await cond.wait()` does not hold the lock (its wait
/// released it), so its guard, dropped with it, must not release the hold
/// another task has taken since.
#[test]
fn aborted_waiter_guard_does_not_release_another_hold() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let cond = Condition::new();
            let c = cond.clone();
            let w = ravel::spawn(async move {
                let _guard = c.acquire().await?;
                c.wait().await
            });
            while cond.waiters() == 0 {
                tick().await?;
            }
            let held = cond.acquire().await?;
            w.abort();
            assert!(w.wait_done().await.and_then(|()| w.result()).unwrap_err().is_aborted());
            assert!(cond.locked(), "{flavour}: main's hold survives the aborted waiter's guard");
            drop(held);
            assert!(!cond.locked());

            // And the normal path: the guard around a completed wait
            // releases the re-acquired lock.
            let c = cond.clone();
            let w = ravel::spawn(async move {
                let _guard = c.acquire().await?;
                c.wait().await
            });
            while cond.waiters() == 0 {
                tick().await?;
            }
            {
                let _guard = cond.acquire().await?;
                cond.notify(1)?;
            }
            w.await?;
            assert!(!cond.locked(), "{flavour}: released by the waiter's guard");
            Ok(())
        });
    }
}

/// S26 family: `notify(1)` skips a waiter already cancelled (its future is
/// done) and wakes the next; the cancelled one, unwinding, passes one more
/// notification on (3.12.1 did not: only 2 woke).
///
/// CPython 3.13.0:
/// ```text
/// ['1 CE', '2 woke', '3 woke'] 1       # after 6 ticks; len(_waiters)
/// ['1 CE', '2 woke', '3 woke', '4 woke']
/// ```
/// CPython 3.12.1: `['1 CE', '2 woke'] 2` after the 6 ticks.
#[test]
fn s26_notify_skips_a_cancelled_waiter() {
    let rt = current_thread();
    block(&rt, async {
        let cond = Condition::new();
        let log = Log::new();
        let ts: Vec<_> = (1..=4).map(|i| waiter(&cond, &log, i)).collect();
        tick().await?;
        ts[0].cancel();
        {
            let _guard = cond.acquire().await?;
            cond.notify(1)?;
        }
        for _ in 0..6 {
            tick().await?;
        }
        assert_eq!(log.events(), ["1 CE", "2 woke", "3 woke"]);
        assert_eq!(cond.waiters(), 1);
        {
            let _guard = cond.acquire().await?;
            cond.notify_all()?;
        }
        for t in &ts {
            t.wait_done().await?;
        }
        assert_eq!(log.events(), ["1 CE", "2 woke", "3 woke", "4 woke"]);
        Ok(())
    });
}
