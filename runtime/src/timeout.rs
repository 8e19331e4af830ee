//! Timeout scopes: [`timeout`], [`timeout_at`] and the [`Timeout`] handle
//! (asyncio `timeout`, `timeout_at`, `Timeout`, Python 3.13 rules).
//!
//! States, as CPython's: created → active → expiring → expired, or
//! active → finished. Entering snapshots the task's `cancelling()` count;
//! expiry cancels the task (no message) and moves to expiring; on exit an
//! expiring timeout always `uncancel()`s, and converts the error to a
//! timeout only if the count fell back to the snapshot, so nested timeouts
//! and outside cancellations are never swallowed.
//!
//! The deadline lives in the runtime's timer wheel; its waker, when fired,
//! performs the expiry from whichever thread processes timers. A deadline
//! already past when set expires through `call_soon` (asyncio), so the body
//! runs up to its first suspension first.

use crate::error::{Error, ExceptionGroup, Result};
use crate::runtime::Handle;
use crate::task::introspect::{register_scope, Scope, ScopeView};
use crate::task::TaskRef;
use crate::time::entry::TimerEntry;
use parking_lot::Mutex;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Created,
    Active,
    Expiring,
    Expired,
    Finished,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Created => "created",
            Phase::Active => "active",
            Phase::Expiring => "expiring",
            Phase::Expired => "expired",
            Phase::Finished => "finished",
        }
    }
}

struct State {
    phase: Phase,
    when: Option<Instant>,
    task: Option<TaskRef>,
    /// The runtime of `task`, taken with it when the scope arms (inside the
    /// task): a `reschedule` from a thread outside any runtime arms there.
    handle: Option<Handle>,
    snapshot: u32,
    timer: TimerEntry,
    /// Bumped on every reschedule, so a stale expiry does nothing.
    generation: u64,
    /// The deadline is in the timer wheel (or its expiry queued). Arming
    /// waits for the body's first suspension: a body that finishes without
    /// suspending never touches the timers, and an expiry could not have
    /// reached it anyway (asyncio's expiry is a scheduled callback too).
    armed: bool,
}

struct Inner {
    state: Mutex<State>,
}

impl ScopeView for Inner {
    fn view(&self) -> Option<Scope> {
        let st = self.state.lock();
        matches!(st.phase, Phase::Active | Phase::Expiring).then_some(Scope::Timeout { deadline: st.when })
    }
}

/// A timeout scope's handle (asyncio `Timeout`): its deadline can be read
/// and moved, from inside the scope or from other threads. Clones share the
/// same scope.
///
/// ```
/// use ravel::Timeout;
/// use std::time::{Duration, Instant};
///
/// ravel::run(async {
///     let cm = Timeout::after(Duration::from_millis(10));
///     let inner = cm.clone();
///     let out = cm
///         .run(async move {
///             // Extend the deadline from inside the scope.
///             inner.reschedule(Some(Instant::now() + Duration::from_secs(5)))?;
///             ravel::sleep(Duration::from_millis(20)).await?;
///             Ok("not timed out")
///         })
///         .await?;
///     assert_eq!(out, "not timed out");
///     assert!(!cm.expired());
///     Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Clone)]
pub struct Timeout {
    inner: Arc<Inner>,
}

/// Runs `future` with a time limit of `delay` from now (asyncio `timeout`):
/// if the limit passes, the task running the scope is cancelled, and the
/// cancellation that comes out of `future` is converted into a timeout error
/// ([`Error::is_timeout`], with the cancellation as its
/// [`cause`](Error::cause)). `None` means no limit.
///
/// The future runs inline in the calling task, which must be a Ravel task.
/// Because expiry works by cancelling that task, the future can clean up
/// with further awaits before the timeout error surfaces.
///
/// ```
/// use std::time::Duration;
///
/// ravel::run(async {
///     let err = ravel::timeout(Duration::from_millis(5), ravel::sleep(Duration::from_secs(3600)))
///         .await
///         .unwrap_err();
///     assert!(err.is_timeout());
///     assert_eq!(ravel::current_task().unwrap().cancelling(), 0);
///     Ok(())
/// })
/// .unwrap();
/// ```
pub fn timeout<F: Future<Output = Result<T>>, T>(delay: impl Into<Option<Duration>>, future: F) -> TimeoutFuture<F> {
    timeout_at(delay.into().and_then(|d| Instant::now().checked_add(d)), future)
}

