//! The reactor: a `mio::Poll` that one idle worker at a time blocks in,
//! with the next timer deadline as its timeout, and a `mio::Waker` that
//! interrupts it. When it blocks at all is the driver's decision (see
//! [`super`]: timer-only mode); what an event does is the registered
//! resource's (see [`super::io`] and [`super::scheduled_io`]).

use std::io;
use std::time::Duration;

const WAKE_TOKEN: mio::Token = mio::Token(usize::MAX);

/// Events taken per `epoll_wait` (Tokio's default too): a server with
/// hundreds of busy connections needs fewer reactor turns.
const EVENTS: usize = 1024;

/// The part only the worker holding the reactor lock touches.
pub(crate) struct Reactor {
    poll: mio::Poll,
    events: mio::Events,
}

/// Creates the reactor and the waker that interrupts it.
pub(crate) fn new() -> io::Result<(Reactor, mio::Waker)> {
    let poll = mio::Poll::new()?;
    let waker = mio::Waker::new(poll.registry(), WAKE_TOKEN)?;
    Ok((Reactor { poll, events: mio::Events::with_capacity(EVENTS) }, waker))
}

impl Reactor {
    /// The poll's registry (the driver keeps a clone to register sources
    /// without this lock).
    pub(crate) fn registry(&self) -> &mio::Registry {
        self.poll.registry()
    }

    /// Blocks until woken, an event arrives, or `timeout` passes, then
    /// records each event with the resource its token names. The caller
    /// holds the reactor lock and freed the released resources first
    /// (`super::io`'s protocol).
    pub(crate) fn poll(&mut self, timeout: Option<Duration>) {
        self.wait(timeout);
        self.dispatch();
    }

    /// Waits for events (at most `timeout`), keeping them for `dispatch`.
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) {
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("ravel reactor: epoll failed: {e}"),
        }
    }

    /// Wakes the waiters of the events the last `wait` returned.
    pub(crate) fn dispatch(&mut self) {
        for event in self.events.iter() {
            if event.token() != WAKE_TOKEN {
                super::io::dispatch(event);
            }
        }
        self.events.clear();
    }
}
