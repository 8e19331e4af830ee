//! `ravel::sync::Lock` against CPython 3.13's `asyncio.Lock`
//! (asyncio-sync-semantics §2.S, Lock: S01–S09, S11).
//!
//! Each case was written as a Python script and run on CPython 3.13.0 (and
//! 3.12.1, which printed the same); what it printed is quoted above each
//! test. `tick` is `await asyncio.sleep(0)` = `ravel::yield_now()`;
//! `len(lock._waiters)` = `Lock::waiters()`. Cases that check asyncio's
//! order run on the current-thread runtime; the others run on both.

use ravel::sync::Lock;
use ravel::{current_task, Error, Result};
use ravel_tests::{block, both, current_thread, Log};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SHORT: Duration = Duration::from_millis(10);
const LONG: Duration = Duration::from_secs(10);

async fn tick() -> Result<()> {
    ravel::yield_now().await
}

/// `await lock.acquire()` without `async with`: the lock stays held.
async fn acquire(lock: &Lock) -> Result<()> {
    lock.acquire().await?.forget();
    Ok(())
}

/// S01: basics, release errors, `async with`, repr.
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// new False True                       # locked(), repr ends "[unlocked]>"
/// acquire True True True               # acquire(), locked(), repr ends "[locked]>"
/// after release False
/// second release RuntimeError ('Lock is not acquired.',)
/// inside None True
/// after with False
/// KeyError; locked False
/// repr locked, waiters:1]>
/// ```
#[test]
fn s01_basics_release_errors_guard_repr() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let lock = Lock::new();
            assert!(!lock.locked());
            assert!(format!("{lock:?}").ends_with("[unlocked]>"), "{flavour}: {lock:?}");
            acquire(&lock).await?;
            assert!(lock.locked());
            assert!(format!("{lock:?}").ends_with("[locked]>"), "{flavour}: {lock:?}");
            lock.release()?;
            assert!(!lock.locked());
            let err = lock.release().unwrap_err();
            assert!(err.is_invalid_state(), "{flavour}: {err:?}");
            assert_eq!(err.to_string(), "Lock is not acquired.");

            // `async with lock:` is a guard.
            {
                let _guard = lock.acquire().await?;
                assert!(lock.locked());
            }
            assert!(!lock.locked(), "{flavour}: released on exit");

            // ... also when the body fails.
            let body = {
                let lock = lock.clone();
                async move {
                    let _guard = lock.acquire().await?;
                    Err::<(), _>(Error::msg("KeyError"))
                }
            };
            assert_eq!(body.await.unwrap_err().to_string(), "KeyError");
            assert!(!lock.locked(), "{flavour}: released when the body fails");

            // The repr counts waiters.
            acquire(&lock).await?;
            let l = lock.clone();
            let t = ravel::spawn(async move { acquire(&l).await });
            while lock.waiters() == 0 {
                tick().await?;
            }
            assert!(format!("{lock:?}").ends_with("[locked, waiters:1]>"), "{flavour}: {lock:?}");
            lock.release()?;
            t.await?;
            lock.release()?;
            Ok(())
        });
    }
}

/// S02: each release wakes exactly one waiter, in arrival order; the woken
/// one runs on the next tick.
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// after tick []
/// after release1 [1]
/// after another tick [1]
/// after release2 [1, 2]
/// after release3 [1, 2, 3]
/// True True True
/// ```
#[test]
fn s02_fifo_one_wakeup_per_release() {
    let rt = current_thread();
    block(&rt, async {
        let lock = Lock::new();
        let result = Arc::new(Mutex::new(Vec::new()));
        acquire(&lock).await?;
        let c = |i: u32| {
            let (lock, result) = (lock.clone(), result.clone());
            ravel::spawn(async move {
                acquire(&lock).await?;
                result.lock().unwrap().push(i);
                Ok(true)
            })
        };
        let got = || result.lock().unwrap().clone();
        let t1 = c(1);
        let t2 = c(2);
        tick().await?;
        assert_eq!(got(), [] as [u32; 0]);
        lock.release()?;
        tick().await?;
        assert_eq!(got(), [1]);
        tick().await?;
        assert_eq!(got(), [1]);
        let t3 = c(3);
        lock.release()?;
        tick().await?;
        assert_eq!(got(), [1, 2]);
        lock.release()?;
        tick().await?;
        assert_eq!(got(), [1, 2, 3]);
        assert!(t1.await? && t2.await? && t3.await?);
        Ok(())
    });
}

