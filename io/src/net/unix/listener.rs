//! [`UnixListener`]: a listening Unix domain stream socket.

use super::stream::UnixStream;
use futures_core::Stream;
use ravel::io::{AsyncFd, Interest};
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A Unix domain socket listening for connections (asyncio: the socket of
/// `start_unix_server`).
///
/// Binding creates the socket file; dropping the listener closes the socket
/// but does **not** remove the file (asyncio 3.13 removes it on close):
/// remove it yourself, and remove a stale one before binding again, or
/// `bind` fails with `AddrInUse`.
///
/// ```
/// use ravel_io::net::{UnixListener, UnixStream};
///
/// ravel::run(async {
///     let path = std::env::temp_dir().join(format!("ravel-doc-listener-{}.sock", std::process::id()));
///     let _ = std::fs::remove_file(&path);
///     let listener = UnixListener::bind(&path)?;
///     assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
///     let client = ravel::spawn({
///         let path = path.clone();
///         async move { UnixStream::connect(&path).await?.write_all(b"hello").await }
///     });
///     let (conn, _) = listener.accept().await?;
///     let mut buf = [0u8; 5];
///     conn.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hello");
///     client.await?;
///     std::fs::remove_file(&path)?;
///     Ok(())
/// })
/// .unwrap();
/// ```
pub struct UnixListener {
    fd: AsyncFd<std::os::unix::net::UnixListener>,
}

impl UnixListener {
    /// Creates a socket file at `path`, listens on it and registers it with
    /// the current runtime. Errors outside a Ravel runtime and with
    /// `AddrInUse` if the path exists.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        UnixListener::from_std(std::os::unix::net::UnixListener::bind(path)?)
    }

    /// Registers a bound, listening std listener with the current runtime
    /// (it is set non-blocking).
    ///
    /// ```
    /// use ravel_io::net::UnixListener;
    ///
    /// ravel::run(async {
    ///     let path = std::env::temp_dir().join(format!("ravel-doc-from-std-{}.sock", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let listener = UnixListener::from_std(std::os::unix::net::UnixListener::bind(&path)?)?;
    ///     let std = listener.into_std()?;
    ///     assert_eq!(std.local_addr()?.as_pathname(), Some(path.as_path()));
    ///     std::fs::remove_file(&path)?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        Ok(UnixListener { fd: AsyncFd::with_interest(listener, Interest::READABLE)? })
    }

    /// Deregisters the listener and returns it in blocking mode.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        let listener = self.fd.into_inner();
        listener.set_nonblocking(false)?;
        Ok(listener)
    }

    crate::net::stream_macros::listener_methods!(UnixStream, SocketAddr);

    /// Takes the socket's pending error (`SO_ERROR`).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.fd.get_ref().take_error()
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener").field("local", &self.local_addr().ok()).field("fd", &self.as_raw_fd()).finish()
    }
}

/// The stream of [`UnixListener::incoming`].
///
/// ```
/// use futures_util::StreamExt;
/// use ravel_io::net::{UnixListener, UnixStream};
///
/// ravel::run(async {
///     let path = std::env::temp_dir().join(format!("ravel-doc-incoming-{}.sock", std::process::id()));
///     let _ = std::fs::remove_file(&path);
///     let listener = UnixListener::bind(&path)?;
///     let _client = UnixStream::connect(&path).await?;
///     let accepted = listener.incoming().next().await.expect("never ends")?;
///     assert!(accepted.peer_addr()?.is_unnamed());
///     std::fs::remove_file(&path)?;
///     Ok(())
/// })
/// .unwrap();
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct Incoming<'a> {
    listener: &'a UnixListener,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<UnixStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<UnixStream>>> {
        self.listener.poll_accept(cx).map(|r| Some(r.map(|(s, _)| s)))
    }
}
