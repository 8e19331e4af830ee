//! The private byte-stream transport under a StreamReader/StreamWriter
//! pair: implemented for [`TcpStream`] and [`UnixStream`].

use crate::net::{TcpStream, UnixStream};
use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsRawFd, RawFd};
use std::task::{Context, Poll};

/// A connection's address (asyncio `get_extra_info('peername')` /
/// `'sockname'`): an internet address for TCP, a path (or unnamed) for a
/// Unix socket.
///
/// ```
/// use ravel_io::streams::StreamAddr;
///
/// let addr = StreamAddr::Inet("127.0.0.1:80".parse()?);
/// assert_eq!(addr.as_inet().map(|a| a.port()), Some(80));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub enum StreamAddr {
    /// A TCP endpoint.
    Inet(std::net::SocketAddr),
    /// A Unix domain socket endpoint.
    Unix(std::os::unix::net::SocketAddr),
}

impl StreamAddr {
    /// The internet address, for TCP.
    pub fn as_inet(&self) -> Option<std::net::SocketAddr> {
        match self {
            StreamAddr::Inet(a) => Some(*a),
            StreamAddr::Unix(_) => None,
        }
    }

    /// The Unix socket address, for a Unix socket.
    pub fn as_unix(&self) -> Option<&std::os::unix::net::SocketAddr> {
        match self {
            StreamAddr::Unix(a) => Some(a),
            StreamAddr::Inet(_) => None,
        }
    }
}

impl fmt::Display for StreamAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamAddr::Inet(a) => write!(f, "{a}"),
            StreamAddr::Unix(a) => match a.as_pathname() {
                Some(p) => write!(f, "{}", p.display()),
                None => f.write_str("(unnamed)"),
            },
        }
    }
}

/// What the stream layer needs from a connected socket. Every method takes
/// `&self`: the reader and the writer share one transport.
pub(crate) trait Transport: Send + Sync + 'static {
    /// A read that waits for readiness (registers `cx`).
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;
    /// A write that never waits (`WouldBlock` when the socket is full).
    fn try_write(&self, buf: &[u8]) -> io::Result<usize>;
    /// A write that waits for readiness (registers `cx`).
    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;
    fn peer_addr(&self) -> io::Result<StreamAddr>;
    fn local_addr(&self) -> io::Result<StreamAddr>;
    fn raw_fd(&self) -> RawFd;
}

impl Transport for TcpStream {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        TcpStream::poll_read(self, cx, buf)
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        TcpStream::try_write(self, buf)
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        TcpStream::poll_write(self, cx, buf)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        TcpStream::shutdown(self, how)
    }

    fn peer_addr(&self) -> io::Result<StreamAddr> {
        TcpStream::peer_addr(self).map(StreamAddr::Inet)
    }

    fn local_addr(&self) -> io::Result<StreamAddr> {
        TcpStream::local_addr(self).map(StreamAddr::Inet)
    }

    fn raw_fd(&self) -> RawFd {
        self.as_raw_fd()
    }
}

impl Transport for UnixStream {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        UnixStream::poll_read(self, cx, buf)
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        UnixStream::try_write(self, buf)
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        UnixStream::poll_write(self, cx, buf)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        UnixStream::shutdown(self, how)
    }

    fn peer_addr(&self) -> io::Result<StreamAddr> {
        UnixStream::peer_addr(self).map(StreamAddr::Unix)
    }

    fn local_addr(&self) -> io::Result<StreamAddr> {
        UnixStream::local_addr(self).map(StreamAddr::Unix)
    }

    fn raw_fd(&self) -> RawFd {
        self.as_raw_fd()
    }
}

/// Connects to the Unix socket at `path` without blocking the worker
/// (asyncio `sock_connect`): a Unix connect completes at once unless the
/// listener's backlog is full (`WouldBlock` on Linux); then it retries
/// every 10 ms. Cancelled, the socket is closed.
pub(crate) async fn connect_unix(path: &std::path::Path) -> ravel::Result<UnixStream> {
    loop {
        match UnixStream::connect(path).await {
            Err(e) if e.io_error().is_some_and(|e| e.kind() == io::ErrorKind::WouldBlock) => {
                ravel::sleep(std::time::Duration::from_millis(10)).await?;
            }
            other => return other,
        }
    }
}