/// Like [`timeout`] with an absolute deadline (asyncio `timeout_at`):
/// an `Instant`, or `None` (or `Option<Instant>`) for no deadline, as
/// [`timeout`] takes a `Duration` or `None`.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// ravel::run(async {
///     let deadline = Instant::now() + Duration::from_millis(5);
///     let err = ravel::timeout_at(deadline, ravel::sleep(Duration::from_secs(3600))).await.unwrap_err();
///     assert!(err.is_timeout());
///     ravel::timeout_at(None, async { Ok(()) }).await
/// })
/// .unwrap();
/// ```
pub fn timeout_at<F: Future<Output = Result<T>>, T>(
    deadline: impl Into<Option<Instant>>,
    future: F,
) -> TimeoutFuture<F> {
    let deadline = deadline.into();
    // The scope stays inline in the future until it is needed by another
    // party (arming, or `handle()`): a body that never suspends costs no
    // allocation and no lock.
    TimeoutFuture {
        scope: OnceLock::new(),
        when: deadline,
        snapshot: 0,
        future,
        entered: false,
        armed: false,
        done: false,
    }
}

impl Timeout {
    /// A scope whose deadline is `delay` from now: computed when this is
    /// called, not when the scope is entered (asyncio C04). `None`, or a delay
    /// too large to represent, means no deadline.
    pub fn after(delay: impl Into<Option<Duration>>) -> Timeout {
        Timeout::at(delay.into().and_then(|d| Instant::now().checked_add(d)))
    }

    /// A scope with an absolute deadline (an `Instant`); `None` means no
    /// deadline.
    pub fn at(deadline: impl Into<Option<Instant>>) -> Timeout {
        Timeout::with_state(Phase::Created, deadline.into(), 0)
    }

    fn with_state(phase: Phase, when: Option<Instant>, snapshot: u32) -> Timeout {
        Timeout {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    phase,
                    when,
                    task: None,
                    handle: None,
                    snapshot,
                    timer: TimerEntry::new(),
                    generation: 0,
                    armed: false,
                }),
            }),
        }
    }

    /// Runs `future` inside this scope. The scope is entered on the first
    /// poll; a scope can be entered once ("Timeout has already been
    /// entered"), and only inside a task ("Timeout should be used inside a
    /// task").
    pub fn run<F: Future<Output = Result<T>>, T>(&self, future: F) -> TimeoutFuture<F> {
        TimeoutFuture {
            scope: OnceLock::from(self.clone()),
            when: None,
            snapshot: 0,
            future,
            entered: false,
            armed: false,
            done: false,
        }
    }

    /// The deadline; `None` if there is none.
    pub fn when(&self) -> Option<Instant> {
        self.inner.state.lock().when
    }

    /// True once the deadline has passed and the scope cancelled its task.
    pub fn expired(&self) -> bool {
        matches!(self.inner.state.lock().phase, Phase::Expiring | Phase::Expired)
    }

    /// Moves the deadline (`None`: no deadline); a deadline in the past
    /// expires the scope at once (on the next loop iteration). Errors unless
    /// the scope is active: "Timeout has not been entered", "Cannot change
    /// state of expiring Timeout" (or expired, finished).
    pub fn reschedule(&self, when: impl Into<Option<Instant>>) -> Result<()> {
        let when = when.into();
        let mut st = self.inner.state.lock();
        match st.phase {
            Phase::Created => return Err(Error::invalid_state("Timeout has not been entered")),
            Phase::Active => {}
            other => return Err(Error::invalid_state(format!("Cannot change state of {} Timeout", other.name()))),
        }
        st.when = when;
        if st.armed {
            self.inner.schedule(&mut st);
        }
        Ok(())
    }

    fn enter(&self) -> Result<()> {
        let mut st = self.inner.state.lock();
        if st.phase != Phase::Created {
            return Err(Error::invalid_state("Timeout has already been entered"));
        }
        st.snapshot = entry_snapshot()?;
        st.phase = Phase::Active;
        Ok(())
    }

    /// The body suspended for the first time: put the deadline in the wheel.
    fn arm(&self) {
        let mut st = self.inner.state.lock();
        if st.phase == Phase::Active && !st.armed {
            st.armed = true;
            st.task = crate::current_task();
            st.handle = Handle::try_current().ok();
            self.inner.schedule(&mut st);
            let task = st.task.clone();
            drop(st);
            // Listed in the task's call-graph info while active.
            if let Some(task) = task {
                let scope: Arc<dyn ScopeView> = self.inner.clone();
                register_scope(&task, Arc::downgrade(&scope));
            }
        }
    }

    /// `__aexit__`.
    fn exit<T>(&self, out: Result<T>) -> Result<T> {
        let mut st = self.inner.state.lock();
        Inner::cancel_timer(&mut st);
        match st.phase {
            Phase::Expiring => {
                st.phase = Phase::Expired;
                let task = st.task.clone().expect("an entered timeout has a task");
                let snapshot = st.snapshot;
                drop(st);
                if task.uncancel() <= snapshot {
                    if let Err(e) = out {
                        return Err(convert(e));
                    }
                }
                out
            }
            Phase::Active => {
                st.phase = Phase::Finished;
                out
            }
            _ => out,
        }
    }

    /// The scope is dropped unfinished (e.g. the future was abandoned in a
    /// `select`): stop the timer and take back an expiry's cancellation so
    /// the task's counter stays balanced.
    fn abandon(&self) {
        let mut st = self.inner.state.lock();
        Inner::cancel_timer(&mut st);
        match st.phase {
            Phase::Expiring => {
                st.phase = Phase::Expired;
                if let Some(task) = st.task.clone() {
                    drop(st);
                    task.uncancel();
                }
            }
            Phase::Active => st.phase = Phase::Finished,
            _ => {}
        }
    }
}

