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

/// Helpers of the fault-injection tests (`tests/fault_*.rs`): panics raised
/// on purpose, kept off stderr, and the checks that nothing else was lost.
pub mod faults {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    use std::time::{Duration, Instant};

    /// Panics raised on purpose carry this prefix; [`quiet_panics`] keeps
    /// them off stderr (any other panic, e.g. a failed assertion, is printed).
    pub const TAG: &str = "ravel-fault:";

    /// Installs (once) a panic hook that prints every panic but the ones
    /// whose message starts with [`TAG`].
    pub fn quiet_panics() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let default = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if !payload_str(info.payload()).starts_with(TAG) {
                    default(info);
                }
            }));
        });
    }

    /// A panic payload as text (`&str` or `String` payloads; else "?").
    pub fn payload_str(payload: &(dyn std::any::Any + Send)) -> String {
        if let Some(s) = payload.downcast_ref::<&str>() {
            s.to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "?".to_string()
        }
    }

    /// The panic message of a panic error (its payload is taken).
    pub fn panic_text(error: &ravel::Error) -> String {
        assert!(error.is_panic(), "not a panic error: {error:?}");
        error.take_panic().map(|p| payload_str(&*p)).unwrap_or_default()
    }

    /// Counts its drops.
    #[derive(Debug)]
    pub struct DropCount(pub Arc<AtomicUsize>);

    impl Drop for DropCount {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    /// After a fault: `2 × workers` tasks spawned from outside all complete,
    /// each with its own value, and so do as many spawned from inside.
    pub fn workers_still_run(rt: &ravel::Runtime, workers: usize) {
        let n = 2 * workers.max(1);
        let outside: Vec<_> = (0..n)
            .map(|i| {
                rt.handle().spawn(async move {
                    ravel::yield_now().await?;
                    Ok(i)
                })
            })
            .collect();
        let got = rt
            .block_on(async move {
                let mut got = Vec::new();
                for task in outside {
                    got.push(task.await?);
                }
                let inside: Vec<_> = (0..n).map(|i| ravel::spawn(async move { Ok(n + i) })).collect();
                for task in inside {
                    got.push(task.await?);
                }
                Ok(got)
            })
            .expect("tasks after the fault complete");
        assert_eq!(got, (0..2 * n).collect::<Vec<_>>(), "every task after the fault completed");
    }

    struct ThreadWaker {
        thread: std::thread::Thread,
        wakes: AtomicUsize,
    }

    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            self.wakes.fetch_add(1, SeqCst);
            self.thread.unpark();
        }
    }

    /// Polls `future` on this thread, a foreign executor (no Ravel runtime
    /// here), until it is ready or `bound` has passed: `None` then (a hang).
    pub fn foreign_block_on<F: std::future::Future>(future: F, bound: Duration) -> Option<F::Output> {
        let waker = Waker::from(Arc::new(ThreadWaker { thread: std::thread::current(), wakes: AtomicUsize::new(0) }));
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        let deadline = Instant::now() + bound;
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return Some(out);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            // Woken by the waker, or spuriously: poll again either way.
            std::thread::park_timeout(deadline - now);
        }
    }
}
