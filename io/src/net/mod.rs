//! Sockets on Ravel's reactor: TCP, UDP and Unix domain sockets.
//!
//! Every async method is a Ravel cancellation delivery point and spends
//! the task's cooperative budget; each type's docs say what a cancelled
//! call has done (see [`tcp`]'s table). Errors are [`ravel::Error`]s of
//! kind `Io`: `e.io_error()` gives the `std::io::Error`.

mod addr;
mod split;
mod stream_macros;
pub mod tcp;
pub mod udp;
pub mod unix;

pub(crate) use addr::resolve;
pub use addr::ToSocketAddrs;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use tcp::{Incoming, TcpListener, TcpSocket, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};
