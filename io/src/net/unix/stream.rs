//! [`UnixStream`]: a connected Unix domain stream socket.

use super::split::{split, OwnedReadHalf, OwnedWriteHalf};
use ravel::io::{AsyncFd, Direction};
use socket2::{Domain, SockAddr, Socket, Type};
use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;

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

    crate::net::stream_macros::stream_methods!();

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
