//! hyper on Ravel (feature `hyper`).
//!
//! * [`hyper::rt::Read`] and [`hyper::rt::Write`] for
//!   [`TcpStream`](crate::net::TcpStream) and [`UnixStream`](crate::net::UnixStream): reads go straight into the
//!   uninitialised part of hyper's buffer (no zeroing), writes are
//!   vectored;
//! * [`RavelTimer`]: hyper's [`Timer`](hyper::rt::Timer), with sleeps that
//!   are `Send + Sync` and reset in place. Give it to hyper's builders:
//!   without a timer hyper silently turns its header-read timeout off;
//! * [`RavelExecutor`]: hyper's [`Executor`](hyper::rt::Executor), which
//!   spawns Ravel tasks (HTTP/2 and hyper-util's auto builder need one).
//!
//! hyper's futures are poll-based: nothing inside them can deliver a Ravel
//! cancellation. [`RavelExecutor`] wraps what it spawns in
//! [`ravel::cancellable`], and so should the task serving a connection, so
//! that `cancel()` (or `ravel::run`'s cancel-all at exit) ends it by
//! dropping the hyper future, the only way a poll-based future can end.
//! hyper-util's `GracefulShutdown` works unchanged (it needs only
//! `tokio::sync`, never a Tokio runtime; do not enable hyper-util's `tokio`
//! feature).
//!
//! ```
//! use http_body_util::Full;
//! use hyper::body::Bytes;
//! use hyper::{Request, Response};
//! use ravel_io::hyper::{RavelExecutor, RavelTimer};
//! use ravel_io::net::{TcpListener, TcpStream};
//!
//! ravel::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     // `cancellable`: hyper's future cannot see a cancellation itself.
//!     let server = ravel::spawn(ravel::cancellable(async move {
//!         let (stream, _) = listener.accept().await?;
//!         let service = hyper::service::service_fn(|_req: Request<hyper::body::Incoming>| async {
//!             Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from("hello"))))
//!         });
//!         hyper::server::conn::http1::Builder::new()
//!             .timer(RavelTimer::new())
//!             .serve_connection(stream, service)
//!             .await?;
//!         Ok::<_, ravel::Error>(())
//!     }));
//!     // (The task's value is the inner `Result`: `server.await??`.)
//!
//!     let stream = TcpStream::connect(&addr).await?;
//!     let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await?;
//!     ravel::spawn(ravel::cancellable(conn));
//!     let req = Request::get("/").header("host", "x").body(Full::new(Bytes::new()))?;
//!     let resp = sender.send_request(req).await?;
//!     assert_eq!(resp.status(), 200);
//!     use http_body_util::BodyExt;
//!     let body = resp.into_body().collect().await?.to_bytes();
//!     assert_eq!(&body[..], b"hello");
//!     drop(sender);
//!     server.await??;
//!     # let _ = RavelExecutor::new();
//!     Ok(())
//! })
//! .unwrap();
//! ```

mod executor;
mod io;
mod timer;

pub use executor::RavelExecutor;
pub use timer::{RavelSleep, RavelTimer};
