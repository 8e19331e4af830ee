//! [`gather`] and [`gather_tuple`]: asyncio `gather()`.
//!
//! The shared state mirrors CPython's `_GatheringFuture` (semantics §1.11):
//! a done callback on every child records completions in completion order,
//! so the gather's outcome is decided as children finish, whether or not it
//! is being awaited; awaiting it is a Ravel leaf that reads that outcome.
//!
//! asyncio deduplicates arguments by identity (one child for a coroutine
//! passed twice, case F02). That cannot arise here: every future is moved
//! into `gather`, so each argument is a distinct future and gets its own
//! task.

use crate::error::{Error, Result};
use crate::task::leaf::ForwardingLeaf;
use crate::task::waiter::CancelTarget;
use crate::task::{Task, TaskRef};
use parking_lot::Mutex;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// The gathering future's outcome, once decided.
#[derive(Clone)]
enum Outcome {
    /// Every child is done, and the gather was not cancelled.
    AllDone,
    /// Without `return_exceptions`: the first child that failed or was
    /// cancelled, with its error.
    FirstError(Error),
    /// The gather was cancelled and every child is done.
    Cancelled(Error),
}

struct State {
    outcome: Option<Outcome>,
    finished: usize,
    return_exceptions: bool,
    /// asyncio `_cancel_requested`, with the message of the last accepted
    /// `cancel(msg)`.
    cancel_requested: Option<Option<String>>,
    waker: Option<Waker>,
}

struct Shared {
    children: Vec<TaskRef>,
    state: Mutex<State>,
}

impl Shared {
    fn new(children: Vec<TaskRef>) -> Arc<Shared> {
        let outcome = if children.is_empty() { Some(Outcome::AllDone) } else { None };
        let shared = Arc::new(Shared {
            children,
            state: Mutex::new(State {
                outcome,
                finished: 0,
                return_exceptions: false,
                cancel_requested: None,
                waker: None,
            }),
        });
        // Children already done (e.g. eager ones) are handled now, in
        // argument order, so the gather can be done on return (asyncio runs
        // their callbacks synchronously); the others when they finish.
        for (i, child) in shared.children.iter().enumerate() {
            if child.done() {
                shared.child_done(i);
            } else {
                // A strong reference: after the gather is dropped, later
                // failures are still marked retrieved, as in asyncio.
                let shared2 = shared.clone();
                child.add_done_callback(move |_| shared2.child_done(i));
            }
        }
        shared
    }

    /// asyncio `_done_callback(fut)`.
    fn child_done(&self, i: usize) {
        let child = &self.children[i];
        // `exception()` also marks a failure retrieved, as asyncio does for
        // every child of a gather (the gather reports it, or ignores it).
        let status = child.exception();
        let mut state = self.state.lock();
        state.finished += 1;
        if state.outcome.is_some() {
            return;
        }
        if !state.return_exceptions {
            let error = match status {
                Err(cancelled) => Some(cancelled),
                Ok(failed) => failed,
            };
            if let Some(error) = error {
                self.decide(&mut state, Outcome::FirstError(error));
                return;
            }
        }
        if state.finished == self.children.len() {
            let outcome = self.all_done_outcome(&state);
            self.decide(&mut state, outcome);
        }
    }

    fn all_done_outcome(&self, state: &State) -> Outcome {
        match &state.cancel_requested {
            None => Outcome::AllDone,
            // asyncio: `_make_cancelled_error()` of the last child; one that
            // did not end cancelled gives the gather's own message.
            Some(message) => match self.children.last().map(TaskRef::exception) {
                Some(Err(cancelled)) => Outcome::Cancelled(cancelled),
                _ => Outcome::Cancelled(Error::cancelled(message.clone())),
            },
        }
    }

    fn decide(&self, state: &mut State, outcome: Outcome) {
        state.outcome = Some(outcome);
        if let Some(waker) = state.waker.take() {
            crate::catch_wake::wake(waker);
        }
    }

    fn set_return_exceptions(&self) {
        let mut state = self.state.lock();
        state.return_exceptions = true;
        // A child's failure may already have been recorded (its callback can
        // run on another worker): with `return_exceptions` only the end of
        // every child decides. No one could observe the gather meanwhile.
        if let Some(Outcome::FirstError(_)) = state.outcome {
            state.outcome = None;
            if state.finished == self.children.len() {
                let outcome = self.all_done_outcome(&state);
                state.outcome = Some(outcome);
            }
        }
    }

