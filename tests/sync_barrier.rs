//! `ravel::sync::Barrier` against CPython 3.13's `asyncio.Barrier`
//! (asyncio-sync-semantics §2.S, Barrier: S39–S43, S45).
//!
//! Each case was written as a Python script and run on CPython 3.13.0 (and
//! 3.12.1, which printed the same); what it printed is quoted above each
//! test. `tick` is `await asyncio.sleep(0)` = `ravel::yield_now()`;
//! `state` is the repr's bracketed part, `filling, waiters:2/3`.

use ravel::sync::{Barrier, BrokenBarrierError};
use ravel::{Error, Result};
use ravel_tests::{block, both, current_thread, Log};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

async fn tick() -> Result<()> {
    ravel::yield_now().await
}

/// The repr's bracketed part: `<Barrier [filling, waiters:0/3]>` gives
/// `filling, waiters:0/3`.
fn state(b: &Barrier) -> String {
    let repr = format!("{b:?}");
    let start = repr.find(" [").expect("a bracketed state") + 2;
    repr[start..repr.len() - 2].to_string()
}

fn spawn_wait(b: &Barrier) -> ravel::Task<usize> {
    let b = b.clone();
    ravel::spawn(async move { b.wait().await })
}

/// The message of a [`BrokenBarrierError`], or a panic.
fn broken_message(err: &Error) -> String {
    err.downcast_ref::<BrokenBarrierError>().unwrap_or_else(|| panic!("a BrokenBarrierError: {err:?}")).to_string()
}

/// S39: `Barrier(0)` is refused. CPython raises `ValueError('parties must
/// be > 0')`; Ravel's constructor panics with the same message (a
/// constructor, not a misuse of a live barrier). `Barrier(-4)` is not
/// expressible (`usize`).
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// 0 ('parties must be > 0',)
/// -4 ('parties must be > 0',)
/// ```
#[test]
#[should_panic(expected = "parties must be > 0")]
fn s39_zero_parties_is_refused() {
    let _ = Barrier::new(0);
}

/// S39: properties and states while the barrier fills and drains.
///
/// CPython 3.13.0 (and 3.12.1), as `(parties, n_waiting, broken, state)` etc.:
/// ```text
/// (3, 0, False, 'filling, waiters:0/3')
/// (2, 'filling, waiters:2/3')
/// (0, 'draining, waiters:0/3')
/// [0, 1, 2] (0, 'filling, waiters:0/3', False)
/// ```
#[test]
fn s39_properties_and_states() {
    let rt = current_thread();
    block(&rt, async {
        let b = Barrier::new(3);
        assert_eq!((b.parties(), b.n_waiting(), b.broken(), state(&b)), (3, 0, false, "filling, waiters:0/3".into()));
        let mut ts: Vec<_> = (0..2).map(|_| spawn_wait(&b)).collect();
        tick().await?;
        assert_eq!((b.n_waiting(), state(&b)), (2, "filling, waiters:2/3".into()));
        ts.push(spawn_wait(&b));
        tick().await?;
        assert_eq!((b.n_waiting(), state(&b)), (0, "draining, waiters:0/3".into()));
        let mut res = Vec::new();
        for t in ts {
            res.push(t.await?);
        }
        assert_eq!(res, [0, 1, 2]);
        assert_eq!((b.n_waiting(), state(&b), b.broken()), (0, "filling, waiters:0/3".into(), false));
        Ok(())
    });
}

/// S40: indices are the arrival order, the last arrival leaves first, and
/// the last task out sees the barrier filling again; `Barrier(1)` waited
/// twice; three tasks waiting twice.
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// [(4, True), (0, True), (1, True), (2, True), (3, False)]   # (index, "draining" in repr) in exit order
/// (0, 0)
/// [2, 0, 1, 2, 0, 1] 0 False
/// ```
#[test]
fn s40_indices_and_draining() {
    let rt = current_thread();
    block(&rt, async {
        let b = Barrier::new(5);
        let seen = Log::new();
        let ts: Vec<_> = (0..5)
            .map(|_| {
                let (b, seen) = (b.clone(), seen.clone());
                ravel::spawn(async move {
                    let i = b.wait().await?;
                    seen.push(format!("({i}, {})", state(&b).contains("draining")));
                    Ok(())
                })
            })
            .collect();
        for t in ts {
            t.await?;
        }
        assert_eq!(seen.events(), ["(4, true)", "(0, true)", "(1, true)", "(2, true)", "(3, false)"]);

        let b = Barrier::new(1);
        assert_eq!((b.wait().await?, b.wait().await?), (0, 0));

        let b = Barrier::new(3);
        let out = Log::new();
        let ts: Vec<_> = (0..3)
            .map(|_| {
                let (b, out) = (b.clone(), out.clone());
                ravel::spawn(async move {
                    out.push(b.wait().await?.to_string());
                    out.push(b.wait().await?.to_string());
                    Ok(())
                })
            })
            .collect();
        for t in ts {
            t.await?;
        }
        assert_eq!(out.events(), ["2", "0", "1", "2", "0", "1"]);
        assert_eq!((b.n_waiting(), b.broken()), (0, false));
        Ok(())
    });
}

