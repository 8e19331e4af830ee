//! The runtime's timers: one timing wheel per worker, and the hand-off of
//! the earliest deadline to the worker that parks.
//!
//! Each worker has its own wheel ([`super::wheel`]), so registering a timer
//! rarely contends; the worker that parks holding the driver processes all
//! of them and uses the earliest deadline as its timeout.
//!
//! Handing the deadline to the parked worker: the parker stores `u64::MAX`
//! in `wake_at`, reads the wheels, then stores the tick it will wake at; a
//! registrar inserts, then reads `wake_at` and interrupts the parker if its
//! deadline is earlier. Both sides are `SeqCst`, so a registrar either is
//! seen by the parker's read of the wheels or sees a `wake_at` that makes it
//! interrupt (the loom model `loom_timer_hand_off` checks this).

use super::wheel::{TimerKey, Wheel};
use crate::shim::{AtomicU64, Mutex};
use std::sync::atomic::Ordering::SeqCst;
use std::task::Waker;
use std::time::{Duration, Instant};

/// No worker is parked in the reactor.
const NOBODY_PARKED: u64 = 0;

/// Who must be woken after a timer is registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimerWake {
    /// The worker parked in the reactor wakes in time already.
    No,
    /// The worker parked in the reactor sleeps past the new deadline.
    Driver,
    /// No worker is parked in the reactor.
    Anyone,
}

pub(crate) struct Timers {
    shards: Box<[Mutex<Wheel>]>,
    origin: Instant,
    /// The millisecond (since `origin`) the parked worker wakes at.
    wake_at: AtomicU64,
}

impl Timers {
    pub(crate) fn new(shards: usize) -> Timers {
        let origin = Instant::now();
        Timers {
            shards: (0..shards.max(1)).map(|_| Mutex::new(Wheel::new(origin))).collect(),
            origin,
            wake_at: AtomicU64::new(NOBODY_PARKED),
        }
    }

    fn tick_of(&self, t: Instant) -> u64 {
        let ms = t.saturating_duration_since(self.origin).as_millis();
        u64::try_from(ms).unwrap_or(u64::MAX - 1).max(1)
    }

    /// Registers a timer, and says who must be woken to honour it (the
    /// scheduler acts on the answer: `Shared::insert_timer`).
    pub(crate) fn insert(&self, shard: usize, deadline: Instant, waker: Waker) -> (TimerKey, TimerWake) {
        let key = self.shards[shard].lock().insert(deadline, waker);
        let wake_at = self.wake_at.load(SeqCst);
        let wake = if wake_at == NOBODY_PARKED {
            TimerWake::Anyone
        } else if self.tick_of(deadline) < wake_at {
            TimerWake::Driver
        } else {
            TimerWake::No
        };
        (key, wake)
    }

    /// The earliest timer deadline, for a worker parking outside the reactor.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.shards.iter().filter_map(|s| s.lock().next_deadline()).min()
    }

    pub(crate) fn update(&self, shard: usize, key: TimerKey, waker: &Waker) -> bool {
        self.shards[shard].lock().update_waker(key, waker)
    }

    pub(crate) fn remove(&self, shard: usize, key: TimerKey) {
        self.shards[shard].lock().remove(key);
    }

    /// Removes a live timer and returns its waker (to move it).
    pub(crate) fn take(&self, shard: usize, key: TimerKey) -> Option<Waker> {
        self.shards[shard].lock().take(key)
    }

    /// A parker is about to block: returns how long it may sleep.
    pub(crate) fn begin_park(&self, now: Instant) -> Option<Duration> {
        self.wake_at.store(u64::MAX, SeqCst);
        match self.next_deadline() {
            Some(deadline) => {
                self.wake_at.store(self.tick_of(deadline), SeqCst);
                Some(deadline.saturating_duration_since(now))
            }
            None => None,
        }
    }

    /// The parker is back.
    pub(crate) fn end_park(&self) {
        self.wake_at.store(NOBODY_PARKED, SeqCst);
    }

    /// Whether any timer is due at `now` (cheap enough for every iteration).
    pub(crate) fn any_due(&self, now: Instant) -> bool {
        self.next_deadline().is_some_and(|d| d <= now)
    }

    /// Fires every due timer, in deadline order per wheel.
    pub(crate) fn process(&self, now: Instant) {
        // The wheels hold task wakers and guarded foreign ones
        // (`TimerEntry`), but a panic here would take the worker: catch.
        for waker in self.take_due(now) {
            crate::catch_wake::wake(waker);
        }
    }

    /// Takes every due timer out of the wheels, in deadline order per wheel,
    /// for the caller to fire.
    pub(crate) fn take_due(&self, now: Instant) -> Vec<Waker> {
        let mut wakers = Vec::new();
        for shard in self.shards.iter() {
            shard.lock().process(now, &mut wakers);
        }
        wakers
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::{TimerWake, Timers};
    use loom::sync::Arc;
    use loom::thread;
    use std::task::Waker;
    use std::time::{Duration, Instant};

    /// The bug this guards: a timer registered while a worker is parking is
    /// missed by the parker's read of the wheels, and the registrar, seeing
    /// a later `wake_at`, does not interrupt it: the timer fires late (or
    /// never, with no other timer). A later timer is already registered,
    /// so the parker may publish a `wake_at` past the new deadline. In
    /// every interleaving, either the parker's timeout covers the new
    /// deadline, or the registrar was told to wake someone (the parked
    /// worker: `Driver`, or any: `Anyone`, when no park was published yet).
    #[test]
    fn loom_timer_hand_off() {
        loom::model(|| {
            let timers = Arc::new(Timers::new(1));
            let now = Instant::now();
            let deadline = now + Duration::from_millis(50);
            let _ = timers.insert(0, deadline + Duration::from_millis(100), Waker::noop().clone());
            let t2 = timers.clone();
            let registrar = thread::spawn(move || {
                let (_key, wake) = t2.insert(0, deadline, Waker::noop().clone());
                wake
            });
            let timeout = timers.begin_park(now);
            let wake = registrar.join().unwrap();
            let covered = timeout.is_some_and(|t| now + t <= deadline);
            assert!(covered || wake != TimerWake::No, "timeout {timeout:?}, registrar told {wake:?}");
            timers.end_park();
        });
    }
}
