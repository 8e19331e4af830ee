//! [`run`]: asyncio `run`.

use crate::error::{Error, Result};
use crate::runtime::{Handle, Runtime};
use std::future::Future;

/// Runs `main` on a new default runtime and returns its outcome (asyncio
/// `asyncio.run`).
///
/// Builds a multi-thread runtime, runs `main` as a task named `"main"`, and
/// when it ends cancels every task still alive (once, no message), waits for
/// them to finish their cleanup, reports their failures through the
/// unhandled-error hook ("unhandled exception during ravel::run()
/// shutdown"), and shuts the runtime down.
///
/// A panic of `main` itself resumes in the caller with its original
/// payload, after that shutdown (asyncio `run` propagates `SystemExit`);
/// a panic of a task that `main` awaits stays that task's error.
///
/// Called from inside a runtime it returns an invalid-state error
/// ("ravel::run() cannot be called from a running event loop").
///
/// ```
/// let answer = ravel::run(async {
///     let t = ravel::spawn(async { Ok(40) });
///     Ok(t.await? + 2)
/// });
/// assert_eq!(answer.unwrap(), 42);
/// ```
#[track_caller]
pub fn run<F, T>(main: F) -> Result<T>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    if Handle::try_current().is_ok() {
        return Err(Error::invalid_state("ravel::run() cannot be called from a running event loop"));
    }
    let rt = Runtime::new().map_err(Error::new)?;
    rt.run(main)
}
