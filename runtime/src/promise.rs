//! [`Promise`]: asyncio's low-level `Future`, named so it does not clash with
//! `std::future::Future`.

use crate::error::{Error, Result};
use crate::runtime::Handle;
use crate::task::leaf::ForwardingLeaf;
use crate::task::waiter::CancelTarget;
use crate::task::CallbackId;
use parking_lot::Mutex;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

enum Outcome<T> {
    Pending,
    Value(T),
    Failed(Error),
    Cancelled(Option<String>),
}

type Callback<T> = Box<dyn FnOnce(&Promise<T>) + Send>;

struct State<T> {
    outcome: Outcome<T>,
    wakers: Vec<Waker>,
    callbacks: Vec<(CallbackId, Callback<T>)>,
    retrieved: bool,
}

struct Inner<T> {
    state: Mutex<State<T>>,
    /// The runtime done callbacks are scheduled on (`call_soon`).
    handle: Option<Handle>,
}

/// A value that will be set later, from any thread, and awaited by any
/// number of tasks (asyncio `Future`).
///
/// A `Promise` is a handle: clones share the same slot. It can be completed
/// once, with [`set_result`](Self::set_result),
/// [`set_exception`](Self::set_exception) or [`cancel`](Self::cancel);
/// completing it again is an invalid-state error. Awaiting a `Promise`
/// gives its value (cloned, so every awaiter gets one), its error, or a
/// cancellation error. A task that is cancelled while awaiting a promise
/// cancels the promise, as asyncio does.
///
/// ```
/// use ravel::Promise;
///
/// ravel::run(async {
///     let promise = Promise::new();
///     let setter = promise.clone();
///     std::thread::spawn(move || setter.set_result(7).unwrap());
///     assert_eq!(promise.await?, 7);
///     Ok(())
/// })
/// .unwrap();
/// ```
pub struct Promise<T> {
    inner: Arc<Inner<T>>,
    leaf: ForwardingLeaf,
}

impl<T> Clone for Promise<T> {
    fn clone(&self) -> Self {
        Promise::from_inner(self.inner.clone())
    }
}

impl<T: Clone + Send + 'static> Default for Promise<T> {
    fn default() -> Self {
        Promise::new()
    }
}

impl<T: Clone + Send + 'static> Promise<T> {
    /// A pending promise. Its done callbacks run on the runtime this thread
    /// is inside, if any, else on the thread that completes it.
    pub fn new() -> Promise<T> {
        Promise {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    outcome: Outcome::Pending,
                    wakers: Vec::new(),
                    callbacks: Vec::new(),
                    retrieved: false,
                }),
                handle: Handle::try_current().ok(),
            }),
            leaf: ForwardingLeaf::new(),
        }
    }

    fn complete(&self, outcome: Outcome<T>) -> bool {
        let mut state = self.inner.state.lock();
        if !matches!(state.outcome, Outcome::Pending) {
            return false;
        }
        state.outcome = outcome;
        let wakers = std::mem::take(&mut state.wakers);
        let callbacks = std::mem::take(&mut state.callbacks);
        drop(state);
        for waker in wakers {
            crate::catch_wake::wake(waker);
        }
        if !callbacks.is_empty() {
            // One call_soon for all of them, so they run in registration order.
            self.schedule_callback(Box::new(move |p: &Promise<T>| run_callbacks(p, callbacks)));
        }
        true
    }

    /// Runs `callback` soon on the promise's runtime, or at once without
    /// one. The callbacks it runs go through [`run_callbacks`]'s rules:
    /// each runs, whatever the others do.
    fn schedule_callback(&self, callback: Callback<T>) {
        let this = self.clone();
        match &self.inner.handle {
            Some(handle) => handle.shared().call_soon(Box::new(move || callback(&this))),
            None => callback(&this),
        }
    }

    /// Sets the value. An invalid-state error if the promise is done.
    pub fn set_result(&self, value: T) -> Result<()> {
        if self.complete(Outcome::Value(value)) {
            Ok(())
        } else {
            Err(Error::invalid_state(format!("invalid state: {self:?} is already done")))
        }
    }

    /// Sets an error. An invalid-state error if the promise is done.
    pub fn set_exception(&self, error: Error) -> Result<()> {
        if self.complete(Outcome::Failed(error)) {
            Ok(())
        } else {
            Err(Error::invalid_state(format!("invalid state: {self:?} is already done")))
        }
    }

    /// Cancels the promise; false if it was already done.
    pub fn cancel(&self) -> bool {
        self.complete(Outcome::Cancelled(None))
    }

    /// Cancels with a message, seen by awaiters in their cancellation error.
    pub fn cancel_with(&self, message: impl Into<String>) -> bool {
        self.complete(Outcome::Cancelled(Some(message.into())))
    }

    /// True once completed in any way.
    pub fn done(&self) -> bool {
        !matches!(self.inner.state.lock().outcome, Outcome::Pending)
    }

    /// True if cancelled.
    pub fn cancelled(&self) -> bool {
        matches!(self.inner.state.lock().outcome, Outcome::Cancelled(_))
    }

    /// The outcome without awaiting: the value (cloned), the error, a
    /// cancellation error, or an invalid-state error while pending.
    pub fn result(&self) -> Result<T> {
        let mut state = self.inner.state.lock();
        state.retrieved = true;
        match &state.outcome {
            Outcome::Pending => Err(Error::invalid_state("Result is not set.")),
            Outcome::Value(v) => Ok(v.clone()),
            Outcome::Failed(e) => Err(e.clone()),
            Outcome::Cancelled(m) => Err(Error::cancelled(m.clone())),
        }
    }

    /// The error, if it failed (asyncio `exception()`); a cancellation error
    /// if cancelled; an invalid-state error while pending.
    pub fn exception(&self) -> Result<Option<Error>> {
        let mut state = self.inner.state.lock();
        state.retrieved = true;
        match &state.outcome {
            Outcome::Pending => Err(Error::invalid_state("Exception is not set.")),
            Outcome::Value(_) => Ok(None),
            Outcome::Failed(e) => Ok(Some(e.clone())),
            Outcome::Cancelled(m) => Err(Error::cancelled(m.clone())),
        }
    }

    /// Adds a callback run once the promise is done; scheduled with
    /// `call_soon` (never inline), also when it is already done.
    ///
    /// A callback that panics does not stop the others. On a runtime its
    /// panic is reported to the
    /// [unhandled-error hook](crate::Builder::unhandled_error_hook) as
    /// "Exception in callback"; for a promise made outside any runtime
    /// (whose callbacks run on the thread that completes it) the first
    /// panic is resumed there once every callback has run.
    pub fn add_done_callback(&self, callback: impl FnOnce(&Promise<T>) + Send + 'static) -> CallbackId {
        let id = CallbackId::next();
        let mut state = self.inner.state.lock();
        if matches!(state.outcome, Outcome::Pending) {
            state.callbacks.push((id, Box::new(callback)));
        } else {
            drop(state);
            let callback: Callback<T> = Box::new(callback);
            self.schedule_callback(Box::new(move |p: &Promise<T>| run_callbacks(p, vec![(id, callback)])));
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
}

impl<T: Clone + Send + 'static> CancelTarget for Inner<T> {
    fn cancel_target(self: Arc<Self>, message: Option<String>) -> bool {
        Promise::from_inner(self).complete(Outcome::Cancelled(message))
    }

    fn target_done(&self) -> bool {
        !matches!(self.state.lock().outcome, Outcome::Pending)
    }

    fn target_cancelled(&self) -> bool {
        matches!(self.state.lock().outcome, Outcome::Cancelled(_))
    }

    fn suspended_on(&self) -> crate::call_graph::SuspendedOn {
        crate::call_graph::SuspendedOn::Promise
    }
}

