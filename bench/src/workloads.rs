//! Every workload, written once against [`Rt`].
//!
//! Naming: `<name>` spawns from the future given to `block_on` (as Tokio's
//! own suite does); `<name>_in_task` runs the same body inside a task spawned
//! from `block_on`. The two differ on Tokio, whose `block_on` thread is not a
//! worker (its spawns go through the global inject queue); on Ravel the
//! `block_on` future already runs as a task on a worker, so both variants
//! spawn worker-locally there.

use crate::{join_all, next, stall, timed_threads, Background, Countdown, JoinError, Rt};
use futures_channel::{mpsc as fmpsc, oneshot};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which runtime configuration a workload runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// The scheduler suite: 2 and 4 workers, Ravel without eager start.
    Scheduler,
    /// A 1-worker runtime on both sides.
    OneWorker,
    /// The eager set: 2 and 4 workers, Ravel with `eager_tasks(true)`,
    /// Tokio as it is.
    Eager,
}

/// Workload sizes: [`Sizes::FULL`] for the benchmark, [`Sizes::TINY`] for the
/// `quick` test.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// `spawn_many_local`, `spawn_many_remote_{idle,busy1}` (Tokio: 10,000).
    pub spawn: usize,
    /// `spawn_many_remote_busy2` (Tokio: 1,000).
    pub busy2_spawn: usize,
    /// `ping_pong` pairs (Tokio: 1,000).
    pub pings: usize,
    /// `yield_many` tasks (Tokio: 200).
    pub yield_tasks: usize,
    /// `yield_many` yields per task (Tokio: 1,000).
    pub yields: usize,
    /// `chained_spawn` length (Tokio: 1,000).
    pub chain: usize,
    /// Spawn→await round trips per iteration.
    pub roundtrips: usize,
    /// Remote-spawn contention: spawns per iteration, split over the threads.
    pub remote: usize,
    /// Blocking jobs per batch.
    pub blocking_batch: usize,
    /// Batches per iteration (sequential).
    pub blocking_batches: usize,
    /// Timeouts around a ready future per iteration.
    pub timeouts: usize,
    /// Tasks sleeping 1 ms per iteration.
    pub sleepers: usize,
    /// Sleeping tasks cancelled and joined per iteration.
    pub cancels: usize,
    /// Children of the TaskGroup / JoinSet.
    pub group: usize,
    /// Eager set: ready-future spawns per iteration.
    pub ready_spawns: usize,
    /// Eager set: cache requests per iteration.
    pub requests: usize,
    /// Eager set: `fib(n)` spawn tree.
    pub fib: u32,
    /// Tasks contending for one lock.
    pub lock_tasks: usize,
    /// Acquisitions per task.
    pub lock_rounds: usize,
    /// Tasks passing through the semaphore.
    pub sem_tasks: usize,
    /// The semaphore's permits.
    pub sem_permits: usize,
    /// Tasks waiting for the broadcast flag.
    pub flag_waiters: usize,
    /// Producer tasks feeding one consumer.
    pub producers: usize,
    /// Items per producer.
    pub items: usize,
    /// The queue's bound.
    pub queue_bound: usize,
}

impl Sizes {
    /// The benchmark's sizes (the mirrored ones are Tokio 1.54's).
    pub const FULL: Sizes = Sizes {
        spawn: 10_000,
        busy2_spawn: 1_000,
        pings: 1_000,
        yield_tasks: 200,
        yields: 1_000,
        chain: 1_000,
        roundtrips: 1_000,
        remote: 12_800,
        blocking_batch: 16,
        blocking_batches: 10,
        timeouts: 10_000,
        sleepers: 10_000,
        cancels: 10_000,
        group: 1_000,
        ready_spawns: 10_000,
        requests: 10_000,
        fib: 12,
        lock_tasks: 1_000,
        lock_rounds: 100,
        sem_tasks: 10_000,
        sem_permits: 16,
        flag_waiters: 1_000,
        producers: 8,
        items: 10_000,
        queue_bound: 64,
    };

