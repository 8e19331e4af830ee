//! [`Job`]: a blocking-pool job that a handle owns, not the future that
//! awaits it, so a cancelled await never skips or loses it (the `File` and
//! `ReadDir` state machines).

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

struct Slot<T> {
    inner: Mutex<(Option<T>, Option<Waker>)>,
}

impl<T> Slot<T> {
    fn set(&self, value: T) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.0 = Some(value);
        let waker = inner.1.take();
        drop(inner);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// What a job that did not run (or panicked) makes of its state: the state
/// back (`None` after a panic, which consumed it) and why.
pub(crate) type Skipped<S, T> = fn(Option<S>, io::Error) -> T;

/// Gives the state back through `skipped` if the job is dropped unrun
/// (runtime shutdown, no runtime), so its owner never waits forever.
struct Guard<S, T> {
    slot: Arc<Slot<T>>,
    state: Option<S>,
    skipped: Skipped<S, T>,
}

impl<S, T> Drop for Guard<S, T> {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            let error = io::Error::other("the file operation did not run: the Ravel runtime is shut down or absent");
            self.slot.set((self.skipped)(Some(state), error));
        }
    }
}

/// One job on Ravel's blocking pool, started by a detached task (so no
/// cancellation of the caller reaches it): once started it always runs,
/// unless the runtime shuts down first, and its outcome waits in the slot
/// for whoever polls next.
pub(crate) struct Job<T> {
    slot: Arc<Slot<T>>,
}

impl<T: Send + 'static> Job<T> {
    /// Starts `run(state)` on the blocking pool, in a copy of the caller's
    /// context (the task's, which is the caller's copy).
    pub(crate) fn start<S: Send + 'static>(
        state: S,
        run: impl FnOnce(S) -> T + Send + 'static,
        skipped: Skipped<S, T>,
    ) -> Job<T> {
        let slot = Arc::new(Slot { inner: Mutex::new((None, None)) });
        let mut guard = Guard { slot: slot.clone(), state: Some(state), skipped };
        let work = move || {
            let state = guard.state.take().expect("a job runs once");
            let value = match catch_unwind(AssertUnwindSafe(|| run(state))) {
                Ok(value) => value,
                Err(_) => (guard.skipped)(None, io::Error::other("the file operation panicked")),
            };
            guard.slot.set(value);
            Ok(())
        };
        match ravel::Handle::try_current() {
            Ok(handle) => {
                let task = ravel::task::Builder::new()
                    .name("ravel_io fs job")
                    .eager_start(true)
                    .spawn_on(&handle, async move { ravel::to_thread(work).await });
                drop(task); // detached
            }
            Err(_) => drop(work), // the guard reports "no runtime"
        }
        Job { slot }
    }

    /// Ready with the outcome once the job ran (or was dropped unrun).
    pub(crate) fn poll(&self, cx: &mut Context<'_>) -> Poll<T> {
        let mut inner = self.slot.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(value) = inner.0.take() {
            return Poll::Ready(value);
        }
        match &inner.1 {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => inner.1 = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}
