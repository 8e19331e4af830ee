//! Shared helpers for the integration and conformance tests in `tests/`.
#![warn(missing_docs)]

use std::sync::{Arc, Mutex};

/// A current-thread runtime (asyncio's FIFO order).
pub fn current_thread() -> ravel::Runtime {
    ravel::Builder::new_current_thread().build().expect("build current-thread runtime")
}

/// A current-thread runtime with eager tasks (asyncio `eager_task_factory`).
pub fn current_thread_eager() -> ravel::Runtime {
    ravel::Builder::new_current_thread().eager_tasks(true).build().expect("build eager runtime")
}

/// A multi-thread runtime with `n` workers.
pub fn multi_thread(n: usize) -> ravel::Runtime {
    ravel::Runtime::builder().worker_threads(n).build().expect("build multi-thread runtime")
}

/// Both runtime flavours, for cases whose order does not matter.
pub fn both() -> Vec<(&'static str, ravel::Runtime)> {
    vec![("current_thread", current_thread()), ("multi_thread", multi_thread(2))]
}

/// An ordered event log shared between tasks.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    /// An empty log.
    pub fn new() -> Log {
        Log::default()
    }

    /// Appends an event.
    pub fn push(&self, event: impl Into<String>) {
        self.0.lock().unwrap().push(event.into());
    }

    /// The events so far, in order.
    pub fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}
