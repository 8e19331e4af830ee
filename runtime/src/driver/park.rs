//! A worker's parker: block in the reactor (if this worker holds it) or on
//! a condvar, until unparked.
//!
//! # Protocol
//!
//! One state word: `EMPTY`, `PARKED_CONDVAR`, `PARKED_DRIVER`, `NOTIFIED`.
//! The parker consumes a `NOTIFIED` token and returns at once; otherwise it
//! publishes how it blocks (`EMPTY` → `PARKED_*`, a CAS that fails only if
//! an unpark got in first: then it resets to `EMPTY` and returns). An
//! unparker swaps in `NOTIFIED` and acts on what it replaced: nothing for
//! `EMPTY`/`NOTIFIED` (the token is left for the next park), a
//! notification under the condvar's lock for `PARKED_CONDVAR` (taking the
//! lock orders it after the parker's CAS, made under that lock, so the
//! notify cannot fall between that CAS and the wait), an interrupt of the
//! reactor for `PARKED_DRIVER`. So an unpark is never lost, whenever it
//! comes (the loom models `loom_unpark_*` check this). Every access is
//! `SeqCst`.

use crate::shim::{AtomicUsize, Condvar, Mutex};
use std::sync::atomic::Ordering::SeqCst;

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

#[cfg(all(test, loom))]
mod loom_tests {
    use super::Parker;
    use loom::sync::atomic::AtomicBool;
    use loom::sync::Arc;
    use loom::thread;
    use std::sync::atomic::Ordering::SeqCst;

    /// The bug this guards: an unpark that lands between the parker's check
    /// for a token and its wait on the condvar is lost, and the worker
    /// sleeps with work queued. Every interleaving of one park and one
    /// unpark must end with the parker back (loom reports a deadlock
    /// otherwise), and the unpark never needs the reactor.
    #[test]
    fn loom_unpark_reaches_a_condvar_park() {
        loom::model(|| {
            let parker = Arc::new(Parker::new());
            let p2 = parker.clone();
            let unparker = thread::spawn(move || p2.unpark(|| panic!("not parked in the driver")));
            parker.park_condvar(None);
            unparker.join().unwrap();
        });
    }

    /// The same for a worker blocked in the reactor: `block` stands for
    /// `epoll_wait`, which returns once the reactor's waker is woken. The
    /// unpark either leaves a token (the park returns without blocking) or
    /// interrupts the reactor.
    #[test]
    fn loom_unpark_reaches_a_driver_park() {
        loom::model(|| {
            let parker = Arc::new(Parker::new());
            let interrupted = Arc::new(AtomicBool::new(false));
            let (p2, i2) = (parker.clone(), interrupted.clone());
            let unparker = thread::spawn(move || p2.unpark(|| i2.store(true, SeqCst)));
            let mut blocked = false;
            parker.park_driver(|| {
                blocked = true;
                while !interrupted.load(SeqCst) {
                    thread::yield_now();
                }
            });
            unparker.join().unwrap();
            // Blocking happened only if the reactor was interrupted for it.
            assert!(!blocked || interrupted.load(SeqCst));
        });
    }
}
