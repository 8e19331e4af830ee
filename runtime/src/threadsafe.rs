//! The bridge from plain threads into a running runtime:
//! [`run_coroutine_threadsafe`] and [`ConcurrentFuture`] (asyncio
//! `run_coroutine_threadsafe` and `concurrent.futures.Future`).

use crate::error::{Error, Result};
use crate::runtime::Handle;
use crate::task::{CallbackId, TaskRef};
use parking_lot::{Condvar, Mutex};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

type Callback<T> = Box<dyn FnOnce(&ConcurrentFuture<T>) + Send>;

struct State<T> {
    outcome: Option<Result<T>>,
    cancelled: bool,
    taken: bool,
    callbacks: Vec<(CallbackId, Callback<T>)>,
}

impl<T> State<T> {
    /// Finished, cancelled, or its outcome already taken.
    fn done(&self) -> bool {
        self.outcome.is_some() || self.cancelled || self.taken
    }
}

struct Inner<T> {
    state: Mutex<State<T>>,
    done: Condvar,
    /// The task running the coroutine; set right after it is spawned.
    task: std::sync::OnceLock<TaskRef>,
}

/// A handle to a coroutine submitted with [`run_coroutine_threadsafe`],
/// for use from threads outside the runtime (asyncio's
/// `concurrent.futures.Future`). Clones share the same outcome.
pub struct ConcurrentFuture<T> {
    inner: Arc<Inner<T>>,
    handle: Handle,
}

impl<T> Clone for ConcurrentFuture<T> {
    fn clone(&self) -> Self {
        ConcurrentFuture { inner: self.inner.clone(), handle: self.handle.clone() }
    }
}

/// Submits `future` to the runtime of `handle` from a thread outside it, and
/// returns a [`ConcurrentFuture`] to wait for its outcome from that thread
/// (asyncio `run_coroutine_threadsafe`).
///
/// Errors: called from a thread of that runtime (waiting there would block
/// the runtime it waits for; use [`spawn`](crate::spawn) and `.await`), or
/// after the runtime has shut down.
///
/// ```
/// use std::time::Duration;
///
/// let rt = ravel::Runtime::new().unwrap();
/// let f = ravel::run_coroutine_threadsafe(async { Ok(1 + 2) }, rt.handle()).unwrap();
/// assert_eq!(f.result(Some(Duration::from_secs(5))).unwrap(), 3);
/// ```
#[track_caller]
pub fn run_coroutine_threadsafe<F, T>(future: F, handle: &Handle) -> Result<ConcurrentFuture<T>>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    if handle.is_entered() {
        return Err(Error::invalid_state(
            "run_coroutine_threadsafe() called from inside the target runtime: waiting on the result \
             there would block the runtime; use ravel::spawn and .await instead",
        ));
    }
    if handle.shared().is_shutdown() {
        return Err(Error::runtime_closed("run_coroutine_threadsafe(): the runtime is shut down"));
    }
    let inner = Arc::new(Inner {
        state: Mutex::new(State { outcome: None, cancelled: false, taken: false, callbacks: Vec::new() }),
        done: Condvar::new(),
        task: std::sync::OnceLock::new(),
    });
    let cf = ConcurrentFuture { inner, handle: handle.clone() };
    // Completes `cf` with the task's outcome; if the task's future is dropped
    // unfinished, a waiting `result()` is still released: with a
    // runtime-closed error at shutdown, else with a cancellation (the task
    // was cancelled before its first step, or aborted).
    struct Complete<T>(Option<ConcurrentFuture<T>>);
    impl<T> Drop for Complete<T> {
        fn drop(&mut self) {
            if let Some(cf) = self.0.take() {
                let error = if cf.handle.shared().is_shutdown() {
                    Error::runtime_closed("the runtime shut down before the coroutine finished")
                } else {
                    Error::cancelled(None::<String>)
                };
                cf.complete(Err(error));
            }
        }
    }
    let mut complete = Complete(Some(cf.clone()));
    let task = handle.spawn_spec(crate::runtime::spawn::Spec::lazy(), async move {
        let out = future.await;
        // The task ends as the coroutine did (cancelled, failed or ok);
        // the error is reported through this future, so it is retrieved.
        let error = out.as_ref().err().cloned();
        if let Some(cf) = complete.0.take() {
            cf.complete(out);
        }
        match error {
            Some(e) => {
                if let Some(me) = crate::current_task() {
                    me.mark_retrieved();
                }
                Err(e)
            }
            None => Ok(()),
        }
    });
    let _ = cf.inner.task.set(task.as_task_ref().clone());
    Ok(cf)
}

