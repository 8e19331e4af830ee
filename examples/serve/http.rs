//! The HTTP server's serving part, shared by `examples/http_server.rs` and
//! the soak (`bench/src/bin/soak.rs`, which includes this file with
//! `#[path]`), so the soak drives the example's own code: hyper's auto
//! builder (HTTP/1.1 keep-alive and HTTP/2), two routes, an accept loop
//! that survives running out of fds, and a graceful shutdown with a
//! deadline.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use ravel::{Task, TaskRef};
use ravel_io::hyper::{RavelExecutor, RavelTimer};
use ravel_io::net::TcpListener;
use std::convert::Infallible;
use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

/// `GET /` answers "Hello, world!\n"; `POST /echo` answers its body.
pub async fn route(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => Response::new(Full::new(Bytes::from_static(b"Hello, world!\n"))),
        (&Method::POST, "/echo") => match req.into_body().collect().await {
            Ok(body) => Response::new(Full::new(body.to_bytes())),
            Err(_) => status(StatusCode::BAD_REQUEST),
        },
        _ => status(StatusCode::NOT_FOUND),
    };
    Ok(response)
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = code;
    response
}

/// What [`serve`] reports instead of failing: the server keeps going.
pub enum Failure<'a> {
    /// `accept` failed (out of fds and the like); the loop backs off
    /// [`ACCEPT_BACKOFF`] and accepts again.
    Accept(&'a ravel::Error),
    /// A connection ended with an error (a reset, a header-read timeout, a
    /// malformed request); the other connections are unaffected.
    Connection(&'a (dyn StdError + Send + Sync + 'static)),
    /// A client connected and sent nothing within the header-read timeout:
    /// its connection was closed. (hyper's timeout starts only once the
    /// auto builder has seen the first bytes, to tell HTTP/1 from HTTP/2;
    /// a client that sends part of the HTTP/2 preface and stalls is still
    /// not timed out.)
    Silent,
    /// Reading a connection's first byte failed (a reset).
    FirstRead(&'a ravel::Error),
}

/// How long the accept loop pauses after a failed accept (never spins).
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// A running server: its accept loop.
pub struct HttpServer {
    accept: Task<(GracefulShutdown, Vec<TaskRef>)>,
}

/// How a [`HttpServer::shutdown`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Every connection finished within the deadline.
    Finished,
    /// The deadline passed: the remaining connections were cancelled.
    Cancelled,
}

/// Serves HTTP on `listener` until [`HttpServer::shutdown`]. A request's
/// header must arrive within `header_read_timeout` (and a new connection's
/// first byte too). Failures go to `on_failure`.
pub fn serve(
    listener: TcpListener,
    header_read_timeout: Duration,
    on_failure: impl Fn(Failure<'_>) + Send + Sync + 'static,
) -> HttpServer {
    let on_failure = Arc::new(on_failure);
    let mut builder = auto::Builder::new(RavelExecutor::new());
    builder.http1().timer(RavelTimer::new()).header_read_timeout(header_read_timeout);
    builder.http2().timer(RavelTimer::new());
    // The accept loop owns the graceful-shutdown tracker and the connection
    // tasks, and hands them back when it is cancelled (the listener closes
    // with the loop).
    let accept = ravel::spawn(async move {
        let graceful = GracefulShutdown::new();
        let mut connections: Vec<TaskRef> = Vec::new();
        let mut prune_at = 64; // drop finished connections' entries when the list doubles
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) if e.is_cancelled() => return Ok((graceful, connections)),
                Err(e) => {
                    on_failure(Failure::Accept(&e));
                    ravel::sleep(ACCEPT_BACKOFF).await?;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let builder = builder.clone();
            let watcher = graceful.watcher();
            let on_failure = on_failure.clone();
            let conn = ravel::spawn(async move {
                // A client that never sends would otherwise hold its
                // connection (and fd) until the shutdown.
                match ravel::timeout(header_read_timeout, stream.peek(&mut [0u8; 1])).await {
                    Ok(0) => return Ok(()), // closed before a request
                    Ok(_) => {}
                    Err(e) if e.is_cancelled() => return Err(e),
                    Err(e) => {
                        on_failure(if e.is_timeout() { Failure::Silent } else { Failure::FirstRead(&e) });
                        return Ok(());
                    }
                }
                // Cancellable: at the deadline the connection is dropped.
                ravel::cancellable(async move {
                    let conn = builder.serve_connection(stream, hyper::service::service_fn(route));
                    if let Err(e) = watcher.watch(conn.into_owned()).await {
                        on_failure(Failure::Connection(&*e));
                    }
                })
                .await
            });
            connections.push(conn.into_task_ref());
            if connections.len() >= prune_at {
                connections.retain(|c| !c.done());
                prune_at = (2 * connections.len()).max(64);
            }
        }
    });
    HttpServer { accept }
}

impl HttpServer {
    /// Stops accepting (the listener is closed: new connections are
    /// refused), lets in-flight requests finish (hyper closes idle
    /// keep-alive connections, and HTTP/2 sends GOAWAY) and cancels what is
    /// left at `deadline`. Returns once every connection task has ended.
    pub async fn shutdown(self, deadline: Duration) -> ravel::Result<Shutdown> {
        self.accept.cancel();
        let (graceful, connections) = self.accept.await?;
        let ended = ravel::timeout(deadline, async {
            graceful.shutdown().await;
            Ok(())
        })
        .await;
        let outcome = match ended {
            Ok(()) => Shutdown::Finished,
            Err(e) if e.is_timeout() => Shutdown::Cancelled,
            Err(e) => return Err(e),
        };
        for conn in &connections {
            conn.cancel();
        }
        for conn in &connections {
            while conn.wait_done().await.is_err() {}
        }
        Ok(outcome)
    }
}
