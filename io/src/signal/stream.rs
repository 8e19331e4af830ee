//! [`Signal`]: the deliveries of one Unix signal, awaited or streamed.

use super::registry::{self, Globals};
use super::SignalKind;
use futures_core::Stream;
use ravel::task::Leaf;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Listens for `kind`: returns a [`Signal`] whose [`recv`](Signal::recv)
/// completes once for the deliveries after this call.
///
/// Needs no runtime (only `recv` must be awaited in a Ravel task to be
/// cancellable). The first listener for a signal installs a handler for it
/// that stays for the rest of the process, even after every `Signal` is
/// dropped: the signal's default action (often "terminate the process") is
/// not restored, and a delivery nobody listens for is ignored. The handler
/// chains with any handler installed before it. Listening for SIGINT takes
/// Ctrl-C over from `ravel::run` (see [`ctrl_c`](super::ctrl_c)).
///
/// Errors, of kind `InvalidInput`: SIGKILL and SIGSTOP (they cannot be
/// caught), SIGILL, SIGFPE and SIGSEGV (faults, which a handler that
/// returns would re-raise for ever), and numbers outside 1 to the
/// platform's largest signal. The OS may refuse others (on Linux, the two
/// real-time signals glibc keeps for itself): its error is returned.
///
/// ```
/// use ravel_io::signal::{signal, SignalKind};
///
/// ravel::run(async {
///     let mut usr1 = signal(SignalKind::user_defined1())?;
///     // SAFETY: sending a signal to this process, which now handles it.
///     unsafe { libc::kill(libc::getpid(), libc::SIGUSR1) };
///     usr1.recv().await?;
///
///     let err = signal(SignalKind::from_raw(libc::SIGKILL)).unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
///     Ok(())
/// })
/// .unwrap();
/// ```
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let index = registry::check(kind)?;
    let globals = registry::globals()?;
    let mut slots = globals.lock();
    globals.install(&mut slots, kind, index)?;
    let seen = slots[index].generation;
    Ok(Signal { kind, index, id: globals.next_id(), seen, globals })
}

/// The deliveries of one Unix signal, from [`signal`].
///
/// **Coalescing.** Deliveries are not counted: each [`recv`](Self::recv)
/// completes once for any number of deliveries since the previous one
/// completed (or since the `Signal` was made), as Unix itself merges a
/// signal that arrives while one is pending, and as Tokio does. So a
/// program should treat a completion as "the signal came at least once".
///
/// **Several listeners.** Every `Signal` of a kind sees every delivery,
/// whoever else listens, in any runtime of the process.
///
/// **Dropping** a `Signal` stops nothing process-wide (see [`signal`]).
///
/// As a `futures_core::Stream` it yields `()` per completion and never
/// ends; a poll function cannot deliver a Ravel cancellation, so a task
/// awaiting the stream's next item should wrap that await in
/// [`ravel::cancellable`].
///
/// ```
/// use ravel_io::signal::{signal, SignalKind};
///
/// ravel::run(async {
///     let mut a = signal(SignalKind::user_defined2())?;
///     let mut b = signal(SignalKind::user_defined2())?;
///     for _ in 0..3 {
///         // SAFETY: raising a signal this process handles.
///         unsafe { libc::raise(libc::SIGUSR2) };
///     }
///     a.recv().await?; // at least once: three raises may count as one
///     b.recv().await?; // and `b` sees them too
///     Ok(())
/// })
/// .unwrap();
/// ```
pub struct Signal {
    kind: SignalKind,
    index: usize,
    id: u64,
    /// The signal's generation when this listener last completed.
    seen: u64,
    globals: &'static Globals,
}

impl Signal {
    /// Waits for the next delivery (a cancellable Ravel await).
    ///
    /// Completes at once if the signal came since the previous `recv`
    /// completed. Cancelled, it has consumed nothing: the next `recv`
    /// completes for a delivery that came while it waited.
    ///
    /// ```
    /// use ravel_io::signal::{signal, SignalKind};
    /// use std::time::Duration;
    ///
    /// ravel::run(async {
    ///     let mut hup = signal(SignalKind::hangup())?;
    ///     let waited = ravel::timeout(Duration::from_millis(10), hup.recv()).await;
    ///     assert!(waited.unwrap_err().is_timeout());
    ///     // SAFETY: raising a signal this process handles.
    ///     unsafe { libc::raise(libc::SIGHUP) };
    ///     hup.recv().await?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn recv(&mut self) -> Recv<'_> {
        Recv { signal: self, leaf: Leaf::new() }
    }

    /// Polls for the next delivery: `Ready` and consumed if the signal came
    /// since the last completion, else `cx` is woken by the next one. No
    /// cancellation is delivered here (see the type docs).
    ///
    /// ```
    /// use ravel_io::signal::{signal, SignalKind};
    /// use std::task::{Context, Poll, Waker};
    ///
    /// let mut winch = signal(SignalKind::window_change()).unwrap();
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(winch.poll_recv(&mut cx).is_pending());
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut slots = self.globals.lock();
        let slot = &mut slots[self.index];
        if slot.generation != self.seen {
            self.seen = slot.generation;
            slot.waiters.retain(|(id, _)| *id != self.id);
            return Poll::Ready(());
        }
        match slot.waiters.iter_mut().find(|(id, _)| *id == self.id) {
            Some((_, waker)) => waker.clone_from(cx.waker()),
            None => slot.waiters.push((self.id, cx.waker().clone())),
        }
        Poll::Pending
    }

    /// The signal this listens for.
    ///
    /// ```
    /// use ravel_io::signal::{signal, SignalKind};
    /// let term = signal(SignalKind::terminate()).unwrap();
    /// assert_eq!(term.kind(), SignalKind::terminate());
    /// ```
    pub fn kind(&self) -> SignalKind {
        self.kind
    }

    fn forget_waker(&self) {
        self.globals.lock()[self.index].waiters.retain(|(id, _)| *id != self.id);
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        self.forget_waker();
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal").field("kind", &self.kind).finish()
    }
}

impl Stream for Signal {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.get_mut().poll_recv(cx).map(Some)
    }
}

/// The future of [`Signal::recv`].
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'a> {
    signal: &'a mut Signal,
    leaf: Leaf,
}

impl Future for Recv<'_> {
    type Output = ravel::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<ravel::Result<()>> {
        let this = self.get_mut();
        let signal = &mut *this.signal;
        this.leaf.poll(cx, |cx| signal.poll_recv(cx))
    }
}

impl Drop for Recv<'_> {
    fn drop(&mut self) {
        self.signal.forget_waker();
    }
}

impl fmt::Debug for Recv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").field("kind", &self.signal.kind).finish()
    }
}