    /// Tiny sizes for the `quick` test (debug build).
    pub const TINY: Sizes = Sizes {
        spawn: 100,
        busy2_spawn: 20,
        pings: 20,
        yield_tasks: 8,
        yields: 10,
        chain: 20,
        roundtrips: 20,
        remote: 128,
        blocking_batch: 16,
        blocking_batches: 2,
        timeouts: 100,
        sleepers: 100,
        cancels: 100,
        group: 50,
        ready_spawns: 100,
        requests: 200,
        fib: 6,
        lock_tasks: 20,
        lock_rounds: 5,
        sem_tasks: 100,
        sem_permits: 4,
        flag_waiters: 50,
        producers: 3,
        items: 100,
        queue_bound: 4,
    };
}

/// What one run of a workload produced.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// The checked result (e.g. the number of completed tasks).
    pub value: u64,
    /// For workloads that time only a phase (criterion `iter_custom`): that
    /// phase's duration.
    pub timed: Option<Duration>,
}

impl Outcome {
    fn value(value: u64) -> Outcome {
        Outcome { value, timed: None }
    }

    fn timed(value: u64, d: Duration) -> Outcome {
        Outcome { value, timed: Some(d) }
    }
}

type Teardown<'a> = Box<dyn FnOnce() + 'a>;

/// A workload bound to a runtime: state shared across iterations is built
/// once (outside the measured loop), [`run`](Prepared::run) is one iteration,
/// dropping it tears down background tasks.
pub struct Prepared<'a> {
    run: Box<dyn FnMut() -> Outcome + 'a>,
    teardown: Option<Teardown<'a>>,
}

impl<'a> Prepared<'a> {
    fn new(run: impl FnMut() -> Outcome + 'a) -> Self {
        Prepared { run: Box::new(run), teardown: None }
    }

    fn with_teardown(run: impl FnMut() -> Outcome + 'a, teardown: impl FnOnce() + 'a) -> Self {
        Prepared { run: Box::new(run), teardown: Some(Box::new(teardown)) }
    }

    /// One iteration.
    pub fn run(&mut self) -> Outcome {
        (self.run)()
    }
}

impl Drop for Prepared<'_> {
    fn drop(&mut self) {
        if let Some(t) = self.teardown.take() {
            t();
        }
    }
}

/// One workload, generic over the runtime.
pub struct Workload<R: Rt> {
    /// The criterion function id prefix (`<name>/tokio`, `<name>/ravel`).
    pub name: &'static str,
    /// The runtime configuration it runs on.
    pub class: Class,
    /// True when only a phase is timed ([`Outcome::timed`], `iter_custom`).
    pub custom_timed: bool,
    /// One line for the report.
    pub about: &'static str,
    /// The value every run must produce.
    pub expected: fn(&Sizes) -> u64,
    /// Binds the workload to a runtime.
    pub prepare: for<'a> fn(&'a R, Sizes) -> Prepared<'a>,
    /// The target for the median ratio Ravel/Tokio at 2 workers
    /// (lower is better), if it sets one for this workload.
    pub target: Option<f64>,
}

/// The targets (median Ravel/Tokio at 2 workers): ≤ 1.00 on every
/// mirrored workload, timers, cancellation, TaskGroup vs JoinSet and
/// `to_thread` vs `spawn_blocking`; ≤ 0.50 on the eager set's ready-future
/// spawns, round trip and the 0.9 / 0.99 cache mixes.
fn target_for(class: Class, name: &str) -> Option<f64> {
    let base = name.strip_suffix("_in_task").unwrap_or(name);
    match class {
        Class::Scheduler if !base.starts_with("remote_spawn_") => Some(1.0),
        Class::Eager if matches!(base, "spawn_ready" | "roundtrip_ready" | "cache_mix_90" | "cache_mix_99") => {
            Some(0.5)
        }
        _ => None,
    }
}

/// Runs `fut` from `block_on`, or (`in_task`) in a task spawned from it.
fn root<R: Rt, F>(rt: &R, in_task: bool, fut: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    if in_task {
        rt.block_on(async move { R::spawn(fut).await.expect("root task failed") })
    } else {
        rt.block_on(fut)
    }
}

async fn sum_joins<R: Rt>(joins: Vec<R::Join<u64>>) -> u64 {
    let mut sum = 0;
    for j in joins {
        sum += j.await.expect("task failed");
    }
    sum
}

// ------------------------------------------------- mirrored (Tokio 1.54) --