/// S40 on both runtimes: several rounds of a full party, each round's
/// indices a permutation of `0..parties`.
#[test]
fn s40_rounds_on_both_runtimes() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            const PARTIES: usize = 4;
            const ROUNDS: usize = 20;
            let b = Barrier::new(PARTIES);
            let sums = Arc::new(AtomicUsize::new(0));
            let ts: Vec<_> = (0..PARTIES)
                .map(|_| {
                    let (b, sums) = (b.clone(), sums.clone());
                    ravel::spawn(async move {
                        let mut got = Vec::new();
                        for _ in 0..ROUNDS {
                            let i = b.wait().await?;
                            assert!(i < PARTIES);
                            sums.fetch_add(i, SeqCst);
                            got.push(i);
                        }
                        Ok(got)
                    })
                })
                .collect();
            for t in ts {
                assert_eq!(t.await?.len(), ROUNDS);
            }
            assert_eq!(sums.load(SeqCst), ROUNDS * (0..PARTIES).sum::<usize>(), "{flavour}");
            assert_eq!((b.n_waiting(), b.broken(), state(&b)), (0, false, "filling, waiters:0/4".into()));
            Ok(())
        });
    }
}

/// S41: `abort()` breaks the barrier for the waiting and for new waits,
/// until `reset()`; and `test_abort_barrier_when_tasks_half_draining_half_blocking`.
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// (True, 0, 'broken]>')                # broken, n_waiting, repr tail
/// waiter ('Abort or reset of barrier',)
/// waiter ('Abort or reset of barrier',)
/// new ('Barrier aborted',) True        # isinstance(e, RuntimeError)
/// (False, 'filling, waiters:0/3')      # after reset()
/// [0, 1, 2]
/// True [True, True] [True, True] 0 broken]>
/// ```
#[test]
fn s41_abort() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let b = Barrier::new(3);
            let ts: Vec<_> = (0..2).map(|_| spawn_wait(&b)).collect();
            while b.n_waiting() < 2 {
                tick().await?;
            }
            b.abort().await?;
            assert_eq!((b.broken(), b.n_waiting()), (true, 0), "{flavour}");
            assert_eq!(format!("{b:?}"), "<Barrier [broken]>");
            for t in ts {
                assert_eq!(broken_message(&t.await.unwrap_err()), "Abort or reset of barrier", "{flavour}");
            }
            assert_eq!(broken_message(&b.wait().await.unwrap_err()), "Barrier aborted");
            b.reset().await?;
            assert_eq!((b.broken(), state(&b)), (false, "filling, waiters:0/3".into()));
            let ts: Vec<_> = (0..3).map(|_| spawn_wait(&b)).collect();
            let mut res = Vec::new();
            for t in ts {
                res.push(t.await?);
            }
            res.sort();
            assert_eq!(res, [0, 1, 2], "{flavour}");
            Ok(())
        });
    }

    // Half draining, half blocking: the tasks of the first round that
    // leave after the others aborted see the error, as do those already
    // waiting for the second round.
    let rt = current_thread();
    block(&rt, async {
        const N: usize = 5;
        let b = Barrier::new(N);
        let (r1, r2) = (Log::new(), Log::new());
        let count = Arc::new(AtomicUsize::new(0));
        let ts: Vec<_> = (0..N)
            .map(|_| {
                let (b, r1, r2, count) = (b.clone(), r1.clone(), r2.clone(), count.clone());
                ravel::spawn(async move {
                    match b.wait().await {
                        Err(e) if e.downcast_ref::<BrokenBarrierError>().is_some() => r1.push("True"),
                        Err(e) => return Err(e),
                        Ok(_) => {
                            if count.fetch_add(1, SeqCst) + 1 > N / 2 {
                                b.abort().await?;
                            } else if let Err(e) = b.wait().await {
                                e.downcast_ref::<BrokenBarrierError>().expect("a broken barrier");
                                r2.push("True");
                            }
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for t in ts {
            t.await?;
        }
        assert!(b.broken());
        assert_eq!(r1.events(), ["True", "True"]);
        assert_eq!(r2.events(), ["True", "True"]);
        assert_eq!(b.n_waiting(), 0);
        assert_eq!(format!("{b:?}"), "<Barrier [broken]>");
        Ok(())
    });
}

/// S42: `reset()` while tasks wait: resetting, each waiter gets the error,
/// the last one out makes it fill again; `reset()` of an idle barrier.
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// resetting, waiters:0/3
/// [('Abort or reset of barrier',), ('Abort or reset of barrier',)] (False, 0, 'filling, waiters:0/3')
/// ('filling, waiters:0/1', False)
/// ```
#[test]
fn s42_reset_while_tasks_wait() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let b = Barrier::new(3);
            let ts: Vec<_> = (0..2).map(|_| spawn_wait(&b)).collect();
            while b.n_waiting() < 2 {
                tick().await?;
            }
            b.reset().await?;
            // On two workers the waiters may already be leaving.
            let right_after = state(&b);
            let allowed: &[&str] = if flavour == "multi_thread" {
                &["resetting, waiters:0/3", "filling, waiters:0/3"]
            } else {
                &["resetting, waiters:0/3"]
            };
            assert!(allowed.contains(&right_after.as_str()), "{flavour}: {right_after}");
            for t in ts {
                assert_eq!(broken_message(&t.await.unwrap_err()), "Abort or reset of barrier", "{flavour}");
            }
            assert_eq!((b.broken(), b.n_waiting(), state(&b)), (false, 0, "filling, waiters:0/3".into()), "{flavour}");

            let b = Barrier::new(1);
            b.reset().await?;
            assert_eq!((state(&b), b.broken()), ("filling, waiters:0/1".into(), false));
            Ok(())
        });
    }
}

/// S43 (`test_filling_tasks_cancel_one`): a cancelled waiter only leaves
/// (one fewer waiting); the barrier is not broken, and the next arrival
/// takes the same index.
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// 1
/// 2
/// after cancel 1 False filling, waiters:1/3
/// t1 CE True
/// 2
/// [('t1', 'CE'), ('t4', 2), ('t2', 1), ('t3', 1)] 0 False
/// ```
#[test]
fn s43_cancelled_waiter_only_leaves() {
    let rt = current_thread();
    block(&rt, async {
        let b = Barrier::new(3);
        let results = Log::new();
        let c = |name: &'static str| {
            let (b, results) = (b.clone(), results.clone());
            ravel::spawn(async move {
                match b.wait().await {
                    Ok(i) => {
                        results.push(format!("{name} {i}"));
                        Ok(())
                    }
                    Err(e) => {
                        results.push(format!("{name} CE"));
                        Err(e)
                    }
                }
            })
        };
        let t1 = c("t1");
        tick().await?;
        assert_eq!(b.n_waiting(), 1);
        let t2 = c("t2");
        tick().await?;
        assert_eq!(b.n_waiting(), 2);
        t1.cancel();
        tick().await?;
        assert_eq!((b.n_waiting(), b.broken(), state(&b)), (1, false, "filling, waiters:1/3".into()));
        assert!(t1.await.unwrap_err().is_cancelled());
        let t3 = c("t3");
        tick().await?;
        assert_eq!(b.n_waiting(), 2);
        let t4 = c("t4");
        t2.await?;
        t3.await?;
        t4.await?;
        assert_eq!(results.events(), ["t1 CE", "t4 2", "t2 1", "t3 1"]);
        assert_eq!((b.n_waiting(), b.broken()), (0, false));
        Ok(())
    });
}