/// Entering a scope: the current task's `cancelling()` count, read through
/// the current-task pointer (the task handle itself is taken only when the
/// scope arms; a body that never suspends needs neither).
fn entry_snapshot() -> Result<u32> {
    crate::task::cancel::current_cancelling()
        .ok_or_else(|| Error::invalid_state("Timeout should be used inside a task"))
}

/// A cancellation that the expired scope caused becomes a timeout error
/// (`raise TimeoutError from exc`); any other error gets a timeout error
/// inserted into its context chain (3.13: before the first cancellation in
/// it, see [`Error::with_timeout_context`]), and so does each member of a
/// top-level exception group.
fn convert(e: Error) -> Error {
    if e.is_cancelled() {
        return Error::timeout_from(e);
    }
    match e.as_group() {
        Some(group) => {
            let members = group.errors().iter().map(Error::with_timeout_context).collect();
            let regrouped = Error::group(ExceptionGroup::new(group.message(), members));
            // The group keeps its own context chain, which gets the timeout error too.
            let regrouped = match e.context() {
                Some(context) => regrouped.with_context(context.clone()),
                None => regrouped,
            };
            regrouped.with_timeout_context()
        }
        None => e.with_timeout_context(),
    }
}

impl Inner {
    fn cancel_timer(st: &mut State) {
        st.generation += 1;
        st.timer.cancel();
    }

    /// `reschedule` on an active scope: replace the timer.
    fn schedule(self: &Arc<Self>, st: &mut State) {
        Inner::cancel_timer(st);
        let Some(when) = st.when else { return };
        let Some(handle) = Handle::try_current().ok().or_else(|| st.handle.clone()) else {
            return;
        };
        let generation = st.generation;
        if when <= Instant::now() {
            let inner = self.clone();
            handle.shared().call_soon(Box::new(move || inner.on_timeout(generation)));
            return;
        }
        let waker = Waker::from(Arc::new(Expiry { inner: self.clone(), generation }));
        st.timer.arm_on(handle, when, waker);
    }

    /// `_on_timeout`: cancel the task (no message) and move to expiring.
    fn on_timeout(&self, generation: u64) {
        let mut st = self.state.lock();
        if st.phase != Phase::Active || st.generation != generation {
            return;
        }
        st.phase = Phase::Expiring;
        if let Some(task) = &st.task {
            // Under the lock, so `exit` cannot uncancel before this counts.
            task.cancel();
        }
    }
}

/// The timer wheel's waker for a deadline: firing it expires the scope.
struct Expiry {
    inner: Arc<Inner>,
    generation: u64,
}

impl Wake for Expiry {
    fn wake(self: Arc<Self>) {
        self.inner.on_timeout(self.generation);
    }
}

impl fmt::Debug for Timeout {
    /// As asyncio's repr: `<Timeout [active] when=…>`, `<Timeout [expired]>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.state.lock();
        write!(f, "<Timeout [{}]", st.phase.name())?;
        if st.phase == Phase::Active {
            match st.when {
                Some(when) => {
                    let left = when.saturating_duration_since(Instant::now());
                    write!(f, " when=+{:.3}s", left.as_secs_f64())?
                }
                None => f.write_str(" when=None")?,
            }
        }
        f.write_str(">")
    }
}

pin_project_lite::pin_project! {
    /// The future returned by [`timeout`], [`timeout_at`] and [`Timeout::run`].
    #[must_use = "futures do nothing unless polled"]
    pub struct TimeoutFuture<F> {
        // The shared scope: given by `Timeout::run`, or created from the
        // inline fields below when first needed (arming, `handle()`).
        scope: OnceLock<Timeout>,
        when: Option<Instant>,
        snapshot: u32,
        #[pin]
        future: F,
        entered: bool,
        armed: bool,
        done: bool,
    }

    impl<F> PinnedDrop for TimeoutFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if *this.entered && !*this.done {
                if let Some(scope) = this.scope.get() {
                    scope.abandon();
                }
            }
        }
    }
}