fn spawn_many_local<R: Rt>(rt: &R, s: Sizes, in_task: bool) -> Prepared<'_> {
    let cd = Arc::new(Countdown::new());
    let n = s.spawn;
    Prepared::new(move || {
        cd.arm(n);
        let c = cd.clone();
        root(rt, in_task, async move {
            for _ in 0..n {
                let c = c.clone();
                drop(R::spawn(async move { c.hit() }));
            }
        });
        // The blocking wait stays outside block_on: on Ravel the block_on
        // future is a task on a worker.
        Outcome::value((n - cd.wait()) as u64)
    })
}

fn remote_spawn_await_all<R: Rt>(rt: &R, n: usize) -> Outcome {
    let joins: Vec<_> = (0..n).map(|_| rt.spawn_remote(async { 1u64 })).collect();
    Outcome::value(rt.block_on(sum_joins::<R>(joins)))
}

fn spawn_many_remote_idle<R: Rt>(rt: &R, s: Sizes) -> Prepared<'_> {
    Prepared::new(move || remote_spawn_await_all(rt, s.spawn))
}

fn spawn_many_remote_busy1<R: Rt>(rt: &R, s: Sizes) -> Prepared<'_> {
    let mut bg = Background::<R>::new();
    for _ in 0..2 * rt.workers() {
        let flag = bg.flag();
        bg.push(rt.spawn_remote(async move {
            while flag.load(Relaxed) {
                let _ = R::yield_now().await;
                stall();
            }
        }));
    }
    Prepared::with_teardown(move || remote_spawn_await_all(rt, s.spawn), move || bg.stop(rt))
}

/// Tokio's `iter(flag)`: a self-respawning stall chain.
fn stall_chain<R: Rt>(flag: Arc<AtomicBool>, ended: Arc<AtomicUsize>) {
    drop(R::spawn(async move {
        if flag.load(Relaxed) {
            stall();
            stall_chain::<R>(flag, ended);
        } else {
            ended.fetch_add(1, Relaxed);
        }
    }));
}

fn spawn_many_remote_busy2<R: Rt>(rt: &R, s: Sizes) -> Prepared<'_> {
    let flag = Arc::new(AtomicBool::new(true));
    let ended = Arc::new(AtomicUsize::new(0));
    let chains = rt.workers();
    for _ in 0..chains {
        let (flag, ended) = (flag.clone(), ended.clone());
        drop(rt.spawn_remote(async move { stall_chain::<R>(flag, ended) }));
    }
    Prepared::with_teardown(
        move || remote_spawn_await_all(rt, s.busy2_spawn),
        move || {
            flag.store(false, Relaxed);
            while ended.load(Relaxed) < chains {
                std::thread::sleep(Duration::from_millis(1));
            }
        },
    )
}

fn ping_pong<R: Rt>(rt: &R, s: Sizes) -> Prepared<'_> {
    let cd = Arc::new(Countdown::new());
    let n = s.pings;
    Prepared::new(move || {
        cd.arm(n);
        let c = cd.clone();
        rt.block_on(async move {
            drop(R::spawn(async move {
                for _ in 0..n {
                    let c = c.clone();
                    drop(R::spawn(async move {
                        let (tx1, rx1) = oneshot::channel::<()>();
                        let (tx2, rx2) = oneshot::channel::<()>();
                        drop(R::spawn(async move {
                            rx1.await.expect("ping");
                            tx2.send(()).expect("pong");
                        }));
                        tx1.send(()).expect("ping");
                        rx2.await.expect("pong");
                        c.hit();
                    }));
                }
            }));
        });
        Outcome::value((n - cd.wait()) as u64)
    })
}

fn yield_many<R: Rt>(rt: &R, s: Sizes) -> Prepared<'_> {
    let (tasks, yields) = (s.yield_tasks, s.yields);
    Prepared::new(move || {
        let (tx, rx) = mpsc::sync_channel(tasks);
        for _ in 0..tasks {
            let tx = tx.clone();
            drop(rt.spawn_remote(async move {
                let mut done = 0u64;
                for _ in 0..yields {
                    let _ = R::yield_now().await;
                    done += 1;
                }
                tx.send(done).expect("yield_many receiver");
            }));
        }
        Outcome::value((0..tasks).map(|_| rx.recv().expect("yield_many sender")).sum())
    })
}

