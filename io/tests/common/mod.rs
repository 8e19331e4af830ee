//! Helpers shared by the stream and server tests.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

/// A single-threaded runtime: asyncio's one loop, so "after a tick" checks
/// mean what they mean in CPython.
pub fn current_thread() -> ravel::Runtime {
    ravel::Builder::new_current_thread().build().unwrap()
}

/// Two workers: the racing parts run on different threads.
pub fn multi_thread() -> ravel::Runtime {
    ravel::Builder::new_multi_thread().worker_threads(2).build().unwrap()
}

/// Runs `f` on `rt` under a 20 s bound, so a bug fails instead of hanging.
pub fn block<F, T>(rt: &ravel::Runtime, f: F) -> T
where
    F: Future<Output = ravel::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    rt.block_on(async move { ravel::timeout(Duration::from_secs(20), f).await }).unwrap()
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
