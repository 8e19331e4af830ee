//! `ravel::sync::Semaphore` and `BoundedSemaphore` against CPython 3.13's
//! (asyncio-sync-semantics §2.S, Semaphore: S30–S34, S36, S37).
//!
//! Each case was written as a Python script and run on CPython 3.13.0;
//! what it printed is quoted above each test (3.12.1 printed the same
//! unless a 3.12.1 line is given: Ravel follows 3.13). `tick` is
//! `await asyncio.sleep(0)` = `ravel::yield_now()`; `_value` =
//! `Semaphore::value()`, `len(_waiters)` = `Semaphore::waiters()`.

use ravel::sync::{BoundedSemaphore, Semaphore};
use ravel::{current_task, Result, TaskRef};
use ravel_tests::{block, both, current_thread, Log};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SHORT: Duration = Duration::from_millis(10);

async fn tick() -> Result<()> {
    ravel::yield_now().await
}

/// `await sem.acquire()` without `async with`: the unit stays taken.
async fn acquire(sem: &Semaphore) -> Result<()> {
    sem.acquire().await?.forget();
    Ok(())
}

/// A task that acquires (keeping the unit) and logs its number.
fn taker(sem: &Semaphore, log: &Log, i: u32) -> ravel::Task<bool> {
    let (sem, log) = (sem.clone(), log.clone());
    ravel::spawn(async move {
        acquire(&sem).await?;
        log.push(i.to_string());
        Ok(true)
    })
}

/// S30: construction, repr, `locked()`, no upper bound on `release()`.
/// `Semaphore(-1)` (`ValueError('Semaphore initial value must be >= 0')`)
/// is not expressible: the value is a `usize`.
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// neg ('Semaphore initial value must be >= 0',)
/// zero locked True
/// 1 True                               # _value, repr ends " [unlocked, value:1]>"
/// True True True                       # acquire(), locked(), repr ends "[locked]>"
/// False 1
/// unbounded 4                          # Semaphore(1) released three times
/// with None 2                          # Semaphore(3): inside `async with sem as v`
/// 3
/// locked, waiters:1]>
/// locked]>                             # after the waiter took the released unit
/// ```
#[test]
fn s30_construction_repr_locked_unbounded_release() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            assert!(Semaphore::new(0).locked());
            let sem = Semaphore::new(1);
            assert_eq!(sem.value(), 1);
            assert!(format!("{sem:?}").ends_with(" [unlocked, value:1]>"), "{flavour}: {sem:?}");
            acquire(&sem).await?;
            assert!(sem.locked());
            assert!(format!("{sem:?}").ends_with("[locked]>"), "{flavour}: {sem:?}");
            sem.release()?;
            assert!(!sem.locked());
            assert_eq!(sem.value(), 1);

            let sem = Semaphore::new(1);
            for _ in 0..3 {
                sem.release()?;
            }
            assert_eq!(sem.value(), 4, "{flavour}: no upper bound");

            let sem = Semaphore::new(3);
            {
                let _permit = sem.acquire().await?;
                assert_eq!(sem.value(), 2);
            }
            assert_eq!(sem.value(), 3);

            let sem = Semaphore::new(0);
            let s = sem.clone();
            let t = ravel::spawn(async move { acquire(&s).await });
            while sem.waiters() == 0 {
                tick().await?;
            }
            assert!(format!("{sem:?}").ends_with("[locked, waiters:1]>"), "{flavour}: {sem:?}");
            sem.release()?;
            t.await?;
            assert!(format!("{sem:?}").ends_with(" [locked]>"), "{flavour}: {sem:?}");
            Ok(())
        });
    }
}