/// S03: no hand-over (the lock is free between `release()` and the woken
/// waiter running) and no barging (neither the releaser re-acquiring nor
/// a newcomer overtakes the woken head).
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// after release False 1                # locked(), len(_waiters)
/// ['W', 'releaser-reacquire', 'newcomer'] False
/// ```
#[test]
fn s03_no_handover_no_barging() {
    let rt = current_thread();
    block(&rt, async {
        let lock = Lock::new();
        let order = Log::new();
        acquire(&lock).await?;
        let (l, o) = (lock.clone(), order.clone());
        let w = ravel::spawn(async move {
            acquire(&l).await?;
            o.push("W");
            tick().await?;
            l.release()
        });
        tick().await?;
        lock.release()?;
        assert!(!lock.locked(), "no hand-over");
        assert_eq!(lock.waiters(), 1, "the woken W is still queued");
        let (l, o) = (lock.clone(), order.clone());
        let n = ravel::spawn(async move {
            acquire(&l).await?;
            o.push("newcomer");
            l.release()
        });
        acquire(&lock).await?;
        order.push("releaser-reacquire");
        tick().await?;
        lock.release()?;
        w.await?;
        n.await?;
        assert_eq!(order.events(), ["W", "releaser-reacquire", "newcomer"]);
        assert!(!lock.locked());
        Ok(())
    });
}

/// S04: a waiting `acquire()` cancelled (`call_soon(t.cancel)`: a task
/// spawned after it cancels it) raises a cancellation without a message and
/// leaves no waiter; the holder still holds the lock.
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// CE ()
/// [] True                              # _waiters, locked()
/// ```
#[test]
fn s04_cancel_a_waiting_acquire() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let lock = Lock::new();
            acquire(&lock).await?;
            let l = lock.clone();
            let t = ravel::spawn(async move { acquire(&l).await });
            let tr = t.as_task_ref().clone();
            // On two workers, cancel once the waiter is queued (one tick
            // is not a step of another worker).
            let l = lock.clone();
            ravel::spawn(async move {
                while l.waiters() == 0 {
                    tick().await?;
                }
                tr.cancel();
                Ok(())
            });
            let err = t.await.unwrap_err();
            assert!(err.is_cancelled(), "{flavour}: {err:?}");
            assert_eq!(err.cancel_message(), None);
            assert_eq!(lock.waiters(), 0, "{flavour}");
            assert!(lock.locked(), "{flavour}: main still holds it");
            lock.release()
        });
    }
}

/// S05: a queued waiter cancelled: it leaves (the holder still holding
/// the lock), and the others keep their FIFO order.
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// waiters 3
/// cancel True
/// waiters after cancel 3 [False, True, False]   # cancelled() per waiter
/// after tick ['2 CE locked=True'] 2
/// ['2 CE locked=True', 1, 3] False [False, True, False]
/// ```
#[test]
fn s05_cancelled_waiter_leaves_fifo_kept() {
    let rt = current_thread();
    block(&rt, async {
        let lock = Lock::new();
        let log = Log::new();
        acquire(&lock).await?;
        let ts: Vec<_> = (1..=3)
            .map(|i| {
                let (lock, log) = (lock.clone(), log.clone());
                ravel::spawn(async move {
                    if let Err(e) = acquire(&lock).await {
                        log.push(format!("{i} CE locked={}", lock.locked()));
                        return Err(e);
                    }
                    log.push(i.to_string());
                    lock.release()
                })
            })
            .collect();
        tick().await?;
        assert_eq!(lock.waiters(), 3);
        assert!(ts[1].cancel());
        assert_eq!(lock.waiters(), 3, "the cancelled waiter leaves when it runs");
        tick().await?;
        assert_eq!(log.events(), ["2 CE locked=true"]);
        assert_eq!(lock.waiters(), 2);
        lock.release()?;
        for t in &ts {
            t.wait_done().await?;
        }
        assert_eq!(log.events(), ["2 CE locked=true", "1", "3"]);
        assert!(!lock.locked());
        assert_eq!(ts.iter().map(|t| t.cancelled()).collect::<Vec<_>>(), [false, true, false]);
        Ok(())
    });
}

