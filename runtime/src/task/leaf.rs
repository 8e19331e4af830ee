//! The leaf rule: how every Ravel awaitable delivers cancellation.
//!
//! asyncio throws `CancelledError` into a coroutine at its suspension point.
//! Rust cannot throw into a future, so each Ravel awaitable (a **leaf**:
//! `sleep`, `yield_now`, task join, `wait_done`, `Promise`, `to_thread`,
//! `gather`, `shield`, `wait`, `as_completed`, a task group's exit wait,
//! [`cancellable`](crate::cancellable), and the sockets and sync primitives
//! built on this type) delivers the running task's pending cancellation
//! itself, by one rule, written here once:
//!
//! 1. **Budget.** Every leaf poll spends one unit of the running task's
//!    cooperative budget ([`current::BUDGET`] per task poll). Once it is
//!    spent, the leaf yields even if its value is ready (a forced
//!    suspension), so a task looping on always-ready leaves cannot starve
//!    its worker; the forced yield delivers a pending cancellation instead,
//!    if there is one.
//! 2. **Ready on the first poll wins.** A leaf whose value is ready on its
//!    first poll returns it, even with a cancellation pending (asyncio does
//!    not suspend on a done future, case A10).
//! 3. **Suspending or resuming delivers.** A leaf that would suspend, or
//!    that is polled again after it suspended, first takes the pending
//!    cancellation and returns `Err(e)`, `e.is_cancelled()`, carrying its
//!    message, instead of waiting or returning its value.
//! 4. **Forwarding** ([`ForwardingLeaf`], crate-internal). A leaf that
//!    awaits something cancellable (a task, a promise, a gather) forwards the
//!    pending cancellation to it instead of taking it, and keeps waiting for
//!    its outcome (asyncio `_fut_waiter`); it does so before the budget can
//!    force a yield, so a forced yield never turns a forward into a
//!    delivery. It records the target as the task's waiter for one
//!    suspension, so a `cancel()` that arrives while the task is suspended
//!    there is forwarded at once; the record is cleared when the leaf
//!    completes or is dropped, and by the task's next poll.
//!
//! Moving on from a leaf also drops a waiter recorded by an earlier leaf:
//! the task is no longer suspended there.

use super::current;
use super::introspect::Suspension;
use super::note::Noted;
use super::raw::{self, Header, RawTask};
use super::waiter::{CancelTarget, Waiter};
use crate::error::{Error, Result};
use std::sync::Arc;
use std::task::{Context, Poll};

/// The leaf rule for one awaitable: embed a `Leaf` in a future and route
/// each poll's wait through [`poll`](Leaf::poll), and the future becomes a
/// cancellation delivery point like every Ravel awaitable.
///
/// A future that waits on something outside Ravel (a lock of another
/// crate, a channel, an OS event) cannot see a Ravel cancellation; wrapped
/// this way it delivers one at its suspension, as asyncio does, and its
/// waits spend the task's cooperative budget:
///
/// ```
/// use ravel::task::Leaf;
/// use std::future::Future;
/// use std::pin::Pin;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::{Arc, Mutex};
/// use std::task::{Context, Poll, Waker};
///
/// /// A flag set from any thread; `wait` is a cancellable Ravel await.
/// #[derive(Default)]
/// struct Flag {
///     set: AtomicBool,
///     waker: Mutex<Option<Waker>>,
/// }
///
/// impl Flag {
///     fn set(&self) {
///         self.set.store(true, Ordering::SeqCst);
///         if let Some(waker) = self.waker.lock().unwrap().take() {
///             waker.wake();
///         }
///     }
/// }
///
/// struct WaitFlag {
///     flag: Arc<Flag>,
///     leaf: Leaf,
/// }
///
/// impl Future for WaitFlag {
///     type Output = ravel::Result<()>;
///
///     fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<ravel::Result<()>> {
///         let this = &mut *self;
///         let flag = &this.flag;
///         this.leaf.poll(cx, |cx| {
///             // Register first, then check, so a `set` in between is not lost.
///             *flag.waker.lock().unwrap() = Some(cx.waker().clone());
///             if flag.set.load(Ordering::SeqCst) { Poll::Ready(()) } else { Poll::Pending }
///         })
///     }
/// }
///
/// ravel::run(async {
///     // Set before the first poll: ready at once.
///     let flag = Arc::new(Flag::default());
///     flag.set();
///     WaitFlag { flag, leaf: Leaf::new() }.await?;
///
///     // Never set: the waiting task can still be cancelled, and sees it.
///     let flag = Arc::new(Flag::default());
///     let waiter = ravel::spawn(WaitFlag { flag, leaf: Leaf::new() });
///     ravel::yield_now().await?;
///     waiter.cancel_with("stop waiting");
///     assert_eq!(waiter.await.unwrap_err().cancel_message(), Some("stop waiting"));
///     Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Debug, Default, Clone)]
pub struct Leaf {
    suspended: bool,
}

