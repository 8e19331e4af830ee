//! [`cancel_on_signal`]: graceful shutdown on SIGTERM (or any signal).

use super::{signal, SignalKind};
use ravel::{Handle, Task, TaskRef};
use std::io;

/// Spawns a task that waits for `kind` and then cancels `target` with the
/// message `"received SIGTERM"` (the signal's name): the building block of
/// a graceful shutdown, where `target`'s next await returns the
/// cancellation and it cleans up (closes its listener, waits for its
/// connections) before it ends.
///
/// The listener is made by this call, so a signal that comes before the
/// returned task first runs is not missed. The task ends after the first
/// delivery; cancel it (or let `ravel::run` cancel it at the end) to stop
/// listening. Errors: outside a Ravel runtime, or as [`signal`].
///
/// ```
/// use ravel_io::signal::{cancel_on_signal, SignalKind};
/// use std::time::Duration;
///
/// ravel::run(async {
///     let main = ravel::current_task().unwrap();
///     let _watch = cancel_on_signal(SignalKind::terminate(), main)?;
///     // SAFETY: raising a signal this process now handles.
///     unsafe { libc::raise(libc::SIGTERM) };
///     let err = ravel::sleep(Duration::from_secs(3600)).await.unwrap_err();
///     assert_eq!(err.cancel_message(), Some("received SIGTERM"));
///     // ...graceful cleanup here, with awaits...
///     Ok(())
/// })
/// .unwrap();
/// ```
pub fn cancel_on_signal(kind: SignalKind, target: TaskRef) -> io::Result<Task<()>> {
    let handle =
        Handle::try_current().map_err(|_| io::Error::other("cancel_on_signal called outside a Ravel runtime"))?;
    let mut signal = signal(kind)?;
    Ok(handle.spawn(async move {
        signal.recv().await?;
        target.cancel_with(format!("received {kind}"));
        Ok(())
    }))
}
