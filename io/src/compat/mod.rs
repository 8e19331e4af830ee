//! The ecosystem's poll-based I/O traits for Ravel's stream sockets.
//!
//! * [`futures_io`](mod@futures_io): `futures_io::AsyncRead` / `AsyncWrite`
//!   (always on);
//! * [`tokio_io`](mod@tokio_io) (feature `tokio-io`): Tokio's `AsyncRead` /
//!   `AsyncWrite`, so `tokio_util::codec::Framed`, hyper's Tokio adapters
//!   and the like run over Ravel sockets under a Ravel runtime (no Tokio
//!   runtime is involved; only the traits are used).
//!
//! Both are implemented for [`TcpStream`](crate::TcpStream), its owned
//! halves, [`UnixStream`](crate::UnixStream) and its owned halves, and for
//! `&T` of each (every method of these takes `&self`). Writes are not
//! buffered, so `poll_flush` is a no-op, and `poll_close` /
//! `poll_shutdown` is `shutdown(Write)`: a half-close, after which the peer
//! reads end of stream and this side can still read the reply. Reads and
//! writes spend the task's cooperative budget like Ravel's own awaits. One
//! poller per direction, as the traits assume.
//!
//! The sockets' own `read`, `read_exact`, `write` and `write_all` (the
//! cancellable Ravel awaits) share their names with the extension traits'
//! (`futures_util::AsyncReadExt`, `tokio::io::AsyncReadExt`), and Rust
//! picks the inherent method: `stream.read_exact(..)` is Ravel's. To go
//! through a trait, call it by path (`AsyncReadExt::read_exact(&mut
//! stream, ..)`) or from generic code, as codecs and adapters do.
//!
//! # Cancellation
//!
//! A poll method cannot deliver a Ravel cancellation: it can only return
//! `Poll` of an `io::Result`, and an `io::Error` standing for "cancelled"
//! would be mistaken for an I/O failure by the code in between. So a task
//! that awaits a future built on these traits (`read_exact` from
//! `AsyncReadExt`, a `Framed` stream's `next()`) does not see `cancel()`
//! while it waits for data. Wrap that await in [`ravel::cancellable`]: once
//! the foreign future has suspended, a pending cancellation ends the wait
//! with `Err(e)` where `e.is_cancelled()`, and the foreign future is
//! dropped (what that has consumed is what dropping it consumes: for a
//! `Framed` read, the bytes already in its buffer, which stay there for the
//! next read).
//!
//! ```
//! use futures_util::AsyncReadExt;
//! use ravel_io::net::UnixStream;
//!
//! ravel::run(async {
//!     let (mut a, _b) = UnixStream::pair()?;
//!     let reader = ravel::spawn(async move {
//!         let mut buf = [0u8; 4];
//!         // Without `cancellable`, cancel() would not end this wait.
//!         ravel::cancellable(AsyncReadExt::read_exact(&mut a, &mut buf)).await??;
//!         Ok(())
//!     });
//!     ravel::yield_now().await?; // the reader is waiting for data
//!     reader.cancel();
//!     assert!(reader.await.unwrap_err().is_cancelled());
//!     Ok(())
//! })
//! .unwrap();
//! ```

pub mod futures_io;
#[cfg(feature = "tokio-io")]
pub mod tokio_io;
