//! [`Task`] and [`TaskRef`]: the handles users hold.

use super::leaf::{self, Awaited, ForwardingLeaf, Leaf};
use super::raw::RawTask;
use super::state::{CANCELLED, COMPLETE, FAILED, OUTPUT_TAKEN, WAITER};
use super::waiter::Waiter;
use super::{cancel, current};
use super::{CallbackId, TaskId};
use crate::error::{Error, Result};
use std::fmt;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// A type-erased handle to a task: everything a [`Task`] offers except its
/// output. Returned by [`current_task`](crate::current_task) and
/// [`all_tasks`](crate::all_tasks), and what a [`Task`] derefs to.
///
/// Cloning is cheap (a reference count). Equality and hashing are by task
/// identity, so `TaskRef`s can go in sets, as asyncio's tasks do.
#[derive(Clone)]
pub struct TaskRef {
    raw: RawTask,
}

impl TaskRef {
    pub(crate) fn from_raw(raw: RawTask) -> TaskRef {
        TaskRef { raw }
    }

    pub(crate) fn raw(&self) -> &RawTask {
        &self.raw
    }

    /// The task's unique id.
    pub fn id(&self) -> TaskId {
        self.raw.header().id
    }

    /// The task's name (asyncio `get_name()`); `Task-<id>` unless one was given.
    pub fn name(&self) -> String {
        let slot = self.raw.header().slot.lock();
        match slot.extra_ref().and_then(|e| e.name.as_deref()) {
            Some(name) => name.to_string(),
            None => format!("Task-{}", self.id()),
        }
    }

    /// Renames the task (asyncio `set_name()`).
    pub fn set_name(&self, name: impl Into<String>) {
        let name: String = name.into();
        self.raw.header().slot.lock().extra().name = Some(Arc::from(name));
    }

    /// True once the task has ended: returned, failed, or was cancelled.
    pub fn done(&self) -> bool {
        self.raw.header().state.load().has(COMPLETE)
    }

    /// True if the task ended cancelled (its future returned a cancellation
    /// error, it was cancelled before it started, or it was aborted).
    pub fn cancelled(&self) -> bool {
        self.raw.header().state.load().has(CANCELLED)
    }

    /// Requests cancellation (asyncio `cancel()`), from any thread.
    ///
    /// Returns false, leaving the counter unchanged, if the task is done.
    /// Otherwise increments [`cancelling`](Self::cancelling), and delivers
    /// one cancellation to the task at its next Ravel await (or forwards it
    /// to the task or promise it is awaiting), and returns true. The task may
    /// catch the error, clean up with further awaits, and re-raise it.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// ravel::run(async {
    ///     let started = ravel::Promise::new();
    ///     let s = started.clone();
    ///     let task = ravel::spawn(async move {
    ///         s.set_result(())?;
    ///         ravel::sleep(Duration::from_secs(3600)).await?;
    ///         Ok(())
    ///     });
    ///     started.await?;
    ///     assert!(task.cancel());
    ///     assert!(task.cancel(), "repeats count too");
    ///     assert_eq!(task.cancelling(), 2);
    ///     let tr = task.as_task_ref().clone();
    ///     assert!(task.await.unwrap_err().is_cancelled());
    ///     assert!(!tr.cancel(), "a done task cannot be cancelled");
    ///     assert_eq!(tr.cancelling(), 2);
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn cancel(&self) -> bool {
        cancel::cancel(&self.raw, None)
    }

    /// `cancel()` with an optional message (combinators pass theirs on).
    pub(crate) fn cancel_opt(&self, message: Option<String>) -> bool {
        cancel::cancel(&self.raw, message)
    }

    /// [`cancel`](Self::cancel) with a message, carried by the error the task
    /// sees ([`Error::cancel_message`]).
    pub fn cancel_with(&self, message: impl Into<String>) -> bool {
        cancel::cancel(&self.raw, Some(message.into()))
    }

    /// The number of pending cancellation requests (asyncio `cancelling()`):
    /// incremented by each `cancel()`, decremented only by `uncancel()`.
    pub fn cancelling(&self) -> u32 {
        self.raw.header().cancel.count()
    }

