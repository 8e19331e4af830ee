//! [`UnixStream`]: a connected Unix domain stream socket.

use super::split::{split, OwnedReadHalf, OwnedWriteHalf};
use crate::net::tcp::short;
use ravel::io::{AsyncFd, Direction};
use socket2::{Domain, SockAddr, Socket, Type};
use std::fmt;
use std::io::{self, IoSlice, Read, Write};
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{Context, Poll};

/// A connected Unix domain stream socket on Ravel's reactor (asyncio:
/// `open_unix_connection`'s transport).
///
/// Every method takes `&self`: one task may read while another writes
/// (share it in an `Arc`, or use [`into_split`](Self::into_split)). See the
/// [module docs](super) for what each async method leaves done when it is
/// cancelled. There is no `peek`: std has no stable one for Unix sockets.
///
/// ```
/// use ravel_io::net::UnixStream;
///
/// ravel::run(async {
///     let (a, b) = UnixStream::pair()?;
///     a.write_all(b"ping").await?;
///     let mut buf = [0u8; 4];
///     b.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     Ok(())
/// })
/// .unwrap();
/// ```
pub struct UnixStream {
    fd: AsyncFd<std::os::unix::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path`. A cancellable await (cancelled,
    /// the half-open socket is closed); an error of kind `NotFound` if no
    /// socket is there and `ConnectionRefused` if nobody listens on it (on
    /// Linux, `WouldBlock` when the listener's backlog is full).
    ///
    /// ```
    /// use ravel_io::net::{UnixListener, UnixStream};
    ///
    /// ravel::run(async {
    ///     let path = std::env::temp_dir().join(format!("ravel-doc-connect-{}.sock", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let listener = UnixListener::bind(&path)?;
    ///     let client = UnixStream::connect(&path).await?;
    ///     let (server, _) = listener.accept().await?;
    ///     client.write_all(b"hi").await?;
    ///     let mut buf = [0u8; 2];
    ///     server.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"hi");
    ///     std::fs::remove_file(&path)?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn connect(path: impl AsRef<Path>) -> ravel::Result<UnixStream> {
        let addr = SockAddr::unix(path)?;
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        let pending = match socket.connect(&addr) {
            Ok(()) => false,
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => true,
            Err(e) => return Err(e.into()),
        };
        let stream = UnixStream { fd: AsyncFd::new(std::os::unix::net::UnixStream::from(socket))? };
        if pending {
            // The connect completes (or fails) when the socket turns writable.
            loop {
                let event = stream.fd.ready(Direction::Write).await?;
                if let Some(e) = stream.take_error()? {
                    return Err(e.into());
                }
                match stream.peer_addr() {
                    Ok(_) => break,
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => stream.fd.clear_ready(event),
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(stream)
    }

    /// A connected pair of streams (`socketpair`), both registered with the
    /// current runtime. Errors outside a Ravel runtime.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }

    /// Registers a connected std stream with the current runtime (it is set
    /// non-blocking). Errors outside a Ravel runtime.
    ///
    /// ```
    /// use ravel_io::net::UnixStream;
    ///
    /// ravel::run(async {
    ///     let (a, b) = std::os::unix::net::UnixStream::pair()?;
    ///     let a = UnixStream::from_std(a)?;
    ///     a.write_all(b"x").await?;
    ///     let mut buf = [0u8; 1];
    ///     std::io::Read::read_exact(&mut &b, &mut buf)?; // `b` is a blocking std stream
    ///     assert_eq!(&buf, b"x");
    ///     let a: std::os::unix::net::UnixStream = a.into_std()?; // blocking again
    ///     std::io::Write::write_all(&mut &a, b"y")?;
    ///     std::io::Read::read_exact(&mut &b, &mut buf)?;
    ///     assert_eq!(&buf, b"y");
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        Ok(UnixStream { fd: AsyncFd::new(stream)? })
    }

    /// Deregisters the stream and returns it in blocking mode.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        let stream = self.fd.into_inner();
        stream.set_nonblocking(false)?;
        Ok(stream)
    }

    fn std(&self) -> &std::os::unix::net::UnixStream {
        self.fd.get_ref()
    }