    fn done(&self) -> bool {
        self.state.lock().outcome.is_some()
    }

    /// asyncio `_GatheringFuture.cancel(msg)`.
    fn cancel(&self, message: Option<String>) -> bool {
        if self.done() {
            return false;
        }
        let mut any = false;
        for child in &self.children {
            if child.cancel_opt(message.clone()) {
                any = true;
            }
        }
        if any {
            let mut state = self.state.lock();
            state.cancel_requested = Some(message);
            if state.outcome.is_none() && state.finished == self.children.len() {
                let outcome = self.all_done_outcome(&state);
                self.decide(&mut state, outcome);
            }
        }
        any
    }
}

impl CancelTarget for Shared {
    fn cancel_target(self: Arc<Self>, message: Option<String>) -> bool {
        self.cancel(message)
    }

    fn target_done(&self) -> bool {
        self.done()
    }

    fn suspended_on(&self) -> crate::call_graph::SuspendedOn {
        crate::call_graph::SuspendedOn::Gather(self.children.clone())
    }
}

/// The awaiting side, shared by every gather future: a forwarding leaf, so
/// a cancellation of the awaiting task cancels the gather (its children).
struct Core {
    shared: Arc<Shared>,
    leaf: ForwardingLeaf,
    finished: bool,
}

impl Core {
    fn new(children: Vec<TaskRef>) -> Core {
        Core { shared: Shared::new(children), leaf: ForwardingLeaf::new(), finished: false }
    }

    fn poll_outcome(&mut self, cx: &mut Context<'_>) -> Poll<Result<Outcome>> {
        if self.finished {
            return Poll::Ready(Err(Error::invalid_state("gather future polled after completion")));
        }
        let shared = &self.shared;
        let poll = self.leaf.poll(cx, shared, |cx| {
            let mut state = shared.state.lock();
            if let Some(outcome) = &state.outcome {
                return Poll::Ready(outcome.clone());
            }
            match &state.waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => state.waker = Some(cx.waker().clone()),
            }
            Poll::Pending
        });
        if poll.is_ready() {
            self.finished = true;
        }
        poll
    }

    fn cancel(&self, message: Option<String>) -> bool {
        self.shared.cancel(message)
    }
}

macro_rules! gather_handle_methods {
    ($make:literal) => {
        /// Cancels the gather (asyncio `gather(...).cancel()`): false if it
        /// is already done; otherwise cancels every child and returns
        /// whether any accepted. If one did, awaiting the gather waits for
        /// every child and then fails with a cancellation error, even with
        /// `return_exceptions`.
        ///
        /// ```
        /// ravel::run(async {
        ///     let forever = || async {
        ///         ravel::sleep(std::time::Duration::from_secs(60)).await?;
        ///         Ok(0)
        ///     };
        #[doc = concat!("    let g = ", $make, ";")]
        ///     assert!(g.cancel());
        ///     assert!(g.children().iter().all(|c| c.cancelling() == 1));
        ///     assert!(g.await.unwrap_err().is_cancelled());
        ///     Ok(())
        /// })
        /// .unwrap();
        /// ```
        pub fn cancel(&self) -> bool {
            self.core.cancel(None)
        }

        /// [`cancel`](Self::cancel) with a message, passed to every child
        /// and carried by the gather's cancellation error.
        ///
        /// ```
        /// ravel::run(async {
        ///     let forever = || async {
        ///         ravel::sleep(std::time::Duration::from_secs(60)).await?;
        ///         Ok(0)
        ///     };
        #[doc = concat!("    let g = ", $make, ";")]
        ///     assert!(g.cancel_with("stop"));
        ///     assert_eq!(g.await.unwrap_err().cancel_message(), Some("stop"));
        ///     Ok(())
        /// })
        /// .unwrap();
        /// ```
        pub fn cancel_with(&self, message: impl Into<String>) -> bool {
            self.core.cancel(Some(message.into()))
        }

        /// The child tasks, in argument order.
        ///
        /// ```
        /// ravel::run(async {
        ///     let forever = || async {
        ///         ravel::sleep(std::time::Duration::from_secs(60)).await?;
        ///         Ok(0)
        ///     };
        #[doc = concat!("    let g = ", $make, ";")]
        ///     assert_eq!(g.children().len(), 2);
        ///     for child in g.children() {
        ///         assert!(child.cancel());
        ///     }
        ///     let _ = g.await;
        ///     Ok(())
        /// })
        /// .unwrap();
        /// ```
        pub fn children(&self) -> &[TaskRef] {
            &self.core.shared.children
        }

        /// True once the gather's outcome is decided (asyncio `done()`):
        /// every child is done, or (without `return_exceptions`) one failed
        /// or was cancelled.
        ///
        /// ```
        /// ravel::run(async {
        ///     let forever = || async {
        ///         ravel::sleep(std::time::Duration::from_secs(60)).await?;
        ///         Ok(0)
        ///     };
        #[doc = concat!("    let g = ", $make, ";")]
        ///     assert!(!g.done());
        ///     g.cancel();
        ///     Ok(())
        /// })
        /// .unwrap();
        /// ```
        pub fn done(&self) -> bool {
            self.core.shared.done()
        }
    };
}

