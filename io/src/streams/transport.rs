//! The private byte-stream transport under a StreamReader/StreamWriter
//! pair: implemented for [`TcpStream`] and for a Unix stream socket on an
//! [`AsyncFd`]. Unix sockets go through this small adapter until
//! `ravel_io::net::UnixStream` is merged; switching is one more impl.

use crate::net::TcpStream;
use ravel::io::{AsyncFd, Direction};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
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

/// A connected Unix stream socket on the reactor (the private adapter).
pub(crate) struct UnixTransport {
    fd: AsyncFd<UnixStream>,
}

impl UnixTransport {
    /// Registers a connected socket (set non-blocking here).
    pub(crate) fn new(stream: UnixStream) -> io::Result<UnixTransport> {
        stream.set_nonblocking(true)?;
        Ok(UnixTransport { fd: AsyncFd::new(stream)? })
    }

    /// Connects to `path` without blocking the worker (asyncio
    /// `sock_connect`): a Unix connect completes at once unless the
    /// listener's backlog is full (`EAGAIN`); then it retries every 10 ms.
    /// Cancelled, the socket is closed.
    pub(crate) async fn connect(path: &std::path::Path) -> ravel::Result<UnixTransport> {
        let socket = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        let addr = socket2::SockAddr::unix(path)?;
        loop {
            match socket.connect(&addr) {
                Ok(()) => break,
                Err(e) if e.raw_os_error() == Some(libc::EISCONN) => break,
                Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
                    let fd = AsyncFd::new(socket)?;
                    fd.ready(Direction::Write).await?;
                    if let Some(e) = fd.get_ref().take_error()? {
                        return Err(e.into());
                    }
                    let stream = UnixStream::from(std::os::fd::OwnedFd::from(fd.into_inner()));
                    return Ok(UnixTransport::new(stream)?);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted => {
                    ravel::sleep(std::time::Duration::from_millis(10)).await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(UnixTransport::new(UnixStream::from(std::os::fd::OwnedFd::from(socket)))?)
    }
}

impl Transport for UnixTransport {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.fd.poll_io(cx, Direction::Read, |s| (&*s).read(&mut *buf))
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.fd.try_io(Direction::Write, |s| (&*s).write(buf))
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.fd.poll_io(cx, Direction::Write, |s| (&*s).write(buf))
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.fd.get_ref().shutdown(how)
    }

    fn peer_addr(&self) -> io::Result<StreamAddr> {
        self.fd.get_ref().peer_addr().map(StreamAddr::Unix)
    }

    fn local_addr(&self) -> io::Result<StreamAddr> {
        self.fd.get_ref().local_addr().map(StreamAddr::Unix)
    }

    fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
