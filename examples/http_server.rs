//! An HTTP server on hyper and Ravel: HTTP/1.1 keep-alive and HTTP/2 (the
//! auto builder), two routes, and graceful shutdown with a deadline.
//!
//!     cargo run --release --example http_server -- --addr 127.0.0.1:8080
//!     curl http://127.0.0.1:8080/            # Hello, world!
//!     curl -d 'some body' http://127.0.0.1:8080/echo
//!     curl --http2-prior-knowledge http://127.0.0.1:8080/
//!
//! SIGTERM or Ctrl-C: stop accepting, let in-flight requests finish (hyper
//! closes idle keep-alive connections, and HTTP/2 sends GOAWAY), and cancel
//! what is left at the deadline (`--deadline SECS`, default 10).

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use ravel_io::hyper::{RavelExecutor, RavelTimer};
use ravel_io::net::TcpListener;
use ravel_io::signal::{self, SignalKind};
use std::convert::Infallible;
use std::time::Duration;

async fn route(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
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

/// SIGTERM or Ctrl-C, whichever comes first (asyncio's idiom: signal
/// handlers set an event the main task waits on).
async fn shutdown_signal() -> ravel::Result<()> {
    let stop = ravel::sync::Event::new();
    for kind in [SignalKind::terminate(), SignalKind::interrupt()] {
        let stop = stop.clone();
        signal::add_signal_handler(kind, move || stop.set())?;
    }
    stop.wait().await
}

fn main() -> ravel::Result<()> {
    let mut addr = String::from("127.0.0.1:8080");
    let mut deadline = Duration::from_secs(10);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().expect("--addr needs a value"),
            "--deadline" => deadline = Duration::from_secs_f64(args.next().expect("--deadline needs seconds").parse()?),
            other => return Err(ravel::Error::msg(format!("unknown argument {other}"))),
        }
    }
    ravel::run(async move {
        let listener = TcpListener::bind(&addr).await?;
        println!("listening on http://{}", listener.local_addr()?);

        let mut builder = auto::Builder::new(RavelExecutor::new());
        builder.http1().timer(RavelTimer::new()).header_read_timeout(Duration::from_secs(5));
        builder.http2().timer(RavelTimer::new());

        // The accept loop owns the graceful-shutdown tracker and hands it
        // back when it is cancelled (the listener closes with the loop).
        let accept = {
            ravel::spawn(async move {
                let graceful = GracefulShutdown::new();
                loop {
                    let (stream, _) = match listener.accept().await {
                        Ok(conn) => conn,
                        Err(e) if e.is_cancelled() => return Ok(graceful),
                        Err(e) => {
                            // Out of fds and the like: back off, never spin.
                            eprintln!("accept: {e}");
                            ravel::sleep(Duration::from_millis(100)).await?;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let builder = builder.clone();
                    let watcher = graceful.watcher();
                    // Cancellable: at the deadline the connection is dropped.
                    ravel::spawn(ravel::cancellable(async move {
                        let conn = builder.serve_connection(stream, hyper::service::service_fn(route));
                        if let Err(e) = watcher.watch(conn.into_owned()).await {
                            eprintln!("connection: {e}");
                        }
                    }));
                }
            })
        };

        shutdown_signal().await?;
        println!("signal: shutting down, deadline {deadline:?}");
        accept.cancel();
        let graceful = accept.await?; // the listener is closed: new connections are refused
        match ravel::timeout(deadline, async {
            graceful.shutdown().await;
            Ok(())
        })
        .await
        {
            Ok(()) => println!("all connections finished"),
            Err(e) if e.is_timeout() => println!("deadline passed: cancelling the remaining connections"),
            Err(e) => return Err(e),
        }
        // `run` cancels every task still alive (asyncio's cancel-all) and
        // waits for them: the cancellable connection tasks end at once.
        Ok(())
    })
}