/// Runs futures concurrently and collects their values in argument order
/// (asyncio `gather(*aws)`).
///
/// Each future is spawned as a task **when `gather` is called** (with
/// [`spawn`](crate::spawn): eager tasks start at once), so `gather` panics
/// outside a runtime like `spawn` does. Awaiting the returned [`Gather`]
/// gives:
///
/// * `Ok(values)` in argument order once every child succeeded (`Ok(vec![])`
///   for no futures);
/// * the error of the **first** child to fail or be cancelled, as soon as it
///   does (a cancelled child gives a cancellation error with its message).
///   The other children are **not** cancelled: they keep running, detached
///   once the `Gather` is dropped;
/// * if the gather was cancelled ([`Gather::cancel`], or the task awaiting it
///   was cancelled, which cancels the gather), every child is cancelled with
///   the message, the gather waits for all of them and then fails with a
///   cancellation error carrying that message.
///
/// See [`Gather::return_exceptions`] to collect every outcome instead.
///
/// ```
/// use std::time::Duration;
///
/// ravel::run(async {
///     let values = ravel::gather((1..=3).map(|i| async move {
///         ravel::sleep(Duration::from_millis(4 - i)).await?;
///         Ok(i * 10)
///     }))
///     .await?;
///     assert_eq!(values, [10, 20, 30]);
///     Ok(())
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn gather<I, F, T>(futures: I) -> Gather<T>
where
    I: IntoIterator<Item = F>,
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    // The closure hides the caller from `#[track_caller]`: pass it on.
    let location = std::panic::Location::caller();
    let builder = crate::task::Builder { location: Some(location), ..crate::task::Builder::new() };
    let tasks: Vec<Task<T>> = futures.into_iter().map(|f| builder.clone().spawn(f)).collect();
    let children = tasks.iter().map(|t| t.as_task_ref().clone()).collect();
    Gather { core: Core::new(children), tasks }
}

/// [`gather`] of tasks that already exist (asyncio `gather(*tasks)`):
/// awaits the given tasks themselves, with no task wrapped around each
/// (`gather(tasks)` would spawn one per task, since a [`Task`] is a
/// future). Same outcomes as [`gather`]; works outside a runtime too,
/// since nothing is spawned.
///
/// ```
/// ravel::run(async {
///     let a = ravel::spawn(async { Ok(1) });
///     let b = ravel::spawn(async { Ok(2) });
///     let ids = [a.id(), b.id()];
///     let g = ravel::gather_tasks([a, b]);
///     assert_eq!(g.children().iter().map(|c| c.id()).collect::<Vec<_>>(), ids, "the tasks themselves");
///     assert_eq!(g.await?, [1, 2]);
///     Ok(())
/// })
/// .unwrap();
/// ```
pub fn gather_tasks<I, T>(tasks: I) -> Gather<T>
where
    I: IntoIterator<Item = Task<T>>,
{
    let tasks: Vec<Task<T>> = tasks.into_iter().collect();
    let children = tasks.iter().map(Task::to_task_ref).collect();
    Gather { core: Core::new(children), tasks }
}

/// The future returned by [`gather`] (asyncio's `_GatheringFuture`).
///
/// ```
/// ravel::run(async {
///     let g: ravel::Gather<u32> = ravel::gather([async { Ok(1) }]);
///     assert_eq!(g.await?, [1]);
///     Ok(())
/// })
/// .unwrap();
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Gather<T> {
    core: Core,
    tasks: Vec<Task<T>>,
}

