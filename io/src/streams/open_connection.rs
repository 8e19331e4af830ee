//! [`open_connection`] and [`open_unix_connection`]: a client's
//! reader/writer pair.

use super::connection::{Shared, DEFAULT_LIMIT};
use super::stream_writer::pair;
use super::transport::{connect_unix, Transport};
use super::{StreamReader, StreamWriter};
use crate::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;

/// Connects to `addr` over TCP and returns the stream pair (asyncio
/// `open_connection(host, port)`), with the default 64 KiB reader limit.
///
/// Cancelled, it has closed the half-open socket.
///
/// ```
/// use ravel_io::streams::open_connection;
///
/// ravel::run(async {
///     let server = ravel_io::start_server(
///         |reader, writer| async move {
///             let line = reader.readline().await?;
///             writer.write(&line.to_ascii_uppercase())?;
///             writer.close();
///             writer.wait_closed().await
///         },
///         "127.0.0.1:0",
///     )
///     .await?;
///     let addr = server.sockets()[0].as_inet().unwrap();
///     let (reader, writer) = open_connection(&addr).await?;
///     writer.write(b"hello\n")?;
///     assert_eq!(reader.readline().await?, b"HELLO\n");
///     server.close();
///     Ok(())
/// })
/// .unwrap();
/// ```
pub async fn open_connection<A: ToSocketAddrs + ?Sized>(addr: &A) -> ravel::Result<(StreamReader, StreamWriter)> {
    open_connection_with_limit(addr, DEFAULT_LIMIT).await
}

/// [`open_connection`] with a reader limit (asyncio `limit=`).
///
/// # Panics
/// If `limit` is 0.
pub async fn open_connection_with_limit<A: ToSocketAddrs + ?Sized>(
    addr: &A,
    limit: usize,
) -> ravel::Result<(StreamReader, StreamWriter)> {
    assert!(limit > 0, "Limit cannot be <= 0");
    let stream = TcpStream::connect(addr).await?;
    Ok(from_tcp(stream, limit))
}

/// The stream pair over a connected [`TcpStream`] (asyncio
/// `open_connection(sock=...)`): set socket options on the stream first.
///
/// # Panics
/// If `limit` is 0, or outside a Ravel runtime.
///
/// ```
/// use ravel_io::net::{TcpListener, TcpStream};
///
/// ravel::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let stream = TcpStream::connect(&listener.local_addr()?).await?;
///     stream.set_nodelay(true)?;
///     let (_reader, writer) = ravel_io::streams::from_tcp(stream, 65536);
///     writer.write(b"x")?;
///     Ok(())
/// })
/// .unwrap();
/// ```
pub fn from_tcp(stream: TcpStream, limit: usize) -> (StreamReader, StreamWriter) {
    pair(Shared::new(limit, Some(Arc::new(stream) as Arc<dyn Transport>)))
}

/// Connects to the Unix socket at `path` and returns the stream pair
/// (asyncio `open_unix_connection(path)`).
///
/// A Unix connect completes at once, unless the listener's backlog is
/// full: then it retries (a cancellable wait). Cancelled, it has closed
/// the socket.
///
/// ```
/// use ravel_io::streams::open_unix_connection;
///
/// ravel::run(async {
///     let dir = std::env::temp_dir().join(format!("ravel-doc-{}", std::process::id()));
///     std::fs::create_dir_all(&dir)?;
///     let path = dir.join("echo.sock");
///     let _ = std::fs::remove_file(&path);
///     let server = ravel_io::start_unix_server(
///         |reader, writer| async move {
///             let data = reader.read(100).await?;
///             writer.write(&data)?;
///             Ok(())
///         },
///         &path,
///     )
///     .await?;
///     let (reader, writer) = open_unix_connection(&path).await?;
///     writer.write(b"ping")?;
///     assert_eq!(reader.read(100).await?, b"ping");
///     server.close();
///     std::fs::remove_dir_all(&dir)?;
///     Ok(())
/// })
/// .unwrap();
/// ```
pub async fn open_unix_connection<P: AsRef<Path>>(path: P) -> ravel::Result<(StreamReader, StreamWriter)> {
    open_unix_connection_with_limit(path, DEFAULT_LIMIT).await
}

/// [`open_unix_connection`] with a reader limit.
///
/// # Panics
/// If `limit` is 0.
pub async fn open_unix_connection_with_limit<P: AsRef<Path>>(
    path: P,
    limit: usize,
) -> ravel::Result<(StreamReader, StreamWriter)> {
    assert!(limit > 0, "Limit cannot be <= 0");
    let transport = connect_unix(path.as_ref()).await?;
    Ok(pair(Shared::new(limit, Some(Arc::new(transport) as Arc<dyn Transport>))))
}
