//! Owned halves of a [`UnixStream`], for a reader task and a writer task.

use super::stream::UnixStream;
use std::fmt;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The reading half of [`UnixStream::into_split`].
///
/// ```
/// use ravel_io::net::UnixStream;
///
/// ravel::run(async {
///     let (a, b) = UnixStream::pair()?;
///     let (read, write) = a.into_split();
///     write.write_all(b"to b").await?;
///     drop(write); // shuts down a's writing side: b reads end of stream
///     let mut buf = Vec::new();
///     let mut chunk = [0u8; 8];
///     loop {
///         let n = b.read(&mut chunk).await?;
///         if n == 0 {
///             break;
///         }
///         buf.extend_from_slice(&chunk[..n]);
///     }
///     assert_eq!(buf, b"to b");
///     b.write_all(b"reply").await?;
///     let mut reply = [0u8; 5];
///     read.read_exact(&mut reply).await?;
///     assert_eq!(&reply, b"reply");
///     Ok(())
/// })
/// .unwrap();
/// ```
pub struct OwnedReadHalf {
    stream: Arc<UnixStream>,
}

/// The writing half of [`UnixStream::into_split`]. Dropping it shuts down
/// the writing side of the connection (the peer reads end of stream),
/// unless [`reunite`](OwnedReadHalf::reunite) took it back first.
///
/// ```
/// use ravel_io::net::UnixStream;
///
/// ravel::run(async {
///     let (a, b) = UnixStream::pair()?;
///     let (_read, write) = a.into_split();
///     let writer = ravel::spawn(async move { write.write_all(b"from a task").await });
///     let mut buf = [0u8; 11];
///     b.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"from a task");
///     writer.await
/// })
/// .unwrap();
/// ```
pub struct OwnedWriteHalf {
    stream: Arc<UnixStream>,
    shutdown_on_drop: bool,
}

/// Two halves that are not of one stream, given back.
///
/// ```
/// use ravel_io::net::UnixStream;
///
/// ravel::run(async {
///     let (a, _) = UnixStream::pair()?;
///     let (b, _) = UnixStream::pair()?;
///     let (ra, wa) = a.into_split();
///     let (rb, wb) = b.into_split();
///     let err = ra.reunite(wb).unwrap_err();
///     let (ra, _wb) = (err.0, err.1);
///     let a = ra.reunite(wa).expect("halves of one stream");
///     drop((a, rb));
///     Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves of two different Unix streams")
    }
}

impl std::error::Error for ReuniteError {}

pub(crate) fn split(stream: UnixStream) -> (OwnedReadHalf, OwnedWriteHalf) {
    let stream = Arc::new(stream);
    (OwnedReadHalf { stream: stream.clone() }, OwnedWriteHalf { stream, shutdown_on_drop: true })
}

impl OwnedReadHalf {
    /// [`UnixStream::read`]: cancelled, it consumed nothing.
    pub async fn read(&self, buf: &mut [u8]) -> ravel::Result<usize> {
        self.stream.read(buf).await
    }

    /// [`UnixStream::read_exact`]: cancelled, the bytes read so far are
    /// consumed.
    pub async fn read_exact(&self, buf: &mut [u8]) -> ravel::Result<()> {
        self.stream.read_exact(buf).await
    }

    /// [`UnixStream::readable`]: cancelled, it has done nothing.
    pub async fn readable(&self) -> ravel::Result<()> {
        self.stream.readable().await
    }

    /// [`UnixStream::try_read`].
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.try_read(buf)
    }

    /// [`UnixStream::poll_read`].
    pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.stream.poll_read(cx, buf)
    }

    /// [`UnixStream::poll_read_uninit`].
    pub fn poll_read_uninit(&self, cx: &mut Context<'_>, buf: &mut [MaybeUninit<u8>]) -> Poll<io::Result<usize>> {
        self.stream.poll_read_uninit(cx, buf)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }

    /// Puts the halves back together; an error if they are of two streams.
    pub fn reunite(self, mut write: OwnedWriteHalf) -> Result<UnixStream, ReuniteError> {
        if !Arc::ptr_eq(&self.stream, &write.stream) {
            return Err(ReuniteError(self, write));
        }
        write.shutdown_on_drop = false;
        let stream = write.stream.clone();
        drop(write);
        drop(self);
        Ok(Arc::try_unwrap(stream).unwrap_or_else(|_| unreachable!("both halves were dropped")))
    }
}

impl OwnedWriteHalf {
    /// [`UnixStream::write`]: cancelled, it wrote nothing.
    pub async fn write(&self, buf: &[u8]) -> ravel::Result<usize> {
        self.stream.write(buf).await
    }

    /// [`UnixStream::write_vectored`]: cancelled, it wrote nothing.
    pub async fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> ravel::Result<usize> {
        self.stream.write_vectored(bufs).await
    }

    /// [`UnixStream::write_all`]: cancelled, a prefix may be written.
    pub async fn write_all(&self, buf: &[u8]) -> ravel::Result<()> {
        self.stream.write_all(buf).await
    }

    /// [`UnixStream::writable`]: cancelled, it has done nothing.
    pub async fn writable(&self) -> ravel::Result<()> {
        self.stream.writable().await
    }

    /// [`UnixStream::try_write`].
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.stream.try_write(buf)
    }

    /// [`UnixStream::poll_write`].
    pub fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.stream.poll_write(cx, buf)
    }

    /// [`UnixStream::poll_write_vectored`].
    pub fn poll_write_vectored(&self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        self.stream.poll_write_vectored(cx, bufs)
    }

    /// Shuts down the writing side now (a half-close; the read half still
    /// reads the reply).
    pub fn shutdown(&self) -> io::Result<()> {
        self.stream.shutdown(Shutdown::Write)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // The peer may be gone already: nothing to report then.
            let _ = self.stream.shutdown(Shutdown::Write);
        }
    }
}

impl fmt::Debug for OwnedReadHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedReadHalf").field(&*self.stream).finish()
    }
}

impl fmt::Debug for OwnedWriteHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedWriteHalf").field(&*self.stream).finish()
    }
}
