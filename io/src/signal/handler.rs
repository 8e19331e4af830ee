//! [`add_signal_handler`] and [`remove_signal_handler`]: asyncio's
//! callback form of signal handling.

use super::registry::{self, Handler};
use super::SignalKind;
use ravel::Handle;
use std::io;
use std::sync::Arc;

/// Runs `callback` on the current runtime each time `kind` is delivered
/// (asyncio `loop.add_signal_handler(sig, callback)`).
///
/// The callback never runs inside the signal handler: it is scheduled with
/// [`Handle::call_soon_threadsafe`] and runs on one of the runtime's
/// threads, outside any task (as asyncio's `call_soon` callbacks), so it
/// should be short; to await, spawn a task from it. Deliveries coalesce as
/// for [`Signal`](super::Signal): several before the callback is scheduled
/// give one call.
///
/// There is one callback per signal in the process (signals belong to the
/// process, and asyncio lets one loop at a time have them): adding one
/// replaces the previous one for that signal, whichever runtime added it.
/// It stays until [`remove_signal_handler`], or until its runtime has shut
/// down and a delivery finds it so. It does not stop [`Signal`](super::Signal)s of the
/// same kind from seeing the delivery, and, like them, leaves the signal
/// handled for the rest of the process (see [`signal`](super::signal)).
/// For SIGINT it takes Ctrl-C over from `ravel::run`, as in asyncio.
///
/// Errors: outside a Ravel runtime, and for the signals
/// [`signal`](super::signal) refuses (SIGKILL, SIGSTOP, invalid numbers).
///
/// ```
/// use ravel_io::signal::{add_signal_handler, remove_signal_handler, SignalKind};
/// use std::sync::mpsc;
///
/// ravel::run(async {
///     let (tx, rx) = mpsc::channel();
///     let tx = std::sync::Mutex::new(tx);
///     add_signal_handler(SignalKind::user_defined1(), move || {
///         tx.lock().unwrap().send(ravel::Handle::try_current().is_ok()).unwrap();
///     })?;
///     // SAFETY: raising a signal this process handles.
///     unsafe { libc::raise(libc::SIGUSR1) };
///     let on_runtime = ravel::to_thread(move || Ok(rx.recv()?)).await?;
///     assert!(on_runtime);
///     assert!(remove_signal_handler(SignalKind::user_defined1()));
///     assert!(!remove_signal_handler(SignalKind::user_defined1()));
///     Ok(())
/// })
/// .unwrap();
/// ```
pub fn add_signal_handler(kind: SignalKind, callback: impl Fn() + Send + Sync + 'static) -> io::Result<()> {
    let index = registry::check(kind)?;
    let handle = Handle::try_current().map_err(|_| {
        io::Error::other("add_signal_handler called outside a Ravel runtime (the callback runs on the current one)")
    })?;
    let globals = registry::globals()?;
    let mut slots = globals.lock();
    globals.install(&mut slots, kind, index)?;
    let id = globals.next_id();
    slots[index].handler = Some(Handler { handle, callback: Arc::new(callback), id });
    Ok(())
}

/// Removes the callback added for `kind` with [`add_signal_handler`];
/// true if there was one (asyncio `loop.remove_signal_handler(sig)`).
///
/// The signal stays handled (a delivery with neither callback nor
/// [`Signal`](super::Signal) is ignored); asyncio instead restores the
/// default action, which for most signals would let the next delivery
/// kill the process. A call already scheduled may still run.
///
/// ```
/// use ravel_io::signal::{remove_signal_handler, SignalKind};
/// assert!(!remove_signal_handler(SignalKind::window_change()));
/// ```
pub fn remove_signal_handler(kind: SignalKind) -> bool {
    let Ok(index) = registry::check(kind) else { return false };
    let Some(globals) = registry::existing() else { return false };
    globals.lock()[index].handler.take().is_some()
}
