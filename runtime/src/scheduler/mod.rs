//! The work-stealing scheduler.
//!
//! Each worker owns a FIFO `crossbeam_deque::Worker` and a LIFO slot; the
//! others steal from it in batches through its `Stealer`. Spawns and wakes
//! from outside the workers go to a global `Injector`. See
//! `docs/architecture.md` for the whole picture; the parts are:
//!
//! * **Queues.** A task woken or spawned by the task running on a worker
//!   goes to that worker's LIFO slot (the previous occupant moves to the
//!   back of the local queue); at most [`worker::MAX_LIFO_STREAK`] LIFO picks
//!   run in a row, so the slot cannot starve the queue. A searching worker
//!   steals a slot whose task has waited half its search (`lifo.rs`). A
//!   task that wakes itself (a yield) goes to the back of the local queue.
//!   Every
//!   [`worker::GLOBAL_INTERVAL`] picks the injector is checked first.
//! * **Idle.** A worker with nothing to run searches (steals); if that
//!   fails it adds itself to the sleepers and parks in the driver
//!   (`crate::driver`: exactly one worker at a time holds the reactor, with
//!   the next timer deadline as timeout; the others park on their condvar). A new task
//!   wakes at most one sleeper, and only when no worker is already
//!   searching; a searcher that finds work wakes the next one if more work
//!   is queued. Both sides of that hand-off fence with `SeqCst` (see
//!   [`Shared::notify_parked`]).
//! * **Current thread.** A one-worker scheduler run by `block_on` on the
//!   calling thread, with the LIFO slot off, so the ready order is asyncio's
//!   FIFO order, iteration by iteration.

pub(crate) mod enter;
pub(crate) mod lifo;
pub(crate) mod registry;
pub(crate) mod unhandled;
pub(crate) mod worker;

use crate::driver::wheel::TimerKey;
use crate::driver::{Driver, TimerWake};
use crate::task::raw::{Header, RawTask};
use crate::task::schedule::Schedule;
use crate::task::TaskId;
use crossbeam_deque::{Injector, Stealer};
use crossbeam_utils::CachePadded;
use lifo::LifoSlot;
use parking_lot::Mutex;
use registry::Registry;
use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Weak};
use std::time::Instant;
use unhandled::UnhandledError;

/// How long the worker holding the reactor parks, at most, while another
/// worker is busy: the bound on how long a task can wait in the LIFO slot
/// of a worker stuck in one poll (see [`Shared::park`]). Each watch costs
/// that idle worker one wake and one search (a few microseconds) per
/// period, only while the runtime is busy.
pub(crate) const LIFO_WATCH: std::time::Duration = std::time::Duration::from_millis(10);

/// The error hook's type.
pub(crate) type ErrorHook = Arc<dyn Fn(&UnhandledError) + Send + Sync>;

/// State shared by all workers and handles of one runtime.
pub(crate) struct Shared {
    pub(crate) injector: Injector<RawTask>,
    pub(crate) stealers: Box<[Stealer<RawTask>]>,
    /// Each worker's LIFO slot, stealable (`lifo.rs`); cache-padded, as
    /// each is written by its owner on every wake it makes.
    pub(crate) lifo: Box<[CachePadded<LifoSlot>]>,
    /// The reactor, the timers and the parkers (shared with I/O sources).
    pub(crate) driver: Arc<Driver>,
    pub(crate) registry: Registry,
    sleepers: Mutex<Vec<usize>>,
    num_sleeping: AtomicUsize,
    num_searching: AtomicUsize,
    shutdown: AtomicBool,
    pub(crate) eager_tasks: bool,
    pub(crate) current_thread: bool,
    pub(crate) error_hook: ErrorHook,
    pub(crate) blocking: crate::blocking::BlockingPool,
    /// This value's own `Arc`, for the callback entries `call_soon` makes.
    me: Weak<Shared>,
}