/// S31: a bounded semaphore's `release()` at its bound is an error and
/// changes nothing. `BoundedSemaphore(-1)` is not expressible (`usize`).
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// ('BoundedSemaphore released too many times',) 2
/// 2                                    # after acquire(); release()
/// ('Semaphore initial value must be >= 0',)
/// BoundedSemaphore                     # the repr's class name
/// ```
#[test]
fn s31_bounded_over_release() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let sem = BoundedSemaphore::new(2);
            let err = sem.release().unwrap_err();
            assert!(err.is_invalid_state(), "{flavour}: {err:?}");
            assert_eq!(err.to_string(), "BoundedSemaphore released too many times");
            assert_eq!(sem.value(), 2);
            acquire(&sem).await?;
            sem.release()?;
            assert_eq!(sem.value(), 2);
            // A permit dropped after a manual release does not over-release.
            let permit = sem.acquire().await?;
            sem.release()?;
            drop(permit);
            assert_eq!(sem.value(), 2);
            assert!(format!("{sem:?}").starts_with("<BoundedSemaphore ["), "{sem:?}");
            Ok(())
        });
    }
}

/// S32: `release()` with waiters moves the unit at once: the value stays 0
/// and the woken waiter (not yet run) keeps the semaphore locked.
///
/// CPython 3.13.0 (and 3.12.1), as `(result, locked(), len(_waiters), _value)`:
/// ```text
/// False 1                              # after two of three units taken
/// ([1], True, 2, 0)
/// 0                                    # _value after release() #1 (c4 spawned before it)
/// 0                                    # _value after release() #2
/// ([1, 2, 3], True, 1, 0) [True, True, True, False]
/// [1, 2, 3, 4] 0
/// ```
#[test]
fn s32_release_moves_the_unit_at_wake_time() {
    let rt = current_thread();
    block(&rt, async {
        let sem = Semaphore::new(3);
        let log = Log::new();
        acquire(&sem).await?;
        acquire(&sem).await?;
        assert!(!sem.locked());
        assert_eq!(sem.value(), 1);
        let mut ts: Vec<_> = (1..=3).map(|i| taker(&sem, &log, i)).collect();
        tick().await?;
        assert_eq!((log.events(), sem.locked(), sem.waiters(), sem.value()), (vec!["1".to_string()], true, 2, 0));
        ts.push(taker(&sem, &log, 4));
        sem.release()?;
        assert_eq!(sem.value(), 0);
        sem.release()?;
        assert_eq!(sem.value(), 0);
        tick().await?;
        assert_eq!(
            (log.events(), sem.locked(), sem.waiters(), sem.value()),
            (vec!["1".into(), "2".into(), "3".into()], true, 1, 0)
        );
        assert_eq!(ts.iter().map(|t| t.done()).collect::<Vec<_>>(), [true, true, true, false]);
        sem.release()?;
        for t in ts {
            assert!(t.await?);
        }
        assert_eq!(log.events(), ["1", "2", "3", "4"]);
        assert_eq!(sem.value(), 0);
        Ok(())
    });
}

/// S33: FIFO across re-acquire (`test_acquire_fifo_order`, with a tick
/// held instead of `sleep(0.01)`, which printed the same),
/// `test_acquire_fifo_order_2` and `_3` (the first waiter cancelled).
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// ['c1_1', 'c2_1', 'c3_1', 'c1_2', 'c2_2', 'c3_2']
/// ticks ['c1_1', 'c2_1', 'c3_1', 'c1_2', 'c2_2', 'c3_2']
/// [1, 2, 3, 4]
/// [2, 3]
/// ```
#[test]
fn s33_fifo_across_reacquire() {
    let rt = current_thread();
    block(&rt, async {
        let sem = Semaphore::new(1);
        let log = Log::new();
        let ts: Vec<_> = ["c1", "c2", "c3"]
            .into_iter()
            .map(|tag| {
                let (sem, log) = (sem.clone(), log.clone());
                ravel::spawn(async move {
                    for round in 1..=2 {
                        let _permit = sem.acquire().await?;
                        log.push(format!("{tag}_{round}"));
                        tick().await?;
                    }
                    Ok(())
                })
            })
            .collect();
        for t in ts {
            t.await?;
        }
        assert_eq!(log.events(), ["c1_1", "c2_1", "c3_1", "c1_2", "c2_2", "c3_2"]);

        // fifo_order_2
        let sem = Semaphore::new(1);
        let log = Log::new();
        let t1 = taker(&sem, &log, 1);
        let (s, l) = (sem.clone(), log.clone());
        let t2 = ravel::spawn(async move {
            acquire(&s).await?;
            l.push("2");
            s.release()?;
            acquire(&s).await?;
            l.push("4");
            Ok(true)
        });
        let t3 = taker(&sem, &log, 3);
        tick().await?;
        sem.release()?;
        sem.release()?;
        assert!(t1.await? && t2.await? && t3.await?);
        assert_eq!(log.events(), ["1", "2", "3", "4"]);

        // fifo_order_3
        let sem = Semaphore::new(0);
        let log = Log::new();
        let ts: Vec<_> = (1..=3).map(|i| taker(&sem, &log, i)).collect();
        tick().await?;
        ts[0].cancel();
        tick().await?;
        sem.release()?;
        sem.release()?;
        for t in &ts {
            t.wait_done().await?;
        }
        assert_eq!(log.events(), ["2", "3"]);
        Ok(())
    });
}