impl<T> Gather<T> {
    /// Collects every child's outcome instead of failing on the first error
    /// (asyncio `gather(..., return_exceptions=True)`).
    ///
    /// The returned [`GatherAll`] gives `Ok(outcomes)` in argument order once
    /// every child is done, failures and cancellations included as `Err`
    /// values. As in asyncio, a cancelled child's `Err` is a cancellation
    /// with the message `""`, whatever message it was cancelled with (an
    /// aborted child's is its abort error). Cancelling the gather still makes it fail with a cancellation
    /// error once the children are done (asyncio issue 32684).
    ///
    /// ```
    /// ravel::run(async {
    ///     let outcomes = ravel::gather(vec![
    ///         Box::pin(async { Ok(1) }) as std::pin::Pin<Box<dyn std::future::Future<Output = ravel::Result<i32>> + Send>>,
    ///         Box::pin(async { Err(ravel::Error::msg("boom")) }),
    ///     ])
    ///     .return_exceptions()
    ///     .await?;
    ///     assert_eq!(*outcomes[0].as_ref().unwrap(), 1);
    ///     assert!(outcomes[1].is_err());
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn return_exceptions(self) -> GatherAll<T> {
        self.core.shared.set_return_exceptions();
        GatherAll { core: self.core, tasks: self.tasks }
    }

    gather_handle_methods!("ravel::gather([forever(), forever()])");
}

impl<T> Future for Gather<T> {
    type Output = Result<Vec<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        Poll::Ready(match std::task::ready!(this.core.poll_outcome(cx)) {
            Ok(Outcome::AllDone) => this.tasks.iter().map(Task::result).collect(),
            Ok(Outcome::FirstError(e) | Outcome::Cancelled(e)) | Err(e) => Err(e),
        })
    }
}

impl<T> fmt::Debug for Gather<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather").field("children", &self.children()).field("done", &self.done()).finish()
    }
}

/// The future returned by [`Gather::return_exceptions`] (asyncio
/// `gather(..., return_exceptions=True)`).
///
/// ```
/// ravel::run(async {
///     let all = ravel::gather((2..=3).map(|i| async move { Ok(i) })).return_exceptions();
///     assert_eq!(all.children().len(), 2);
///     let outcomes = all.await?;
///     assert_eq!(outcomes.into_iter().map(Result::unwrap).sum::<i32>(), 5);
///     Ok(())
/// })
/// .unwrap();
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct GatherAll<T> {
    core: Core,
    tasks: Vec<Task<T>>,
}

impl<T> GatherAll<T> {
    gather_handle_methods!("ravel::gather([forever(), forever()]).return_exceptions()");
}

impl<T> Future for GatherAll<T> {
    type Output = Result<Vec<Result<T>>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        Poll::Ready(match std::task::ready!(this.core.poll_outcome(cx)) {
            Ok(Outcome::AllDone) => Ok(this.tasks.iter().map(|t| as_returned_exception(t.result())).collect()),
            Ok(Outcome::FirstError(e) | Outcome::Cancelled(e)) | Err(e) => Err(e),
        })
    }
}

/// A child's outcome as `return_exceptions` gives it: asyncio builds a new
/// `CancelledError('' if task._cancel_message is None else ...)` for a
/// cancelled child, and a cancelled task's `_cancel_message` is always None
/// by then, so the message is `""` whatever the child was cancelled with
/// (case F07). An abort (no asyncio counterpart) is kept as it is.
fn as_returned_exception<T>(outcome: Result<T>) -> Result<T> {
    match outcome {
        Err(e) if e.is_cancelled() && !e.is_aborted() => Err(Error::cancelled(Some(""))),
        other => other,
    }
}

impl<T> fmt::Debug for GatherAll<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatherAll").field("children", &self.children()).field("done", &self.done()).finish()
    }
}

mod sealed {
    use crate::error::Result;

    pub trait Sealed {}

    /// The tuple of task handles behind a
    /// [`GatherTupleFuture`](super::GatherTupleFuture).
    pub trait TupleTasks: Unpin {
        /// The tuple of values.
        type Output;
        /// Takes every value (all children succeeded).
        fn take_all(&self) -> Result<Self::Output>;
    }
}

use sealed::TupleTasks;

