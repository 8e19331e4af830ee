//! [`Pipe`]: a child's pipe end as a stream [`Transport`], so its stdin is
//! a `StreamWriter` and its stdout and stderr are `StreamReader`s.

use crate::streams::{StreamAddr, Transport};
use ravel::io::{AsyncFd, Direction, Interest};
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

/// One end of a pipe on the reactor. A pipe cannot be half-shut: any
/// `shutdown` closes it (for stdin, the child reads end of file).
pub(crate) struct Pipe {
    fd: Mutex<Option<AsyncFd<File>>>,
}

impl Pipe {
    /// Registers `fd` (set non-blocking) with the current runtime, for
    /// reading (stdout, stderr) or writing (stdin).
    pub(crate) fn new(fd: OwnedFd, direction: Direction) -> io::Result<Pipe> {
        crate::sys::set_nonblocking(fd.as_fd())?;
        let interest = match direction {
            Direction::Read => Interest::READABLE,
            Direction::Write => Interest::WRITABLE,
        };
        Ok(Pipe { fd: Mutex::new(Some(AsyncFd::with_interest(File::from(fd), interest)?)) })
    }

    fn lock(&self) -> MutexGuard<'_, Option<AsyncFd<File>>> {
        self.fd.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the pipe is closed")
}

impl Transport for Pipe {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let fd = self.lock();
        let Some(fd) = fd.as_ref() else { return Poll::Ready(Ok(0)) };
        let len = buf.len();
        fd.poll_io_clearing(cx, Direction::Read, |f| (&*f).read(buf).map(|n| (n, crate::net::tcp::short(n, len))))
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        let fd = self.lock();
        let Some(fd) = fd.as_ref() else { return Err(closed()) };
        fd.try_io(Direction::Write, |f| (&*f).write(buf))
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let fd = self.lock();
        let Some(fd) = fd.as_ref() else { return Poll::Ready(Err(closed())) };
        let len = buf.len();
        fd.poll_io_clearing(cx, Direction::Write, |f| (&*f).write(buf).map(|n| (n, crate::net::tcp::short(n, len))))
    }

    fn shutdown(&self, _how: Shutdown) -> io::Result<()> {
        drop(self.lock().take());
        Ok(())
    }

    fn peer_addr(&self) -> io::Result<StreamAddr> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "a pipe has no address"))
    }

    fn local_addr(&self) -> io::Result<StreamAddr> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "a pipe has no address"))
    }

    fn raw_fd(&self) -> RawFd {
        self.lock().as_ref().map_or(-1, |fd| fd.as_raw_fd())
    }
}