/// S34 (`test_acquire_fifo_order_4`, 3.13): a woken waiter that has not
/// run yet keeps `locked()` true, so a releasing task's own `acquire()`
/// queues behind it; the first successful acquire wakes as many waiters
/// as there are units (3.12.1 woke one, changing the order).
///
/// CPython 3.13.0:
/// ```text
/// after tick 2 3                       # _value, len(_waiters)
/// after tick2 0 2 [1]
/// [1, 2, 3, 4] [('c1 start', 0), ('c2 released', 2, True), ('c1 woke', 0), ('c3 locked', True)] 0
/// ```
/// CPython 3.12.1:
/// ```text
/// after tick2 1 2 [1]
/// [1, 2, 4, 3] [('c1 start', 0), ('c2 released', 2, True), ('c1 woke', 1), ('c3 locked', True)] 0
/// ```
#[test]
fn s34_woken_waiter_counts_as_locked_success_wakes_several() {
    let rt = current_thread();
    block(&rt, async {
        let sem = Semaphore::new(0);
        let log = Log::new();
        let obs = Log::new();
        let t4: Arc<Mutex<Option<ravel::Task<bool>>>> = Arc::default();
        let (s, l, o, slot) = (sem.clone(), log.clone(), obs.clone(), t4.clone());
        let t1 = ravel::spawn(async move {
            o.push(format!("c1 start {}", s.value()));
            acquire(&s).await?;
            o.push(format!("c1 woke {}", s.value()));
            let l4 = l.clone();
            *slot.lock().unwrap() = Some(ravel::spawn(async move {
                l4.push("4");
                Ok(true)
            }));
            l.push("1");
            Ok(true)
        });
        let (s, l, o) = (sem.clone(), log.clone(), obs.clone());
        let t2 = ravel::spawn(async move {
            for _ in 0..3 {
                s.release()?;
            }
            o.push(format!("c2 released {} {}", s.value(), s.locked()));
            acquire(&s).await?;
            l.push("2");
            Ok(true)
        });
        let (s, l, o) = (sem.clone(), log.clone(), obs.clone());
        let t3 = ravel::spawn(async move {
            acquire(&s).await?;
            o.push(format!("c3 locked {}", s.locked()));
            l.push("3");
            Ok(true)
        });
        tick().await?;
        assert_eq!((sem.value(), sem.waiters()), (2, 3));
        tick().await?;
        assert_eq!((sem.value(), sem.waiters(), log.events()), (0, 2, vec!["1".to_string()]));
        assert!(t1.await? && t2.await? && t3.await?);
        let t4 = t4.lock().unwrap().take().expect("c1 spawned c4");
        assert!(t4.await?);
        assert_eq!(log.events(), ["1", "2", "3", "4"]);
        assert_eq!(obs.events(), ["c1 start 0", "c2 released 2 true", "c1 woke 0", "c3 locked true"]);
        assert_eq!(sem.value(), 0);
        Ok(())
    });
}

