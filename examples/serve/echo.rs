//! The echo server's serving part, shared by `examples/echo_server.rs` and
//! the soak (`bench/src/bin/soak.rs`, which includes this file with
//! `#[path]`), so the soak drives the example's own code.

use ravel_io::{start_server, Server, StreamReader, StreamWriter};
use std::time::Duration;

/// Echoes everything until the client closes its side.
pub async fn echo(reader: StreamReader, writer: StreamWriter) -> ravel::Result<()> {
    loop {
        let data = reader.read(64 * 1024).await?;
        if data.is_empty() {
            break; // end of stream
        }
        writer.write(&data)?;
        writer.drain().await?; // backpressure: wait while the client reads slowly
    }
    writer.close();
    writer.wait_closed().await
}

/// Starts the echo server on `addr` (already serving when it returns,
/// asyncio `start_serving=True`).
pub async fn start(addr: &str) -> ravel::Result<Server> {
    start_server(echo, addr).await
}

/// How a [`shutdown`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Every connection finished within the deadline.
    Finished,
    /// The deadline passed: the remaining connections were aborted.
    Aborted,
}

/// Stops accepting, gives the open connections `deadline` to finish, then
/// aborts the rest: asyncio's `server.close()`, `wait_closed()` under a
/// timeout, and `abort_clients()`. Returns once every connection is closed.
///
/// Not `serve_forever()` + cancel: asyncio's cancelled serve_forever waits
/// for every client before it returns, with no deadline.
pub async fn shutdown(server: &Server, deadline: Duration) -> ravel::Result<Shutdown> {
    server.close();
    match ravel::timeout(deadline, server.wait_closed()).await {
        Ok(()) => Ok(Shutdown::Finished),
        Err(e) if e.is_timeout() => {
            server.abort_clients();
            server.wait_closed().await?;
            Ok(Shutdown::Aborted)
        }
        Err(e) => Err(e),
    }
}