/// S45: a task that arrives while the barrier drains waits for the next
/// round (it is not counted in the round being released).
///
/// CPython 3.13.0 (and 3.12.1), Barrier(2), tasks a, b, c spawned together,
/// d after three ticks:
/// ```text
/// tick1 draining, waiters:0/2 [('b', 1, 'draining, waiters:0/2')] 1 2    # state, log, _count, len(_cond._waiters)
/// tick2 filling, waiters:0/2 [('b', 1, 'draining, waiters:0/2'), ('a', 0, 'filling, waiters:0/2')] 0 1
/// tick3 filling, waiters:1/2 [('b', 1, 'draining, waiters:0/2'), ('a', 0, 'filling, waiters:0/2')] 1 1
/// [('b', 1, 'draining, waiters:0/2'), ('a', 0, 'filling, waiters:0/2'), ('d', 1, 'draining, waiters:0/2'), ('c', 0, 'filling, waiters:0/2')] filling, waiters:0/2
/// ```
#[test]
fn s45_arrival_while_draining_waits_for_the_next_round() {
    let rt = current_thread();
    block(&rt, async {
        let b = Barrier::new(2);
        let log = Log::new();
        let c = |name: &'static str| {
            let (b, log) = (b.clone(), log.clone());
            ravel::spawn(async move {
                let i = b.wait().await?;
                log.push(format!("{name} {i} {}", state(&b)));
                Ok(i)
            })
        };
        let mut ts: Vec<_> = ["a", "b", "c"].into_iter().map(c).collect();
        tick().await?;
        assert_eq!(state(&b), "draining, waiters:0/2");
        assert_eq!(log.events(), ["b 1 draining, waiters:0/2"]);
        tick().await?;
        assert_eq!(state(&b), "filling, waiters:0/2");
        assert_eq!(log.events(), ["b 1 draining, waiters:0/2", "a 0 filling, waiters:0/2"]);
        tick().await?;
        assert_eq!(state(&b), "filling, waiters:1/2", "c waits in the second round");
        ts.push(c("d"));
        for t in ts {
            t.await?;
        }
        assert_eq!(
            log.events(),
            [
                "b 1 draining, waiters:0/2",
                "a 0 filling, waiters:0/2",
                "d 1 draining, waiters:0/2",
                "c 0 filling, waiters:0/2"
            ]
        );
        assert_eq!(state(&b), "filling, waiters:0/2");
        Ok(())
    });
}

