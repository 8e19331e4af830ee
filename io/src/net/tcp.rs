//! TCP: [`TcpListener`], [`TcpStream`] and the [`TcpSocket`] builder.
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
//! | [`TcpStream::read`], [`peek`](TcpStream::peek), [`readable`](TcpStream::readable) | nothing: no byte was consumed (asyncio's rule) |
//! | [`TcpStream::write`], [`write_vectored`](TcpStream::write_vectored) | nothing: no byte was written |
//! | [`TcpStream::read_exact`] | the bytes read into `buf` before the cancellation are consumed; how many is not reported. Use `StreamReader::readexactly` for a read that loses nothing |
//! | [`TcpStream::write_all`] | a prefix of `buf` may have been written; how much is not reported. Use `StreamWriter` (buffered) to lose nothing |
//! | [`TcpStream::connect`] | the half-open socket is closed |
//! | [`TcpListener::accept`] | nothing: no connection was taken from the backlog |
//!
//! A syscall that succeeds on the first poll returns its value even with a
//! cancellation pending (asyncio does not suspend on a done future); the
//! cancellation is then delivered at the task's next suspension.

use super::addr::{resolve, ToSocketAddrs};
use super::split::{OwnedReadHalf, OwnedWriteHalf};
use futures_core::Stream;
use ravel::io::{AsyncFd, Direction};
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Whether a read or write of `n` bytes out of `len` proved the socket
/// drained in its direction: a short transfer on a stream socket (Linux,
/// macOS) means the receive buffer is empty or the send buffer full, so
/// the readiness is cleared without a `WouldBlock` syscall
/// (`AsyncFd::io_clearing`).
pub(crate) fn short(n: usize, len: usize) -> bool {
    n > 0 && n < len
}

/// The listen backlog of [`TcpListener::bind`] (asyncio uses 100, Tokio
/// and std 128/1024; this is Tokio's).
pub const DEFAULT_BACKLOG: u32 = 1024;

/// A TCP connection on Ravel's reactor (asyncio: a socket transport).
///
/// Every method takes `&self`: one task may read while another writes
/// (share it in an `Arc`, or use [`into_split`](Self::into_split)). See the
/// [module docs](self) for what each async method leaves done when it is
/// cancelled.
///
/// ```
/// use ravel_io::net::{TcpListener, TcpStream};
///
/// ravel::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let server = ravel::spawn(async move {
///         let (conn, _) = listener.accept().await?;
///         let mut buf = [0u8; 5];
///         conn.read_exact(&mut buf).await?;
///         conn.write_all(&buf).await?;
///         Ok(())
///     });
///     let client = TcpStream::connect(&addr).await?;
///     client.write_all(b"hello").await?;
///     let mut echo = [0u8; 5];
///     client.read_exact(&mut echo).await?;
///     assert_eq!(&echo, b"hello");
///     server.await
/// })
/// .unwrap();
/// ```
pub struct TcpStream {
    fd: AsyncFd<std::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each address it resolves to in turn
    /// (host names are resolved on the blocking pool) and returning the
    /// last error if none accepts. A cancellable await: wrap it in
    /// `ravel::timeout` for a connect timeout.
    pub async fn connect<A: ToSocketAddrs + ?Sized>(addr: &A) -> ravel::Result<TcpStream> {
        let mut last = None;
        for addr in resolve(addr).await? {
            let socket = match TcpSocket::for_addr(addr) {
                Ok(socket) => socket,
                Err(e) => {
                    last = Some(e.into());
                    continue;
                }
            };
            match socket.connect(addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) if e.is_cancelled() => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("resolve returns at least one address"))
    }

    /// Registers a connected std stream with the current runtime (it is set
    /// non-blocking). Errors outside a Ravel runtime.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        Ok(TcpStream { fd: AsyncFd::new(stream)? })
    }

    /// Deregisters the stream and returns it in blocking mode.
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        let stream = self.fd.into_inner();
        stream.set_nonblocking(false)?;
        Ok(stream)
    }

    fn std(&self) -> &std::net::TcpStream {
        self.fd.get_ref()
    }

    crate::net::stream_macros::stream_methods!();

    /// Reads without consuming: the bytes stay for the next read.
    pub async fn peek(&self, buf: &mut [u8]) -> ravel::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.fd.io(Direction::Read, |s| s.peek(buf)).await
    }

    /// Shuts down the reading, writing or both halves
    /// (`shutdown(Write)` is a half-close: the peer reads end of stream,
    /// and this side can still read its reply).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.std().shutdown(how)
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.std().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.std().local_addr()
    }

    /// `TCP_NODELAY`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.std().nodelay()
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.std().set_nodelay(nodelay)
    }

    /// `SO_LINGER`.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        SockRef::from(self.std()).linger()
    }

    /// Sets `SO_LINGER`. `Some(Duration::ZERO)` makes closing the stream
    /// reset the connection. (The close itself never blocks a worker: the
    /// socket is non-blocking.)
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        SockRef::from(self.std()).set_linger(linger)
    }

    /// `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.std().ttl()
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.std().set_ttl(ttl)
    }

    /// Takes the socket's pending error (`SO_ERROR`).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.std().take_error()
    }

    /// Splits into a read half and a write half that two tasks can own.
    /// Dropping the write half shuts down the writing side (the peer reads
    /// end of stream); [`OwnedReadHalf::reunite`] puts them back together.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        super::split::split(self)
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.std().as_raw_fd()
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