    /// Decrements the cancel counter if above zero and returns the new value
    /// (asyncio `uncancel()`). Reaching zero also withdraws a cancellation
    /// that was not yet delivered (Python 3.13 rule). Works on done tasks.
    ///
    /// ```
    /// ravel::run(async {
    ///     let me = ravel::current_task().unwrap();
    ///     me.cancel(); // not yet delivered...
    ///     assert_eq!(me.uncancel(), 0); // ...and withdrawn
    ///     ravel::yield_now().await?; // no cancellation arrives
    ///     assert_eq!(me.uncancel(), 0, "stays at zero");
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn uncancel(&self) -> u32 {
        cancel::uncancel(self.raw.header())
    }

    /// Stops the task the Rust way: its future is dropped at its next
    /// scheduling point, with no chance to run async cleanup, and the task
    /// ends cancelled with an error for which
    /// [`is_aborted`](Error::is_aborted) is true. No effect on a done task.
    ///
    /// ```
    /// ravel::run(async {
    ///     // A task that ignores cancellation still stops when aborted.
    ///     let task = ravel::spawn(async {
    ///         loop {
    ///             let _ = ravel::yield_now().await; // swallows cancellations
    ///         }
    ///         #[allow(unreachable_code)]
    ///         Ok(())
    ///     });
    ///     task.abort();
    ///     let err = task.await.unwrap_err();
    ///     assert!(err.is_aborted() && err.is_cancelled());
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn abort(&self) {
        self.raw.abort();
    }

    /// The error the task ended with (asyncio `exception()`): `Ok(None)` if it
    /// returned a value, `Ok(Some(e))` if it failed, `Err(cancellation)` if
    /// it was cancelled, and an invalid-state error if it is not done.
    /// Looking marks the error as retrieved, so it is not reported as
    /// "never retrieved".
    ///
    /// ```
    /// ravel::run(async {
    ///     let task = ravel::spawn(async { Err::<(), _>(ravel::Error::msg("boom")) });
    ///     let tr = task.as_task_ref().clone();
    ///     tr.wait_done().await?;
    ///     assert_eq!(tr.exception()?.unwrap().to_string(), "boom");
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn exception(&self) -> Result<Option<Error>> {
        let snapshot = self.raw.header().state.load();
        if !snapshot.has(COMPLETE) {
            return Err(Error::invalid_state("Exception is not set."));
        }
        let mut slot = self.raw.header().slot.lock();
        let extra = slot.extra();
        extra.retrieved = true;
        match &extra.error {
            Some(e) if e.is_cancelled() => Err(e.clone()),
            Some(e) => Ok(Some(e.clone())),
            // A plain cancellation is not stored (see `complete`).
            None if snapshot.has(CANCELLED) => Err(Error::cancelled(None::<String>)),
            None => Ok(None),
        }
    }

    /// Adds a callback run once the task is done (asyncio
    /// `add_done_callback`). Like asyncio, callbacks are never run inline:
    /// they are scheduled on the runtime (`call_soon`), also when the task
    /// is already done.
    ///
    /// A callback that panics is reported to the runtime's
    /// [unhandled-error hook](crate::Builder::unhandled_error_hook) as a
    /// panic error with the message "Exception in callback" (asyncio passes
    /// it to the loop's exception handler); the task's outcome, the other
    /// callbacks and the worker are unaffected.
    ///
    /// ```
    /// ravel::run(async {
    ///     let (tx, rx) = std::sync::mpsc::channel();
    ///     let task = ravel::spawn(async { Ok(1) });
    ///     let id = task.add_done_callback(move |t| tx.send(t.cancelled()).unwrap());
    ///     task.await?;
    ///     ravel::yield_now().await?; // callbacks run soon, not inline
    ///     assert_eq!(rx.recv().unwrap(), false);
    ///     let _ = id; // see remove_done_callback
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn add_done_callback(&self, callback: impl FnOnce(&TaskRef) + Send + 'static) -> CallbackId {
        let id = CallbackId::next();
        let header = self.raw.header();
        let mut slot = header.slot.lock();
        if header.state.load().has(COMPLETE) {
            drop(slot);
            let task = self.clone();
            header.scheduler().call_soon(Box::new(move || {
                super::schedule::run_callback(task.raw().header().scheduler(), || callback(&task))
            }));
        } else {
            slot.extra().callbacks.push((id, Box::new(callback)));
        }
        id
    }

