//! Stress: the sync primitives across two workers, with tasks cancelled at
//! random points (each test well under 2 s in a debug build, each run
//! several times with fresh runtimes and seeds).
//!
//! * A `Semaphore(4)` never has more than 4 holders, and ends with its 4
//!   units back and no waiter left, whatever the cancellations hit
//!   (queued waiters, woken-then-cancelled waiters, holders).
//! * A `Lock` never has two holders: a read-yield-write counter guarded by
//!   it (behind a `std::sync::Mutex` taken with `try_lock`, which must
//!   always succeed) loses no update.
//! * A `Condition` notified once per item while consumers are cancelled
//!   loses no notification: the survivors consume every item.
//! * A `Condition` notified from another thread the moment `wait()` frees
//!   the lock loses no notification (a regression test).
//!
//! Randomness is a fixed-seed xorshift, so a failure can be replayed.

use ravel::sync::{Condition, Event, Lock, Semaphore};
use ravel::{Result, Task};
use ravel_tests::{block, multi_thread};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A small deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) % n
    }
}

/// Spawns a task that yields a random number of times (below `max`),
/// then cancels `target`.
fn cancel_later<T: Send + 'static>(target: &Task<T>, rng: &mut Rng, max: u64) -> Task<bool> {
    let target = target.as_task_ref().clone();
    let ticks = rng.below(max);
    ravel::spawn(async move {
        for _ in 0..ticks {
            ravel::yield_now().await?;
        }
        Ok(target.cancel())
    })
}

/// Awaits every task; returns how many ended cancelled. Any other error
/// (a failed assertion inside a task is a panic) fails the test.
async fn join_all<T: Send + 'static>(tasks: Vec<Task<T>>) -> Result<usize> {
    let mut cancelled = 0;
    for t in tasks {
        match t.await {
            Ok(_) => {}
            Err(e) if e.is_cancelled() => cancelled += 1,
            Err(e) if e.is_panic() => e.resume_unwind(),
            Err(e) => return Err(e),
        }
    }
    Ok(cancelled)
}

/// How long the survivors of (c) may take to consume what is left once
/// the producer is done (milliseconds in practice; a lost notification
/// hangs for ever).
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// Runs per stress test, each on a fresh runtime with its own seed.
const ITERATIONS: u64 = 16;

/// (a) Semaphore(4): 200 tasks x 50 acquisitions, a third of them
/// cancelled at random points.
#[test]
fn semaphore_never_over_admits_and_gets_every_unit_back() {
    const UNITS: usize = 4;
    const TASKS: usize = 200;
    const ROUNDS: usize = 50;
    for seed in 0..ITERATIONS {
        let rt = multi_thread(2);
        let mut rng = Rng::new(seed);
        let (cancelled, completed) = block(&rt, async move {
            let sem = Semaphore::new(UNITS);
            let held = Arc::new(AtomicUsize::new(0));
            let max_held = Arc::new(AtomicUsize::new(0));
            let acquisitions = Arc::new(AtomicUsize::new(0));
            let mut tasks = Vec::new();
            let mut cancellers = Vec::new();
            for i in 0..TASKS {
                let (sem, held, max_held, acquisitions) =
                    (sem.clone(), held.clone(), max_held.clone(), acquisitions.clone());
                let t = ravel::spawn(async move {
                    for _ in 0..ROUNDS {
                        let permit = sem.acquire().await?;
                        let now = held.fetch_add(1, SeqCst) + 1;
                        max_held.fetch_max(now, SeqCst);
                        assert!(now <= UNITS, "{now} holders of a Semaphore({UNITS})");
                        acquisitions.fetch_add(1, SeqCst);
                        // A cancellation may land here, while holding.
                        let r = ravel::yield_now().await;
                        held.fetch_sub(1, SeqCst);
                        drop(permit);
                        r?;
                    }
                    Ok(())
                });
                if i % 3 == 0 {
                    cancellers.push(cancel_later(&t, &mut rng, 400));
                }
                tasks.push(t);
            }
            let cancelled = join_all(tasks).await?;
            join_all(cancellers).await?;
            assert_eq!(held.load(SeqCst), 0);
            assert!(max_held.load(SeqCst) <= UNITS, "max held {}", max_held.load(SeqCst));
            assert_eq!(sem.value(), UNITS, "every unit back");
            assert_eq!(sem.waiters(), 0, "no waiter left");
            assert!(!sem.locked());
            Ok((cancelled, acquisitions.load(SeqCst)))
        });
        assert!(cancelled > 0, "some cancellations landed");
        assert!(completed >= (TASKS - TASKS.div_ceil(3)) * ROUNDS, "the survivors did all their rounds: {completed}");
    }
}

