//! Tokio's `AsyncRead` / `AsyncWrite` for the stream sockets (feature
//! `tokio-io`; see the [`compat`](super) docs for flushing, shutting down
//! and cancellation).
//!
//! Only Tokio's traits are used: no Tokio runtime runs, so this works under
//! `ravel::run`. Reads go into the `ReadBuf`'s uninitialised part directly
//! (no zeroing first).
//!
//! ```
//! use ravel_io::net::UnixStream;
//! use tokio::io::{AsyncRead, ReadBuf};
//! use std::pin::Pin;
//!
//! ravel::run(async {
//!     let (mut a, b) = UnixStream::pair()?;
//!     b.write_all(b"tokio").await?;
//!     let mut storage = [std::mem::MaybeUninit::<u8>::uninit(); 16];
//!     let mut buf = ReadBuf::uninit(&mut storage);
//!     std::future::poll_fn(|cx| Pin::new(&mut a).poll_read(cx, &mut buf)).await?;
//!     assert_eq!(buf.filled(), b"tokio");
//!     Ok(())
//! })
//! .unwrap();
//! ```

use crate::net::{self, unix, TcpStream, UnixStream};
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Reads with `read` (which initialises a prefix of the slice it is given
/// and returns its length) into `buf`'s unfilled part.
fn read_into(
    buf: &mut ReadBuf<'_>,
    read: impl FnOnce(&mut [MaybeUninit<u8>]) -> Poll<io::Result<usize>>,
) -> Poll<io::Result<()>> {
    // SAFETY: the slice is only written by `recv(2)` (via
    // `poll_read_uninit`), which never de-initialises a byte.
    let unfilled = unsafe { buf.unfilled_mut() };
    let n = match read(unfilled) {
        Poll::Ready(Ok(n)) => n,
        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
        Poll::Pending => return Poll::Pending,
    };
    // SAFETY: `poll_read_uninit` returns how many bytes at the start of
    // the unfilled part it initialised.
    unsafe { buf.assume_init(n) };
    buf.advance(n);
    Poll::Ready(Ok(()))
}

macro_rules! read {
    ($($t:ty),*) => {$(
        impl AsyncRead for $t {
            fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
                read_into(buf, |unfilled| self.get_mut().poll_read_uninit(cx, unfilled))
            }
        }
    )*};
}

macro_rules! write {
    ($($t:ty => |$s:ident| $close:expr;)*) => {$(
        impl AsyncWrite for $t {
            fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                self.get_mut().poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.get_mut().poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let $s = self.get_mut();
                Poll::Ready($close)
            }
        }
    )*};
}

read!(TcpStream, &TcpStream, net::OwnedReadHalf, &net::OwnedReadHalf);
read!(UnixStream, &UnixStream, unix::OwnedReadHalf, &unix::OwnedReadHalf);

write! {
    TcpStream => |s| s.shutdown(Shutdown::Write);
    &TcpStream => |s| s.shutdown(Shutdown::Write);
    net::OwnedWriteHalf => |s| s.shutdown();
    &net::OwnedWriteHalf => |s| s.shutdown();
    UnixStream => |s| s.shutdown(Shutdown::Write);
    &UnixStream => |s| s.shutdown(Shutdown::Write);
    unix::OwnedWriteHalf => |s| s.shutdown();
    &unix::OwnedWriteHalf => |s| s.shutdown();
}
