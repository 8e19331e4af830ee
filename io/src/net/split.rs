//! Owned halves of a [`TcpStream`], for a reader task and a writer task.

use super::tcp::TcpStream;
use std::fmt;
use std::io::{self, IoSlice};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::task::{Context, Poll};

/// The reading half of [`TcpStream::into_split`].
pub struct OwnedReadHalf {
    stream: Arc<TcpStream>,
}

/// The writing half of [`TcpStream::into_split`]. Dropping it shuts down
/// the writing side of the connection (the peer reads end of stream),
/// unless [`reunite`](OwnedReadHalf::reunite) took it back first.
pub struct OwnedWriteHalf {
    stream: Arc<TcpStream>,
    shutdown_on_drop: bool,
}

/// Two halves that are not of one stream, given back.
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves of two different TCP streams")
    }
}

impl std::error::Error for ReuniteError {}

pub(crate) fn split(stream: TcpStream) -> (OwnedReadHalf, OwnedWriteHalf) {
    let stream = Arc::new(stream);
    (OwnedReadHalf { stream: stream.clone() }, OwnedWriteHalf { stream, shutdown_on_drop: true })
}

impl OwnedReadHalf {
    /// [`TcpStream::read`]: cancelled, it consumed nothing.
    pub async fn read(&self, buf: &mut [u8]) -> ravel::Result<usize> {
        self.stream.read(buf).await
    }

    /// [`TcpStream::read_exact`].
    pub async fn read_exact(&self, buf: &mut [u8]) -> ravel::Result<()> {
        self.stream.read_exact(buf).await
    }

    /// [`TcpStream::peek`].
    pub async fn peek(&self, buf: &mut [u8]) -> ravel::Result<usize> {
        self.stream.peek(buf).await
    }

    /// [`TcpStream::readable`].
    pub async fn readable(&self) -> ravel::Result<()> {
        self.stream.readable().await
    }

    /// [`TcpStream::try_read`].
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.try_read(buf)
    }

    /// [`TcpStream::poll_read`].
    pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.stream.poll_read(cx, buf)
    }

    /// [`TcpStream::poll_read_uninit`].
    pub fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        self.stream.poll_read_uninit(cx, buf)
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }

    /// Puts the halves back together; an error if they are of two streams.
    pub fn reunite(self, mut write: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
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
    /// [`TcpStream::write`]: cancelled, it wrote nothing.
    pub async fn write(&self, buf: &[u8]) -> ravel::Result<usize> {
        self.stream.write(buf).await
    }

    /// [`TcpStream::write_vectored`].
    pub async fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> ravel::Result<usize> {
        self.stream.write_vectored(bufs).await
    }

    /// [`TcpStream::write_all`].
    pub async fn write_all(&self, buf: &[u8]) -> ravel::Result<()> {
        self.stream.write_all(buf).await
    }

    /// [`TcpStream::writable`].
    pub async fn writable(&self) -> ravel::Result<()> {
        self.stream.writable().await
    }

    /// [`TcpStream::try_write`].
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.stream.try_write(buf)
    }

    /// [`TcpStream::poll_write`].
    pub fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.stream.poll_write(cx, buf)
    }

    /// [`TcpStream::poll_write_vectored`].
    pub fn poll_write_vectored(&self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        self.stream.poll_write_vectored(cx, bufs)
    }

    /// Shuts down the writing side now (a half-close; the read half still
    /// reads the reply).
    pub fn shutdown(&self) -> io::Result<()> {
        self.stream.shutdown(Shutdown::Write)
    }

    /// The remote address.
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