impl<T: Clone + Send + 'static> Future for Promise<T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = &mut *self;
        let inner = &this.inner;
        let done = this.leaf.poll(cx, inner, |cx| {
            let mut state = inner.state.lock();
            if !matches!(state.outcome, Outcome::Pending) {
                return Poll::Ready(());
            }
            if !state.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                state.wakers.push(cx.waker().clone());
            }
            Poll::Pending
        });
        done.map(|done| done.and_then(|()| this.result()))
    }
}

impl<T> Drop for Inner<T> {
    /// asyncio "Future exception was never retrieved": a failed promise
    /// whose error nobody looked at (by awaiting, `result()` or
    /// `exception()`) is reported through the runtime's hook when its last
    /// handle goes.
    fn drop(&mut self) {
        let state = self.state.get_mut();
        if let (Outcome::Failed(error), false) = (&state.outcome, state.retrieved) {
            if let Some(handle) = &self.handle {
                let report = crate::runtime::UnhandledError::without_task(
                    "Future exception was never retrieved",
                    "<Promise failed>".to_string(),
                    error.clone(),
                );
                let hook = handle.shared().error_hook.clone();
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(&report)));
            }
        }
    }
}

impl<T> Promise<T> {
    fn from_inner(inner: Arc<Inner<T>>) -> Promise<T> {
        Promise { inner, leaf: ForwardingLeaf::new() }
    }
}

impl<T> fmt::Debug for Promise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.inner.state.lock().outcome {
            Outcome::Pending => "pending",
            Outcome::Value(_) => "finished",
            Outcome::Failed(_) => "failed",
            Outcome::Cancelled(_) => "cancelled",
        };
        write!(f, "<Promise {state}>")
    }
}

/// Runs each of `callbacks` on `p`, in order, catching each one's panic
/// (see [`Promise::add_done_callback`]).
fn run_callbacks<T>(p: &Promise<T>, callbacks: Vec<(CallbackId, Callback<T>)>) {
    let mut first = None;
    for (_, callback) in callbacks {
        if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(p))) {
            match &p.inner.handle {
                Some(handle) => handle.shared().report_unretrieved(
                    crate::task::TaskId::next_callback(),
                    None,
                    Error::panic(payload),
                ),
                None => {
                    first.get_or_insert(payload);
                }
            }
        }
    }
    if let Some(payload) = first {
        std::panic::resume_unwind(payload);
    }
}
