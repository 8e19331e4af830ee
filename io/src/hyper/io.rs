//! `hyper::rt::Read` / `Write` for Ravel's streams.

use crate::net::{TcpStream, UnixStream};
use hyper::rt::{Read, ReadBufCursor, Write};
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{Context, Poll};

macro_rules! hyper_io {
    ($($t:ty),*) => {$(
        impl Read for $t {
            fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, mut buf: ReadBufCursor<'_>) -> Poll<io::Result<()>> {
                let stream = self.get_mut();
                crate::sys::read_into_cursor(&mut buf, |uninit| stream.poll_read_uninit(cx, uninit))
            }
        }

        impl Write for $t {
            fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                <$t>::poll_write(self.get_mut(), cx, buf)
            }

            fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
                <$t>::poll_write_vectored(self.get_mut(), cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                // Writes go straight to the socket: nothing is buffered here.
                Poll::Ready(Ok(()))
            }

            fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(match self.shutdown(Shutdown::Write) {
                    // The peer may have gone first; the write side is shut either way.
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
                    other => other,
                })
            }
        }
    )*};
}

hyper_io!(TcpStream, UnixStream);