/// S36: a waiter woken by `release()` and cancelled before it runs gives
/// its unit back and wakes the next waiter (strict FIFO); also CPython's
/// `test_acquire_cancel_before_awoken` and `test_acquire_hang`.
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// released 0 True 3                    # _value, locked(), len(_waiters)
/// cancel True
/// after cancel 0 True
/// tick1 ['1 CE value=0'] 0 2           # its unit already passed on to 2
/// tick2 ['1 CE value=0', 2] 0 1
/// ['1 CE value=0', 2, 3] 0
/// -- cancel_before_awoken
/// v 0 True
/// [True, True, True, False] 0 1        # done(): t1, t2 cancelled, t3 acquired
/// [True, True, False, True] 0 0        # cancelled(), after t4 is cancelled
/// -- acquire_hang
/// True True 0                          # locked(), t2.done(), _value
/// ```
#[test]
fn s36_woken_then_cancelled_gives_the_unit_to_the_next() {
    let rt = current_thread();
    block(&rt, async {
        let sem = Semaphore::new(0);
        let log = Log::new();
        let ts: Vec<_> = (1..=3)
            .map(|i| {
                let (sem, log) = (sem.clone(), log.clone());
                ravel::spawn(async move {
                    if let Err(e) = acquire(&sem).await {
                        log.push(format!("{i} CE value={}", sem.value()));
                        return Err(e);
                    }
                    log.push(i.to_string());
                    Ok(true)
                })
            })
            .collect();
        tick().await?;
        sem.release()?;
        assert_eq!((sem.value(), sem.locked(), sem.waiters()), (0, true, 3));
        assert!(ts[0].cancel());
        assert_eq!((sem.value(), sem.locked()), (0, true));
        tick().await?;
        assert_eq!(log.events(), ["1 CE value=0"]);
        assert_eq!((sem.value(), sem.waiters()), (0, 2));
        tick().await?;
        assert_eq!(log.events(), ["1 CE value=0", "2"]);
        assert_eq!((sem.value(), sem.waiters()), (0, 1));
        sem.release()?;
        for t in &ts {
            t.wait_done().await?;
        }
        assert_eq!(log.events(), ["1 CE value=0", "2", "3"]);
        assert_eq!(sem.value(), 0);

        // test_acquire_cancel_before_awoken
        let sem = Semaphore::new(0);
        let ts: Vec<_> = (0..4)
            .map(|_| {
                let s = sem.clone();
                ravel::spawn(async move { acquire(&s).await })
            })
            .collect();
        tick().await?;
        ts[0].cancel();
        ts[1].cancel();
        sem.release()?;
        assert_eq!((sem.value(), sem.locked()), (0, true));
        tick().await?;
        tick().await?;
        assert_eq!(ts.iter().map(|t| t.done()).collect::<Vec<_>>(), [true, true, true, false]);
        assert_eq!((sem.value(), sem.waiters()), (0, 1));
        ts[3].cancel();
        for t in &ts {
            t.wait_done().await?;
        }
        assert_eq!(ts.iter().map(|t| t.cancelled()).collect::<Vec<_>>(), [true, true, false, true]);
        assert_eq!((sem.value(), sem.waiters()), (0, 0));

        // test_acquire_hang
        let sem = Semaphore::new(0);
        let ts: Vec<_> = (0..2)
            .map(|_| {
                let s = sem.clone();
                ravel::spawn(async move { acquire(&s).await })
            })
            .collect();
        tick().await?;
        ts[0].cancel();
        sem.release()?;
        tick().await?;
        tick().await?;
        assert!(sem.locked());
        assert!(ts[1].done());
        assert_eq!(sem.value(), 0);
        Ok(())
    });
}

