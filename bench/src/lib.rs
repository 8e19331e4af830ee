//! The Ravel-vs-Tokio benchmark harness.
//!
//! * [`Rt`] is the small adapter trait every workload is written against:
//!   `block_on`, spawn from inside (an awaitable [`Rt::Join`] handle), spawn
//!   from outside, yield, sleep, blocking offload, cancel + join reporting
//!   cancellation, a group of children (Ravel `TaskGroup` / Tokio `JoinSet`)
//!   and a timeout around a future; and the sync primitives a server
//!   shares between tasks (a lock, a semaphore, a broadcast flag: Ravel's
//!   `ravel::sync`, Tokio's `tokio::sync`). [`TokioRt`] and [`RavelRt`]
//!   implement it.
//! * [`workloads`] lists every workload once, generically; each returns a
//!   value the caller checks against [`Workload::expected`], so the quick mode
//!   of the criterion bench and the `quick` test prove each workload ran to
//!   completion on both runtimes.
//!
//! * [`soak`] is the server soak (Ravel only): the examples' servers under
//!   load and faults, checked back to baseline (`bin/soak.rs`).
//!
//! Completion signalling is runtime-neutral (`std::sync::mpsc`, atomics) and
//! the workloads that need a channel use `futures-channel`, so only the
//! scheduler differs.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

pub mod counting_alloc;
pub mod net;
pub mod soak;
pub mod workloads;

pub use workloads::{workloads, Class, Outcome, Prepared, Sizes, Workload};

/// How a spawned task ended when it did not return a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinError {
    /// Cancelled (Ravel `cancel()`) or aborted (Tokio `abort()`).
    Cancelled,
    /// Panicked or failed otherwise; the message says how.
    Failed(String),
}

/// Returned by [`Rt::sleep`] / [`Rt::yield_now`] when the task was
/// cancelled there (Ravel delivers cancellation as the value of the await;
/// Tokio's abort never returns to the body). Propagate it with `?` from a
/// body spawned with [`Rt::spawn_try`], so the task ends cancelled.
#[derive(Debug)]
pub struct Cancelled(Option<ravel::Error>);

