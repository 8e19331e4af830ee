//! Shared by the TCP tests: runtimes and a bound on every wait.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

/// A bug fails the test after this instead of hanging it.
pub const BOUND: Duration = Duration::from_secs(20);

/// Runs `f` on a two-worker runtime, bounded by [`BOUND`].
pub fn multi<F, T>(f: F) -> T
where
    F: Future<Output = ravel::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let rt = ravel::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    rt.block_on(ravel::timeout(BOUND, f)).unwrap()
}

/// Runs `f` on a current-thread runtime, bounded by [`BOUND`].
pub fn single<F, T>(f: F) -> T
where
    F: Future<Output = ravel::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let rt = ravel::Builder::new_current_thread().build().unwrap();
    rt.block_on(ravel::timeout(BOUND, f)).unwrap()
}

/// A connected pair on loopback: (client, server side).
pub async fn pair() -> ravel::Result<(ravel_io::TcpStream, ravel_io::TcpStream)> {
    let listener = ravel_io::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let connect = ravel::spawn(async move { ravel_io::TcpStream::connect(&addr).await });
    let (server, _) = listener.accept().await?;
    Ok((connect.await?, server))
}
