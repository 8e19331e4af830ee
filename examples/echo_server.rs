//! An echo server on Ravel's asyncio-style streams (`start_server`), with
//! a graceful shutdown on SIGTERM or Ctrl-C.
//!
//!     cargo run --release --example echo_server -- --addr 127.0.0.1:7878
//!     cargo run --release --example echo_client -- --addr 127.0.0.1:7878
//!
//! On SIGTERM (or Ctrl-C) the server stops accepting, gives the open
//! connections `--deadline SECS` (default 5) to finish, then aborts the
//! rest: asyncio's `server.close()`, `wait_closed()` under a timeout, and
//! `abort_clients()`.

use ravel::sync::Event;
use ravel_io::signal::{add_signal_handler, SignalKind};
use std::time::Duration;

#[path = "serve/echo.rs"]
mod serve;

fn main() -> ravel::Result<()> {
    let mut addr = String::from("127.0.0.1:7878");
    let mut deadline = Duration::from_secs(5);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().ok_or_else(|| ravel::Error::msg("--addr needs a value"))?,
            "--deadline" => {
                deadline = Duration::from_secs_f64(
                    args.next().ok_or_else(|| ravel::Error::msg("--deadline needs seconds"))?.parse()?,
                )
            }
            other => return Err(ravel::Error::msg(format!("unknown argument {other}"))),
        }
    }
    ravel::run(async move {
        let server = serve::start(&addr).await?;
        for socket in server.sockets() {
            println!("listening on {socket}");
        }
        // asyncio's idiom: signal handlers set an event the main task waits on.
        let stop = Event::new();
        for kind in [SignalKind::terminate(), SignalKind::interrupt()] {
            let stop = stop.clone();
            add_signal_handler(kind, move || stop.set())?;
        }
        // The server is already serving (asyncio `start_serving=True`).
        stop.wait().await?;
        println!("signal: closing, {deadline:?} for open connections");
        match serve::shutdown(&server, deadline).await? {
            serve::Shutdown::Finished => println!("all connections finished"),
            serve::Shutdown::Aborted => println!("deadline passed: aborting the remaining connections"),
        }
        Ok(())
    })
}