fn chain_link<R: Rt>(tx: mpsc::SyncSender<u64>, n: usize, len: u64) {
    if n == 0 {
        tx.send(len).expect("chained_spawn receiver");
    } else {
        drop(R::spawn(async move { chain_link::<R>(tx, n - 1, len) }));
    }
}

fn chained_spawn<R: Rt>(rt: &R, s: Sizes) -> Prepared<'_> {
    let (tx, rx) = mpsc::sync_channel(1000);
    let n = s.chain;
    Prepared::new(move || {
        let tx = tx.clone();
        rt.block_on(async move { drop(R::spawn(async move { chain_link::<R>(tx, n, n as u64) })) });
        Outcome::value(rx.recv().expect("chained_spawn sender"))
    })
}

// ------------------------------------------------------------ additions --

fn roundtrip<R: Rt>(rt: &R, s: Sizes, in_task: bool) -> Prepared<'_> {
    let n = s.roundtrips;
    Prepared::new(move || {
        Outcome::value(root(rt, in_task, async move {
            let mut sum = 0;
            for _ in 0..n {
                sum += R::spawn(async { 1u64 }).await.expect("round trip");
            }
            sum
        }))
    })
}

fn remote_contention<R: Rt>(rt: &R, s: Sizes, threads: usize) -> Prepared<'_> {
    // Leaked so the tasks capture a plain reference: no shared refcount
    // traffic between the pushing threads.
    let cd: &'static Countdown = Box::leak(Box::new(Countdown::new()));
    let per = s.remote / threads;
    let total = per * threads;
    Prepared::new(move || {
        cd.arm(total);
        let push = timed_threads(threads, || {
            for _ in 0..per {
                drop(rt.spawn_remote(async move { cd.hit() }));
            }
        });
        Outcome::timed((total - cd.wait()) as u64, push)
    })
}

fn blocking_batches<R: Rt>(rt: &R, s: Sizes) -> Prepared<'_> {
    let (batch, batches) = (s.blocking_batch, s.blocking_batches);
    Prepared::new(move || {
        Outcome::value(rt.block_on(async move {
            let mut sum = 0;
            for _ in 0..batches {
                let jobs: Vec<_> = (0..batch).map(|_| R::blocking(|| 1u64)).collect();
                sum += join_all(jobs).await.into_iter().sum::<u64>();
            }
            sum
        }))
    })
}

fn timeout_ready<R: Rt>(rt: &R, s: Sizes, in_task: bool) -> Prepared<'_> {
    let n = s.timeouts;
    Prepared::new(move || {
        Outcome::value(root(rt, in_task, async move {
            let mut done = 0;
            for _ in 0..n {
                done += R::timeout(Duration::from_secs(1), async { 1u64 }).await.unwrap_or(0);
            }
            done
        }))
    })
}

fn sleep_many<R: Rt>(rt: &R, s: Sizes, in_task: bool) -> Prepared<'_> {
    let n = s.sleepers;
    Prepared::new(move || {
        Outcome::value(root(rt, in_task, async move {
            let joins: Vec<_> = (0..n)
                .map(|_| R::spawn(async { u64::from(R::sleep(Duration::from_millis(1)).await.is_ok()) }))
                .collect();
            sum_joins::<R>(joins).await
        }))
    })
}

fn cancel_sleeping<R: Rt>(rt: &R, s: Sizes, in_task: bool) -> Prepared<'_> {
    let n = s.cancels;
    Prepared::new(move || {
        let (cancelled, d) = root(rt, in_task, async move {
            let started = Arc::new(AtomicUsize::new(0));
            let joins: Vec<_> = (0..n)
                .map(|_| {
                    let started = started.clone();
                    R::spawn_try(async move {
                        started.fetch_add(1, Relaxed);
                        R::sleep(Duration::from_secs(3600)).await?;
                        Ok(())
                    })
                })
                .collect();
            // Every task is parked on its sleep before the timed phase.
            while started.load(Relaxed) < n {
                let _ = R::yield_now().await;
            }
            let t = Instant::now();
            for j in &joins {
                R::cancel(j);
            }
            let mut cancelled = 0u64;
            for j in joins {
                match j.await {
                    Err(JoinError::Cancelled) => cancelled += 1,
                    other => panic!("sleeping task not cancelled: {other:?}"),
                }
            }
            (cancelled, t.elapsed())
        });
        Outcome::timed(cancelled, d)
    })
}