impl Leaf {
    /// A leaf that has not suspended yet.
    pub const fn new() -> Leaf {
        Leaf { suspended: false }
    }

    /// True once the leaf has returned `Pending` (until [`reset`](Self::reset)).
    pub fn is_suspended(&self) -> bool {
        self.suspended
    }

    /// Makes the leaf new again, for an awaitable that is reused after it
    /// completed (a stream's next item, a reset sleep): its next poll is a
    /// first poll again.
    pub fn reset(&mut self) {
        self.suspended = false;
    }

    /// Polls one wait under the leaf rule (see the module docs).
    ///
    /// `wait` checks whether the value is ready and, if it is not, arranges
    /// for `cx`'s waker to be woken when it may be (and returns `Pending`):
    /// register first, then check, so a wake-up in between is not lost. It
    /// is called at most once per poll, and not at all when the budget
    /// forces a yield or a cancellation is delivered on resumption. On a
    /// first poll that returns `Pending`, the pending cancellation (if any)
    /// is delivered after `wait` ran, so a registration it made may later
    /// wake the task once for nothing: wakers may always wake spuriously.
    ///
    /// Returns `Ready(Ok(value))`, `Ready(Err(cancelled))`, or `Pending`.
    /// Outside a Ravel task nothing is delivered and the budget is unlimited.
    pub fn poll<T>(&mut self, cx: &mut Context<'_>, wait: impl FnOnce(&mut Context<'_>) -> Poll<T>) -> Poll<Result<T>> {
        if let Some(poll) = self.gate(cx) {
            return poll;
        }
        if self.suspended {
            if let Some(err) = deliver() {
                return Poll::Ready(Err(err));
            }
        }
        match wait(cx) {
            Poll::Ready(value) => Poll::Ready(Ok(value)),
            Poll::Pending => {
                if !self.suspended {
                    if let Some(err) = deliver() {
                        return Poll::Ready(Err(err));
                    }
                    self.suspended = true;
                }
                Poll::Pending
            }
        }
    }

    /// [`poll`](Self::poll), recording what the task is suspended on for
    /// the call graph when it does suspend (one slot lock then, nothing on
    /// the ready path). The record lasts one suspension, as a waiter's.
    pub(crate) fn poll_recorded<T>(
        &mut self,
        cx: &mut Context<'_>,
        on: impl FnOnce() -> Suspension,
        wait: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<Result<T>> {
        self.poll_then(cx, wait, || record(on()))
    }

    /// [`poll`](Self::poll), noting what the task is suspended on for the
    /// call graph when it does suspend: one relaxed store then, no lock and
    /// no read-modify-write (module `note`); nothing on the ready path.
    pub(crate) fn poll_noted<T>(
        &mut self,
        cx: &mut Context<'_>,
        on: Noted,
        wait: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<Result<T>> {
        self.poll_then(cx, wait, || {
            raw::with_current(|header| header.note.set(on));
        })
    }

    /// [`poll`](Self::poll), running `suspended` only when the wait itself
    /// was polled and left the task pending (not for a delivery, a forced
    /// yield or a ready wait).
    fn poll_then<T>(
        &mut self,
        cx: &mut Context<'_>,
        wait: impl FnOnce(&mut Context<'_>) -> Poll<T>,
        suspended: impl FnOnce(),
    ) -> Poll<Result<T>> {
        let mut waited = false;
        let poll = self.poll(cx, |cx| {
            waited = true;
            wait(cx)
        });
        if poll.is_pending() && waited {
            suspended();
        }
        poll
    }

    /// A yield point (asyncio `await sleep(0)`): suspends once, putting the
    /// task at the back of its worker's ready queue, and is ready when
    /// resumed. It always suspends, so a pending cancellation is delivered
    /// at once, before yielding, or on resumption. It spends budget but
    /// never needs a forced yield of its own.
    pub fn poll_yield(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        current::consume_budget();
        clear_stale_waiter();
        if let Some(err) = deliver() {
            return Poll::Ready(Err(err));
        }
        if self.suspended {
            return Poll::Ready(Ok(()));
        }
        self.suspended = true;
        // A task that wakes itself while running is requeued at the back.
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Rule 1, the budget gate, checked first by every leaf: `None` while
    /// the task has budget left; once it is spent, delivers a pending
    /// cancellation (the forced yield is a suspension point) or wakes the
    /// task and returns `Pending`.
    fn gate<T>(&mut self, cx: &mut Context<'_>) -> Option<Poll<Result<T>>> {
        clear_stale_waiter();
        if current::consume_budget() {
            return None;
        }
        if let Some(err) = deliver() {
            return Some(Poll::Ready(Err(err)));
        }
        self.suspended = true;
        cx.waker().wake_by_ref();
        Some(Poll::Pending)
    }
}

/// What a [`ForwardingLeaf`] waits on: a task, a promise, a gather.
pub(crate) trait Awaited {
    /// Its outcome is available.
    fn is_done(&self) -> bool;
    /// Cancel it with the awaiting task's message; false if it refused
    /// (it was already done).
    fn forward_cancel(&self, message: Option<String>) -> bool;
    /// It, as the awaiting task's waiter.
    fn as_waiter(&self) -> Waiter;
    /// It ended cancelled (its own cancellation is then what the awaiting
    /// task sees, even with a cancellation of its own pending).
    fn ended_cancelled(&self) -> bool {
        false
    }

    /// Whether awaiting it spends budget once it is done. A task join does
    /// not (a loop joining finished tasks never forces a yield); a promise
    /// or a gather does, as every other leaf.
    fn spends_budget_when_done(&self) -> bool {
        true
    }
}

impl<T: CancelTarget + 'static> Awaited for Arc<T> {
    fn is_done(&self) -> bool {
        self.target_done()
    }

    fn forward_cancel(&self, message: Option<String>) -> bool {
        self.clone().cancel_target(message)
    }

    fn as_waiter(&self) -> Waiter {
        Waiter::Target(self.clone())
    }

    fn ended_cancelled(&self) -> bool {
        self.target_cancelled()
    }
}

/// The leaf rule for a leaf that forwards cancellation (rule 4).
#[derive(Default)]
pub(crate) struct ForwardingLeaf {
    suspended: bool,
    /// The task that recorded the target as its waiter, and the target's
    /// identity, to clear the record when this leaf completes or drops.
    recorded: Option<(RawTask, usize)>,
}

impl ForwardingLeaf {
    pub(crate) const fn new() -> ForwardingLeaf {
        ForwardingLeaf { suspended: false, recorded: None }
    }

    /// Polls the wait for `target` under the leaf rule. `wait` is as for
    /// [`Leaf::poll`]: register the waker, then report whether the outcome
    /// is available.
    pub(crate) fn poll<T>(
        &mut self,
        cx: &mut Context<'_>,
        target: &impl Awaited,
        wait: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<Result<T>> {
        let poll = self.poll_inner(cx, target, wait);
        if poll.is_ready() {
            self.clear();
        }
        poll
    }

    fn poll_inner<T>(
        &mut self,
        cx: &mut Context<'_>,
        target: &impl Awaited,
        wait: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<Result<T>> {
        clear_stale_waiter();
        if self.suspended || !target.is_done() {
            // Would suspend, or resuming: forward, before the budget can
            // force a yield. Delivered here only if the target refused.
            if let Some(err) = forward_pending(|message| target.forward_cancel(message)) {
                // The target was done first. If it ended cancelled, its own
                // cancellation is what the task sees (asyncio's step keeps a
                // CancelledError thrown in from the awaited future).
                if target.ended_cancelled() {
                    if let Poll::Ready(value) = wait(cx) {
                        return Poll::Ready(Ok(value));
                    }
                }
                return Poll::Ready(Err(err));
            }
        }
        if (target.spends_budget_when_done() || !target.is_done()) && !current::consume_budget() {
            self.suspended = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        match wait(cx) {
            Poll::Ready(value) => Poll::Ready(Ok(value)),
            Poll::Pending => {
                let waiter = target.as_waiter();
                let id = waiter.id();
                self.clear();
                self.recorded = set_waiter(waiter).map(|owner| (owner, id));
                self.suspended = true;
                Poll::Pending
            }
        }
    }

    /// Clears the waiter this leaf recorded, if it is still the task's.
    fn clear(&mut self) {
        if let Some((owner, id)) = self.recorded.take() {
            let mut slot = owner.header().slot.lock();
            if slot.waiter.as_ref().is_some_and(|w| w.id() == id) {
                slot.waiter = None;
            }
        }
    }
}

impl Drop for ForwardingLeaf {
    fn drop(&mut self) {
        self.clear();
    }
}

/// The running task's pending cancellation, taken for delivery; `None`
/// outside a task or with nothing pending.
pub(crate) fn deliver() -> Option<Error> {
    raw::with_current(Header::take_delivery).flatten()
}

/// Forwards a pending cancellation of the running task to `target`.
/// Returns the error to deliver here if the target refused.
fn forward_pending(target: impl FnOnce(Option<String>) -> bool) -> Option<Error> {
    let message = raw::with_current(|header| {
        if !header.cancel.is_pending() {
            return None;
        }
        let mut slot = header.slot.lock();
        if !header.cancel.take_pending() {
            return None;
        }
        Some(slot.take_message())
    })
    .flatten()?;
    if target(message.clone()) {
        None
    } else {
        Some(Error::cancelled(message))
    }
}

/// Drops the running task's recorded waiter, if any (one atomic load when
/// there is none): the task has moved on to another leaf.
fn clear_stale_waiter() {
    raw::with_current(|header| {
        if header.state.load().has(super::state::WAITER) {
            header.slot.lock().waiter = None;
            header.state.clear_flag(super::state::WAITER);
        }
    });
}

/// Records `suspension` as what the running task is suspended on, for the
/// call graph, unless a forwarding waiter is already recorded in this poll
/// (that one must stay, for `cancel()`).
pub(crate) fn record(suspension: Suspension) {
    raw::with_current(|header| {
        let mut slot = header.slot.lock();
        if slot.waiter.as_ref().is_some_and(Waiter::forwards) {
            return;
        }
        slot.waiter = Some(Waiter::Leaf(suspension));
        drop(slot);
        header.state.set_flag(super::state::WAITER);
    });
}

/// Records `waiter` as what the running task is suspended on, for this
/// suspension only; returns the task.
fn set_waiter(waiter: Waiter) -> Option<RawTask> {
    let owner = raw::current_raw()?;
    owner.header().slot.lock().waiter = Some(waiter);
    owner.header().state.set_flag(super::state::WAITER);
    Some(owner)
}