/// S05: the head waiter cancelled, then `release()`: the release finds a
/// done head and wakes nobody; the cancelled head, unwinding with the lock
/// free, wakes the next one.
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// after cancel+release False 2
/// after tick [] False
/// after tick2 [2] False
/// [2] False [True, False]
/// ```
#[test]
fn s05_cancelled_head_passes_the_release_on() {
    let rt = current_thread();
    block(&rt, async {
        let lock = Lock::new();
        let result = Arc::new(Mutex::new(Vec::new()));
        acquire(&lock).await?;
        let ts: Vec<_> = (1..=2)
            .map(|i| {
                let (lock, result) = (lock.clone(), result.clone());
                ravel::spawn(async move {
                    acquire(&lock).await?;
                    result.lock().unwrap().push(i);
                    lock.release()
                })
            })
            .collect();
        let got = || result.lock().unwrap().clone();
        tick().await?;
        ts[0].cancel();
        lock.release()?;
        assert!(!lock.locked());
        assert_eq!(lock.waiters(), 2);
        tick().await?;
        assert_eq!(got(), [] as [u32; 0]);
        assert!(!lock.locked());
        tick().await?;
        assert_eq!(got(), [2]);
        assert!(!lock.locked());
        for t in &ts {
            t.wait_done().await?;
        }
        assert_eq!(got(), [2]);
        assert_eq!(ts.iter().map(|t| t.cancelled()).collect::<Vec<_>>(), [true, false]);
        Ok(())
    });
}

/// S06: every queued waiter cancelled (their tasks not yet run) and the
/// lock free: a newcomer takes it at once, without suspending; the
/// cancelled waiters then unwind without touching it.
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// after release False 2 [True, True]
/// newcomer True True 2 ['newcomer acquired']
/// after tick ['newcomer acquired', 'w1 CE locked=True', 'w2 CE locked=True'] 0 True
/// ['CancelledError', 'CancelledError'] False
/// ```
#[test]
fn s06_newcomer_takes_lock_when_all_waiters_cancelled() {
    let rt = current_thread();
    block(&rt, async {
        let lock = Lock::new();
        let log = Log::new();
        acquire(&lock).await?;
        let ts: Vec<_> = (1..=2)
            .map(|i| {
                let (lock, log) = (lock.clone(), log.clone());
                ravel::spawn(async move {
                    match acquire(&lock).await {
                        Ok(()) => {
                            log.push(format!("w{i} acquired"));
                            lock.release()
                        }
                        Err(e) => {
                            log.push(format!("w{i} CE locked={}", lock.locked()));
                            Err(e)
                        }
                    }
                })
            })
            .collect();
        tick().await?;
        for t in &ts {
            t.cancel();
        }
        lock.release()?;
        assert!(!lock.locked());
        assert_eq!(lock.waiters(), 2);
        // The newcomer (main): taken without suspending.
        let guard = lock.try_acquire();
        assert!(guard.is_some(), "every queued waiter is cancelled: the lock is free to take");
        guard.unwrap().forget();
        log.push("newcomer acquired");
        assert!(lock.locked());
        assert_eq!(lock.waiters(), 2);
        tick().await?;
        assert_eq!(log.events(), ["newcomer acquired", "w1 CE locked=true", "w2 CE locked=true"]);
        assert_eq!(lock.waiters(), 0);
        assert!(lock.locked());
        lock.release()?;
        for t in &ts {
            t.wait_done().await?;
            assert!(t.cancelled());
        }
        assert!(!lock.locked());
        Ok(())
    });
}

/// S06 with `acquire().await` itself (not `try_acquire`): the newcomer's
/// acquire does not suspend (a task queued before it has not run when it
/// returns).
///
/// CPython 3.13.0: as S06 (`newcomer True True 2 ['newcomer acquired']`:
/// the cancelled waiters, queued to run before main resumes, have not run).
#[test]
fn s06_newcomer_acquire_does_not_suspend() {
    let rt = current_thread();
    block(&rt, async {
        let lock = Lock::new();
        let log = Log::new();
        acquire(&lock).await?;
        let ts: Vec<_> = (1..=2)
            .map(|i| {
                let (lock, log) = (lock.clone(), log.clone());
                ravel::spawn(async move {
                    let out = acquire(&lock).await;
                    log.push(format!("w{i} {}", if out.is_ok() { "acquired" } else { "CE" }));
                    out
                })
            })
            .collect();
        tick().await?;
        for t in &ts {
            t.cancel();
        }
        lock.release()?;
        acquire(&lock).await?;
        log.push("newcomer acquired");
        assert_eq!(log.events(), ["newcomer acquired"], "the acquire did not suspend");
        assert_eq!(lock.waiters(), 2);
        tick().await?;
        assert_eq!(log.events(), ["newcomer acquired", "w1 CE", "w2 CE"]);
        lock.release()?;
        for t in &ts {
            t.wait_done().await?;
        }
        Ok(())
    });
}