/// The adapter every workload is written against.
///
/// Associated functions without `&self` are called from inside the runtime
/// (a task, or the future given to [`block_on`](Rt::block_on)); methods with
/// `&self` from outside it.
pub trait Rt: Send + Sync + Sized + 'static {
    /// `"tokio"` or `"ravel"`: the criterion function id suffix.
    const NAME: &'static str;

    /// The awaitable handle of a spawned task (dropping it detaches the task).
    type Join<T: Send + 'static>: Future<Output = Result<T, JoinError>> + Send + Unpin + 'static;

    /// A multi-thread runtime with exactly `workers` worker threads. `eager`
    /// turns on Ravel's eager task start; Tokio has no such mode and ignores it.
    fn build(workers: usize, eager: bool) -> Self;

    /// The worker count given to [`build`](Rt::build).
    fn workers(&self) -> usize;

    /// Runs `fut` to completion, blocking this (non-runtime) thread.
    ///
    /// Tokio runs `fut` on this thread, which is not a worker: spawns from it
    /// go through the global (inject) queue. Ravel runs `fut` as a task on a
    /// worker: spawns from it are worker-local, and blocking inside it blocks
    /// a worker.
    fn block_on<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Spawns from outside the runtime (any thread).
    fn spawn_remote<F>(&self, fut: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Spawns from inside the runtime (a task or the `block_on` future).
    fn spawn<F>(fut: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Spawns a body that may end by propagating [`Cancelled`]; the handle
    /// then reports [`JoinError::Cancelled`].
    fn spawn_try<F, T>(fut: F) -> Self::Join<T>
    where
        F: Future<Output = Result<T, Cancelled>> + Send + 'static,
        T: Send + 'static;

    /// Requests cancellation of a spawned task: Ravel `cancel()`, Tokio `abort()`.
    fn cancel<T: Send + 'static>(join: &Self::Join<T>);

    /// Yields to the scheduler once.
    fn yield_now() -> impl Future<Output = Result<(), Cancelled>> + Send;

    /// Sleeps for `d`.
    fn sleep(d: Duration) -> impl Future<Output = Result<(), Cancelled>> + Send;

    /// Runs `f` on the blocking pool: Ravel `to_thread`, Tokio `spawn_blocking`.
    fn blocking<F, T>(f: F) -> impl Future<Output = T> + Send
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static;

    /// `fut` under a timeout of `d`: `None` if the timeout fired.
    fn timeout<F>(d: Duration, fut: F) -> impl Future<Output = Option<F::Output>> + Send
    where
        F: Future + Send;

    /// Runs every child as a task of a group (Ravel `TaskGroup`, Tokio
    /// `JoinSet`) and returns their outputs once all are done (in no
    /// particular order).
    fn group<F>(children: Vec<F>) -> impl Future<Output = Vec<F::Output>> + Send
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// A lock for tasks: Ravel `sync::Lock`, Tokio `sync::Mutex<()>`.
    type Lock: Send + Sync + 'static;

    /// A new, free lock.
    fn lock_new() -> Self::Lock;

    /// Acquires `lock`, runs `f`, yields once while still holding it (so
    /// other tasks queue on it), then releases.
    fn with_lock_yield<T: Send>(lock: &Self::Lock, f: impl FnOnce() -> T + Send) -> impl Future<Output = T> + Send;

    /// A counting semaphore: Ravel `sync::Semaphore`, Tokio `sync::Semaphore`.
    type Semaphore: Send + Sync + 'static;

    /// A semaphore with `permits` units.
    fn semaphore_new(permits: usize) -> Self::Semaphore;

    /// Takes a permit, yields once while holding it, gives it back.
    fn with_permit_yield(sem: &Self::Semaphore) -> impl Future<Output = ()> + Send;

    /// A flag tasks wait for, set once: Ravel `sync::Event`, Tokio
    /// `sync::watch<bool>` (whose `wait_for` sees a value set before it
    /// was called, as an event does; `Notify::notify_waiters` would not).
    type Flag: Clone + Send + Sync + 'static;

    /// A flag that is not set.
    fn flag_new() -> Self::Flag;

    /// Sets the flag, waking every waiter.
    fn flag_set(flag: &Self::Flag);

    /// Waits until the flag is set.
    fn flag_wait(flag: &Self::Flag) -> impl Future<Output = ()> + Send;

    /// The sending side of a bounded queue of `u64`: Ravel `sync::Queue`
    /// (a clone of the handle), Tokio `sync::mpsc::Sender`.
    type QueueTx: Clone + Send + Sync + 'static;
    /// The receiving side (one consumer).
    type QueueRx: Send + 'static;

    /// A queue holding at most `capacity` items.
    fn queue_new(capacity: usize) -> (Self::QueueTx, Self::QueueRx);

    /// Puts `item`, waiting while the queue is full.
    fn queue_put(tx: &Self::QueueTx, item: u64) -> impl Future<Output = ()> + Send;

    /// Takes the next item, waiting while the queue is empty.
    fn queue_get(rx: &mut Self::QueueRx) -> impl Future<Output = u64> + Send;
}

// ---------------------------------------------------------------- Tokio --

/// Tokio's multi-thread runtime.
pub struct TokioRt {
    rt: tokio::runtime::Runtime,
    workers: usize,
}

/// A Tokio `JoinHandle` mapped to [`JoinError`].
pub struct TokioJoin<T>(tokio::task::JoinHandle<T>);

impl<T> Future for TokioJoin<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|r| {
            r.map_err(|e| if e.is_cancelled() { JoinError::Cancelled } else { JoinError::Failed(e.to_string()) })
        })
    }
}

pin_project_lite::pin_project! {
    /// `fut` with its output passed through `f`. The adapters spawn this
    /// instead of `async move { f(fut.await) }`: an async block keeps its
    /// captured future and the future it awaits in separate fields, which
    /// would store the workload's future twice in the task and charge one
    /// side for the adapter. `f` is a `Fn` (the adapters pass function items
    /// and capture-free closures, which take no space), so no `Option`
    /// around it adds a padded byte.
    struct MapOutput<F, G> {
        #[pin]
        fut: F,
        f: G,
    }
}

impl<F, G> MapOutput<F, G> {
    fn new(fut: F, f: G) -> Self {
        MapOutput { fut, f }
    }
}

impl<F: Future, G: Fn(F::Output) -> T, T> Future for MapOutput<F, G> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.project();
        this.fut.poll(cx).map(|out| (this.f)(out))
    }
}

/// Tokio's try-body: a `Cancelled` from a Tokio leaf never happens (abort
/// drops the future), so an `Err` here is a harness bug.
fn tokio_unwrap<T>(r: Result<T, Cancelled>) -> T {
    match r {
        Ok(v) => v,
        Err(_) => unreachable!("Tokio leaves never report Cancelled"),
    }
}

