//! `futures_io::AsyncRead` / `AsyncWrite` for the stream sockets (see the
//! [`compat`](super) docs for flushing, closing and cancellation).
//!
//! ```
//! use futures_util::{AsyncReadExt, AsyncWriteExt};
//! use ravel_io::net::{TcpListener, TcpStream};
//!
//! ravel::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let mut client = TcpStream::connect(&listener.local_addr()?).await?;
//!     let (mut server, _) = listener.accept().await?;
//!     // Called by path: the streams' inherent `write_all` would win.
//!     AsyncWriteExt::write_all(&mut client, b"request").await?;
//!     client.close().await?; // shutdown(Write): the server reads end of stream
//!     let mut got = Vec::new();
//!     server.read_to_end(&mut got).await?;
//!     assert_eq!(got, b"request");
//!     AsyncWriteExt::write_all(&mut server, b"reply").await?;
//!     drop(server);
//!     let mut reply = Vec::new();
//!     client.read_to_end(&mut reply).await?; // the client still reads after its close
//!     assert_eq!(reply, b"reply");
//!     Ok(())
//! })
//! .unwrap();
//! ```

use crate::net::{self, unix, TcpStream, UnixStream};
use futures_io::{AsyncRead, AsyncWrite};
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{Context, Poll};

macro_rules! read {
    ($($t:ty),*) => {$(
        impl AsyncRead for $t {
            fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
                self.get_mut().poll_read(cx, buf)
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

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
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