/// S37: `timeout()` around `acquire()` leaves no waiter; no hang after a
/// woken waiter is cancelled (`test_acquire_no_hang`); a cancelled waiting
/// acquire (`test_acquire_cancel`).
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// TE () (0, []) 0                      # args, (_value, _waiters), cancelling()
/// 1                                    # _value after release()
/// None CancelledError 1 0              # gather(t1, t2), _value, len(_waiters)
/// True 0                               # wait_for(sem.acquire(), 1.0), _value
/// CE () 0 0                            # args, len(_waiters), _value
/// ```
#[test]
fn s37_timeout_no_hang_cancel() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let sem = Semaphore::new(1);
            acquire(&sem).await?;
            let err = ravel::timeout(SHORT, sem.acquire()).await.unwrap_err();
            assert!(err.is_timeout(), "{flavour}: {err:?}");
            assert_eq!((sem.value(), sem.waiters()), (0, 0), "{flavour}");
            assert_eq!(current_task().unwrap().cancelling(), 0);
            sem.release()?;
            assert_eq!(sem.value(), 1);

            // test_acquire_cancel (`call_soon(t.cancel)` once queued).
            let sem = Semaphore::new(1);
            acquire(&sem).await?;
            let s = sem.clone();
            let t = ravel::spawn(async move { acquire(&s).await });
            let (tr, s) = (t.as_task_ref().clone(), sem.clone());
            ravel::spawn(async move {
                while s.waiters() == 0 {
                    tick().await?;
                }
                tr.cancel();
                Ok(())
            });
            let err = t.await.unwrap_err();
            assert!(err.is_cancelled() && err.cancel_message().is_none(), "{flavour}: {err:?}");
            assert_eq!((sem.waiters(), sem.value()), (0, 0), "{flavour}");
            Ok(())
        });
    }

    // test_acquire_no_hang: c1 releases (waking c2) and cancels c2 before
    // it runs; c2 gives the unit back.
    let rt = current_thread();
    block(&rt, async {
        let sem = Semaphore::new(1);
        let t2_ref: Arc<Mutex<Option<TaskRef>>> = Arc::default();
        let (s, slot) = (sem.clone(), t2_ref.clone());
        let t1 = ravel::spawn(async move {
            {
                let _permit = s.acquire().await?;
                tick().await?;
            }
            slot.lock().unwrap().as_ref().expect("set before the first tick").cancel();
            Ok(())
        });
        let s = sem.clone();
        let t2: ravel::Task<()> = ravel::spawn(async move {
            let _permit = s.acquire().await?;
            panic!("c2 must not get the unit");
        });
        *t2_ref.lock().unwrap() = Some(t2.as_task_ref().clone());
        t1.await?;
        t2.wait_done().await?;
        let err = t2.result().unwrap_err();
        assert!(err.is_cancelled(), "{err:?}");
        assert_eq!((sem.value(), sem.waiters()), (1, 0));
        ravel::wait_for(acquire(&sem), Duration::from_secs(1)).await?;
        assert_eq!(sem.value(), 0);
        Ok(())
    });
}

/// S36 family: two releases wake two waiters; the first, cancelled before
/// it runs, gives its unit back, which stays (no one else is pending).
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// v 0 2                                # _value, len(_waiters) after two releases
/// ['1 CE v=1', 2] 1 0                  # after a tick: log, _value, len(_waiters)
/// ['1 CE v=1', 2] 1
/// ```
#[test]
fn s36_woken_then_cancelled_unit_stays_when_no_one_waits() {
    let rt = current_thread();
    block(&rt, async {
        let sem = Semaphore::new(0);
        let log = Log::new();
        let ts: Vec<_> = (1..=2)
            .map(|i| {
                let (sem, log) = (sem.clone(), log.clone());
                ravel::spawn(async move {
                    if let Err(e) = acquire(&sem).await {
                        log.push(format!("{i} CE v={}", sem.value()));
                        return Err(e);
                    }
                    log.push(i.to_string());
                    Ok(())
                })
            })
            .collect();
        tick().await?;
        sem.release()?;
        sem.release()?;
        assert_eq!((sem.value(), sem.waiters()), (0, 2));
        ts[0].cancel();
        tick().await?;
        assert_eq!(log.events(), ["1 CE v=1", "2"]);
        assert_eq!((sem.value(), sem.waiters()), (1, 0));
        for t in &ts {
            t.wait_done().await?;
        }
        assert_eq!(sem.value(), 1);
        Ok(())
    });
}
