//! Timers: [`sleep`], [`sleep_until`], [`time`].
//!
//! A sleep's deadline goes into the runtime's timer wheels (the driver's,
//! `crate::driver::timers`) through a [`TimerEntry`](entry::TimerEntry):
//! lazily, on the first poll that has to wait, and removed in O(1) when the
//! `Sleep` completes or is dropped.

pub(crate) mod entry;

use crate::error::Result;
use crate::task::note::Noted;
use crate::task::Leaf;
use entry::{Armed, TimerEntry};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

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
/// Polled after its runtime shut down (e.g. moved out to another executor),
/// a sleep that is not due yet ends at once with a runtime-closed error
/// ([`ErrorKind::RuntimeClosed`](crate::ErrorKind::RuntimeClosed)): no
/// driver would ever fire it. Polled outside any runtime before its first
/// registration, it panics, as [`spawn`](crate::spawn) does.
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
    timer: TimerEntry,
}

impl Sleep {
    fn new(deadline: Option<Instant>, yield_first: bool) -> Sleep {
        Sleep { deadline, yield_first, leaf: Leaf::new(), timer: TimerEntry::new() }
    }

    /// The instant this sleep ends at; `None` if it never does.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Makes the sleep end at `deadline` instead (Tokio's `Sleep::reset`,
    /// what hyper's `Timer::reset` needs). A task already waiting on it is
    /// woken at the new deadline without polling it again; a sleep that
    /// already completed can be awaited again, as a new one.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// ravel::run(async {
    ///     let start = Instant::now();
    ///     let mut sleep = ravel::sleep(Duration::from_secs(3600));
    ///     sleep.reset(start + Duration::from_millis(5));
    ///     (&mut sleep).await?;
    ///     assert!(start.elapsed() >= Duration::from_millis(5));
    ///     assert!(start.elapsed() < Duration::from_secs(3600));
    ///     // Reused after it completed:
    ///     sleep.reset(Instant::now() + Duration::from_millis(1));
    ///     sleep.await?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = Some(deadline);
        self.yield_first = false;
        self.timer.reset(deadline);
    }

    /// Polls for the deadline alone, without the leaf rule: no cancellation
    /// is delivered and no budget is spent. For poll-based adapters whose
    /// caller cannot take a Ravel error (hyper's `Timer`, see
    /// `ravel_io::hyper`); a task should await the `Sleep` instead.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::time::Duration;
    ///
    /// ravel::run(async {
    ///     let mut sleep = ravel::sleep(Duration::from_millis(2));
    ///     poll_fn(|cx| sleep.poll_elapsed(cx)).await;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    ///
    /// Polled after its runtime shut down, it is ready at once (no driver
    /// would ever fire it).
    pub fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let poll = self.poll_timer(cx).map(|_| ());
        if poll.is_ready() {
            self.timer.cancel();
        }
        poll
    }

    /// Ready once due; else makes sure the timer will wake `cx`. An error
    /// once the runtime has shut down.
    ///
    /// # Panics
    /// Outside a Ravel runtime, on a first registration.
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let Some(deadline) = self.deadline else {
            return Poll::Pending; // never ends; only cancellation or drop
        };
        // Timers are never early: a timer that fired before our clock
        // reading says it is due registers again.
        if Instant::now() >= deadline {
            return Poll::Ready(Ok(()));
        }
        match self.timer.arm(deadline, cx.waker()) {
            Ok(()) => Poll::Pending,
            Err(Armed::ShutDown) => Poll::Ready(Err(Armed::ShutDown.error())),
            Err(e @ Armed::NoRuntime) => panic!("ravel::sleep polled outside of a Ravel runtime: {}", e.error()),
        }
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
            let deadline = this.deadline;
            let poll = leaf.poll_noted(cx, Noted::Sleep(deadline), |cx| this.poll_timer(cx));
            this.leaf = leaf;
            poll.map(|r| r.and_then(|r| r))
        };
        if poll.is_ready() {
            // Completed: awaiting it again (after a `reset`) is a new sleep.
            this.timer.cancel();
            this.leaf.reset();
        }
        poll
    }
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep").field("deadline", &self.deadline).finish()
    }
}

/// A sleep is 48 bytes: deadline 16, timer entry 24 (runtime, key, wheel),
/// the leaf flag and the yield flag. Every task parked on a sleep carries
/// one.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Sleep>() == 48);
