//! I/O on Ravel's reactor: the boundary socket, pipe and terminal types are
//! built on.
//!
//! [`AsyncFd`] owns a file descriptor registered with the current runtime's
//! reactor and turns its readiness into awaits that follow Ravel's leaf
//! rule (cancellable, budgeted). `ravel-io`'s sockets are built on it; so
//! can any crate's I/O type be, with the same cancellation semantics.
//!
//! How readiness is tracked (per direction, a readiness word with a
//! full-width tick; try the syscall first; a list of waiters; tokens that
//! stay valid against late events) is documented in the driver's
//! `scheduled_io` and `io` modules and in docs/architecture.md ("I/O
//! readiness").

mod async_fd;

pub use crate::driver::scheduled_io::{Direction, ReadyEvent};
pub use async_fd::{AsyncFd, AsyncIo, Clearing, Interest, IoCall, Plain, Ready};
