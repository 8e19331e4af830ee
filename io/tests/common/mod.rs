//! Shared by the socket, stream and server tests: runtimes and a bound on
//! every wait.
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

/// A single-threaded runtime: asyncio's one loop, so "after a tick" checks
/// mean what they mean in CPython.
pub fn current_thread() -> ravel::Runtime {
    ravel::Builder::new_current_thread().build().unwrap()
}

/// Two workers: the racing parts run on different threads.
pub fn multi_thread() -> ravel::Runtime {
    ravel::Builder::new_multi_thread().worker_threads(2).build().unwrap()
}

/// Runs `f` on `rt` under a 20 s bound, so a bug fails instead of hanging
/// (200 s under `scripts/valgrind.sh`, which sets `RAVEL_UNDER_VALGRIND`:
/// memcheck runs code some 20 to 50 times slower).
pub fn block<F, T>(rt: &ravel::Runtime, f: F) -> T
where
    F: Future<Output = ravel::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let bound = if std::env::var_os("RAVEL_UNDER_VALGRIND").is_some() { 200 } else { 20 };
    rt.block_on(async move { ravel::timeout(Duration::from_secs(bound), f).await }).unwrap()
}

/// `await asyncio.sleep(0)`.
pub async fn tick() -> ravel::Result<()> {
    ravel::yield_now().await
}

/// Waits (yielding) until `cond` holds, for at most 5 s.
pub async fn until(mut cond: impl FnMut() -> bool) -> ravel::Result<()> {
    ravel::timeout(Duration::from_secs(5), async move {
        while !cond() {
            ravel::sleep(Duration::from_millis(1)).await?;
        }
        Ok(())
    })
    .await
}

/// Runs `body` with `ravel::run` under a 10 s bound.
pub fn run<T: Send + 'static>(body: impl Future<Output = ravel::Result<T>> + Send + 'static) -> T {
    ravel::run(ravel::timeout(Duration::from_secs(10), body)).unwrap()
}

/// A unique socket path in the temp dir, removed on drop.
pub struct TempPath(pub std::path::PathBuf);

impl TempPath {
    /// `<tmp>/ravel-io-<pid>-<name>.sock`, removed first if it exists.
    pub fn new(name: &str) -> TempPath {
        let path = std::env::temp_dir().join(format!("ravel-io-{}-{name}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        TempPath(path)
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