    /// Removes a callback that has not run yet; true if it was found.
    pub fn remove_done_callback(&self, id: CallbackId) -> bool {
        let mut slot = self.raw.header().slot.lock();
        let callbacks = &mut slot.extra().callbacks;
        let before = callbacks.len();
        callbacks.retain(|(cid, _)| *cid != id);
        callbacks.len() != before
    }

    /// The error was handled elsewhere (a task group): never report it as
    /// unretrieved.
    pub(crate) fn mark_retrieved(&self) {
        self.raw.header().slot.lock().extra().retrieved = true;
    }

    /// True if the task ended with an error that is not a cancellation.
    pub(crate) fn failed(&self) -> bool {
        self.raw.header().state.load().has(FAILED)
    }

    /// Registers `waker` to be woken once the task is done, without
    /// forwarding cancellation and without taking the output. Returns
    /// false, registering nothing, if the task is already done.
    pub(crate) fn register_done_waker(&self, waker: &Waker) -> bool {
        let header = self.raw.header();
        if header.state.load().has(COMPLETE) {
            return false;
        }
        let mut slot = header.slot.lock();
        if header.state.load().has(COMPLETE) {
            return false;
        }
        let wakers = &mut slot.extra().done_wakers;
        if !wakers.iter().any(|w| w.will_wake(waker)) {
            wakers.push(waker.clone());
        }
        true
    }

    /// A future that resolves once the task is done, without taking its
    /// output. It is a cancellation delivery point for the task awaiting it,
    /// and (unlike awaiting a [`Task`]) does not forward cancellation.
    ///
    /// ```
    /// ravel::run(async {
    ///     let task = ravel::spawn(async { Ok("kept") });
    ///     task.as_task_ref().wait_done().await?;
    ///     assert_eq!(task.result()?, "kept", "the output is still there");
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn wait_done(&self) -> WaitDone {
        WaitDone { task: self.clone(), leaf: Leaf::new() }
    }

    /// A snapshot of the task for introspection: name, id, state, spawn
    /// location, cancel counter, what it is suspended on and the scopes
    /// it is in. See [`call_graph`](crate::call_graph).
    ///
    /// ```
    /// use ravel::call_graph::{SuspendedOn, TaskState};
    /// use std::time::Duration;
    ///
    /// ravel::run(async {
    ///     let t = ravel::spawn(ravel::sleep(Duration::from_secs(3600)));
    ///     while t.info().state != TaskState::Suspended {
    ///         ravel::yield_now().await?;
    ///     }
    ///     let info = t.info();
    ///     assert_eq!(info.state, TaskState::Suspended);
    ///     assert!(matches!(info.suspended_on, SuspendedOn::Sleep(_)));
    ///     assert_eq!(info.location.line(), line!() - 7, "spawned above");
    ///     t.cancel();
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn info(&self) -> super::introspect::TaskInfo {
        super::introspect::TaskInfo::of(self)
    }

    /// Where the task was spawned (every spawn function is
    /// `#[track_caller]`).
    ///
    /// ```
    /// ravel::run(async {
    ///     let t = ravel::spawn(async { Ok(()) });
    ///     assert_eq!(t.spawn_location().line(), line!() - 1);
    ///     t.await
    /// })
    /// .unwrap();
    /// ```
    pub fn spawn_location(&self) -> &'static std::panic::Location<'static> {
        self.raw.header().location
    }

    fn state_name(&self) -> &'static str {
        let s = self.raw.header().state.load();
        if !s.has(COMPLETE) {
            if self.cancelling() > 0 {
                "cancelling"
            } else {
                "pending"
            }
        } else if s.has(CANCELLED) {
            "cancelled"
        } else if s.has(FAILED) {
            "failed"
        } else {
            "done"
        }
    }
}

impl Awaited for TaskRef {
    fn is_done(&self) -> bool {
        self.done()
    }

    fn forward_cancel(&self, message: Option<String>) -> bool {
        cancel::cancel(&self.raw, message)
    }

    fn as_waiter(&self) -> Waiter {
        Waiter::Task(self.clone())
    }

    fn ended_cancelled(&self) -> bool {
        self.cancelled()
    }

