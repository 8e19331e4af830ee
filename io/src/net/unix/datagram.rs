//! [`UnixDatagram`]: a Unix domain datagram socket.

use ravel::io::{AsyncFd, Direction};
use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{Context, Poll};

/// A Unix domain datagram socket on Ravel's reactor.
///
/// Every method takes `&self`; each datagram is sent or received whole by
/// one syscall, so a cancelled receive consumed no datagram and a cancelled
/// send sent nothing (see the [module docs](super)). There is no `peek`:
/// std has no stable one for Unix sockets.
///
/// ```
/// use ravel_io::net::UnixDatagram;
///
/// ravel::run(async {
///     let (a, b) = UnixDatagram::pair()?;
///     a.send(b"one").await?;
///     a.send(b"two").await?;
///     let mut buf = [0u8; 8];
///     let n = b.recv(&mut buf).await?;
///     assert_eq!(&buf[..n], b"one"); // datagram boundaries are kept
///     let n = b.recv(&mut buf).await?;
///     assert_eq!(&buf[..n], b"two");
///     Ok(())
/// })
/// .unwrap();
/// ```
pub struct UnixDatagram {
    fd: AsyncFd<std::os::unix::net::UnixDatagram>,
}

impl UnixDatagram {
    /// Creates a socket file at `path` and binds to it. Errors outside a
    /// Ravel runtime and with `AddrInUse` if the path exists. The file is
    /// not removed when the socket is dropped.
    ///
    /// ```
    /// use ravel_io::net::UnixDatagram;
    ///
    /// ravel::run(async {
    ///     let dir = std::env::temp_dir();
    ///     let pid = std::process::id();
    ///     let (pa, pb) = (dir.join(format!("ravel-doc-dg-a-{pid}.sock")), dir.join(format!("ravel-doc-dg-b-{pid}.sock")));
    ///     let _ = (std::fs::remove_file(&pa), std::fs::remove_file(&pb));
    ///     let a = UnixDatagram::bind(&pa)?;
    ///     let b = UnixDatagram::bind(&pb)?;
    ///     a.send_to(b"hi", &pb).await?;
    ///     let mut buf = [0u8; 8];
    ///     let (n, from) = b.recv_from(&mut buf).await?;
    ///     assert_eq!((&buf[..n], from.as_pathname()), (&b"hi"[..], Some(pa.as_path())));
    ///     std::fs::remove_file(&pa)?;
    ///     std::fs::remove_file(&pb)?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(std::os::unix::net::UnixDatagram::bind(path)?)
    }

    /// A socket bound to no path: it can send to named sockets (which then
    /// see an unnamed sender they cannot reply to) or be
    /// [`connect`](Self::connect)ed.
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(std::os::unix::net::UnixDatagram::unbound()?)
    }

    /// A connected pair of unnamed sockets (`socketpair`).
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_std(a)?, UnixDatagram::from_std(b)?))
    }

    /// Registers a std socket with the current runtime (it is set
    /// non-blocking). Errors outside a Ravel runtime.
    ///
    /// ```
    /// use ravel_io::net::UnixDatagram;
    ///
    /// ravel::run(async {
    ///     let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
    ///     let a = UnixDatagram::from_std(a)?;
    ///     b.send(b"x")?;
    ///     let mut buf = [0u8; 1];
    ///     assert_eq!(a.recv(&mut buf).await?, 1);
    ///     let a = a.into_std()?; // blocking again
    ///     b.send(b"y")?;
    ///     assert_eq!(a.recv(&mut buf)?, 1);
    ///     assert_eq!(&buf, b"y");
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        socket.set_nonblocking(true)?;
        Ok(UnixDatagram { fd: AsyncFd::new(socket)? })
    }

    /// Deregisters the socket and returns it in blocking mode.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        let socket = self.fd.into_inner();
        socket.set_nonblocking(false)?;
        Ok(socket)
    }

    fn std(&self) -> &std::os::unix::net::UnixDatagram {
        self.fd.get_ref()
    }

    /// Sets the default destination of [`send`](Self::send) and receives
    /// only from `path` (does not wait: a datagram connect is immediate).
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.std().connect(path)
    }

    /// Sends `buf` as one datagram to the connected peer. Cancelled,
    /// nothing was sent.
    pub async fn send(&self, buf: &[u8]) -> ravel::Result<usize> {
        self.fd.io(Direction::Write, |s| s.send(buf)).await
    }

    /// Receives one datagram from the connected peer, waiting for one; the
    /// part that does not fit in `buf` is discarded. Cancelled, no datagram
    /// was consumed.
    pub async fn recv(&self, buf: &mut [u8]) -> ravel::Result<usize> {
        self.fd.io(Direction::Read, |s| s.recv(buf)).await
    }

    /// Sends `buf` as one datagram to the socket at `path`. Cancelled,
    /// nothing was sent.
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> ravel::Result<usize> {
        let path = path.as_ref();
        self.fd.io(Direction::Write, |s| s.send_to(buf, path)).await
    }

    /// Receives one datagram and its sender's address, waiting for one.
    /// Cancelled, no datagram was consumed.
    pub async fn recv_from(&self, buf: &mut [u8]) -> ravel::Result<(usize, SocketAddr)> {
        self.fd.io(Direction::Read, |s| s.recv_from(buf)).await
    }

    /// Waits until a receive may make progress. Cancelled, it has done
    /// nothing.
    pub async fn readable(&self) -> ravel::Result<()> {
        self.fd.ready(Direction::Read).await.map(drop)
    }

    /// Waits until a send may make progress. Cancelled, it has done
    /// nothing.
    pub async fn writable(&self) -> ravel::Result<()> {
        self.fd.ready(Direction::Write).await.map(drop)
    }

    /// Sends to the connected peer without waiting.
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.fd.try_io(Direction::Write, |s| s.send(buf))
    }

    /// Sends to `path` without waiting.
    pub fn try_send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        self.fd.try_io(Direction::Write, |s| s.send_to(buf, path))
    }

    /// Receives from the connected peer without waiting: `WouldBlock` if no
    /// datagram is queued.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.fd.try_io(Direction::Read, |s| s.recv(buf))
    }

    /// Receives a datagram and its sender without waiting.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.fd.try_io(Direction::Read, |s| s.recv_from(buf))
    }

    /// Polls a send to the connected peer (for poll-based code; budgeted,
    /// not a cancellation point). One poller per direction.
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.fd.poll_io(cx, Direction::Write, |s| s.send(buf))
    }

    /// Polls a send to `path`.
    pub fn poll_send_to(&self, cx: &mut Context<'_>, buf: &[u8], path: &Path) -> Poll<io::Result<usize>> {
        self.fd.poll_io(cx, Direction::Write, |s| s.send_to(buf, path))
    }

    /// Polls a receive from the connected peer.
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.fd.poll_io(cx, Direction::Read, |s| s.recv(buf))
    }

    /// Polls a receive of a datagram and its sender.
    pub fn poll_recv_from(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.fd.poll_io(cx, Direction::Read, |s| s.recv_from(buf))
    }

    /// Shuts down the reading, writing or both directions.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.std().shutdown(how)
    }

    /// The local address (unnamed for [`unbound`](Self::unbound) and
    /// [`pair`](Self::pair) sockets).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.std().local_addr()
    }

    /// The connected peer's address; `NotConnected` if there is none.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.std().peer_addr()
    }

    /// Takes the socket's pending error (`SO_ERROR`).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.std().take_error()
    }
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.std().as_raw_fd()
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixDatagram")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