impl Rt for TokioRt {
    const NAME: &'static str = "tokio";
    type Join<T: Send + 'static> = TokioJoin<T>;

    fn build(workers: usize, _eager: bool) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_time()
            .build()
            .expect("build Tokio runtime");
        TokioRt { rt, workers }
    }

    fn workers(&self) -> usize {
        self.workers
    }

    fn block_on<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.rt.block_on(fut)
    }

    fn spawn_remote<F>(&self, fut: F) -> TokioJoin<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        TokioJoin(self.rt.spawn(fut))
    }

    fn spawn<F>(fut: F) -> TokioJoin<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        TokioJoin(tokio::spawn(fut))
    }

    fn spawn_try<F, T>(fut: F) -> TokioJoin<T>
    where
        F: Future<Output = Result<T, Cancelled>> + Send + 'static,
        T: Send + 'static,
    {
        TokioJoin(tokio::spawn(MapOutput::new(fut, tokio_unwrap)))
    }

    fn cancel<T: Send + 'static>(join: &TokioJoin<T>) {
        join.0.abort();
    }

    // Plain combinators rather than `async fn`s, on both sides: an async
    // wrapper would keep `d` next to the sleep in every parked task.
    fn yield_now() -> impl Future<Output = Result<(), Cancelled>> + Send {
        MapOutput::new(tokio::task::yield_now(), Ok)
    }

    fn sleep(d: Duration) -> impl Future<Output = Result<(), Cancelled>> + Send {
        MapOutput::new(tokio::time::sleep(d), Ok)
    }

    async fn blocking<F, T>(f: F) -> T
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        tokio::task::spawn_blocking(f).await.expect("spawn_blocking job failed")
    }

    async fn timeout<F>(d: Duration, fut: F) -> Option<F::Output>
    where
        F: Future + Send,
    {
        tokio::time::timeout(d, fut).await.ok()
    }

    async fn group<F>(children: Vec<F>) -> Vec<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let n = children.len();
        let mut set = tokio::task::JoinSet::new();
        for child in children {
            set.spawn(child);
        }
        let mut out = Vec::with_capacity(n);
        while let Some(r) = set.join_next().await {
            out.push(r.expect("JoinSet child failed"));
        }
        out
    }

    type Lock = tokio::sync::Mutex<()>;

    fn lock_new() -> Self::Lock {
        tokio::sync::Mutex::new(())
    }

    async fn with_lock_yield<T: Send>(lock: &Self::Lock, f: impl FnOnce() -> T + Send) -> T {
        let _guard = lock.lock().await;
        let out = f();
        tokio::task::yield_now().await;
        out
    }

    type Semaphore = tokio::sync::Semaphore;

    fn semaphore_new(permits: usize) -> Self::Semaphore {
        tokio::sync::Semaphore::new(permits)
    }

    async fn with_permit_yield(sem: &Self::Semaphore) {
        let _permit = sem.acquire().await.expect("semaphore closed");
        tokio::task::yield_now().await;
    }

    type Flag = Arc<tokio::sync::watch::Sender<bool>>;

    fn flag_new() -> Self::Flag {
        Arc::new(tokio::sync::watch::channel(false).0)
    }

    fn flag_set(flag: &Self::Flag) {
        flag.send_replace(true);
    }

    async fn flag_wait(flag: &Self::Flag) {
        let mut rx = flag.subscribe();
        rx.wait_for(|set| *set).await.expect("flag sender gone");
    }

    type QueueTx = tokio::sync::mpsc::Sender<u64>;
    type QueueRx = tokio::sync::mpsc::Receiver<u64>;

    fn queue_new(capacity: usize) -> (Self::QueueTx, Self::QueueRx) {
        tokio::sync::mpsc::channel(capacity)
    }

    async fn queue_put(tx: &Self::QueueTx, item: u64) {
        tx.send(item).await.expect("receiver gone");
    }

    async fn queue_get(rx: &mut Self::QueueRx) -> u64 {
        rx.recv().await.expect("senders gone")
    }
}

// ---------------------------------------------------------------- Ravel --

/// Ravel's multi-thread runtime.
pub struct RavelRt {
    rt: ravel::Runtime,
    workers: usize,
}

/// A Ravel `Task` mapped to [`JoinError`].
pub struct RavelJoin<T>(ravel::Task<T>);

