//! A worker's parker: block on the reactor (if this worker holds the driver)
//! or on a condvar, until unparked. An unpark that comes before the park is
//! not lost: it leaves a token the next park consumes.

use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

const EMPTY: usize = 0;
const PARKED_CONDVAR: usize = 1;
const PARKED_DRIVER: usize = 2;
const NOTIFIED: usize = 3;

pub(crate) struct Parker {
    state: AtomicUsize,
    lock: Mutex<()>,
    condvar: Condvar,
}

impl Parker {
    pub(crate) fn new() -> Parker {
        Parker { state: AtomicUsize::new(EMPTY), lock: Mutex::new(()), condvar: Condvar::new() }
    }

    /// Parks in the driver: `block` runs the reactor poll. Returns at once if
    /// a token is present.
    pub(crate) fn park_driver(&self, block: impl FnOnce()) {
        if self.state.compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst).is_ok() {
            return;
        }
        if self.state.compare_exchange(EMPTY, PARKED_DRIVER, SeqCst, SeqCst).is_err() {
            self.state.store(EMPTY, SeqCst);
            return;
        }
        block();
        self.state.store(EMPTY, SeqCst);
    }

    /// Parks on the condvar until unparked, or until `deadline` (the next
    /// timer: the worker then goes back to take the reactor and fire it).
    pub(crate) fn park_condvar(&self, deadline: Option<std::time::Instant>) {
        if self.state.compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst).is_ok() {
            return;
        }
        let mut guard = self.lock.lock();
        if self.state.compare_exchange(EMPTY, PARKED_CONDVAR, SeqCst, SeqCst).is_err() {
            self.state.store(EMPTY, SeqCst);
            return;
        }
        loop {
            match deadline {
                Some(deadline) => {
                    if self.condvar.wait_until(&mut guard, deadline).timed_out() {
                        // Back to EMPTY; an unpark racing the timeout is consumed.
                        self.state.store(EMPTY, SeqCst);
                        return;
                    }
                }
                None => self.condvar.wait(&mut guard),
            }
            if self.state.compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst).is_ok() {
                return;
            }
        }
    }

    /// Wakes the parked worker, or leaves a token. `wake_driver` interrupts
    /// the reactor when the worker is parked there.
    pub(crate) fn unpark(&self, wake_driver: impl FnOnce()) {
        match self.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED_CONDVAR => {
                drop(self.lock.lock());
                self.condvar.notify_one();
            }
            PARKED_DRIVER => wake_driver(),
            _ => unreachable!(),
        }
    }
}
