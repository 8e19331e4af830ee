//! What TCP and Unix stream sockets share, written once: the I/O methods
//! (`stream_methods!`) and the owned halves (`owned_halves!`). Macros
//! rather than a generic type, so each socket keeps its own named type,
//! docs and extra methods (TCP's `peek`, options and addresses).

/// The I/O methods of a stream socket whose `fd` field is an
/// `AsyncFd<T>` of a stream socket; the syscalls are `crate::sys`'s
/// (`recv`, `send`, `sendmsg`). Every one is a Ravel leaf (the
/// async ones) or a budgeted poll function, and clears readiness after a
/// short transfer (`AsyncFd::io_clearing`).
macro_rules! stream_methods {
    () => {
        /// Reads into `buf`, waiting until at least one byte is available;
        /// `Ok(0)` at end of stream (the peer shut down its writing side),
        /// and at once for an empty `buf` (`recv(2)` of 0 bytes would wait).
        /// Cancelled, it has consumed nothing.
        pub async fn read(&self, buf: &mut [u8]) -> ravel::Result<usize> {
            if buf.is_empty() {
                return Ok(0);
            }
            let len = buf.len();
            self.fd
                .io_clearing(ravel::io::Direction::Read, |s| {
                    $crate::sys::recv(std::os::fd::AsRawFd::as_raw_fd(s), buf)
                        .map(|n| (n, $crate::net::tcp::short(n, len)))
                })
                .await
        }

        /// Reads exactly `buf.len()` bytes; an I/O error of kind
        /// `UnexpectedEof` if the stream ends first. Cancelled, it has
        /// consumed the bytes read into `buf` so far (how many is not
        /// reported; `StreamReader::readexactly` loses nothing).
        pub async fn read_exact(&self, mut buf: &mut [u8]) -> ravel::Result<()> {
            while !buf.is_empty() {
                let n = self.read(buf).await?;
                if n == 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the stream ended before the buffer was filled",
                    )
                    .into());
                }
                buf = &mut buf[n..];
            }
            Ok(())
        }

        /// Writes some of `buf`, waiting until the socket accepts at least
        /// one byte; returns how many it took. Cancelled, it has written
        /// nothing.
        pub async fn write(&self, buf: &[u8]) -> ravel::Result<usize> {
            self.fd
                .io_clearing(ravel::io::Direction::Write, |s| {
                    $crate::sys::send(std::os::fd::AsRawFd::as_raw_fd(s), buf)
                        .map(|n| (n, $crate::net::tcp::short(n, buf.len())))
                })
                .await
        }

        /// Writes from several buffers in one syscall (`sendmsg`, at most
        /// 1024 of them).
        /// Cancelled, it has written nothing.
        pub async fn write_vectored(&self, bufs: &[std::io::IoSlice<'_>]) -> ravel::Result<usize> {
            let len = bufs.iter().map(|b| b.len()).sum();
            self.fd
                .io_clearing(ravel::io::Direction::Write, |s| {
                    $crate::sys::send_vectored(std::os::fd::AsRawFd::as_raw_fd(s), bufs)
                        .map(|n| (n, $crate::net::tcp::short(n, len)))
                })
                .await
        }

        /// Writes all of `buf`. Cancelled, a prefix of `buf` may have been
        /// written (how much is not reported; `StreamWriter` loses nothing).
        pub async fn write_all(&self, mut buf: &[u8]) -> ravel::Result<()> {
            while !buf.is_empty() {
                let n = self.write(buf).await?;
                if n == 0 {
                    return Err(
                        std::io::Error::new(std::io::ErrorKind::WriteZero, "the socket accepted no bytes").into()
                    );
                }
                buf = &buf[n..];
            }
            Ok(())
        }

        /// Waits until a read may make progress (data, end of stream or an
        /// error). Ready at once until a read sees `WouldBlock`. Cancelled,
        /// it has done nothing.
        pub async fn readable(&self) -> ravel::Result<()> {
            self.fd.ready(ravel::io::Direction::Read).await.map(drop)
        }

        /// Waits until a write may make progress. Cancelled, it has done
        /// nothing.
        pub async fn writable(&self) -> ravel::Result<()> {
            self.fd.ready(ravel::io::Direction::Write).await.map(drop)
        }

        /// Reads without waiting: `WouldBlock` if nothing is buffered.
        pub fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            if buf.is_empty() {
                return Ok(0);
            }
            self.fd.try_io(ravel::io::Direction::Read, |s| $crate::sys::recv(std::os::fd::AsRawFd::as_raw_fd(s), buf))
        }

        /// Writes without waiting: `WouldBlock` if the send buffer is full.
        pub fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
            self.fd.try_io(ravel::io::Direction::Write, |s| $crate::sys::send(std::os::fd::AsRawFd::as_raw_fd(s), buf))
        }

        /// Polls a read (for poll-based traits; budgeted, not a
        /// cancellation point). One poller per direction.
        pub fn poll_read(
            &self,
            cx: &mut std::task::Context<'_>,
            buf: &mut [u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            if buf.is_empty() {
                return std::task::Poll::Ready(Ok(0));
            }
            let len = buf.len();
            self.fd.poll_io_clearing(cx, ravel::io::Direction::Read, |s| {
                $crate::sys::recv(std::os::fd::AsRawFd::as_raw_fd(s), buf).map(|n| (n, $crate::net::tcp::short(n, len)))
            })
        }

        /// Polls a read into uninitialised memory (hyper's and Tokio's
        /// buffers): `buf` need not be initialised; returns how many bytes
        /// of it now are.
        pub fn poll_read_uninit(
            &self,
            cx: &mut std::task::Context<'_>,
            buf: &mut [std::mem::MaybeUninit<u8>],
        ) -> std::task::Poll<std::io::Result<usize>> {
            if buf.is_empty() {
                return std::task::Poll::Ready(Ok(0));
            }
            let fd = std::os::fd::AsRawFd::as_raw_fd(&self.fd);
            let len = buf.len();
            self.fd.poll_io_clearing(cx, ravel::io::Direction::Read, |_| {
                $crate::sys::recv_uninit(fd, buf).map(|n| (n, $crate::net::tcp::short(n, len)))
            })
        }

        /// Polls a write (see [`poll_read`](Self::poll_read)).
        pub fn poll_write(
            &self,
            cx: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            self.fd.poll_io_clearing(cx, ravel::io::Direction::Write, |s| {
                $crate::sys::send(std::os::fd::AsRawFd::as_raw_fd(s), buf)
                    .map(|n| (n, $crate::net::tcp::short(n, buf.len())))
            })
        }

        /// Polls a vectored write (see [`poll_read`](Self::poll_read)).
        pub fn poll_write_vectored(
            &self,
            cx: &mut std::task::Context<'_>,
            bufs: &[std::io::IoSlice<'_>],
        ) -> std::task::Poll<std::io::Result<usize>> {
            let len = bufs.iter().map(|b| b.len()).sum();
            self.fd.poll_io_clearing(cx, ravel::io::Direction::Write, |s| {
                $crate::sys::send_vectored(std::os::fd::AsRawFd::as_raw_fd(s), bufs)
                    .map(|n| (n, $crate::net::tcp::short(n, len)))
            })
        }
    };
}

