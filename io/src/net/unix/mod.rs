//! Unix domain sockets: [`UnixListener`], [`UnixStream`] (with owned
//! halves) and [`UnixDatagram`]. Linux and macOS.
//!
//! # Cancel safety
//!
//! Every async method is a Ravel cancellation delivery point (the leaf
//! rule, `ravel::task::Leaf`): a pending cancellation is delivered when the
//! await would suspend or when it resumes, and then *instead of* the
//! syscall. So, per method:
//!
//! | method | what a cancelled await has done |
//! |---|---|
//! | [`UnixStream::read`], [`readable`](UnixStream::readable) | nothing: no byte was consumed |
//! | [`UnixStream::write`], [`write_vectored`](UnixStream::write_vectored) | nothing: no byte was written |
//! | [`UnixStream::read_exact`] | the bytes read into `buf` before the cancellation are consumed; how many is not reported |
//! | [`UnixStream::write_all`] | a prefix of `buf` may have been written; how much is not reported |
//! | [`UnixStream::connect`] | the half-open socket is closed |
//! | [`UnixListener::accept`] | nothing: no connection was taken from the backlog |
//! | [`UnixDatagram::recv`], [`recv_from`](UnixDatagram::recv_from) | nothing: no datagram was consumed; the next receive gets it |
//! | [`UnixDatagram::send`], [`send_to`](UnixDatagram::send_to) | nothing: no datagram was sent |
//!
//! A syscall that succeeds on the first poll returns its value even with a
//! cancellation pending; the cancellation is then delivered at the task's
//! next suspension.
//!
//! Differences from std and asyncio: no `peek` (std has no stable one for
//! Unix sockets), and a listener's or bound datagram socket's file is not
//! removed when it is dropped.

mod datagram;
mod listener;
mod split;
mod stream;

pub use datagram::UnixDatagram;
pub use listener::{Incoming, UnixListener};
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use stream::UnixStream;
