//! [`RavelTimer`]: hyper's timer on Ravel's timing wheels.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// hyper's [`Timer`](hyper::rt::Timer) on Ravel: give it to hyper's
/// connection builders (`.timer(RavelTimer::new())`), which need one for
/// their header-read and keep-alive timeouts. Sleeps run on the timing
/// wheel of the runtime they are first polled in.
///
/// ```
/// use hyper::rt::Timer;
/// use std::time::{Duration, Instant};
///
/// ravel::run(async {
///     let timer = ravel_io::hyper::RavelTimer::new();
///     let start = Instant::now();
///     let mut sleep = timer.sleep(Duration::from_secs(3600));
///     timer.reset(&mut sleep, start + Duration::from_millis(2)); // in place
///     sleep.await;
///     assert!(start.elapsed() >= Duration::from_millis(2));
///     Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct RavelTimer(());

impl RavelTimer {
    /// The timer.
    pub fn new() -> RavelTimer {
        RavelTimer(())
    }
}

/// The sleep of [`RavelTimer`]: a [`ravel::Sleep`] polled without the leaf
/// rule ([`ravel::Sleep::poll_elapsed`]), because hyper's timer futures
/// return `()` and cannot carry a cancellation; cancel the task serving
/// the connection instead (see [the module docs](super)).
#[derive(Debug)]
pub struct RavelSleep {
    sleep: ravel::Sleep,
}

impl Future for RavelSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.get_mut().sleep.poll_elapsed(cx)
    }
}

impl hyper::rt::Sleep for RavelSleep {}

impl hyper::rt::Timer for RavelTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(RavelSleep { sleep: ravel::sleep(duration) })
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(RavelSleep { sleep: ravel::sleep_until(deadline) })
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<RavelSleep>() {
            // Moves the live timer; the waiting task is woken at the new time.
            Some(mut ours) => ours.sleep.reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}
