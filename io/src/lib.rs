//! Sockets, asyncio streams and servers, signals, files and subprocesses on
//! Ravel's reactor and blocking pool.
//!
//! Because Ravel delivers cancellation at its own awaitables, the I/O a
//! task awaits must be Ravel's to be cancellable the asyncio way: every
//! async method here is a delivery point (`ravel::task::Leaf`), spends
//! cooperative budget, and documents what a cancelled call has done.
//!
//! * [`net`]: [`TcpListener`], [`TcpStream`], [`TcpSocket`].
//! * [`net`]: [`UdpSocket`]; [`UnixListener`], [`UnixStream`], [`UnixDatagram`].
//! * [`streams`]: asyncio's [`StreamReader`], [`StreamWriter`],
//!   [`open_connection`].
//! * [`server`]: asyncio's [`start_server`], [`Server`].
//! * [`compat`]: the `futures-io` and (feature `tokio-io`) Tokio
//!   `AsyncRead`/`AsyncWrite` traits for the stream sockets.
//! * `hyper` (feature `hyper`): hyper's runtime traits on Ravel.
//! * [`fs`]: files on the blocking pool (`read`, `write`, [`fs::File`], ...).
//! * [`process`]: asyncio's [`process::create_subprocess_exec`] and
//!   [`process::create_subprocess_shell`].
//! * [`signal`]: [`signal::ctrl_c`], [`signal::signal`], and asyncio's
//!   `add_signal_handler` (Unix).
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]

pub mod compat;
pub mod fs;
#[cfg(feature = "hyper")]
pub mod hyper;
pub mod net;
pub mod process;
pub mod server;
pub mod signal;
pub mod streams;
mod sys;

pub use net::{TcpListener, TcpSocket, TcpStream};
pub use net::{UdpSocket, UnixDatagram, UnixListener, UnixStream};
pub use server::{start_server, start_server_with, start_unix_server, start_unix_server_with, Server, ServerConfig};
pub use streams::{open_connection, open_unix_connection, StreamReader, StreamWriter};