/// `OwnedReadHalf`, `OwnedWriteHalf`, `ReuniteError` and `split` for a
/// stream type with the methods of `stream_methods!`, `shutdown`,
/// `peer_addr` and `local_addr` (returning `$addr`).
macro_rules! owned_halves {
    (
        stream: $stream:ident,
        addr: $addr:ty,
        what: $what:literal,
        read_doc: { $(#[$read_doc:meta])* },
        write_doc: { $(#[$write_doc:meta])* },
    ) => {
        #[doc = concat!("The reading half of [`", stringify!($stream), "::into_split`].")]
        $(#[$read_doc])*
        pub struct OwnedReadHalf {
            stream: std::sync::Arc<$stream>,
        }

        #[doc = concat!("The writing half of [`", stringify!($stream), "::into_split`]. Dropping it shuts down")]
        /// the writing side of the connection (the peer reads end of
        /// stream), unless [`reunite`](OwnedReadHalf::reunite) took it back
        /// first.
        $(#[$write_doc])*
        pub struct OwnedWriteHalf {
            stream: std::sync::Arc<$stream>,
            shutdown_on_drop: bool,
        }

        /// Two halves that are not of one stream, given back.
        #[derive(Debug)]
        pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

        impl std::fmt::Display for ReuniteError {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!("tried to reunite halves of two different ", $what, " streams"))
            }
        }

        impl std::error::Error for ReuniteError {}

        pub(crate) fn split(stream: $stream) -> (OwnedReadHalf, OwnedWriteHalf) {
            let stream = std::sync::Arc::new(stream);
            (OwnedReadHalf { stream: stream.clone() }, OwnedWriteHalf { stream, shutdown_on_drop: true })
        }

        impl OwnedReadHalf {
            #[doc = concat!("[`", stringify!($stream), "::read`]: cancelled, it consumed nothing.")]
            pub async fn read(&self, buf: &mut [u8]) -> ravel::Result<usize> {
                self.stream.read(buf).await
            }

            #[doc = concat!("[`", stringify!($stream), "::read_exact`]: cancelled, the bytes read so far are consumed.")]
            pub async fn read_exact(&self, buf: &mut [u8]) -> ravel::Result<()> {
                self.stream.read_exact(buf).await
            }

            #[doc = concat!("[`", stringify!($stream), "::readable`]: cancelled, it has done nothing.")]
            pub async fn readable(&self) -> ravel::Result<()> {
                self.stream.readable().await
            }

            #[doc = concat!("[`", stringify!($stream), "::try_read`].")]
            pub fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.stream.try_read(buf)
            }

            #[doc = concat!("[`", stringify!($stream), "::poll_read`].")]
            pub fn poll_read(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.stream.poll_read(cx, buf)
            }

            #[doc = concat!("[`", stringify!($stream), "::poll_read_uninit`].")]
            pub fn poll_read_uninit(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut [std::mem::MaybeUninit<u8>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.stream.poll_read_uninit(cx, buf)
            }

            /// The peer's address.
            pub fn peer_addr(&self) -> std::io::Result<$addr> {
                self.stream.peer_addr()
            }

            /// The local address.
            pub fn local_addr(&self) -> std::io::Result<$addr> {
                self.stream.local_addr()
            }

            /// Puts the halves back together; an error if they are of two
            /// streams.
            pub fn reunite(self, mut write: OwnedWriteHalf) -> Result<$stream, ReuniteError> {
                if !std::sync::Arc::ptr_eq(&self.stream, &write.stream) {
                    return Err(ReuniteError(self, write));
                }
                write.shutdown_on_drop = false;
                let stream = write.stream.clone();
                drop(write);
                drop(self);
                Ok(std::sync::Arc::try_unwrap(stream).unwrap_or_else(|_| unreachable!("both halves were dropped")))
            }
        }

        impl OwnedWriteHalf {
            #[doc = concat!("[`", stringify!($stream), "::write`]: cancelled, it wrote nothing.")]
            pub async fn write(&self, buf: &[u8]) -> ravel::Result<usize> {
                self.stream.write(buf).await
            }

            #[doc = concat!("[`", stringify!($stream), "::write_vectored`]: cancelled, it wrote nothing.")]
            pub async fn write_vectored(&self, bufs: &[std::io::IoSlice<'_>]) -> ravel::Result<usize> {
                self.stream.write_vectored(bufs).await
            }

            #[doc = concat!("[`", stringify!($stream), "::write_all`]: cancelled, a prefix may be written.")]
            pub async fn write_all(&self, buf: &[u8]) -> ravel::Result<()> {
                self.stream.write_all(buf).await
            }

            #[doc = concat!("[`", stringify!($stream), "::writable`]: cancelled, it has done nothing.")]
            pub async fn writable(&self) -> ravel::Result<()> {
                self.stream.writable().await
            }

            #[doc = concat!("[`", stringify!($stream), "::try_write`].")]
            pub fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
                self.stream.try_write(buf)
            }

            #[doc = concat!("[`", stringify!($stream), "::poll_write`].")]
            pub fn poll_write(&self, cx: &mut std::task::Context<'_>, buf: &[u8]) -> std::task::Poll<std::io::Result<usize>> {
                self.stream.poll_write(cx, buf)
            }

            #[doc = concat!("[`", stringify!($stream), "::poll_write_vectored`].")]
            pub fn poll_write_vectored(
                &self,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.stream.poll_write_vectored(cx, bufs)
            }

            /// Shuts down the writing side now (a half-close; the read half
            /// still reads the reply).
            pub fn shutdown(&self) -> std::io::Result<()> {
                self.stream.shutdown(std::net::Shutdown::Write)
            }

            /// The peer's address.
            pub fn peer_addr(&self) -> std::io::Result<$addr> {
                self.stream.peer_addr()
            }

            /// The local address.
            pub fn local_addr(&self) -> std::io::Result<$addr> {
                self.stream.local_addr()
            }
        }

        impl Drop for OwnedWriteHalf {
            fn drop(&mut self) {
                if self.shutdown_on_drop {
                    // The peer may be gone already: nothing to report then.
                    let _ = self.stream.shutdown(std::net::Shutdown::Write);
                }
            }
        }

        impl std::fmt::Debug for OwnedReadHalf {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_tuple("OwnedReadHalf").field(&*self.stream).finish()
            }
        }

        impl std::fmt::Debug for OwnedWriteHalf {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_tuple("OwnedWriteHalf").field(&*self.stream).finish()
            }
        }
    };
}

/// The accept methods of a listener whose `fd` field is an `AsyncFd` of a
/// std listener accepting `$std_stream`s, wrapped as `$stream` with
/// `$stream::from_std`.
macro_rules! listener_methods {
    ($stream:ident, $addr:ty) => {
        /// Accepts a connection, waiting for one. Cancelled, it has taken
        /// none from the backlog. Errors such as `EMFILE` (out of file
        /// descriptors) are returned, and the listener stays readable: a
        /// loop that retries at once spins, so back off first
        /// (`ravel_io::start_server` does).
        pub async fn accept(&self) -> ravel::Result<($stream, $addr)> {
            let (stream, addr) = self.fd.io(ravel::io::Direction::Read, |l| l.accept()).await?;
            Ok(($stream::from_std(stream)?, addr))
        }

        /// Polls an accept (for poll-based code; budgeted, not a
        /// cancellation point). One poller at a time.
        pub fn poll_accept(
            &self,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<($stream, $addr)>> {
            self.fd
                .poll_io(cx, ravel::io::Direction::Read, |l| l.accept())
                .map(|r| r.and_then(|(stream, addr)| Ok(($stream::from_std(stream)?, addr))))
        }

        /// The incoming connections as a `futures_core::Stream` (never
        /// ends; each error is an item, see [`accept`](Self::accept)).
        pub fn incoming(&self) -> Incoming<'_> {
            Incoming { listener: self }
        }

        /// The bound address.
        pub fn local_addr(&self) -> std::io::Result<$addr> {
            self.fd.get_ref().local_addr()
        }
    };
}

pub(crate) use {listener_methods, owned_halves, stream_methods};
