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

/// Runs `fut` on `rt`, re-raising a panic from inside it as the test failure
/// and failing the test on any other error.
pub fn block<T: Send + 'static>(
    rt: &ravel::Runtime,
    fut: impl std::future::Future<Output = ravel::Result<T>> + Send + 'static,
) -> T {
    match rt.block_on(fut) {
        Ok(v) => v,
        Err(e) if e.is_panic() => e.resume_unwind(),
        Err(e) => panic!("block_on returned an error: {e:?}"),
    }
}

/// Both runtime flavours, each with an unhandled-error hook whose reports
/// arrive on the returned receiver.
pub fn both_with_hook() -> Vec<(&'static str, ravel::Runtime, std::sync::mpsc::Receiver<ravel::runtime::UnhandledError>)>
{
    let mut out = Vec::new();
    for (flavour, builder) in [
        ("current_thread", ravel::Builder::new_current_thread()),
        ("multi_thread", ravel::Runtime::builder().worker_threads(2)),
    ] {
        let (tx, rx) = std::sync::mpsc::channel();
        let tx = Mutex::new(tx);
        let rt = builder
            .unhandled_error_hook(move |r: &ravel::runtime::UnhandledError| {
                let _ = tx.lock().unwrap().send(r.clone());
            })
            .build()
            .expect("build runtime with hook");
        out.push((flavour, rt, rx));
    }
    out
}