/// (b) Lock: a read-yield-write counter behind the lock loses no update
/// and never sees a second holder, with a third of the tasks cancelled.
#[test]
fn lock_never_has_two_holders() {
    const TASKS: usize = 100;
    const ROUNDS: usize = 50;
    for seed in 0..ITERATIONS {
        let rt = multi_thread(2);
        let mut rng = Rng::new(seed);
        let cancelled = block(&rt, async move {
            let lock = Lock::new();
            let counter = Arc::new(Mutex::new(0u64));
            let inside = Arc::new(AtomicBool::new(false));
            let successes = Arc::new(AtomicU64::new(0));
            let mut tasks = Vec::new();
            let mut cancellers = Vec::new();
            for i in 0..TASKS {
                let (lock, counter, inside, successes) =
                    (lock.clone(), counter.clone(), inside.clone(), successes.clone());
                let t = ravel::spawn(async move {
                    for _ in 0..ROUNDS {
                        let guard = lock.acquire().await?;
                        successes.fetch_add(1, SeqCst);
                        assert!(!inside.swap(true, SeqCst), "two holders of the lock");
                        let seen = *counter.try_lock().expect("the lock's holder has the counter to itself");
                        // A cancellation may land here, while holding; the
                        // holder still finishes its increment.
                        let r = ravel::yield_now().await;
                        let mut c = counter.try_lock().expect("the lock's holder has the counter to itself");
                        assert_eq!(*c, seen, "another holder wrote meanwhile");
                        *c = seen + 1;
                        drop(c);
                        inside.store(false, SeqCst);
                        drop(guard);
                        r?;
                    }
                    Ok(())
                });
                if i % 3 == 0 {
                    cancellers.push(cancel_later(&t, &mut rng, 300));
                }
                tasks.push(t);
            }
            let cancelled = join_all(tasks).await?;
            join_all(cancellers).await?;
            assert_eq!(*counter.lock().unwrap(), successes.load(SeqCst), "one increment per acquisition");
            assert!(!lock.locked());
            assert_eq!(lock.waiters(), 0);
            Ok(cancelled)
        });
        assert!(cancelled > 0, "some cancellations landed");
    }
}

/// (c) Condition: a producer adds items one at a time with `notify(1)`;
/// consumers `wait_for` an item and take one; a third of the consumers
/// are cancelled meanwhile. Every item is consumed by the survivors
/// before the producer says it is done (a lost notification would leave
/// an item behind with every survivor waiting).
#[test]
fn condition_loses_no_notification_while_waiters_are_cancelled() {
    const CONSUMERS: usize = 30;
    const ITEMS: u64 = 3000;
    for seed in 0..ITERATIONS {
        let rt = multi_thread(2);
        let mut rng = Rng::new(seed);
        block(&rt, async move {
            let cond = Condition::new();
            // Both counters change only under the condition's lock.
            let produced = Arc::new(AtomicU64::new(0));
            let consumed = Arc::new(AtomicU64::new(0));
            let done = Arc::new(AtomicBool::new(false));
            let all_consumed = Event::new();
            let mut consumers = Vec::new();
            let mut cancellers = Vec::new();
            for i in 0..CONSUMERS {
                let produced_so_far = produced.clone();
                let (cond, produced, consumed, done, all_consumed) =
                    (cond.clone(), produced.clone(), consumed.clone(), done.clone(), all_consumed.clone());
                let t = ravel::spawn(async move {
                    let mut mine = 0u64;
                    loop {
                        let _guard = cond.acquire().await?;
                        cond.wait_for(|| {
                            (consumed.load(SeqCst) < produced.load(SeqCst) || done.load(SeqCst)).then_some(())
                        })
                        .await?;
                        assert!(cond.locked());
                        if consumed.load(SeqCst) < produced.load(SeqCst) {
                            let now = consumed.fetch_add(1, SeqCst) + 1;
                            mine += 1;
                            if now == ITEMS {
                                all_consumed.set();
                            }
                        } else {
                            return Ok(mine);
                        }
                    }
                });
                if i % 3 == 0 {
                    // Cancel once a random number of items is produced, so
                    // that it lands while the consumer still runs.
                    let target = t.as_task_ref().clone();
                    let after = rng.below(ITEMS);
                    cancellers.push(ravel::spawn(async move {
                        while produced_so_far.load(SeqCst) < after {
                            ravel::yield_now().await?;
                        }
                        Ok(target.cancel())
                    }));
                }
                consumers.push(t);
            }
            let (c, p) = (cond.clone(), produced.clone());
            let producer = ravel::spawn(async move {
                for n in 0..ITEMS {
                    {
                        let _guard = c.acquire().await?;
                        p.fetch_add(1, SeqCst);
                        c.notify(1)?;
                    }
                    if n % 4 == 0 {
                        ravel::yield_now().await?;
                    }
                }
                Ok(())
            });
            producer.await?;
            if let Err(e) = ravel::timeout(DRAIN_LIMIT, all_consumed.wait()).await {
                panic!(
                    "items left unconsumed: produced {}, consumed {} ({e:?})",
                    produced.load(SeqCst),
                    consumed.load(SeqCst)
                );
            }
            {
                let _guard = cond.acquire().await?;
                done.store(true, SeqCst);
                cond.notify_all()?;
            }
            let mut survivors_total = 0;
            let mut cancelled = 0;
            for t in consumers {
                match t.await {
                    Ok(mine) => survivors_total += mine,
                    Err(e) if e.is_cancelled() => cancelled += 1,
                    Err(e) => return Err(e),
                }
            }
            join_all(cancellers).await?;
            assert!(cancelled > 0, "some cancellations landed");
            assert!(survivors_total <= ITEMS);
            assert_eq!(consumed.load(SeqCst), ITEMS);
            assert_eq!(cond.waiters(), 0);
            assert!(!cond.locked());
            Ok(())
        });
    }
}