impl Shared {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        stealers: Vec<Stealer<RawTask>>,
        driver: Driver,
        eager_tasks: bool,
        current_thread: bool,
        error_hook: ErrorHook,
        blocking: crate::blocking::BlockingPool,
        me: Weak<Shared>,
    ) -> Shared {
        crate::catch_wake::install_reporter(report_caught_wake);
        let n = stealers.len();
        Shared {
            injector: Injector::new(),
            stealers: stealers.into_boxed_slice(),
            lifo: (0..n).map(|_| CachePadded::new(LifoSlot::new())).collect(),
            driver: Arc::new(driver),
            registry: Registry::new(n),
            sleepers: Mutex::new(Vec::with_capacity(n)),
            num_sleeping: AtomicUsize::new(0),
            num_searching: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
            eager_tasks,
            current_thread,
            error_hook,
            blocking,
            me,
        }
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(SeqCst)
    }

    pub(crate) fn num_workers(&self) -> usize {
        self.stealers.len()
    }

    /// Queues a task. `yielded`: it woke itself, so it goes to the back of
    /// the queue rather than the LIFO slot.
    pub(crate) fn schedule(&self, task: RawTask, yielded: bool) {
        if let Err(task) = worker::schedule_local(self, task, yielded) {
            self.injector.push(task);
            self.notify_parked();
        }
    }

    /// The timer wheel a sleep registered from this thread uses.
    pub(crate) fn timer_shard(&self) -> usize {
        worker::current_index(self).unwrap_or(0)
    }

    /// Wakes one sleeping worker, unless one is already searching.
    ///
    /// The caller has just queued work. A worker going to sleep first
    /// decrements `num_searching` and then re-checks the queues; we first
    /// queue and then read `num_searching`. With a `SeqCst` fence on both
    /// sides, either we see the searcher (and it sees our work), or it has
    /// left and we wake a sleeper.
    pub(crate) fn notify_parked(&self) {
        fence(SeqCst);
        if self.num_searching.load(SeqCst) != 0 || self.num_sleeping.load(SeqCst) == 0 {
            return;
        }
        let mut sleepers = self.sleepers.lock();
        if self.num_searching.load(SeqCst) != 0 {
            return;
        }
        if let Some(index) = sleepers.pop() {
            self.num_sleeping.fetch_sub(1, SeqCst);
            self.num_searching.fetch_add(1, SeqCst);
            drop(sleepers);
            self.driver.unpark(index);
        }
    }

    /// Whether a searching worker may keep spinning: while at most half the
    /// workers (rounded up) search.
    ///
    /// A lone worker with I/O sources registered does not spin: nobody can
    /// fill a queue for it to steal from, and the readiness events it is
    /// waiting for are only seen once it parks in the reactor (whose poll
    /// returns at once when events are pending), so spinning only delays
    /// them and burns the CPU a server is measured by.
    pub(crate) fn may_spin(&self) -> bool {
        if self.num_workers() == 1 && self.driver.has_io_sources() {
            return false;
        }
        2 * self.num_searching.load(SeqCst) <= self.num_workers() + 1
    }

    /// A worker starts searching for work (stealing).
    pub(crate) fn begin_search(&self) {
        self.num_searching.fetch_add(1, SeqCst);
    }

    /// A searching worker found work (or gave up without sleeping). If it was
    /// the last searcher and work is still queued, wake another.
    pub(crate) fn end_search(&self) {
        if self.num_searching.fetch_sub(1, SeqCst) == 1 && self.has_queued_work() {
            self.notify_parked();
        }
    }

    /// Adds worker `index` to the sleepers (it was searching if `searching`).
    pub(crate) fn sleep(&self, index: usize, searching: bool) {
        let mut sleepers = self.sleepers.lock();
        sleepers.push(index);
        self.num_sleeping.fetch_add(1, SeqCst);
        if searching {
            self.num_searching.fetch_sub(1, SeqCst);
        }
        drop(sleepers);
        fence(SeqCst);
        // Work queued while we were still counted as searching may have
        // skipped its notification: take it over.
        if self.has_queued_work() || self.is_shutdown() {
            self.notify_parked();
        }
    }

    /// Worker `index` is back from parking; it is now searching either way.
    ///
    /// If it is the only worker awake and another is parked holding the
    /// reactor with no watch (every worker was idle when it parked), that
    /// one is woken to park again with the LIFO watch ([`Shared::park`]):
    /// one wake per idle-to-busy transition of the whole runtime.
    pub(crate) fn wake_up(&self, index: usize) {
        self.awake(index, false);
    }

    /// [`wake_up`](Self::wake_up); `holds_reactor`: this worker is the one
    /// parked in the reactor (so there is no other holder to interrupt).
    /// Called by the driver as soon as the worker stops blocking, before
    /// it dispatches events and timers, so that the wakes it makes see it
    /// searching and do not notify it (see `Driver::park`); the call after
    /// the park returns then finds nothing to do.
    fn awake(&self, index: usize, holds_reactor: bool) {
        let mut sleepers = self.sleepers.lock();
        if let Some(pos) = sleepers.iter().position(|&i| i == index) {
            sleepers.swap_remove(pos);
            let was = self.num_sleeping.fetch_sub(1, SeqCst);
            self.num_searching.fetch_add(1, SeqCst);
            let first_awake = was == self.num_workers();
            drop(sleepers);
            if first_awake && !holds_reactor && self.watches_lifo() && self.driver.reactor_held() {
                self.driver.wake();
            }
        }
    }

    /// Whether idle workers watch the busy ones' LIFO slots: with more than
    /// one worker, on the multi-thread flavour.
    fn watches_lifo(&self) -> bool {
        !self.current_thread && self.num_workers() > 1
    }

    pub(crate) fn has_queued_work(&self) -> bool {
        !self.injector.is_empty() || self.stealers.iter().any(|s| !s.is_empty())
    }

    /// Parks worker `index` in the driver until unparked or a timer is
    /// due, then fires due timers.
    ///
    /// The LIFO watch: while some worker is awake, the worker holding the
    /// reactor parks for at most [`LIFO_WATCH`], then searches again, and
    /// a search steals a task that has sat in a busy worker's LIFO slot
    /// for half of it (`lifo.rs`). So a task woken into the slot of a
    /// worker that then blocks in one long poll waits at most about
    /// `LIFO_WATCH`, even when every other worker was parked; a runtime
    /// with every worker idle parks with no such timeout.
    pub(crate) fn park(&self, index: usize) {
        let someone_awake = self.num_sleeping.load(SeqCst) < self.num_workers();
        let watch = (self.watches_lifo() && someone_awake).then_some(LIFO_WATCH);
        // The current-thread loop queues due timers itself, after this.
        self.driver.park(index, !self.current_thread, watch, |holds_reactor| self.awake(index, holds_reactor));
    }

    /// Registers a timer in wheel `shard` and makes sure some worker will
    /// fire it (the one way a timer is armed: `TimerEntry`).
    pub(crate) fn insert_timer(&self, shard: usize, when: Instant, waker: std::task::Waker) -> TimerKey {
        let (key, wake) = self.driver.insert_timer(shard, when, waker);
        // No worker is parked in the driver: wake a sleeping worker so it
        // takes the driver (and this deadline as its timeout). Workers that
        // are all busy poll the timers between tasks.
        if wake == TimerWake::Anyone {
            self.notify_parked();
        }
        key
    }

    /// Between tasks: poll the reactor without blocking and fire due timers,
    /// if no other worker is doing so.
    pub(crate) fn maintenance(&self) {
        self.driver.maintenance();
    }

    /// The current-thread loop's timers (asyncio `_run_once`): one `call_soon`
    /// entry at the end of the ready queue fires every due timer, in
    /// deadline order, so they act after what is already ready, and the
    /// tasks they wake run in the next iteration.
    pub(crate) fn queue_due_timers(&self, now: Instant) {
        let timers = &self.driver.timers;
        if !timers.any_due(now) {
            return;
        }
        let wakers = timers.take_due(now);
        if !wakers.is_empty() {
            self.call_soon(Box::new(move || {
                // Foreign wakers in the wheels are already guarded; catching
                // here as well means no waker can cost the batch its rest.
                for waker in wakers {
                    crate::catch_wake::wake(waker);
                }
            }));
        }
    }

    /// Begins shutdown: workers stop after their current poll.
    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.store(true, SeqCst);
        self.driver.shut_down();
        self.driver.unpark_all();
    }

    /// After the workers stopped: drop queued entries, then end every task
    /// that is left by dropping its future (it ends aborted).
    pub(crate) fn shutdown_tasks(&self) {
        while !self.injector.is_empty() {
            if let crossbeam_deque::Steal::Success(task) = self.injector.steal() {
                task.run_or_drop();
            }
        }
        // Dropping futures may spawn or wake; the registry is closed, so new
        // spawns end at once, and wakes only queue entries we drain again.
        loop {
            let tasks = self.registry.close();
            if tasks.is_empty() {
                break;
            }
            for task in tasks {
                if task.header().state.transition_to_shutdown() {
                    let snapshot = task.header().state.load();
                    task.clone().poll_owned(snapshot, false);
                }
            }
        }
        while let crossbeam_deque::Steal::Success(task) = self.injector.steal() {
            task.run_or_drop();
        }
    }

    /// Runs `f` soon on the runtime (asyncio `call_soon`): queued as a task
    /// behind what is already ready. After shutdown it runs at once, so it
    /// is never lost.
    ///
    /// The callback runs as a lightweight unregistered task-like entry: it is
    /// not in `all_tasks()`, and `current_task()` is `None` inside it.
    pub(crate) fn call_soon(&self, f: Box<dyn FnOnce() + Send>) {
        let Some(me) = self.me.upgrade().filter(|_| !self.registry.is_closed()) else {
            // Shut down: run it now, on the caller's thread, which must not
            // get its panic; it is reported as a scheduled callback's is.
            crate::task::schedule::run_callback(self, f);
            return;
        };
        let future = async move {
            f();
            Ok(())
        };
        let flags = crate::task::state::NOTIFIED | crate::task::state::CALLBACK;
        let [registry_ref, handle_ref, runner] = RawTask::new(
            future,
            crate::context::Context::current(),
            TaskId::next_callback(),
            std::panic::Location::caller(),
            me,
            flags,
            (),
        );
        drop(registry_ref);
        handle_ref.header().state.unset_join_interest();
        drop(handle_ref);
        self.schedule(runner, false);
    }

    /// Reports a failure nobody retrieved through the error hook.
    pub(crate) fn report_unretrieved(&self, id: TaskId, name: Option<Arc<str>>, error: crate::Error) {
        let name = name.map(|n| n.to_string()).unwrap_or_else(|| format!("Task-{id}"));
        let report = UnhandledError::new("Task exception was never retrieved", id, name, error);
        let hook = self.error_hook.clone();
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(&report)));
    }
}