fn group<R: Rt>(rt: &R, s: Sizes, in_task: bool) -> Prepared<'_> {
    let n = s.group;
    Prepared::new(move || {
        Outcome::value(root(rt, in_task, async move {
            let children: Vec<_> = (0..n).map(|_| async { 1u64 }).collect();
            R::group(children).await.into_iter().sum()
        }))
    })
}

// ---------------------------------------------------------- sync (issue 12) --

/// `lock_tasks` tasks each take one lock `lock_rounds` times, holding it
/// across a yield so the others queue on it; the count under the lock is
/// the checked result.
fn lock_contended<R: Rt>(rt: &R, s: Sizes) -> Prepared<'_> {
    let (tasks, rounds) = (s.lock_tasks, s.lock_rounds);
    Prepared::new(move || {
        Outcome::value(rt.block_on(async move {
            let lock = Arc::new(R::lock_new());
            let count = Arc::new(AtomicUsize::new(0));
            let joins: Vec<_> = (0..tasks)
                .map(|_| {
                    let (lock, count) = (lock.clone(), count.clone());
                    R::spawn(async move {
                        for _ in 0..rounds {
                            R::with_lock_yield(&lock, || count.fetch_add(1, Relaxed)).await;
                        }
                    })
                })
                .collect();
            for j in joins {
                j.await.expect("lock task failed");
            }
            count.load(Relaxed) as u64
        }))
    })
}

/// `sem_tasks` tasks pass through `sem_permits` permits, each holding one
/// across a yield.
fn semaphore_fan_in<R: Rt>(rt: &R, s: Sizes) -> Prepared<'_> {
    let (tasks, permits) = (s.sem_tasks, s.sem_permits);
    Prepared::new(move || {
        Outcome::value(rt.block_on(async move {
            let sem = Arc::new(R::semaphore_new(permits));
            let joins: Vec<_> = (0..tasks)
                .map(|_| {
                    let sem = sem.clone();
                    R::spawn(async move {
                        R::with_permit_yield(&sem).await;
                        1u64
                    })
                })
                .collect();
            sum_joins::<R>(joins).await
        }))
    })
}

/// `producers` tasks put `items` items each into one bounded queue; one
/// consumer takes them all and sums them.
fn queue_producers<R: Rt>(rt: &R, s: Sizes) -> Prepared<'_> {
    let (producers, items, bound) = (s.producers, s.items, s.queue_bound);
    Prepared::new(move || {
        Outcome::value(rt.block_on(async move {
            let (tx, mut rx) = R::queue_new(bound);
            let joins: Vec<_> = (0..producers)
                .map(|_| {
                    let tx = tx.clone();
                    R::spawn(async move {
                        for _ in 0..items {
                            R::queue_put(&tx, 1).await;
                        }
                    })
                })
                .collect();
            drop(tx);
            let mut sum = 0;
            for _ in 0..producers * items {
                sum += R::queue_get(&mut rx).await;
            }
            for j in joins {
                j.await.expect("producer failed");
            }
            sum
        }))
    })
}

/// `flag_waiters` tasks wait for one flag, which is set once all of them
/// have started.
fn flag_broadcast<R: Rt>(rt: &R, s: Sizes) -> Prepared<'_> {
    let n = s.flag_waiters;
    Prepared::new(move || {
        Outcome::value(rt.block_on(async move {
            let flag = R::flag_new();
            let started = Arc::new(AtomicUsize::new(0));
            let joins: Vec<_> = (0..n)
                .map(|_| {
                    let (flag, started) = (flag.clone(), started.clone());
                    R::spawn(async move {
                        started.fetch_add(1, Relaxed);
                        R::flag_wait(&flag).await;
                        1u64
                    })
                })
                .collect();
            while started.load(Relaxed) < n {
                R::yield_now().await.expect("yield cancelled");
            }
            R::flag_set(&flag);
            sum_joins::<R>(joins).await
        }))
    })
}

// ------------------------------------------------------------ eager set --

fn spawn_ready<R: Rt>(rt: &R, s: Sizes, in_task: bool) -> Prepared<'_> {
    let n = s.ready_spawns;
    Prepared::new(move || {
        Outcome::value(root(rt, in_task, async move {
            let joins: Vec<_> = (0..n).map(|_| R::spawn(async { 1u64 })).collect();
            sum_joins::<R>(joins).await
        }))
    })
}

