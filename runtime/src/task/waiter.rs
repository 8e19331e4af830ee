//! What a task is suspended on (asyncio `_fut_waiter`), so that `cancel()`
//! can forward there. Recorded by a [`ForwardingLeaf`](super::leaf::ForwardingLeaf)
//! for one suspension, in the header's slot.

use super::introspect::{SuspendedOn, Suspension};
use super::TaskRef;
use std::sync::Arc;

/// What a task is currently suspended on, for forwarding `cancel()`.
#[derive(Clone)]
pub(crate) enum Waiter {
    /// Awaiting another task: `cancel()` cancels that task instead.
    Task(TaskRef),
    /// Awaiting a cancellable leaf such as a [`Promise`](crate::Promise).
    Target(Arc<dyn CancelTarget>),
    /// Suspended at a plain leaf (a sleep, `to_thread`, ...), recorded for
    /// the call graph only: `cancel()` does not forward here.
    Leaf(Suspension),
}

impl Waiter {
    /// Identity, to clear a record only if it is still this waiter.
    pub(crate) fn id(&self) -> usize {
        match self {
            Waiter::Task(task) => task.raw().ptr().as_ptr() as usize,
            Waiter::Target(target) => Arc::as_ptr(target) as *const () as usize,
            // Never compared: only forwarding leaves clear by identity.
            Waiter::Leaf(_) => 0,
        }
    }

    /// Whether `cancel()` forwards to it (a task or a target; not a leaf
    /// recorded for introspection).
    pub(crate) fn forwards(&self) -> bool {
        !matches!(self, Waiter::Leaf(_))
    }
}

/// Something a waiting task forwards its cancellation to (a promise, a
/// gather, a sync primitive's waiter). An `Arc` of one is awaited through a
/// `ForwardingLeaf` (the blanket `Awaited` impl in `leaf.rs`).
pub(crate) trait CancelTarget: Send + Sync {
    /// Cancel it; false if it was already done.
    fn cancel_target(self: Arc<Self>, message: Option<String>) -> bool;
    /// Its outcome is available.
    fn target_done(&self) -> bool;
    /// It ended cancelled.
    fn target_cancelled(&self) -> bool {
        false
    }
    /// What the call graph shows a task suspended on it as.
    fn suspended_on(&self) -> SuspendedOn {
        SuspendedOn::Other("a cancellable future")
    }
}