/// A tuple of 2 to 6 futures of possibly different output types, for
/// [`gather_tuple`]. Implemented for `(F1, ..., Fn)` where each
/// `Fi: Future<Output = ravel::Result<Ti>> + Send + 'static` and
/// `Ti: Send + 'static`.
///
/// ```
/// fn takes<G: ravel::GatherTuple>(_: G) {}
/// takes((async { Ok(1) }, async { Ok("one") }));
/// ```
pub trait GatherTuple: sealed::Sealed {
    /// The tuple of values, `(T1, ..., Tn)`.
    type Output;
    /// The tuple of task handles, `(Task<T1>, ..., Task<Tn>)`.
    #[doc(hidden)]
    type Tasks: TupleTasks<Output = Self::Output>;
    /// Spawns every future, left to right.
    #[doc(hidden)]
    fn spawn_all(self) -> (Self::Tasks, Vec<TaskRef>);
}

macro_rules! gather_tuple_impl {
    ($($F:ident $T:ident $i:tt),+) => {
        impl<$($F, $T),+> sealed::Sealed for ($($F,)+)
        where
            $($F: Future<Output = Result<$T>> + Send + 'static, $T: Send + 'static,)+
        {
        }

        impl<$($F, $T),+> GatherTuple for ($($F,)+)
        where
            $($F: Future<Output = Result<$T>> + Send + 'static, $T: Send + 'static,)+
        {
            type Output = ($($T,)+);
            type Tasks = ($(Task<$T>,)+);

            #[track_caller]
            fn spawn_all(self) -> (Self::Tasks, Vec<TaskRef>) {
                let tasks = ($(crate::spawn(self.$i),)+);
                let refs = vec![$(tasks.$i.as_task_ref().clone()),+];
                (tasks, refs)
            }
        }

        impl<$($T),+> TupleTasks for ($(Task<$T>,)+) {
            type Output = ($($T,)+);

            fn take_all(&self) -> Result<Self::Output> {
                Ok(($(self.$i.result()?,)+))
            }
        }
    };
}

gather_tuple_impl!(F0 T0 0, F1 T1 1);
gather_tuple_impl!(F0 T0 0, F1 T1 1, F2 T2 2);
gather_tuple_impl!(F0 T0 0, F1 T1 1, F2 T2 2, F3 T3 3);
gather_tuple_impl!(F0 T0 0, F1 T1 1, F2 T2 2, F3 T3 3, F4 T4 4);
gather_tuple_impl!(F0 T0 0, F1 T1 1, F2 T2 2, F3 T3 3, F4 T4 4, F5 T5 5);

/// [`gather`] for futures of different output types (asyncio
/// `gather(a, b, ...)` unpacked into a tuple): takes a tuple of 2 to 6
/// futures and gives a tuple of their values.
///
/// The futures are spawned left to right when `gather_tuple` is called; the
/// first failure or cancellation of a child fails it at once (the others
/// keep running), and cancelling it (or the task awaiting it) cancels every
/// child, exactly as for [`gather`].
///
/// ```
/// ravel::run(async {
///     let (n, s) = ravel::gather_tuple((async { Ok(7) }, async { Ok("seven") })).await?;
///     assert_eq!((n, s), (7, "seven"));
///     Ok(())
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn gather_tuple<G: GatherTuple>(futures: G) -> GatherTupleFuture<G::Tasks> {
    let (tasks, children) = futures.spawn_all();
    GatherTupleFuture { core: Core::new(children), tasks }
}

/// The future returned by [`gather_tuple`]; `K` is the tuple of the
/// children's [`Task`] handles.
///
/// ```
/// ravel::run(async {
///     let both = ravel::gather_tuple((async { Ok(1u8) }, async { Ok('x') }));
///     assert_eq!(both.children().len(), 2);
///     assert_eq!(both.await?, (1, 'x'));
///     Ok(())
/// })
/// .unwrap();
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct GatherTupleFuture<K> {
    core: Core,
    tasks: K,
}

impl<K> GatherTupleFuture<K> {
    gather_handle_methods!("ravel::gather_tuple((forever(), forever()))");
}

impl<K: TupleTasks> Future for GatherTupleFuture<K> {
    type Output = Result<K::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        Poll::Ready(match std::task::ready!(this.core.poll_outcome(cx)) {
            Ok(Outcome::AllDone) => this.tasks.take_all(),
            Ok(Outcome::FirstError(e) | Outcome::Cancelled(e)) | Err(e) => Err(e),
        })
    }
}

impl<K> fmt::Debug for GatherTupleFuture<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatherTupleFuture").field("children", &self.children()).field("done", &self.done()).finish()
    }
}
