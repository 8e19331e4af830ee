//! Timers: [`sleep`], [`sleep_until`], [`time`].
//!
//! Each worker has its own timing wheel ([`wheel`]), so registering a timer
//! rarely contends; the worker that parks in the reactor processes all of
//! them and uses the earliest deadline as its poll timeout. A timer is
//! registered lazily, on the first poll that has to wait, and removed in
//! O(1) when its `Sleep` is dropped.
//!
//! Handing the deadline to the parked worker: the parker stores `u64::MAX`
//! in `wake_at`, reads the wheels, then stores the tick it will wake at; a
//! registrar inserts, then reads `wake_at` and interrupts the reactor if its
//! deadline is earlier. Both sides are `SeqCst`, so a registrar either is
//! seen by the parker's read of the wheels or sees a `wake_at` that makes it
//! interrupt.

pub(crate) mod wheel;

use crate::error::Result;
use crate::runtime::Handle;
use crate::task::Leaf;
use parking_lot::Mutex;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use wheel::{TimerKey, Wheel};

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

    /// Registers a timer, and says who must be woken to honour it: pass the
    /// answer to `Shared::timer_registered` (`Shared::insert_timer` does both).
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

    fn update(&self, shard: usize, key: TimerKey, waker: &Waker) -> bool {
        self.shards[shard].lock().update_waker(key, waker)
    }

    pub(crate) fn remove(&self, shard: usize, key: TimerKey) {
        self.shards[shard].lock().remove(key);
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
        let mut wakers = Vec::new();
        for shard in self.shards.iter() {
            shard.lock().process(now, &mut wakers);
        }
        for waker in wakers {
            waker.wake();
        }
    }
}

/// The loop clock (asyncio `loop.time()`): a monotonic instant.
pub fn time() -> Instant {
    Instant::now()
}

/// Waits for `duration` (asyncio `sleep`).
///
/// `sleep(Duration::ZERO)` yields once, like asyncio's `sleep(0)` (see
/// [`yield_now`](crate::yield_now)). A duration too large to represent
/// (`Duration::MAX`) sleeps forever without overflowing. Like every Ravel
/// awaitable, a sleep is a cancellation delivery point: a cancelled task's
/// sleep ends at once with `Err(e)`, `e.is_cancelled()`.
///
/// ```
/// use std::time::Duration;
/// ravel::run(async {
///     let start = ravel::time();
///     ravel::sleep(Duration::from_millis(5)).await?;
///     assert!(start.elapsed() >= Duration::from_millis(5));
///     Ok(())
/// })
/// .unwrap();
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::new(Instant::now().checked_add(duration), duration.is_zero())
}

/// Waits until `deadline` (asyncio `sleep` with an absolute time).
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(Some(deadline), false)
}

/// The future returned by [`sleep`] and [`sleep_until`]. `Send + Sync`.
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    /// `None`: never (the duration overflowed).
    deadline: Option<Instant>,
    yield_first: bool,
    leaf: Leaf,
    /// The runtime whose wheel `shard` holds the timer under `key`; `None`
    /// until the first registration. (Flat fields rather than one optional
    /// struct: this keeps a `Sleep` at 40 bytes, and every task parked on a
    /// sleep carries one.)
    registration: Option<Handle>,
    key: TimerKey,
    shard: u32,
}

impl Sleep {
    fn new(deadline: Option<Instant>, yield_first: bool) -> Sleep {
        Sleep { deadline, yield_first, leaf: Leaf::new(), registration: None, key: TimerKey::NONE, shard: 0 }
    }

    /// The instant this sleep ends at; `None` if it never does.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    fn deregister(&mut self) {
        if let Some(handle) = self.registration.take() {
            handle.shared().timers.remove(self.shard as usize, self.key);
        }
    }

    /// Ready once due; else makes sure the timer will wake `cx`.
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(deadline) = self.deadline else {
            return Poll::Pending; // never ends; only cancellation or drop
        };
        if Instant::now() >= deadline {
            return Poll::Ready(());
        }
        // Keep the registration if it is still live; otherwise (first poll, or
        // fired but not yet due by our clock reading, a race with the clock:
        // timers are never early) register, in the same wheel as before.
        let handle = match self.registration.take() {
            Some(handle) if handle.shared().timers.update(self.shard as usize, self.key, cx.waker()) => {
                self.registration = Some(handle);
                return Poll::Pending;
            }
            Some(handle) => handle,
            None => {
                let handle =
                    Handle::try_current().expect("ravel::sleep polled outside of a Ravel runtime (no timer driver)");
                self.shard = u32::try_from(handle.shared().timer_shard()).expect("fewer than 2^32 workers");
                handle
            }
        };
        self.key = handle.shared().insert_timer(self.shard as usize, deadline, cx.waker().clone());
        self.registration = Some(handle);
        Poll::Pending
    }
}

impl Future for Sleep {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = &mut *self;
        let poll = if this.yield_first {
            this.leaf.poll_yield(cx)
        } else {
            let mut leaf = std::mem::take(&mut this.leaf);
            let poll = leaf.poll(cx, |cx| this.poll_timer(cx));
            this.leaf = leaf;
            poll
        };
        if poll.is_ready() {
            this.deregister();
        }
        poll
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.deregister();
    }
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep").field("deadline", &self.deadline).finish()
    }
}

#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Sleep>() == 40);