/// S06: one cancelled and one live waiter: a newcomer queues (the live
/// waiter, woken by the cancelled head's unwinding, goes first).
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// after release False [True, False]    # locked(), done() per waiter
/// tick [] False
/// ['w2', 'n'] False
/// ```
#[test]
fn s06_newcomer_queues_behind_a_live_waiter() {
    let rt = current_thread();
    block(&rt, async {
        let lock = Lock::new();
        let log = Log::new();
        acquire(&lock).await?;
        let w = |name: &'static str| {
            let (lock, log) = (lock.clone(), log.clone());
            ravel::spawn(async move {
                acquire(&lock).await?;
                log.push(name);
                lock.release()
            })
        };
        let w1 = w("w1");
        let w2 = w("w2");
        tick().await?;
        w1.cancel();
        lock.release()?;
        assert!(!lock.locked());
        assert!(lock.try_acquire().is_none(), "a live waiter is queued");
        let n = w("n");
        tick().await?;
        assert_eq!(log.events(), [] as [&str; 0]);
        assert!(!lock.locked());
        w1.wait_done().await?;
        w2.await?;
        n.await?;
        assert_eq!(log.events(), ["w2", "n"]);
        assert!(!lock.locked());
        Ok(())
    });
}

/// S07: a woken waiter cancelled before it runs never holds the lock: it
/// leaves, sees the lock free, and wakes the new head.
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// released False [True, False]                 # locked(), done() per waiter
/// cancel True
/// after cancel False [(True, False), (False, False)]
/// tick1 ['w1 CE locked=False'] False 1
/// tick2 ['w1 CE locked=False', 'w2 acquired'] True 0
/// ['CancelledError', 'NoneType'] ['w1 CE locked=False', 'w2 acquired'] False
/// ```
#[test]
fn s07_woken_then_cancelled_waiter_passes_the_lock_on() {
    let rt = current_thread();
    block(&rt, async {
        let lock = Lock::new();
        let log = Log::new();
        acquire(&lock).await?;
        let ts: Vec<_> = (1..=2)
            .map(|i| {
                let (lock, log) = (lock.clone(), log.clone());
                ravel::spawn(async move {
                    if let Err(e) = acquire(&lock).await {
                        log.push(format!("w{i} CE locked={}", lock.locked()));
                        return Err(e);
                    }
                    log.push(format!("w{i} acquired"));
                    tick().await?;
                    lock.release()
                })
            })
            .collect();
        tick().await?;
        lock.release()?;
        assert!(!lock.locked());
        assert_eq!(lock.waiters(), 2);
        assert!(ts[0].cancel(), "the task is not done: cancel() is accepted");
        assert!(!lock.locked());
        assert_eq!(lock.waiters(), 2);
        tick().await?;
        assert_eq!(log.events(), ["w1 CE locked=false"]);
        assert!(!lock.locked());
        assert_eq!(lock.waiters(), 1);
        tick().await?;
        assert_eq!(log.events(), ["w1 CE locked=false", "w2 acquired"]);
        assert!(lock.locked());
        assert_eq!(lock.waiters(), 0);
        for t in &ts {
            t.wait_done().await?;
        }
        let err = ts[0].result().unwrap_err();
        assert!(err.is_cancelled() && err.cancel_message().is_none(), "{err:?}");
        assert!(ts[1].result().is_ok());
        assert!(!lock.locked());
        Ok(())
    });
}

