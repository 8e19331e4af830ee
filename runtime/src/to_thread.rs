//! [`to_thread`]: run a blocking closure on the blocking pool (asyncio
//! `to_thread`).

use crate::context::Context;
use crate::error::{Error, Result};
use crate::runtime::Handle;
use crate::task::note::Noted;
use crate::task::Leaf;
use parking_lot::Mutex;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering::AcqRel, Ordering::Acquire};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Waker};

struct Slot<T> {
    state: Mutex<(Option<Result<T>>, Option<Waker>)>,
    /// `PENDING` → `RUNNING` when a pool thread takes the job, or
    /// `PENDING` → `ABANDONED` when the awaiter is cancelled or dropped
    /// first: an abandoned job is skipped (asyncio cancels the executor's
    /// future, and a work item cancelled before it starts never runs).
    phase: AtomicU8,
}

const PENDING: u8 = 0;
const RUNNING: u8 = 1;
const ABANDONED: u8 = 2;

impl<T> Slot<T> {
    fn set(&self, out: Result<T>) {
        let mut state = self.state.lock();
        if state.0.is_none() {
            state.0 = Some(out);
            if let Some(waker) = state.1.take() {
                drop(state);
                crate::catch_wake::wake(waker);
            }
        }
    }
}

/// Delivers the closure's result; if the job is dropped unrun (runtime
/// shutdown), delivers a runtime-closed error instead, so no awaiter hangs.
struct Deliver<T>(Arc<Slot<T>>);

impl<T> Drop for Deliver<T> {
    fn drop(&mut self) {
        self.0.set(Err(Error::runtime_closed("the runtime shut down before the blocking call ran")));
    }
}

/// Runs `f` on the runtime's blocking pool and awaits its result (asyncio
/// `to_thread`).
///
/// * `f` runs in a copy of the caller's context: it sees the caller's
///   [`ContextVar`](crate::ContextVar) values, and what it sets is not seen
///   by the caller.
/// * `f` returns a [`Result`]; its error is this call's error. A panic in
///   `f` becomes a panic error ([`Error::is_panic`]); the pool thread
///   survives.
/// * The pool is bounded (default `min(32, cores + 4)`, see
///   [`Builder::max_blocking_threads`](crate::Builder::max_blocking_threads));
///   calls beyond the bound wait in a FIFO queue.
/// * Cancelling the awaiting task delivers the cancellation at once. A
///   closure that has started runs to completion on its thread and its
///   result is dropped (as in asyncio and Tokio: a thread cannot be
///   interrupted); one still queued is skipped, as asyncio skips a work
///   item whose future was cancelled.
///
/// ```
/// ravel::run(async {
///     let sum = ravel::to_thread(|| Ok([40, 2].iter().sum::<i32>())).await?;
///     assert_eq!(sum, 42);
///     Ok(())
/// })
/// .unwrap();
/// ```
pub fn to_thread<F, T>(f: F) -> ToThread<F, T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    ToThread { f: Some(f), slot: None, leaf: Leaf::new() }
}

/// The future returned by [`to_thread`].
#[must_use = "futures do nothing unless polled"]
pub struct ToThread<F, T> {
    f: Option<F>,
    slot: Option<Arc<Slot<T>>>,
    leaf: Leaf,
}

impl<F, T> Unpin for ToThread<F, T> {}

impl<F, T> Future for ToThread<F, T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Result<T>> {
        let this = &mut *self;
        let mut leaf = std::mem::take(&mut this.leaf);
        let poll = leaf.poll_noted(cx, Noted::ToThread, |cx| this.poll_job(cx));
        this.leaf = leaf;
        match poll {
            Poll::Ready(Ok(out)) => Poll::Ready(out),
            Poll::Ready(Err(cancelled)) => {
                // The closure runs on (if it started) and its result is
                // dropped with the slot; a queued one is skipped.
                this.abandon();
                Poll::Ready(Err(cancelled))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F, T> ToThread<F, T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    /// Submits the job on the first call; ready with its outcome once it ran.
    fn poll_job(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<T>> {
        let this = self;
        if let Some(f) = this.f.take() {
            let handle = match Handle::try_current() {
                Ok(handle) => handle,
                Err(e) => return Poll::Ready(Err(e)),
            };
            let slot = Arc::new(Slot { state: Mutex::new((None, None)), phase: AtomicU8::new(PENDING) });
            let deliver = Deliver(slot.clone());
            let mut ctx = Context::current();
            let job = Box::new(move || {
                if deliver.0.phase.compare_exchange(PENDING, RUNNING, AcqRel, Acquire).is_err() {
                    return; // abandoned before it started
                }
                let out = match catch_unwind(AssertUnwindSafe(|| ctx.run(f))) {
                    Ok(out) => out,
                    Err(payload) => Err(Error::panic(payload)),
                };
                deliver.0.set(out);
            });
            if handle.shared().blocking.submit(job).is_err() {
                return Poll::Ready(Err(Error::runtime_closed("the runtime is shut down")));
            }
            this.slot = Some(slot);
        }
        let Some(slot) = this.slot.as_ref() else {
            return Poll::Ready(Err(Error::invalid_state("ToThread polled after completion")));
        };
        let mut state = slot.state.lock();
        if let Some(out) = state.0.take() {
            drop(state);
            this.slot = None;
            return Poll::Ready(out);
        }
        match &state.1 {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => state.1 = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<F, T> ToThread<F, T> {
    /// The awaiter is gone: a job that has not started is skipped.
    fn abandon(&mut self) {
        if let Some(slot) = self.slot.take() {
            let _ = slot.phase.compare_exchange(PENDING, ABANDONED, AcqRel, Acquire);
        }
    }
}

impl<F, T> Drop for ToThread<F, T> {
    fn drop(&mut self) {
        self.abandon();
    }
}

impl<F, T> std::fmt::Debug for ToThread<F, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToThread").field("submitted", &self.slot.is_some()).finish()
    }
}
