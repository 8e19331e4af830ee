//! Waking wakers that may panic. Ravel's own task wakers never do, but a
//! waker from outside (a foreign executor's, a combinator's with wakers of
//! its own) may. Where Ravel wakes one, its panic is caught, so it takes
//! neither the other wakers of the same event nor a worker (the timer and
//! I/O drivers wake outside any task) with it. The panic is reported to the
//! error hook of the runtime this thread is in, as a callback's
//! ("Exception in callback"); outside any runtime only the panic hook has
//! printed it.
//!
//! This module sits below the driver, which wakes through it, so it cannot
//! name the runtime that reports: the scheduler installs the report
//! function ([`install_reporter`]) when it builds its first runtime, and
//! until then (no runtime, so nothing to report to) a caught panic is only
//! printed by the panic hook.

use std::any::Any;
use std::sync::{Arc, OnceLock};
use std::task::{Wake, Waker};

/// What a caught panic is handed to: reports it to the current thread's
/// runtime, if any.
pub(crate) type Reporter = fn(Box<dyn Any + Send>);

static REPORTER: OnceLock<Reporter> = OnceLock::new();

/// Installs the report function; the first call wins (there is one).
pub(crate) fn install_reporter(reporter: Reporter) {
    let _ = REPORTER.set(reporter);
}

/// Wakes `waker`, catching a panic of its `wake` (see the module docs).
pub(crate) fn wake(waker: Waker) {
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.wake())) {
        report(payload);
    }
}

/// A waker to store where Ravel wakes it without a way to catch it (the
/// timer wheels): a Ravel task's waker as it is, any other wrapped so that
/// its wake catches its own panic.
pub(crate) fn guarded(waker: &Waker) -> Waker {
    if crate::task::is_task_waker(waker) {
        return waker.clone();
    }
    Waker::from(Arc::new(Guarded(waker.clone())))
}

fn report(payload: Box<dyn Any + Send>) {
    if let Some(reporter) = REPORTER.get() {
        reporter(payload);
    }
}

/// A foreign waker whose panics stop here.
struct Guarded(Waker);

impl Wake for Guarded {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.0.wake_by_ref())) {
            report(payload);
        }
    }
}