/// Request `i` is a cache hit iff `i % 100 < hit_pct`.
fn cache_expected(requests: usize, hit_pct: usize) -> u64 {
    (0..requests).map(|i| if i % 100 < hit_pct { 1 } else { 2 }).sum()
}

/// Each request is a task: a hit answers at once (1), a miss asks a server
/// task over a `futures-channel` mpsc and awaits its oneshot reply (2).
fn cache_mix<R: Rt>(rt: &R, s: Sizes, hit_pct: usize, in_task: bool) -> Prepared<'_> {
    let n = s.requests;
    Prepared::new(move || {
        Outcome::value(root(rt, in_task, async move {
            let (tx, mut rx) = fmpsc::unbounded::<oneshot::Sender<u64>>();
            let server = R::spawn(async move {
                let mut served = 0u64;
                while let Some(reply) = next(&mut rx).await {
                    served += 1;
                    let _ = reply.send(2);
                }
                served
            });
            let joins: Vec<_> = (0..n)
                .map(|i| {
                    let miss = (i % 100 >= hit_pct).then(|| tx.clone());
                    R::spawn(async move {
                        match miss {
                            None => 1u64,
                            Some(tx) => {
                                let (otx, orx) = oneshot::channel();
                                tx.unbounded_send(otx).expect("server gone");
                                orx.await.expect("server dropped the request")
                            }
                        }
                    })
                })
                .collect();
            drop(tx);
            let sum = sum_joins::<R>(joins).await;
            let served = server.await.expect("server failed");
            assert_eq!(sum, cache_expected(n, hit_pct));
            assert_eq!(served, (sum - n as u64), "misses served");
            sum
        }))
    })
}

fn fib_expected(n: u32) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a + b);
    }
    a
}

/// Recursive fork/join: both halves spawned, both awaited.
fn fib<R: Rt>(n: u32) -> Pin<Box<dyn Future<Output = u64> + Send>> {
    Box::pin(async move {
        if n < 2 {
            return u64::from(n);
        }
        let a = R::spawn(fib::<R>(n - 1));
        let b = R::spawn(fib::<R>(n - 2));
        a.await.expect("fib") + b.await.expect("fib")
    })
}

fn fork_join<R: Rt>(rt: &R, s: Sizes, in_task: bool) -> Prepared<'_> {
    let n = s.fib;
    Prepared::new(move || Outcome::value(root(rt, in_task, fib::<R>(n))))
}

// ------------------------------------------------------------- registry --

