//! The reactor: a `mio::Poll` that one idle worker at a time blocks in,
//! with the next timer deadline as its timeout, and a `mio::Waker` that
//! interrupts it.
//!
//! Socket registration for `ravel-io` will add its readiness dispatch here.
//! While no I/O source is registered (today: always, outside tests) the
//! worker holding the driver does not block in `epoll_wait` at all: it parks
//! on its condvar with the next timer deadline as timeout, as Tokio's
//! runtime does when built without `enable_io`, and is woken through its
//! parker (a futex) rather than an eventfd write plus an `epoll_wait`
//! return. See `Shared::park`.

use std::io;
use std::time::Duration;

const WAKE_TOKEN: mio::Token = mio::Token(usize::MAX);

/// The part only the worker holding the driver lock touches.
pub(crate) struct Driver {
    poll: mio::Poll,
    events: mio::Events,
}

/// Creates the driver and the waker that interrupts it.
pub(crate) fn new() -> io::Result<(Driver, mio::Waker)> {
    let poll = mio::Poll::new()?;
    let waker = mio::Waker::new(poll.registry(), WAKE_TOKEN)?;
    Ok((Driver { poll, events: mio::Events::with_capacity(256) }, waker))
}

impl Driver {
    /// Blocks until woken, an event arrives, or `timeout` passes.
    pub(crate) fn poll(&mut self, timeout: Option<Duration>) {
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("ravel reactor: epoll failed: {e}"),
        }
        // Only the waker is registered so far; its event needs no dispatch.
        for event in self.events.iter() {
            debug_assert_eq!(event.token(), WAKE_TOKEN);
        }
    }
}