/// S45 (`test_blocking_tasks_while_draining`): tasks that wait again while
/// the first round drains are held for the next one; on both runtimes.
///
/// CPython 3.13.0 (and 3.12.1): `blocking_while_draining ok filling, waiters:0/5`.
#[test]
fn s45_blocking_tasks_while_draining() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            const N: usize = 5;
            const REWAIT: usize = 2;
            let b = Barrier::new(N);
            let b2 = Barrier::new(N - REWAIT);
            let rewait = Arc::new(AtomicUsize::new(REWAIT));
            let ts: Vec<_> = (0..N)
                .map(|_| {
                    let (b, b2, rewait) = (b.clone(), b2.clone(), rewait.clone());
                    ravel::spawn(async move {
                        b.wait().await?;
                        if rewait.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1)).is_ok() {
                            b.wait().await?;
                        } else {
                            b2.wait().await?;
                            b.wait().await?;
                        }
                        Ok(())
                    })
                })
                .collect();
            for t in ts {
                t.await?;
            }
            assert_eq!(state(&b), "filling, waiters:0/5", "{flavour}");
            Ok(())
        });
    }
}

/// Not in asyncio: a waiting task aborted (its future dropped, where
/// asyncio would deliver a cancellation) leaves the barrier as a
/// cancelled waiter does (S43): one fewer waiting, not broken; the next
/// arrival takes its index and waits for a full party.
#[test]
fn aborted_waiter_leaves_like_a_cancelled_one() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let b = Barrier::new(2);
            let t1 = spawn_wait(&b);
            while b.n_waiting() < 1 {
                tick().await?;
            }
            t1.abort();
            let err = t1.await.unwrap_err();
            assert!(err.is_aborted(), "{flavour}: {err:?}");
            assert_eq!((b.n_waiting(), b.broken()), (0, false), "{flavour}: the aborted waiter left");
            let t2 = spawn_wait(&b);
            while b.n_waiting() < 1 {
                tick().await?;
            }
            assert!(!t2.done(), "{flavour}: t2 waits for a second party");
            let t3 = spawn_wait(&b);
            let mut got = vec![t2.await?, t3.await?];
            got.sort();
            assert_eq!(got, [0, 1], "{flavour}");
            assert_eq!(state(&b), "filling, waiters:0/2");
            Ok(())
        });
    }
}

/// S43 family: `timeout()` around a barrier wait: a timeout error; the
/// waiter only left (not broken, nobody counted), and the next two
/// arrivals make a full round.
///
/// CPython 3.13.0 (and 3.12.1):
/// ```text
/// TE () 0 False filling, waiters:0/2]>
/// [0, 1]
/// ```
#[test]
fn s43_timeout_around_wait_only_leaves() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let b = Barrier::new(2);
            let err = ravel::timeout(std::time::Duration::from_millis(10), b.wait()).await.unwrap_err();
            assert!(err.is_timeout(), "{flavour}: {err:?}");
            assert_eq!((b.n_waiting(), b.broken(), state(&b)), (0, false, "filling, waiters:0/2".into()));
            let (t1, t2) = (spawn_wait(&b), spawn_wait(&b));
            let mut got = vec![t1.await?, t2.await?];
            got.sort();
            assert_eq!(got, [0, 1], "{flavour}");
            Ok(())
        });
    }
}