impl<F> TimeoutFuture<F> {
    /// The scope's handle (asyncio's `Timeout` object), to read or move the
    /// deadline from inside the scope or from other threads.
    pub fn handle(&self) -> &Timeout {
        self.scope.get_or_init(|| {
            if self.done {
                Timeout::with_state(Phase::Finished, self.when, self.snapshot)
            } else if self.entered {
                Timeout::with_state(Phase::Active, self.when, self.snapshot)
            } else {
                Timeout::at(self.when)
            }
        })
    }
}

impl<F: Future<Output = Result<T>>, T> Future for TimeoutFuture<F> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = self.project();
        if *this.done {
            return Poll::Ready(Err(Error::invalid_state("TimeoutFuture polled after completion")));
        }
        if !*this.entered {
            let entered = match this.scope.get() {
                Some(scope) => scope.enter(),
                None => entry_snapshot().map(|snapshot| *this.snapshot = snapshot),
            };
            if let Err(e) = entered {
                *this.done = true;
                return Poll::Ready(Err(e));
            }
            *this.entered = true;
        }
        let out = match this.future.poll(cx) {
            Poll::Ready(out) => out,
            Poll::Pending => {
                if !*this.armed {
                    *this.armed = true;
                    let (when, snapshot) = (*this.when, *this.snapshot);
                    this.scope.get_or_init(|| Timeout::with_state(Phase::Active, when, snapshot)).arm();
                }
                return Poll::Pending;
            }
        };
        *this.done = true;
        Poll::Ready(match this.scope.get() {
            Some(scope) => scope.exit(out),
            // Never shared and never armed: nothing could have expired.
            None => out,
        })
    }
}

/// Waits for `future` with a time limit (asyncio `wait_for`, 3.12+): on
/// timeout the work is cancelled and awaited until it has actually finished
/// (its cleanup included), then a timeout error is returned; if the waiting
/// task is itself cancelled, the work is cancelled too. `None`: no limit.
///
/// A plain future runs inline in the calling task; a [`Task`](crate::Task)
/// is awaited, so the cancellation is forwarded to it and `wait_for` waits
/// for its outcome. If the work swallows the cancellation and returns a
/// value, that value is returned (asyncio GH-86296).
///
/// A zero timeout cancels at once: a finished task's result is still
/// returned, anything else ends in a timeout error.
///
/// ```
/// use std::time::Duration;
///
/// ravel::run(async {
///     let work = ravel::spawn(async {
///         match ravel::sleep(Duration::from_secs(3600)).await {
///             Err(e) if e.is_cancelled() => {
///                 ravel::sleep(Duration::from_millis(1)).await.ok(); // cleanup
///                 Err(e)
///             }
///             other => other,
///         }
///     });
///     let work_ref = work.as_task_ref().clone();
///     let err = ravel::wait_for(work, Duration::from_millis(5)).await.unwrap_err();
///     assert!(err.is_timeout());
///     assert!(work_ref.cancelled(), "the work was cancelled and waited for");
///     Ok(())
/// })
/// .unwrap();
/// ```
pub async fn wait_for<F, T>(future: F, timeout: impl Into<Option<Duration>>) -> Result<T>
where
    F: Future<Output = Result<T>>,
{
    match timeout.into() {
        None => future.await,
        Some(d) if d.is_zero() => {
            // asyncio: `timeout <= 0` cancels before waiting at all.
            let cm = Timeout::at(Some(Instant::now()));
            ZeroTimeout { scope: cm.run(future), expired: false }.await
        }
        Some(d) => Timeout::after(d).run(future).await,
    }
}

pin_project_lite::pin_project! {
    /// `wait_for(.., 0)`: enter the scope and expire it before the first
    /// poll of the work.
    struct ZeroTimeout<F> {
        #[pin]
        scope: TimeoutFuture<F>,
        expired: bool,
    }
}

impl<F: Future<Output = Result<T>>, T> Future for ZeroTimeout<F> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = self.project();
        if !*this.expired {
            *this.expired = true;
            let mut scope = this.scope;
            let timeout = scope.as_mut().project().scope.get().expect("wait_for's scope is shared").clone();
            if let Err(e) = timeout.enter() {
                return Poll::Ready(Err(e));
            }
            *scope.as_mut().project().entered = true;
            let generation = {
                let mut st = timeout.inner.state.lock();
                st.armed = true;
                st.task = crate::current_task();
                st.handle = Handle::try_current().ok();
                st.generation
            };
            timeout.inner.on_timeout(generation);
            return scope.poll(cx);
        }
        this.scope.poll(cx)
    }
}