/// (d) `Condition::wait` queues its waiter before it releases the lock: a
/// notifier on another thread, spinning on the lock so that it takes it
/// the moment `wait()` frees it, always finds the waiter queued. (asyncio
/// releases first, in the same step of its single thread. Releasing first
/// here lost notifications in every run of this test: the notifier found
/// no waiter, and the waiter hung, here until its timeout.)
#[test]
fn condition_wait_queues_before_the_lock_is_seen_free() {
    const ROUNDS: usize = 10_000;
    let rt = multi_thread(2);
    let cond = Condition::new();
    // The round the waiter is in; the round the notifier spins in; the
    // rounds it has served, and when it notified each; stop.
    let armed = Arc::new(AtomicUsize::new(usize::MAX));
    let spinning = Arc::new(AtomicUsize::new(usize::MAX));
    let served = Arc::new(AtomicUsize::new(0));
    let notified_at: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; ROUNDS]));
    let stop = Arc::new(AtomicBool::new(false));
    let notifier = {
        let (cond, armed, spinning, served, notified_at, stop) =
            (cond.clone(), armed.clone(), spinning.clone(), served.clone(), notified_at.clone(), stop.clone());
        std::thread::spawn(move || {
            for round in 0..ROUNDS {
                while armed.load(SeqCst) != round {
                    if stop.load(SeqCst) {
                        return;
                    }
                    std::thread::yield_now();
                }
                spinning.store(round, SeqCst);
                loop {
                    if let Some(guard) = cond.lock().try_acquire() {
                        cond.notify(1).unwrap();
                        notified_at.lock().unwrap()[round] = Some(Instant::now());
                        drop(guard);
                        break;
                    }
                    std::hint::spin_loop();
                }
                served.store(round + 1, SeqCst);
            }
        })
    };
    let n = notified_at.clone();
    let lost = block(&rt, async move {
        for round in 0..ROUNDS {
            let held = cond.acquire().await?;
            armed.store(round, SeqCst);
            // Wait, holding the lock, until the notifier spins on it.
            while spinning.load(SeqCst) != round {
                std::hint::spin_loop();
            }
            let waited_from = Instant::now();
            // Generous: a lost notification never arrives, so only a starved
            // notifier thread could come near this bound.
            let woke = ravel::timeout(Duration::from_secs(10), cond.wait()).await;
            let ended = Instant::now();
            drop(held);
            // Stay in step with the notifier.
            while served.load(SeqCst) <= round {
                ravel::yield_now().await?;
            }
            match woke {
                Ok(()) => {}
                Err(e) if e.is_timeout() => {
                    let at = n.lock().unwrap()[round].expect("served");
                    return Ok(Some(format!(
                        "round {round}: notified {:?} after the wait began; timed out {:?} after it",
                        at.duration_since(waited_from),
                        ended.duration_since(waited_from)
                    )));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    });
    stop.store(true, SeqCst);
    notifier.join().unwrap();
    assert_eq!(lost, None, "a notification was lost");
}