/// S08: `timeout()` around a waiting `acquire()`: a timeout error, no
/// waiter left, the holder still holds it, the counter back at 0.
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// TE ()
/// [] True 0                            # _waiters, locked(), cancelling()
/// False                                # locked() after release()
/// True                                 # wait_for(lock.acquire(), 1)
/// ```
#[test]
fn s08_timeout_around_acquire() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let lock = Lock::new();
            acquire(&lock).await?;
            let err = ravel::timeout(SHORT, lock.acquire()).await.unwrap_err();
            assert!(err.is_timeout(), "{flavour}: {err:?}");
            assert_eq!(lock.waiters(), 0, "{flavour}");
            assert!(lock.locked());
            assert_eq!(current_task().unwrap().cancelling(), 0);
            lock.release()?;
            assert!(!lock.locked());
            let guard = ravel::wait_for(lock.acquire(), Duration::from_secs(1)).await?;
            assert!(lock.locked());
            drop(guard);
            Ok(())
        });
    }
}

/// S09: no owner, not reentrant: a task's acquisition outlives it; another
/// task may release; the holder's second acquire blocks.
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// after task True
/// released by another False
/// TE () True
/// ```
#[test]
fn s09_no_owner_not_reentrant() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let lock = Lock::new();
            let l = lock.clone();
            ravel::spawn(async move { acquire(&l).await }).await?;
            assert!(lock.locked(), "{flavour}: nothing released when the task ends");
            let l = lock.clone();
            ravel::spawn(async move { l.release() }).await?;
            assert!(!lock.locked(), "{flavour}: another task released it");
            acquire(&lock).await?;
            let err = ravel::timeout(SHORT, lock.acquire()).await.unwrap_err();
            assert!(err.is_timeout(), "{flavour}: not reentrant: {err:?}");
            assert!(lock.locked());
            lock.release()
        });
    }
}

/// S11: the holder cancelled inside `async with lock`: its handler sees
/// the lock held; on leaving the block the lock is free with the woken
/// waiter still queued (no hand-over); the waiter then takes it.
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// holder CE () locked right after False 0
/// holder after with [(False, 1)]       # locked(), len(_waiters) as the holder leaves the block
/// ['holder in', 'holder CE, locked=True', 'waiter in'] False
/// ```
#[test]
fn s11_holder_cancelled_inside_the_guard() {
    let rt = current_thread();
    block(&rt, async {
        let lock = Lock::new();
        let log = Log::new();
        let after = Arc::new(Mutex::new(None));
        let (l, lg, a) = (lock.clone(), log.clone(), after.clone());
        let h = ravel::spawn(async move {
            let out = async {
                let _guard = l.acquire().await?;
                lg.push("holder in");
                match ravel::sleep(LONG).await {
                    Err(e) => {
                        lg.push(format!("holder CE, locked={}", l.locked()));
                        Err(e)
                    }
                    Ok(()) => Ok(()),
                }
            }
            .await;
            *a.lock().unwrap() = Some((l.locked(), l.waiters()));
            out
        });
        tick().await?;
        let (l, lg) = (lock.clone(), log.clone());
        let w = ravel::spawn(async move {
            let _guard = l.acquire().await?;
            lg.push("waiter in");
            Ok(())
        });
        tick().await?;
        h.cancel();
        let err = h.await.unwrap_err();
        assert!(err.is_cancelled() && err.cancel_message().is_none(), "{err:?}");
        assert!(!lock.locked());
        assert_eq!(lock.waiters(), 0);
        w.await?;
        assert_eq!(*after.lock().unwrap(), Some((false, 1)));
        assert_eq!(log.events(), ["holder in", "holder CE, locked=true", "waiter in"]);
        assert!(!lock.locked());
        Ok(())
    });
}

/// Not in asyncio (which has no guards): a guard releases the hold it
/// took, and only that one. Released by hand, then taken again by another
/// task, the lock is not released by the first guard's drop.
#[test]
fn guard_releases_only_its_own_hold() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let lock = Lock::new();
            let guard = lock.acquire().await?;
            lock.release()?;
            let l = lock.clone();
            let other = ravel::spawn(async move {
                let _held = l.acquire().await?;
                ravel::sleep(LONG).await
            });
            while !lock.locked() {
                tick().await?;
            }
            drop(guard);
            assert!(lock.locked(), "{flavour}: the other task's hold stays");
            other.cancel();
            assert!(other.await.unwrap_err().is_cancelled());
            assert!(!lock.locked(), "{flavour}: released by its own guard");

            // A guard whose hold was ended by hand, with the lock still
            // free, releases nothing (no error either).
            let guard = lock.acquire().await?;
            lock.release()?;
            drop(guard);
            assert!(!lock.locked());
            assert!(lock.release().unwrap_err().is_invalid_state());
            Ok(())
        });
    }
}
