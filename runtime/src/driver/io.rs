//! Registering an I/O resource with the driver, and the token the reactor
//! finds its readiness by.
//!
//! # Protocol
//!
//! **Register.** [`Registration::new`] allocates the resource's
//! [`ScheduledIo`] in an `Arc`, registers the fd with the driver's clone
//! of the `mio::Registry` (which needs no reactor lock: a worker parked in
//! the reactor holds that lock, possibly with no timeout) under the token
//! `Arc::as_ptr(&io)`, **then** increments `io_sources`, **then** calls
//! [`Driver::wake`], so that a worker parked in timer-only mode (on its
//! condvar, not in `epoll_wait`) comes back and re-parks in the reactor,
//! where the new resource's events reach it.
//!
//! **Dispatch.** The worker holding the reactor lock turns each event's
//! token back into `&ScheduledIo` ([`dispatch`]) and records the event
//! there (`scheduled_io`'s readiness word and waiters).
//!
//! **Deregister, safely against late events.** An event already returned
//! by `epoll_wait` may still be in the reactor's buffer, naming a resource
//! whose owner just deregistered it. So the memory behind a token is not
//! freed at deregistration: [`Registration::deregister`] removes the fd
//! from the poller, **then** moves the registration's `Arc` into the
//! driver's `released` list and decrements `io_sources`. The reactor-lock
//! holder empties that list at the start of each turn, before its
//! `epoll_wait`: every resource in it was deregistered before that call,
//! so no event of this turn or a later one names it, and the previous
//! turn's events were all dispatched under the same lock. If the poller
//! refuses the deregistration (the fd was closed behind Ravel's back and
//! might still be registered through a duplicate), the `Arc` is leaked
//! instead: a few dozen bytes, never a use-after-free.

use super::scheduled_io::{EventBits, ScheduledIo};
use super::Driver;
use mio::unix::SourceFd;
use mio::{Interest, Token};
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;

/// A registered fd: the driver it is registered with and its readiness.
/// The fd's owner must deregister (or drop this) before closing the fd.
pub(crate) struct Registration {
    driver: Arc<Driver>,
    io: Arc<ScheduledIo>,
    fd: RawFd,
    registered: bool,
}

impl Registration {
    /// Registers `fd` for `interest` (see the module docs).
    pub(crate) fn new(driver: Arc<Driver>, fd: RawFd, interest: Interest) -> io::Result<Registration> {
        if driver.is_shut_down() {
            return Err(shut_down_error());
        }
        let io = Arc::new(ScheduledIo::new());
        let token = Token(Arc::as_ptr(&io) as usize);
        driver.registry.register(&mut SourceFd(&fd), token, interest)?;
        driver.io_sources.fetch_add(1, SeqCst);
        driver.wake();
        Ok(Registration { driver, io, fd, registered: true })
    }

    /// The resource's readiness.
    #[inline]
    pub(crate) fn io(&self) -> &ScheduledIo {
        &self.io
    }

    /// True once the runtime began shutting down: no reactor serves this
    /// registration any more.
    #[inline]
    pub(crate) fn is_shut_down(&self) -> bool {
        self.driver.is_shut_down()
    }

    /// Removes the fd from the poller (see the module docs); later calls do
    /// nothing. The fd itself is left open.
    pub(crate) fn deregister(&mut self) -> io::Result<()> {
        if !std::mem::replace(&mut self.registered, false) {
            return Ok(());
        }
        let result = self.driver.registry.deregister(&mut SourceFd(&self.fd));
        match result {
            Ok(()) => self.driver.release(self.io.clone()),
            Err(_) => std::mem::forget(self.io.clone()),
        }
        self.driver.io_sources.fetch_sub(1, SeqCst);
        result
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let _ = self.deregister();
    }
}

/// The error of I/O on a runtime that has shut down.
pub(crate) fn shut_down_error() -> io::Error {
    io::Error::other("the Ravel runtime this I/O resource is registered with has shut down")
}

/// Records one reactor event for the resource its token names.
///
/// Called only by the reactor-lock holder, on events of the `epoll_wait`
/// it made after emptying `released` this turn.
pub(crate) fn dispatch(event: &mio::event::Event) {
    let ptr = event.token().0 as *const ScheduledIo;
    // SAFETY: the token is `Arc::as_ptr` of a `ScheduledIo` (module docs,
    // Register). That `Arc` is kept alive by its `Registration` until it
    // deregisters, then by the driver's `released` list until the start of
    // a turn whose `epoll_wait` began after the deregistration; this event
    // comes from the current turn's `epoll_wait`, which the poller returned
    // only for fds registered when it ran, so the `Arc` is alive now.
    let io = unsafe { &*ptr };
    io.dispatch(EventBits::from_mio(event));
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::driver::scheduled_io::Direction;
    use std::os::fd::AsRawFd;

    #[test]
    fn a_registered_fd_is_counted_until_deregistered() {
        let driver = Arc::new(Driver::new(1).unwrap());
        assert!(!driver.has_io_sources());
        let (sender, receiver) = mio::unix::pipe::new().unwrap();
        let a = Registration::new(driver.clone(), sender.as_raw_fd(), Interest::WRITABLE).unwrap();
        let mut b = Registration::new(driver.clone(), receiver.as_raw_fd(), Interest::READABLE).unwrap();
        assert_eq!(driver.io_sources.load(SeqCst), 2);
        drop(a);
        assert_eq!(driver.io_sources.load(SeqCst), 1);
        b.deregister().unwrap();
        b.deregister().unwrap(); // a second call does nothing
        assert!(!driver.has_io_sources());
        drop(b);
        assert!(!driver.has_io_sources());
    }

    #[test]
    fn events_reach_the_resource_and_released_ones_are_freed_next_turn() {
        let driver = Arc::new(Driver::new(1).unwrap());
        let (mut sender, receiver) = mio::unix::pipe::new().unwrap();
        let reg = Registration::new(driver.clone(), receiver.as_raw_fd(), Interest::READABLE).unwrap();
        let ev = reg.io().ready(Direction::Read).unwrap();
        reg.io().clear(ev);
        assert!(reg.io().ready(Direction::Read).is_none());
        use std::io::Write;
        sender.write_all(b"x").unwrap();
        driver.park(0, true, None, |_| {}); // one reactor turn: the edge is dispatched
        assert!(reg.io().ready(Direction::Read).is_some());

        let weak = Arc::downgrade(&reg.io);
        drop(reg);
        assert!(weak.upgrade().is_some(), "kept until the next turn begins");
        driver.unpark(0);
        driver.park(0, true, None, |_| {});
        assert!(weak.upgrade().is_none(), "freed at the start of the next turn");
    }
}