/// A TCP listening socket (asyncio: a server's socket).
///
/// ```
/// use ravel_io::net::{TcpListener, TcpStream};
///
/// ravel::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let client = ravel::spawn(async move { TcpStream::connect(&addr).await.map(drop) });
///     let (stream, peer) = listener.accept().await?;
///     assert_eq!(stream.peer_addr()?, peer);
///     client.await
/// })
/// .unwrap();
/// ```
pub struct TcpListener {
    fd: AsyncFd<std::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (`SO_REUSEADDR` on, backlog [`DEFAULT_BACKLOG`]),
    /// trying each address it resolves to. Port 0 picks a free port; see
    /// [`local_addr`](Self::local_addr). For other options use
    /// [`TcpSocket`].
    pub async fn bind<A: ToSocketAddrs + ?Sized>(addr: &A) -> ravel::Result<TcpListener> {
        let mut last = None;
        for addr in resolve(addr).await? {
            let attempt = TcpSocket::for_addr(addr).and_then(|s| {
                s.set_reuseaddr(true)?;
                s.bind(addr)?;
                s.listen(DEFAULT_BACKLOG)
            });
            match attempt {
                Ok(listener) => return Ok(listener),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("resolve returns at least one address").into())
    }

    /// Registers a bound, listening std listener with the current runtime
    /// (it is set non-blocking).
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Ok(TcpListener { fd: AsyncFd::with_interest(listener, ravel::io::Interest::READABLE)? })
    }

    /// Deregisters the listener and returns it in blocking mode.
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        let listener = self.fd.into_inner();
        listener.set_nonblocking(false)?;
        Ok(listener)
    }

    super::stream_macros::listener_methods!(TcpStream, SocketAddr);

    /// `IP_TTL` of accepted connections.
    pub fn ttl(&self) -> io::Result<u32> {
        self.fd.get_ref().ttl()
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.fd.get_ref().set_ttl(ttl)
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener").field("local", &self.local_addr().ok()).field("fd", &self.as_raw_fd()).finish()
    }
}

/// The stream of [`TcpListener::incoming`].
#[must_use = "streams do nothing unless polled"]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<TcpStream>>> {
        self.listener.poll_accept(cx).map(|r| Some(r.map(|(s, _)| s)))
    }
}

/// A TCP socket not yet connected or listening: set options first
/// (asyncio's `reuse_address`, `reuse_port`, `backlog`), then
/// [`listen`](Self::listen) or [`connect`](Self::connect).
///
/// ```
/// use ravel_io::net::TcpSocket;
///
/// ravel::run(async {
///     let socket = TcpSocket::new_v4()?;
///     socket.set_reuseaddr(true)?;
///     socket.set_reuseport(true)?;
///     socket.bind("127.0.0.1:0".parse()?)?;
///     let listener = socket.listen(16)?;
///     assert!(listener.local_addr()?.port() != 0);
///     Ok(())
/// })
/// .unwrap();
/// ```
pub struct TcpSocket {
    socket: Socket,
}

impl TcpSocket {
    /// An IPv4 TCP socket (non-blocking, close-on-exec).
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV4)
    }

    /// An IPv6 TCP socket.
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV6)
    }

    fn for_addr(addr: SocketAddr) -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::for_address(addr))
    }

    fn new(domain: Domain) -> io::Result<TcpSocket> {
        let socket = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
        socket.set_nonblocking(true)?;
        Ok(TcpSocket { socket })
    }

    /// Sets `SO_REUSEADDR`.
    pub fn set_reuseaddr(&self, on: bool) -> io::Result<()> {
        self.socket.set_reuse_address(on)
    }

    /// Sets `SO_REUSEPORT` (several listeners on one port; the kernel
    /// spreads connections among them).
    pub fn set_reuseport(&self, on: bool) -> io::Result<()> {
        self.socket.set_reuse_port(on)
    }

    /// Sets `SO_SNDBUF`.
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        self.socket.set_send_buffer_size(size as usize)
    }

    /// Sets `SO_RCVBUF`.
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        self.socket.set_recv_buffer_size(size as usize)
    }

    /// Sets `TCP_NODELAY`.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.socket.set_nodelay(on)
    }

    /// Binds to `addr`.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.socket.bind(&addr.into())
    }

    /// Starts listening with `backlog` and registers the listener with the
    /// current runtime.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        self.socket.listen(backlog.min(i32::MAX as u32) as i32)?;
        TcpListener::from_std(self.socket.into())
    }

    /// Connects to `addr` (a cancellable await: cancelled, the socket is
    /// closed).
    pub async fn connect(self, addr: SocketAddr) -> ravel::Result<TcpStream> {
        match self.socket.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) || e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e.into()),
        }
        let stream = TcpStream { fd: AsyncFd::new(std::net::TcpStream::from(self.socket))? };
        // The connect completes (or fails) when the socket turns writable.
        loop {
            let event = stream.fd.ready(Direction::Write).await?;
            if let Some(e) = stream.take_error()? {
                return Err(e.into());
            }
            match stream.peer_addr() {
                Ok(_) => return Ok(stream),
                Err(e) if e.kind() == io::ErrorKind::NotConnected => stream.fd.clear_ready(event),
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpSocket").field("fd", &self.as_raw_fd()).finish()
    }
}
