//! Registering an I/O source with the driver.
//!
//! # Protocol
//!
//! [`IoSource::register`] registers a `mio` source through the driver's
//! clone of the `mio::Registry` (which needs no reactor lock: a worker
//! parked in the reactor holds that lock, possibly with no timeout),
//! **then** increments `io_sources`, **then** calls [`Driver::wake`], so
//! that a worker parked in timer-only mode (on its condvar, not in
//! `epoll_wait`) comes back and re-parks in the reactor, where the new
//! source's events reach it. Dropping the [`IoSource`] deregisters the
//! source and decrements the count; the next park sees the new mode.
//!
//! Readiness dispatch (per-source readiness words, waiter lists, tokens
//! that stay valid against late events) is built on this by `ravel-io`;
//! until then an event on a registered source only ends the reactor's
//! poll.

use super::Driver;
use mio::event::Source;
use mio::{Interest, Token};
use std::io;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;

/// A `mio` source registered with a runtime's driver; deregistered when
/// dropped.
// Its user outside tests is ravel-io's readiness dispatch (the next issue).
#[cfg_attr(any(not(test), loom), allow(dead_code))]
pub(crate) struct IoSource<S: Source> {
    source: S,
    driver: Arc<Driver>,
}

#[cfg_attr(any(not(test), loom), allow(dead_code))]
impl<S: Source> IoSource<S> {
    /// Registers `source` for `interest` under `token` (see the module docs).
    pub(crate) fn register(driver: Arc<Driver>, mut source: S, token: Token, interest: Interest) -> io::Result<Self> {
        driver.registry.register(&mut source, token, interest)?;
        driver.io_sources.fetch_add(1, SeqCst);
        driver.wake();
        Ok(IoSource { source, driver })
    }

    /// The registered source.
    pub(crate) fn source(&self) -> &S {
        &self.source
    }
}

impl<S: Source> Drop for IoSource<S> {
    fn drop(&mut self) {
        // A failure here means the source is already gone from the poller
        // (its fd was closed by someone else): nothing is left to undo.
        let _ = self.driver.registry.deregister(&mut self.source);
        self.driver.io_sources.fetch_sub(1, SeqCst);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_registered_source_is_counted_until_dropped() {
        let driver = Arc::new(Driver::new(1).unwrap());
        assert!(!driver.has_io_sources());
        let (sender, receiver) = mio::unix::pipe::new().unwrap();
        let a = IoSource::register(driver.clone(), sender, Token(1), Interest::WRITABLE).unwrap();
        let b = IoSource::register(driver.clone(), receiver, Token(2), Interest::READABLE).unwrap();
        assert_eq!(driver.io_sources.load(SeqCst), 2);
        assert!(driver.has_io_sources());
        // The sources stay usable through their registrations.
        use std::io::{Read, Write};
        assert_eq!(a.source().write(b"x").unwrap(), 1);
        let mut buf = [0u8; 4];
        assert_eq!(b.source().read(&mut buf).unwrap(), 1);
        assert_eq!(buf[0], b'x');
        drop(a);
        assert_eq!(driver.io_sources.load(SeqCst), 1);
        drop(b);
        assert!(!driver.has_io_sources());
    }
}