/// Reports a waker's panic that `catch_wake` caught to the runtime this
/// thread is in, as a callback's; outside any runtime the panic hook has
/// already printed it.
fn report_caught_wake(payload: Box<dyn std::any::Any + Send>) {
    if let Some(shared) = enter::current() {
        crate::task::schedule::report_callback_panic(&*shared, payload);
    }
}

impl Schedule for Shared {
    fn schedule(&self, task: RawTask, yielded: bool) {
        Shared::schedule(self, task, yielded);
    }

    fn call_soon(&self, f: Box<dyn FnOnce() + Send>) {
        Shared::call_soon(self, f);
    }

    fn release(&self, task: &Header) -> Option<RawTask> {
        self.registry.remove(task.id, std::ptr::NonNull::from(task))
    }

    fn report_unretrieved(&self, id: TaskId, name: Option<Arc<str>>, error: crate::Error) {
        Shared::report_unretrieved(self, id, name, error);
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::{Builder, Promise};
    use std::time::{Duration, Instant};

    /// Builds runtimes whose driver blocks in the reactor (as once an I/O
    /// source is registered) or parks on a condvar (timer-only mode, the
    /// default while nothing is registered), and runs the three kinds of
    /// wake-up through each: a timer expiring while every worker is idle, a
    /// spawn from a foreign thread, and a promise completed from a foreign
    /// thread while the runtime sleeps on a later timer.
    fn wake_ups_reach_the_driver(io_mode: bool, workers: Option<usize>) {
        for rounds in 0..20 {
            let rt = match workers {
                Some(n) => Builder::new_multi_thread().worker_threads(n).build().unwrap(),
                None => Builder::new_current_thread().build().unwrap(),
            };
            let shared = rt.handle().shared();
            // Let idle workers reach their park first half of the time, so
            // the switch also happens under a worker parked holding the
            // driver (the registration protocol of `io_sources`).
            if rounds % 2 == 1 {
                std::thread::sleep(Duration::from_millis(5));
            }
            // A real source (a pipe) switches the driver to the reactor.
            let _source = io_mode.then(|| {
                use std::os::fd::AsRawFd;
                let (sender, receiver) = mio::unix::pipe::new().unwrap();
                let registration = crate::driver::io::Registration::new(
                    shared.driver.clone(),
                    sender.as_raw_fd(),
                    mio::Interest::WRITABLE,
                )
                .unwrap();
                (registration, sender, receiver)
            });
            let start = Instant::now();
            rt.block_on(crate::sleep(Duration::from_millis(3))).unwrap();
            assert!(start.elapsed() >= Duration::from_millis(3));

            let spawned = std::thread::scope(|s| s.spawn(|| rt.handle().spawn(async { Ok(7) })).join().unwrap());
            assert_eq!(rt.block_on(spawned).unwrap(), 7);

            let promise: Promise<u32> = Promise::new();
            let p = promise.clone();
            let setter = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(2));
                p.set_result(5).unwrap();
            });
            let out = rt.block_on(async move {
                let long = crate::spawn(async {
                    crate::sleep(Duration::from_secs(3600)).await?;
                    Ok(0)
                });
                let v = promise.await?;
                long.cancel();
                assert!(long.await.unwrap_err().is_cancelled());
                Ok(v)
            });
            setter.join().unwrap();
            assert_eq!(out.unwrap(), 5);
        }
    }

    #[test]
    fn timer_only_driver_wakes_multi_thread() {
        wake_ups_reach_the_driver(false, Some(2));
    }

    #[test]
    fn reactor_driver_wakes_multi_thread() {
        wake_ups_reach_the_driver(true, Some(2));
    }

    #[test]
    fn timer_only_driver_wakes_current_thread() {
        wake_ups_reach_the_driver(false, None);
    }

    #[test]
    fn reactor_driver_wakes_current_thread() {
        wake_ups_reach_the_driver(true, None);
    }
}
