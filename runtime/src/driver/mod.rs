//! The driver: what an idle worker blocks in, behind one type.
//!
//! * the **reactor** ([`reactor`]): a `mio::Poll`, and a `mio::Waker` that
//!   interrupts it;
//! * the **timers** ([`timers`], [`wheel`]): one wheel per worker and the
//!   hand-off of the earliest deadline to the parked worker;
//! * each worker's **parker** ([`park`]);
//! * the **registration of I/O resources** ([`io`]) and their readiness
//!   ([`scheduled_io`]): the tokens the reactor dispatches events by, and
//!   the count that decides whether blocking in the reactor is needed at
//!   all.
//!
//! # Parking
//!
//! Exactly one idle worker at a time holds the reactor lock while it parks,
//! with the next timer deadline as its timeout; the others park on their
//! condvar. While no I/O source is registered, the one holding the reactor
//! lock does not block in `epoll_wait` either: it parks on its condvar too
//! (timer-only mode, as Tokio's runtime without `enable_io`), and is woken
//! through its parker (a futex) rather than an eventfd write and an
//! `epoll_wait` return. Its index is published in `condvar_driver` so that
//! [`Driver::wake`] reaches it.
//!
//! Switching modes: a registrar increments `io_sources`, then reads
//! `condvar_driver` and wakes that worker; a parker publishes itself in
//! `condvar_driver`, then re-reads `io_sources` before parking (all
//! `SeqCst`): either the registrar sees the parker and wakes it (it comes
//! back and re-parks in the reactor), or the parker sees the source and
//! does not park on its condvar.
//!
//! The driver knows nothing of tasks or of the scheduler: it wakes
//! `Waker`s and parkers. Acting on a new timer when no worker is parked
//! ("wake any sleeping worker") is the scheduler's part
//! ([`TimerWake::Anyone`]).

pub(crate) mod io;
pub(crate) mod park;
pub(crate) mod reactor;
pub(crate) mod scheduled_io;
pub(crate) mod timers;
pub(crate) mod wheel;

use park::Parker;
use parking_lot::Mutex;
use reactor::Reactor;
use scheduled_io::ScheduledIo;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};
pub(crate) use timers::{TimerWake, Timers};
use wheel::TimerKey;

/// No worker (for `condvar_driver`).
const NO_WORKER: usize = usize::MAX;

/// The reactor, the timers and the parkers of one runtime.
pub(crate) struct Driver {
    reactor: Mutex<Reactor>,
    /// Registers sources without the reactor lock (a worker parked in the
    /// reactor holds it). Used by [`io::Registration`].
    registry: mio::Registry,
    /// Deregistered resources whose tokens an event of the reactor turn in
    /// progress may still name: freed by the reactor-lock holder at the
    /// start of its next turn (see [`io`]).
    released: Mutex<Vec<Arc<ScheduledIo>>>,
    has_released: AtomicBool,
    /// Set when the runtime begins shutting down: I/O on its resources
    /// fails from then on.
    shut_down: AtomicBool,
    waker: mio::Waker,
    parkers: Box<[Parker]>,
    /// The worker holding the reactor lock while parked on its condvar
    /// (timer-only mode), or [`NO_WORKER`].
    condvar_driver: AtomicUsize,
    /// Registered I/O sources (the reactor's waker not counted): only then
    /// is there a reason to block in (or poll) the reactor. An atomic
    /// outside the reactor lock, because a worker parked in timer-only mode
    /// holds that lock (with no timeout if no timer is pending). Changed
    /// only by [`io::Registration`], which follows the protocol in its docs.
    io_sources: AtomicUsize,
    pub(crate) timers: Timers,
}

impl Driver {
    /// A driver for `workers` workers (one parker and one wheel each).
    pub(crate) fn new(workers: usize) -> std::io::Result<Driver> {
        let (reactor, waker) = reactor::new()?;
        let registry = reactor.registry().try_clone()?;
        Ok(Driver {
            reactor: Mutex::new(reactor),
            registry,
            released: Mutex::new(Vec::new()),
            has_released: AtomicBool::new(false),
            shut_down: AtomicBool::new(false),
            waker,
            parkers: (0..workers).map(|_| Parker::new()).collect(),
            condvar_driver: AtomicUsize::new(NO_WORKER),
            io_sources: AtomicUsize::new(0),
            timers: Timers::new(workers),
        })
    }

    pub(crate) fn has_io_sources(&self) -> bool {
        self.io_sources.load(SeqCst) != 0
    }

    /// Keeps a deregistered resource alive until the next reactor turn.
    fn release(&self, io: Arc<ScheduledIo>) {
        self.released.lock().push(io);
        self.has_released.store(true, SeqCst);
    }

    /// Frees released resources; only the reactor-lock holder calls this,
    /// between turns (see [`io`]).
    fn free_released(&self, _reactor: &Reactor) {
        // A plain load first: parks and maintenance call this constantly.
        if self.has_released.load(SeqCst) && self.has_released.swap(false, SeqCst) {
            let freed = std::mem::take(&mut *self.released.lock());
            drop(freed);
        }
    }

    /// After shutdown, once every task's future is dropped: frees the
    /// released resources no reactor turn will free any more. They may
    /// hold wakers, so tasks, so the scheduler that owns this driver: kept,
    /// they are a reference cycle that leaks the whole runtime (found by
    /// `scripts/valgrind.sh`). Freed under the reactor lock, as a turn frees
    /// them: a worker still in a turn (a shutdown that timed out) may hold
    /// events naming them, and then they are left to that worker's next turn.
    /// Dropping them may release more (a waker dropping the last reference
    /// to a task whose future held a socket): those go too.
    pub(crate) fn free_released_after_shutdown(&self) {
        let Some(reactor) = self.reactor.try_lock() else { return };
        while self.has_released.load(SeqCst) {
            self.free_released(&reactor);
        }
    }

