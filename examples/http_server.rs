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

use ravel_io::net::TcpListener;
use ravel_io::signal::{self, SignalKind};
use std::time::Duration;

#[path = "serve/http.rs"]
mod serve;

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

        let server = serve::serve(listener, Duration::from_secs(5), |failure| match failure {
            serve::Failure::Accept(e) => eprintln!("accept: {e}"),
            serve::Failure::Connection(e) => eprintln!("connection: {e}"),
            serve::Failure::Silent => eprintln!("connection: nothing sent within the header timeout, closed"),
            serve::Failure::FirstRead(e) => eprintln!("connection: {e}"),
        });

        shutdown_signal().await?;
        println!("signal: shutting down, deadline {deadline:?}");
        match server.shutdown(deadline).await? {
            serve::Shutdown::Finished => println!("all connections finished"),
            serve::Shutdown::Cancelled => println!("deadline passed: cancelled the remaining connections"),
        }
        Ok(())
    })
}