impl<T> ConcurrentFuture<T> {
    fn complete(&self, out: Result<T>) {
        let mut state = self.inner.state.lock();
        if state.outcome.is_some() || state.cancelled {
            return; // cancelled from outside first: the outcome is dropped
        }
        if out.as_ref().is_err_and(Error::is_cancelled) {
            state.cancelled = true;
        }
        state.outcome = Some(out);
        self.finish(state);
    }

    fn finish(&self, mut state: parking_lot::MutexGuard<'_, State<T>>) {
        let callbacks = std::mem::take(&mut state.callbacks);
        drop(state);
        self.inner.done.notify_all();
        for (_, callback) in callbacks {
            callback(self);
        }
    }

    /// Blocks this thread until the coroutine finishes and takes its outcome
    /// (`concurrent.futures.Future.result(timeout)`).
    ///
    /// Errors: a timeout error if `timeout` passes first (the coroutine goes
    /// on running); a cancellation error if it was cancelled; a
    /// runtime-closed error if the runtime shut down first; an
    /// invalid-state error if the outcome was already taken, or if called
    /// from a thread of the runtime (it would deadlock).
    pub fn result(&self, timeout: Option<Duration>) -> Result<T> {
        if self.handle.is_entered() {
            return Err(Error::invalid_state(
                "ConcurrentFuture::result() called from inside its runtime: it would deadlock",
            ));
        }
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut state = self.inner.state.lock();
        while !state.done() {
            match (timeout, deadline) {
                (Some(_), Some(deadline)) => {
                    if self.inner.done.wait_until(&mut state, deadline).timed_out() && !state.done() {
                        return Err(Error::timeout());
                    }
                }
                _ => self.inner.done.wait(&mut state),
            }
        }
        if state.cancelled && !matches!(&state.outcome, Some(Err(e)) if e.is_cancelled()) {
            return Err(Error::cancelled(None::<String>));
        }
        if state.taken {
            return Err(Error::invalid_state("the result was already taken"));
        }
        state.taken = true;
        state.outcome.take().expect("outcome present")
    }

    /// True once finished or cancelled.
    pub fn done(&self) -> bool {
        let state = self.inner.state.lock();
        state.done()
    }

    /// True if cancelled (from this side, or the task ended cancelled).
    pub fn cancelled(&self) -> bool {
        self.inner.state.lock().cancelled
    }

    /// Cancels: marks this future cancelled at once (waiters are released
    /// with a cancellation error) and requests cancellation of the task, from
    /// this thread, through its cancel counter. False if already finished.
    pub fn cancel(&self) -> bool {
        let mut state = self.inner.state.lock();
        if state.cancelled {
            return true;
        }
        if state.outcome.is_some() || state.taken {
            return false;
        }
        state.cancelled = true;
        self.finish(state);
        if let Some(task) = self.inner.task.get() {
            task.cancel();
        }
        true
    }

    /// Adds a callback run when the future finishes, on the thread that
    /// finishes it (a runtime worker, or the cancelling thread); at once on
    /// this thread if it is already done.
    pub fn add_done_callback(&self, callback: impl FnOnce(&ConcurrentFuture<T>) + Send + 'static) -> CallbackId {
        let id = CallbackId::next();
        let mut state = self.inner.state.lock();
        if state.done() {
            drop(state);
            callback(self);
        } else {
            state.callbacks.push((id, Box::new(callback)));
        }
        id
    }

    /// Removes a callback that has not run; true if it was found.
    pub fn remove_done_callback(&self, id: CallbackId) -> bool {
        let mut state = self.inner.state.lock();
        let before = state.callbacks.len();
        state.callbacks.retain(|(cid, _)| *cid != id);
        state.callbacks.len() != before
    }

    /// The task running the coroutine.
    pub fn task(&self) -> Option<&TaskRef> {
        self.inner.task.get()
    }
}

impl<T> std::fmt::Debug for ConcurrentFuture<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.inner.state.lock();
        let s = if state.cancelled {
            "cancelled"
        } else if state.outcome.is_some() || state.taken {
            "finished"
        } else {
            "pending"
        };
        write!(f, "<ConcurrentFuture {s}>")
    }
}