    fn spends_budget_when_done(&self) -> bool {
        false
    }
}

impl PartialEq for TaskRef {
    fn eq(&self, other: &Self) -> bool {
        self.raw.ptr() == other.raw.ptr()
    }
}

impl Eq for TaskRef {}

impl Hash for TaskRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id().hash(state);
    }
}

impl fmt::Debug for TaskRef {
    /// Like asyncio's repr: `<Task cancelling name='worker' id=7 cancelling=2>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Task {} name='{}' id={}", self.state_name(), self.name(), self.id())?;
        let n = self.cancelling();
        if n > 0 {
            write!(f, " cancelling={n}")?;
        }
        f.write_str(">")
    }
}

/// The future returned by [`TaskRef::wait_done`].
#[must_use = "futures do nothing unless polled"]
pub struct WaitDone {
    task: TaskRef,
    leaf: Leaf,
}

impl Future for WaitDone {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = &mut *self;
        let task = &this.task;
        let waited = this.leaf.poll(cx, |cx| {
            if task.done() {
                return Poll::Ready(Ok(()));
            }
            if current::task_ptr() == Some(task.raw.ptr().cast()) {
                // It would wait for ever: the task cannot end while it waits.
                return Poll::Ready(Err(Error::invalid_state("Task cannot await on itself")));
            }
            if task.register_done_waker(cx.waker()) {
                Poll::Pending
            } else {
                Poll::Ready(Ok(()))
            }
        });
        waited.map(|out| out.and_then(|inner| inner))
    }
}

/// Tasks awaiting tasks that [`Task::poll`] follows to find a waiter cycle
/// through the current task.
const MAX_AWAIT_CHAIN: usize = 1024;

/// A handle to a spawned task (asyncio `Task`), and the future of its
/// outcome.
///
/// Awaiting a `Task` gives the task's `Result`: its value, its error, or a
/// cancellation error if it ended cancelled. If the task awaiting it is
/// cancelled meanwhile, the cancellation is forwarded to this task and the
/// awaiter keeps waiting for its outcome, as asyncio does.
///
/// A `Task` derefs to [`TaskRef`], which has the cancellation API
/// (`cancel`, `cancelling`, `uncancel`, ...).
///
/// Dropping a `Task` detaches it: the runtime owns every task until it ends,
/// so unlike asyncio a task can never be garbage-collected mid-flight. A
/// detached task that fails is reported as "Task exception was never
/// retrieved" through the runtime's unhandled-error hook.
///
/// ```
/// let out = ravel::run(async {
///     let task = ravel::spawn(async { Ok(6 * 7) });
///     assert!(!task.cancelled());
///     task.await
/// });
/// assert_eq!(out.unwrap(), 42);
/// ```
pub struct Task<T> {
    inner: TaskRef,
    leaf: ForwardingLeaf,
    _output: PhantomData<fn() -> T>,
}

impl<T> Task<T> {
    pub(crate) fn from_raw(raw: RawTask) -> Task<T> {
        Task { inner: TaskRef::from_raw(raw), leaf: ForwardingLeaf::new(), _output: PhantomData }
    }

    /// The type-erased handle, borrowed.
    pub fn as_task_ref(&self) -> &TaskRef {
        &self.inner
    }

    /// An owned type-erased handle to this task (a reference count), to
    /// keep while the `Task` itself moves elsewhere (into a gather, another
    /// task, a collection); `TaskRef::from(&task)` is the same.
    ///
    /// ```
    /// ravel::run(async {
    ///     let task = ravel::spawn(async { Ok(1) });
    ///     let watch = task.to_task_ref();
    ///     let joiner = ravel::spawn(async move { task.await }); // the Task moves
    ///     assert_eq!(joiner.await?, 1);
    ///     assert!(watch.done());
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn to_task_ref(&self) -> TaskRef {
        self.inner.clone()
    }

    /// Gives up the output and keeps only the type-erased handle: the task
    /// is detached, as when a `Task` is dropped (a failure nobody retrieves
    /// is reported as never retrieved), but can still be watched and
    /// cancelled.
    ///
    /// ```
    /// ravel::run(async {
    ///     let task = ravel::spawn(async { Ok(1) }).into_task_ref();
    ///     task.wait_done().await?;
    ///     assert!(task.done() && !task.cancelled());
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn into_task_ref(self) -> TaskRef {
        self.inner.clone()
    }

