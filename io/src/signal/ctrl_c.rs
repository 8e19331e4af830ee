//! [`ctrl_c`]: wait for Ctrl-C.

use super::{signal, Signal, SignalKind};
use ravel::task::Leaf;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Waits for Ctrl-C (SIGINT): a cancellable Ravel await that completes for
/// the first SIGINT delivered after this call.
///
/// The listener is made by this call, not on the first poll, so a Ctrl-C
/// between the call and the first `.await` is not missed.
///
/// **Who wins, this or `ravel::run`.** `ravel::run` cancels its main task
/// on Ctrl-C. Listening for SIGINT (this, `signal(SignalKind::interrupt())`
/// or `add_signal_handler` for it) takes Ctrl-C over, for the rest of the
/// process: from then on Ctrl-C completes this await and does **not**
/// cancel the main task, and later `run`s install no Ctrl-C handling of
/// their own (asyncio's `loop.add_signal_handler(SIGINT, ...)` replaces
/// the `Runner`'s handler likewise). A program that wants both calls
/// `main.cancel()` itself. As for every signal, SIGINT then stays handled
/// after the listener is dropped: Ctrl-C no longer kills the process
/// unless the program exits on it.
///
/// An error (as a `ravel::Error` of kind `Io`) if the handler could not be
/// installed.
///
/// ```no_run
/// ravel::run(async {
///     let server = ravel::spawn(async { ravel::sleep(std::time::Duration::from_secs(3600)).await });
///     ravel_io::signal::ctrl_c().await?;
///     println!("Ctrl-C: shutting down");
///     server.cancel();
///     let _ = server.await;
///     Ok(())
/// })
/// .unwrap();
/// ```
pub fn ctrl_c() -> CtrlC {
    CtrlC { signal: signal(SignalKind::interrupt()).map_err(Some), leaf: Leaf::new() }
}

/// The future of [`ctrl_c`].
#[must_use = "futures do nothing unless awaited"]
pub struct CtrlC {
    signal: Result<Signal, Option<io::Error>>,
    leaf: Leaf,
}

impl Future for CtrlC {
    type Output = ravel::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<ravel::Result<()>> {
        let this = self.get_mut();
        match &mut this.signal {
            Ok(signal) => this.leaf.poll(cx, |cx| signal.poll_recv(cx)),
            Err(e) => {
                let e = e.take().unwrap_or_else(|| io::Error::other("ctrl_c() polled after it failed"));
                Poll::Ready(Err(ravel::Error::from(e)))
            }
        }
    }
}

impl fmt::Debug for CtrlC {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CtrlC").field("installed", &self.signal.is_ok()).finish()
    }
}