    /// Reads into `buf`, waiting until at least one byte is available;
    /// `Ok(0)` at end of stream (the peer shut down its writing side) or
    /// for an empty `buf` (at once: Linux would make an empty read of a
    /// Unix socket wait for data). Cancelled, it has consumed nothing.
    pub async fn read(&self, buf: &mut [u8]) -> ravel::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let len = buf.len();
        self.fd.io_clearing(Direction::Read, |s| (&*s).read(buf).map(|n| (n, short(n, len)))).await
    }

    /// Reads exactly `buf.len()` bytes; an I/O error of kind
    /// `UnexpectedEof` if the stream ends first. Cancelled, it has consumed
    /// the bytes read into `buf` so far (how many is not reported).
    pub async fn read_exact(&self, mut buf: &mut [u8]) -> ravel::Result<()> {
        while !buf.is_empty() {
            let n = self.read(buf).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the stream ended before the buffer was filled",
                )
                .into());
            }
            buf = &mut buf[n..];
        }
        Ok(())
    }

    /// Writes some of `buf`, waiting until the socket accepts at least one
    /// byte; returns how many it took. Cancelled, it has written nothing.
    pub async fn write(&self, buf: &[u8]) -> ravel::Result<usize> {
        self.fd.io_clearing(Direction::Write, |s| (&*s).write(buf).map(|n| (n, short(n, buf.len())))).await
    }

    /// Writes from several buffers in one syscall (`writev`). Cancelled, it
    /// has written nothing.
    pub async fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> ravel::Result<usize> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.fd.io_clearing(Direction::Write, |s| (&*s).write_vectored(bufs).map(|n| (n, short(n, len)))).await
    }

    /// Writes all of `buf`. Cancelled, a prefix of `buf` may have been
    /// written (how much is not reported).
    pub async fn write_all(&self, mut buf: &[u8]) -> ravel::Result<()> {
        while !buf.is_empty() {
            let n = self.write(buf).await?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::WriteZero, "the socket accepted no bytes").into());
            }
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Waits until a read may make progress (data, end of stream or an
    /// error). Cancelled, it has done nothing.
    pub async fn readable(&self) -> ravel::Result<()> {
        self.fd.ready(Direction::Read).await.map(drop)
    }

    /// Waits until a write may make progress. Cancelled, it has done
    /// nothing.
    pub async fn writable(&self) -> ravel::Result<()> {
        self.fd.ready(Direction::Write).await.map(drop)
    }

    /// Reads without waiting: `WouldBlock` if nothing is buffered.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.fd.try_io(Direction::Read, |s| (&*s).read(buf))
    }

    /// Writes without waiting: `WouldBlock` if the send buffer is full.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.fd.try_io(Direction::Write, |s| (&*s).write(buf))
    }

    /// Polls a read (for poll-based traits; budgeted, not a cancellation
    /// point). One poller per direction.
    pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let len = buf.len();
        self.fd.poll_io_clearing(cx, Direction::Read, |s| (&*s).read(buf).map(|n| (n, short(n, len))))
    }

    /// Polls a read into uninitialised memory: `buf` need not be
    /// initialised; returns how many bytes of it now are.
    pub fn poll_read_uninit(&self, cx: &mut Context<'_>, buf: &mut [MaybeUninit<u8>]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let fd = self.as_raw_fd();
        let len = buf.len();
        self.fd.poll_io_clearing(cx, Direction::Read, |_| crate::sys::read_uninit(fd, buf).map(|n| (n, short(n, len))))
    }

    /// Polls a write (see [`poll_read`](Self::poll_read)).
    pub fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.fd.poll_io_clearing(cx, Direction::Write, |s| (&*s).write(buf).map(|n| (n, short(n, buf.len()))))
    }

    /// Polls a vectored write (see [`poll_read`](Self::poll_read)).
    pub fn poll_write_vectored(&self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.fd.poll_io_clearing(cx, Direction::Write, |s| (&*s).write_vectored(bufs).map(|n| (n, short(n, len))))
    }

    /// Shuts down the reading, writing or both halves (`shutdown(Write)` is
    /// a half-close: the peer reads end of stream, and this side can still
    /// read its reply).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.std().shutdown(how)
    }

    /// The local address (unnamed for a client or a [`pair`](Self::pair)).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.std().local_addr()
    }

    /// The peer's address (the listener's path for a client; unnamed for an
    /// accepted connection or a [`pair`](Self::pair)).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.std().peer_addr()
    }

    /// Takes the socket's pending error (`SO_ERROR`).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.std().take_error()
    }

    /// Splits into a read half and a write half that two tasks can own.
    /// Dropping the write half shuts down the writing side (the peer reads
    /// end of stream); [`OwnedReadHalf::reunite`] puts them back together.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split(self)
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.std().as_raw_fd()
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
