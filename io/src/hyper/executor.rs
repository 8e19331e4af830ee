//! [`RavelExecutor`]: hyper's executor spawning Ravel tasks.

use ravel::Handle;
use std::future::Future;

/// hyper's [`Executor`](hyper::rt::Executor) on Ravel: each future (an
/// HTTP/2 stream, a connection's background task) becomes a Ravel task on
/// the runtime of the handle, wrapped in [`ravel::cancellable`] so that a
/// cancellation (also `ravel::run`'s cancel-all at exit) ends it.
///
/// ```
/// use hyper::rt::Executor;
///
/// ravel::run(async {
///     let done = ravel::Promise::new();
///     let set = done.clone();
///     ravel_io::hyper::RavelExecutor::new().execute(async move { set.set_result(7).unwrap() });
///     assert_eq!(done.await?, 7);
///     Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Clone, Debug, Default)]
pub struct RavelExecutor {
    handle: Option<Handle>,
}

impl RavelExecutor {
    /// Spawns on the runtime current where `execute` is called.
    pub fn new() -> RavelExecutor {
        RavelExecutor { handle: None }
    }

    /// Spawns on `handle`'s runtime, from any thread.
    pub fn with_handle(handle: Handle) -> RavelExecutor {
        RavelExecutor { handle: Some(handle) }
    }
}

impl<F> hyper::rt::Executor<F> for RavelExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        let task = ravel::cancellable(future);
        // Detached: hyper owns the outcome through its own channels.
        match &self.handle {
            Some(handle) => drop(handle.spawn(task)),
            None => drop(ravel::spawn(task)),
        }
    }
}