impl<T> Future for RavelJoin<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|r| {
            r.map_err(|e| if e.is_cancelled() { JoinError::Cancelled } else { JoinError::Failed(format!("{e:?}")) })
        })
    }
}

fn ravel_cancelled(r: std::result::Result<(), ravel::Error>) -> Result<(), Cancelled> {
    r.map_err(|e| Cancelled(Some(e)))
}

impl Rt for RavelRt {
    const NAME: &'static str = "ravel";
    type Join<T: Send + 'static> = RavelJoin<T>;

    fn build(workers: usize, eager: bool) -> Self {
        let rt = ravel::Builder::new_multi_thread()
            .worker_threads(workers)
            .eager_tasks(eager)
            .build()
            .expect("build Ravel runtime");
        RavelRt { rt, workers }
    }

    fn workers(&self) -> usize {
        self.workers
    }

    fn block_on<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self.rt.block_on(async move { Ok(fut.await) }) {
            Ok(v) => v,
            Err(e) => panic!("Ravel block_on failed: {e:?}"),
        }
    }

    fn spawn_remote<F>(&self, fut: F) -> RavelJoin<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        RavelJoin(self.rt.handle().spawn(MapOutput::new(fut, Ok)))
    }

    fn spawn<F>(fut: F) -> RavelJoin<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        RavelJoin(ravel::spawn(MapOutput::new(fut, Ok)))
    }

    fn spawn_try<F, T>(fut: F) -> RavelJoin<T>
    where
        F: Future<Output = Result<T, Cancelled>> + Send + 'static,
        T: Send + 'static,
    {
        RavelJoin(ravel::spawn(MapOutput::new(fut, |r: Result<T, Cancelled>| {
            r.map_err(|Cancelled(e)| e.unwrap_or_else(|| ravel::Error::cancelled(None::<String>)))
        })))
    }

    fn cancel<T: Send + 'static>(join: &RavelJoin<T>) {
        join.0.cancel();
    }

    fn yield_now() -> impl Future<Output = Result<(), Cancelled>> + Send {
        MapOutput::new(ravel::yield_now(), ravel_cancelled)
    }

    fn sleep(d: Duration) -> impl Future<Output = Result<(), Cancelled>> + Send {
        MapOutput::new(ravel::sleep(d), ravel_cancelled)
    }

    async fn blocking<F, T>(f: F) -> T
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match ravel::to_thread(move || Ok(f())).await {
            Ok(v) => v,
            Err(e) => panic!("to_thread job failed: {e:?}"),
        }
    }

    async fn timeout<F>(d: Duration, fut: F) -> Option<F::Output>
    where
        F: Future + Send,
    {
        ravel::timeout(d, MapOutput::new(fut, Ok)).await.ok()
    }

    async fn group<F>(children: Vec<F>) -> Vec<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let n = children.len();
        let tasks = ravel::TaskGroup::run(|tg| async move {
            let mut tasks = Vec::with_capacity(n);
            for child in children {
                tasks.push(tg.spawn(MapOutput::new(child, Ok))?);
            }
            Ok(tasks)
        })
        .await;
        let tasks = match tasks {
            Ok(t) => t,
            Err(e) => panic!("TaskGroup failed: {e:?}"),
        };
        tasks
            .into_iter()
            .map(|t| match t.result() {
                Ok(v) => v,
                Err(e) => panic!("TaskGroup child failed: {e:?}"),
            })
            .collect()
    }

    type Lock = ravel::sync::Lock;

    fn lock_new() -> Self::Lock {
        ravel::sync::Lock::new()
    }

    async fn with_lock_yield<T: Send>(lock: &Self::Lock, f: impl FnOnce() -> T + Send) -> T {
        let _guard = lock.acquire().await.expect("lock acquire cancelled");
        let out = f();
        ravel::yield_now().await.expect("yield cancelled");
        out
    }

    type Semaphore = ravel::sync::Semaphore;

    fn semaphore_new(permits: usize) -> Self::Semaphore {
        ravel::sync::Semaphore::new(permits)
    }

    async fn with_permit_yield(sem: &Self::Semaphore) {
        let _permit = sem.acquire().await.expect("semaphore acquire cancelled");
        ravel::yield_now().await.expect("yield cancelled");
    }

    type Flag = ravel::sync::Event;

    fn flag_new() -> Self::Flag {
        ravel::sync::Event::new()
    }

    fn flag_set(flag: &Self::Flag) {
        flag.set();
    }

    async fn flag_wait(flag: &Self::Flag) {
        flag.wait().await.expect("event wait cancelled");
    }

    type QueueTx = ravel::sync::Queue<u64>;
    type QueueRx = ravel::sync::Queue<u64>;

    fn queue_new(capacity: usize) -> (Self::QueueTx, Self::QueueRx) {
        let q = ravel::sync::Queue::new(capacity);
        (q.clone(), q)
    }

    async fn queue_put(tx: &Self::QueueTx, item: u64) {
        tx.put(item).await.expect("queue put failed");
    }

    async fn queue_get(rx: &mut Self::QueueRx) -> u64 {
        rx.get().await.expect("queue get failed")
    }
}