    /// Marks the runtime as shutting down: I/O on its resources fails from
    /// now on (their tasks are being dropped anyway).
    pub(crate) fn shut_down(&self) {
        self.shut_down.store(true, SeqCst);
    }

    /// True once [`shut_down`](Self::shut_down) was called.
    #[inline]
    pub(crate) fn is_shut_down(&self) -> bool {
        self.shut_down.load(SeqCst)
    }

    /// Parks worker `index` until unparked or a timer is due, then fires
    /// due timers if `fire_timers` (the current-thread loop queues them
    /// itself instead, asyncio's order).
    ///
    /// `watch`: if set, the worker that holds the reactor wakes after at
    /// most this long even with no timer due (the scheduler's LIFO watch:
    /// it then looks for a task stuck in a busy worker's LIFO slot).
    ///
    /// `awake` runs as soon as the worker stops blocking, before it wakes
    /// anything (the I/O waiters of the events it got, the due timers): the
    /// scheduler counts it as awake there, so the wakes it makes itself do
    /// not try to wake it (an eventfd write and a wasted reactor turn per
    /// batch) and queue work for it instead (Tokio's worker likewise does
    /// not notify while it dispatches its own park). Its argument says
    /// whether this worker holds the reactor.
    pub(crate) fn park(&self, index: usize, fire_timers: bool, watch: Option<Duration>, awake: impl FnOnce(bool)) {
        let parker = &self.parkers[index];
        let Some(mut reactor) = self.reactor.try_lock() else {
            parker.park_condvar(self.timers.next_deadline());
            awake(false);
            return;
        };
        let cap = |timeout: Option<Duration>| match (timeout, watch) {
            (Some(t), Some(w)) => Some(t.min(w)),
            (t, w) => t.or(w),
        };
        self.free_released(&reactor);
        if self.has_io_sources() {
            parker.park_driver(|| {
                let timeout = cap(self.timers.begin_park(Instant::now()));
                reactor.wait(timeout);
                self.timers.end_park();
            });
            awake(true);
            reactor.dispatch();
        } else {
            // Timer-only mode: nothing for epoll to wait for.
            self.condvar_driver.store(index, SeqCst);
            // See the module docs: either a registrar sees us here and wakes
            // us, or we see its source and do not park at all.
            if !self.has_io_sources() {
                let now = Instant::now();
                let deadline = cap(self.timers.begin_park(now)).and_then(|timeout| now.checked_add(timeout));
                parker.park_condvar(deadline);
                self.timers.end_park();
            }
            self.condvar_driver.store(NO_WORKER, SeqCst);
            awake(true);
        }
        drop(reactor);
        if fire_timers {
            self.timers.process(Instant::now());
        }
    }

    /// Whether some worker is parked holding the reactor (or is polling it
    /// between tasks).
    pub(crate) fn reactor_held(&self) -> bool {
        self.reactor.is_locked()
    }

    /// Wakes worker `index`, or leaves it a token for its next park.
    pub(crate) fn unpark(&self, index: usize) {
        self.parkers[index].unpark(|| self.wake());
    }

    /// Wakes every worker (shutdown).
    pub(crate) fn unpark_all(&self) {
        for index in 0..self.parkers.len() {
            self.unpark(index);
        }
    }

    /// Interrupts the worker holding the reactor lock: through its parker
    /// in timer-only mode, else through the reactor's waker.
    ///
    /// A registrar that decided to wake the driver (`TimerWake::Driver`) read
    /// the `wake_at` the parker stored after publishing itself in
    /// `condvar_driver` (all `SeqCst`), so it finds the parker there, or the
    /// parker is already back (and re-reads the wheels before parking again).
    pub(crate) fn wake(&self) {
        match self.condvar_driver.load(SeqCst) {
            NO_WORKER => self.wake_reactor(),
            index => self.parkers[index].unpark(|| self.wake_reactor()),
        }
    }

    fn wake_reactor(&self) {
        if let Err(e) = self.waker.wake() {
            panic!("ravel reactor: waking the poller failed: {e}");
        }
    }

    /// Registers a timer in wheel `shard`, and says who must be woken to
    /// honour it; a parked worker that sleeps past it is interrupted here.
    pub(crate) fn insert_timer(&self, shard: usize, when: Instant, waker: Waker) -> (TimerKey, TimerWake) {
        let (key, wake) = self.timers.insert(shard, when, waker);
        if wake == TimerWake::Driver {
            self.wake();
        }
        (key, wake)
    }

    /// Between tasks: poll the reactor without blocking and fire due
    /// timers, if no other worker is doing so.
    pub(crate) fn maintenance(&self) {
        if self.poll_reactor() {
            self.timers.process(Instant::now());
        }
    }

    /// Polls the reactor without blocking, if no other worker holds it;
    /// false if one does.
    pub(crate) fn poll_reactor(&self) -> bool {
        let Some(mut reactor) = self.reactor.try_lock() else { return false };
        self.free_released(&reactor);
        if self.has_io_sources() {
            reactor.poll(Some(Duration::ZERO));
        }
        true
    }
}

#[cfg(all(test, not(loom)))]
mod wheel_proptest;