/// Every workload, in report order.
pub fn workloads<R: Rt>() -> Vec<Workload<R>> {
    use Class::*;
    fn w<R: Rt>(
        name: &'static str,
        class: Class,
        about: &'static str,
        expected: fn(&Sizes) -> u64,
        prepare: for<'a> fn(&'a R, Sizes) -> Prepared<'a>,
    ) -> Workload<R> {
        Workload { name, class, custom_timed: false, about, expected, prepare, target: target_for(class, name) }
    }
    fn timed<R: Rt>(mut wl: Workload<R>) -> Workload<R> {
        wl.custom_timed = true;
        wl
    }
    vec![
        // Mirrored from Tokio's benches/rt_multi_threaded.rs (1.54).
        w(
            "spawn_many_local",
            Scheduler,
            "Tokio mirror: 10,000 trivial tasks spawned from block_on, atomic countdown, mpsc done signal",
            |s| s.spawn as u64,
            |rt, s| spawn_many_local(rt, s, false),
        ),
        w(
            "spawn_many_local_in_task",
            Scheduler,
            "spawn_many_local with the spawning loop inside a task",
            |s| s.spawn as u64,
            |rt, s| spawn_many_local(rt, s, true),
        ),
        w(
            "spawn_many_remote_idle",
            Scheduler,
            "Tokio mirror: 10,000 spawns from outside the runtime, then block_on awaits every handle",
            |s| s.spawn as u64,
            spawn_many_remote_idle,
        ),
        w(
            "spawn_many_remote_busy1",
            Scheduler,
            "Tokio mirror: remote_idle with 2×workers background loops (yield + 10 µs stall)",
            |s| s.spawn as u64,
            spawn_many_remote_busy1,
        ),
        w(
            "spawn_many_remote_busy2",
            Scheduler,
            "Tokio mirror: 1,000 remote spawns with `workers` self-respawning 10 µs stall chains",
            |s| s.busy2_spawn as u64,
            spawn_many_remote_busy2,
        ),
        w(
            "ping_pong",
            Scheduler,
            "Tokio mirror: 1,000 pairs of tasks exchanging two futures-channel oneshots",
            |s| s.pings as u64,
            ping_pong,
        ),
        w(
            "yield_many",
            Scheduler,
            "Tokio mirror: 200 remote-spawned tasks × 1,000 yields",
            |s| (s.yield_tasks * s.yields) as u64,
            yield_many,
        ),
        w(
            "chained_spawn",
            Scheduler,
            "Tokio mirror: a chain of 1,000 spawns, each task spawning the next",
            |s| s.chain as u64,
            chained_spawn,
        ),
        // Added workloads.
        timed(w(
            "remote_spawn_1thread",
            Scheduler,
            "12,800 spawns pushed from 1 foreign thread; only the push phase is timed",
            |s| s.remote as u64,
            |rt, s| remote_contention(rt, s, 1),
        )),
        timed(w(
            "remote_spawn_2threads",
            Scheduler,
            "12,800 spawns pushed from 2 foreign threads at once; push phase timed",
            |s| (s.remote / 2 * 2) as u64,
            |rt, s| remote_contention(rt, s, 2),
        )),
        timed(w(
            "remote_spawn_4threads",
            Scheduler,
            "12,800 spawns pushed from 4 foreign threads at once; push phase timed",
            |s| (s.remote / 4 * 4) as u64,
            |rt, s| remote_contention(rt, s, 4),
        )),
        w(
            "blocking_batch16",
            Scheduler,
            "to_thread vs spawn_blocking: 10 sequential batches of 16 concurrent no-op jobs",
            |s| (s.blocking_batch * s.blocking_batches) as u64,
            blocking_batches,
        ),
        w(
            "timeout_ready",
            Scheduler,
            "10,000 timeouts (1 s) created and dropped around a ready future, from block_on",
            |s| s.timeouts as u64,
            |rt, s| timeout_ready(rt, s, false),
        ),
        w(
            "timeout_ready_in_task",
            Scheduler,
            "timeout_ready inside a task",
            |s| s.timeouts as u64,
            |rt, s| timeout_ready(rt, s, true),
        ),
        w(
            "sleep_1ms_many",
            Scheduler,
            "10,000 tasks each sleeping 1 ms, spawned from block_on and awaited",
            |s| s.sleepers as u64,
            |rt, s| sleep_many(rt, s, false),
        ),
        w(
            "sleep_1ms_many_in_task",
            Scheduler,
            "sleep_1ms_many spawned from inside a task",
            |s| s.sleepers as u64,
            |rt, s| sleep_many(rt, s, true),
        ),
        timed(w(
            "cancel_sleeping",
            Scheduler,
            "10,000 tasks parked on a 1 h sleep, cancelled (Tokio: abort) and joined; cancel+join timed",
            |s| s.cancels as u64,
            |rt, s| cancel_sleeping(rt, s, false),
        )),
        timed(w(
            "cancel_sleeping_in_task",
            Scheduler,
            "cancel_sleeping inside a task",
            |s| s.cancels as u64,
            |rt, s| cancel_sleeping(rt, s, true),
        )),
        w(
            "group_1000",
            Scheduler,
            "TaskGroup vs JoinSet: 1,000 trivial children, all joined, from block_on",
            |s| s.group as u64,
            |rt, s| group(rt, s, false),
        ),
        w("group_1000_in_task", Scheduler, "group_1000 inside a task", |s| s.group as u64, |rt, s| group(rt, s, true)),
        // ravel::sync against tokio::sync (issue 12).
        w(
            "lock_contended",
            Scheduler,
            "sync: 1,000 tasks × 100 acquisitions of one lock, held across a yield (Ravel Lock vs Tokio Mutex)",
            |s| (s.lock_tasks * s.lock_rounds) as u64,
            lock_contended,
        ),
        w(
            "semaphore_fan_in",
            Scheduler,
            "sync: 10,000 tasks through 16 permits, each held across a yield (Ravel vs Tokio Semaphore)",
            |s| s.sem_tasks as u64,
            semaphore_fan_in,
        ),
        w(
            "queue_producers",
            Scheduler,
            "sync: 8 producer tasks × 10,000 items through a queue bounded at 64, one consumer (Ravel Queue vs Tokio mpsc)",
            |s| (s.producers * s.items) as u64,
            queue_producers,
        ),
        w(
            "event_broadcast",
            Scheduler,
            "sync: 1,000 waiting tasks woken by one flag (Ravel Event vs Tokio watch)",
            |s| s.flag_waiters as u64,
            flag_broadcast,
        ),
        // 1-worker runtime.
        w(
            "roundtrip",
            OneWorker,
            "1 worker: 1,000 sequential spawn→await round trips of a trivial task, from block_on",
            |s| s.roundtrips as u64,
            |rt, s| roundtrip(rt, s, false),
        ),
        w(
            "roundtrip_in_task",
            OneWorker,
            "1 worker: roundtrip inside a task",
            |s| s.roundtrips as u64,
            |rt, s| roundtrip(rt, s, true),
        ),
        // Eager set (Ravel eager_tasks(true); Tokio unchanged).
        w(
            "spawn_ready",
            Eager,
            "10,000 spawns of ready futures from block_on, then all awaited",
            |s| s.ready_spawns as u64,
            |rt, s| spawn_ready(rt, s, false),
        ),
        w(
            "spawn_ready_in_task",
            Eager,
            "10,000 spawns of ready futures from inside a task, then all awaited",
            |s| s.ready_spawns as u64,
            |rt, s| spawn_ready(rt, s, true),
        ),
        w(
            "roundtrip_ready",
            Eager,
            "1,000 sequential spawn→await round trips of a ready future, from block_on",
            |s| s.roundtrips as u64,
            |rt, s| roundtrip(rt, s, false),
        ),
        w(
            "roundtrip_ready_in_task",
            Eager,
            "roundtrip_ready inside a task",
            |s| s.roundtrips as u64,
            |rt, s| roundtrip(rt, s, true),
        ),
        w(
            "cache_mix_50",
            Eager,
            "10,000 request tasks, 50% hits (ready), misses await a server task (futures-channel)",
            |s| cache_expected(s.requests, 50),
            |rt, s| cache_mix(rt, s, 50, false),
        ),
        w(
            "cache_mix_50_in_task",
            Eager,
            "cache_mix_50 inside a task",
            |s| cache_expected(s.requests, 50),
            |rt, s| cache_mix(rt, s, 50, true),
        ),
        w(
            "cache_mix_90",
            Eager,
            "cache mix at 90% hits",
            |s| cache_expected(s.requests, 90),
            |rt, s| cache_mix(rt, s, 90, false),
        ),
        w(
            "cache_mix_90_in_task",
            Eager,
            "cache_mix_90 inside a task",
            |s| cache_expected(s.requests, 90),
            |rt, s| cache_mix(rt, s, 90, true),
        ),
        w(
            "cache_mix_99",
            Eager,
            "cache mix at 99% hits",
            |s| cache_expected(s.requests, 99),
            |rt, s| cache_mix(rt, s, 99, false),
        ),
        w(
            "cache_mix_99_in_task",
            Eager,
            "cache_mix_99 inside a task",
            |s| cache_expected(s.requests, 99),
            |rt, s| cache_mix(rt, s, 99, true),
        ),
        w(
            "fork_join_fib12",
            Eager,
            "recursive fork/join: fib(12) with both halves spawned and awaited (465 tasks)",
            |s| fib_expected(s.fib),
            |rt, s| fork_join(rt, s, false),
        ),
        w(
            "fork_join_fib12_in_task",
            Eager,
            "fork_join_fib12 inside a task",
            |s| fib_expected(s.fib),
            |rt, s| fork_join(rt, s, true),
        ),
        w(
            "ping_pong",
            Eager,
            "ping_pong with eager start on (may lose: a spawned waiter runs before its sender)",
            |s| s.pings as u64,
            ping_pong,
        ),
        w(
            "chained_spawn",
            Eager,
            "chained_spawn with eager start on (eager depth limit bounds recursion)",
            |s| s.chain as u64,
            chained_spawn,
        ),
    ]
}