// ------------------------------------------------------------- helpers --

/// Tokio's `stall()`: busy loop of `std::thread::yield_now` for 10 µs.
pub fn stall() {
    const STALL_DUR: Duration = Duration::from_micros(10);
    let now = Instant::now();
    while now.elapsed() < STALL_DUR {
        std::thread::yield_now();
    }
}

/// Polls every future concurrently until all are done (a runtime-neutral
/// `join_all`), returning the outputs in order.
pub async fn join_all<F: Future>(futs: Vec<F>) -> Vec<F::Output> {
    let mut futs: Vec<Pin<Box<F>>> = futs.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, o) in futs.iter_mut().zip(out.iter_mut()) {
            if o.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *o = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(|o| o.expect("polled to completion")).collect()
}

/// The next item of a `futures-channel` stream.
pub async fn next<S: futures_core::Stream + Unpin>(s: &mut S) -> Option<S::Item> {
    std::future::poll_fn(|cx| Pin::new(&mut *s).poll_next(cx)).await
}

/// Spawns `threads` scoped threads that each run `body`, releases them
/// together, and returns the time from release until the last one finished.
pub fn timed_threads<F: Fn() + Sync>(threads: usize, body: F) -> Duration {
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    body();
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for h in handles {
            h.join().expect("pusher thread panicked");
        }
        start.elapsed()
    })
}

/// A countdown that sends on a neutral `mpsc` channel when it reaches zero.
pub struct Countdown {
    rem: AtomicUsize,
    tx: mpsc::SyncSender<()>,
    rx: std::sync::Mutex<mpsc::Receiver<()>>,
}

impl Countdown {
    /// A countdown, initially at zero.
    pub fn new() -> Countdown {
        let (tx, rx) = mpsc::sync_channel(1);
        Countdown { rem: AtomicUsize::new(0), tx, rx: std::sync::Mutex::new(rx) }
    }

    /// Arms the countdown at `n`.
    pub fn arm(&self, n: usize) {
        self.rem.store(n, Relaxed);
    }

    /// One task done: the last one signals.
    pub fn hit(&self) {
        if 1 == self.rem.fetch_sub(1, Relaxed) {
            self.tx.send(()).expect("countdown receiver gone");
        }
    }

    /// Blocks (outside the runtime) until the countdown reached zero;
    /// returns what is left (0).
    pub fn wait(&self) -> usize {
        self.rx.lock().expect("countdown lock").recv().expect("countdown sender gone");
        self.rem.load(Relaxed)
    }
}

impl Default for Countdown {
    fn default() -> Self {
        Countdown::new()
    }
}

/// A flag plus the handles of background tasks that loop while it is set;
/// [`stop`](Background::stop) clears it and waits for them.
pub struct Background<R: Rt> {
    flag: Arc<AtomicBool>,
    joins: Vec<R::Join<()>>,
}

impl<R: Rt> Background<R> {
    /// A set flag with no tasks yet.
    pub fn new() -> Self {
        Background { flag: Arc::new(AtomicBool::new(true)), joins: Vec::new() }
    }

    /// The flag the tasks poll.
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.flag.clone()
    }

    /// Tracks a background task.
    pub fn push(&mut self, join: R::Join<()>) {
        self.joins.push(join);
    }

    /// Clears the flag and waits for the tracked tasks.
    pub fn stop(self, rt: &R) {
        self.flag.store(false, Relaxed);
        let joins = self.joins;
        rt.block_on(async move {
            for j in joins {
                j.await.expect("background task failed");
            }
        });
    }
}

impl<R: Rt> Default for Background<R> {
    fn default() -> Self {
        Background::new()
    }
}