    /// Takes the outcome of a finished task without awaiting (asyncio
    /// `result()`). While the task is running this is an invalid-state
    /// error; the outcome can be taken once (by this or by `.await`), later
    /// calls return an invalid-state error.
    pub fn result(&self) -> Result<T> {
        let header = self.inner.raw.header();
        if !header.state.load().has(COMPLETE) {
            return Err(Error::invalid_state("Result is not set."));
        }
        if !header.state.claim_output() {
            return Err(Error::invalid_state("the task's result was already taken"));
        }
        self.inner.raw.take_output::<T>()
    }

    /// asyncio "Task cannot await on itself": `Some(error)` if the current
    /// task is this task, or if this task awaits (through the tasks it
    /// awaits) the current task, so that waiting would never end and
    /// forwarding a cancellation would go round the cycle. The error is the
    /// current task's pending cancellation if it has one (asyncio's step
    /// replaces the `RuntimeError` with it), else an invalid-state error.
    fn awaits_itself(&self) -> Option<Error> {
        let me = current::task_ptr()?;
        let mut hops = 0;
        if self.inner.raw.ptr().cast() != me {
            let mut next = None;
            loop {
                let task = next.as_ref().unwrap_or(&self.inner);
                if !task.raw.header().state.load().has(WAITER) {
                    return None;
                }
                let waiter = task.raw.header().slot.lock().waiter.clone();
                let Some(Waiter::Task(awaited)) = waiter else { return None };
                hops += 1;
                if awaited.raw.ptr().cast() == me {
                    break;
                }
                if awaited.raw.ptr() == self.inner.raw.ptr() || hops > MAX_AWAIT_CHAIN {
                    // A cycle we are not part of (`cancel()` does not go
                    // round it either), or a chain too long to follow.
                    return None;
                }
                next = Some(awaited);
            }
        }
        if let Some(err) = leaf::deliver() {
            return Some(err);
        }
        Some(Error::invalid_state(match hops {
            0 => "Task cannot await on itself".to_string(),
            n => format!("Task cannot await on itself: the awaited task awaits it (a cycle of {} tasks)", n + 1),
        }))
    }
}

impl<T> From<&Task<T>> for TaskRef {
    fn from(task: &Task<T>) -> TaskRef {
        task.to_task_ref()
    }
}

impl<T> From<Task<T>> for TaskRef {
    fn from(task: Task<T>) -> TaskRef {
        task.into_task_ref()
    }
}

impl<T> Deref for Task<T> {
    type Target = TaskRef;

    fn deref(&self) -> &TaskRef {
        &self.inner
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl<T> Future for Task<T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = &mut *self;
        let header = this.inner.raw.header();
        if header.state.load().has(OUTPUT_TAKEN) {
            this.leaf = ForwardingLeaf::new(); // clears a recorded waiter
            return Poll::Ready(Err(Error::invalid_state("the task's result was already taken")));
        }
        if !header.state.load().has(COMPLETE) {
            if let Some(err) = this.awaits_itself() {
                this.leaf = ForwardingLeaf::new();
                return Poll::Ready(Err(err));
            }
        }
        let joined = this.leaf.poll(cx, &this.inner, |cx| {
            // A finished task needs no lock (the common case of a join).
            if header.state.load().has(COMPLETE) {
                return Poll::Ready(());
            }
            let mut slot = header.slot.lock();
            if header.state.load().has(COMPLETE) {
                return Poll::Ready(());
            }
            match &slot.join_waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => slot.join_waker = Some(cx.waker().clone()),
            }
            Poll::Pending
        });
        match joined {
            Poll::Ready(Ok(())) => Poll::Ready(this.result()),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                // Checked again now that we are recorded, so that of two
                // tasks starting to await each other at once the later one
                // normally sees the cycle. Should both miss it, `cancel()`
                // still stops at the cycle, and the task it delivers to finds
                // it on resuming.
                if let Some(err) = this.awaits_itself() {
                    this.leaf = ForwardingLeaf::new();
                    return Poll::Ready(Err(err));
                }
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.inner.raw.header().state.unset_join_interest();
    }
}