/// One benchmark group: a runtime configuration and the workloads of its class.
#[derive(Debug, Clone, Copy)]
pub struct Group {
    /// The criterion group name.
    pub name: &'static str,
    /// Which workloads run in it.
    pub class: Class,
    /// Worker threads on both runtimes.
    pub workers: usize,
    /// Ravel's `eager_tasks` (Tokio is unchanged).
    pub eager: bool,
}

/// Every group, in run order. `w4_*` is oversubscribed on a 2-core machine.
pub const GROUPS: &[Group] = &[
    Group { name: "w1", class: Class::OneWorker, workers: 1, eager: false },
    Group { name: "w2", class: Class::Scheduler, workers: 2, eager: false },
    Group { name: "w2_eager", class: Class::Eager, workers: 2, eager: true },
    Group { name: "w4_oversubscribed", class: Class::Scheduler, workers: 4, eager: false },
    Group { name: "w4_oversubscribed_eager", class: Class::Eager, workers: 4, eager: true },
];

/// Runs every workload of `group` `runs` times on a fresh `R` runtime and
/// asserts each produced its expected value; returns how many workloads ran.
pub fn check_group<R: Rt>(group: &Group, sizes: Sizes, runs: usize) -> usize {
    let rt = R::build(group.workers, group.eager);
    let mut count = 0;
    for wl in workloads::<R>().into_iter().filter(|w| w.class == group.class) {
        let expected = (wl.expected)(&sizes);
        let mut prepared = (wl.prepare)(&rt, sizes);
        for _ in 0..runs {
            let out = prepared.run();
            assert_eq!(out.value, expected, "{}/{}/{}: wrong result", group.name, wl.name, R::NAME);
            assert_eq!(out.timed.is_some(), wl.custom_timed, "{}/{}: timed phase", wl.name, R::NAME);
        }
        drop(prepared);
        count += 1;
    }
    count
}

/// True when `RAVEL_BENCH_QUICK` is set to anything but `0` or empty.
pub fn quick_mode() -> bool {
    std::env::var("RAVEL_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// `target/` of the workspace (`CARGO_TARGET_DIR` if set).
pub fn target_dir() -> std::path::PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => d.into(),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("target"),
    }
}

/// `target/ravel-bench/`, created.
pub fn out_dir() -> std::io::Result<std::path::PathBuf> {
    let d = target_dir().join("ravel-bench");
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

/// The machine: (logical cores, CPU model from /proc/cpuinfo).
pub fn machine() -> (usize, String) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string());
    (cores, model)
}

/// Today's UTC date and time, `YYYY-MM-DD HH:MM UTC`.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (H. Hinnant).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", rem / 3600, rem % 3600 / 60)
}

/// The commit the workspace is at (`git rev-parse --short HEAD`, with
/// `-dirty` if tracked files differ from it), or `unknown` outside git:
/// recorded with each benchmark run, so a report names the code it
/// measured rather than the code it was generated at.
pub fn git_commit() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let Some(head) = run(&["rev-parse", "--short", "HEAD"]) else { return "unknown".into() };
    let dirty = run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    if dirty {
        format!("{head}-dirty")
    } else {
        head
    }
}

/// Records how the criterion run was made (for the report):
/// `target/ravel-bench/run.json`.
pub fn record_run(quick: bool) -> std::io::Result<()> {
    let (cores, model) = machine();
    let json = serde_json::json!({
        "quick": quick,
        "commit": git_commit(),
        "date": utc_now(),
        "cores": cores,
        "cpu": model,
        "args": std::env::args().skip(1).collect::<Vec<_>>(),
    });
    std::fs::write(out_dir()?.join("run.json"), serde_json::to_string_pretty(&json)?)
}

/// The groups of `benches/fs_process.rs` (files and subprocesses): name and
/// worker count; ids `<group>/<workload>/{tokio,ravel}` as in `compare`.
pub const FS_PROCESS_GROUPS: &[(&str, usize)] = &[("fs_process_w1", 1), ("fs_process_w2", 2)];

/// The workloads of `benches/fs_process.rs`: name and what it does.
pub const FS_PROCESS_WORKLOADS: &[(&str, &str)] = &[
    ("fs_read_small_files", "`ravel_io::fs::read` vs `tokio::fs::read`: 256 files of 1 KiB, 32 tasks reading 8 each"),
    ("spawn_wait_true", "`create_subprocess_exec` vs `tokio::process::Command`: spawn `/bin/true` and wait, 8 at once"),
];
