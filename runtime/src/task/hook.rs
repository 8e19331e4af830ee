//! Completion hooks: crate-internal code run synchronously on the
//! completing thread right after a task is `COMPLETE` (a task group's
//! `_on_task_done`), kept in the task's own allocation.

use super::TaskRef;
use crate::error::Error;
use std::sync::Arc;

/// A completion hook. An `Arc` and a key rather than a boxed closure, so
/// setting one allocates nothing.
pub(crate) struct DoneHook {
    pub(crate) target: Arc<dyn ChildDone>,
    pub(crate) key: u64,
}

/// The receiver of a [`DoneHook`] (a task group).
pub(crate) trait ChildDone: Send + Sync {
    /// The task `key` ended with `error` (`None`: success); `eager` says it
    /// finished in its eager first step.
    fn child_done(self: Arc<Self>, key: u64, task: &TaskRef, error: Option<Error>, eager: bool);
}

impl DoneHook {
    pub(crate) fn call(self, task: &TaskRef, error: Option<Error>, eager: bool) {
        self.target.child_done(self.key, task, error, eager);
    }
}

/// What a task's cell may carry for completion to run: nothing (`()`, no
/// space), or a [`DoneHook`].
pub(crate) trait CompletionHook: Send + 'static {
    /// The hook, once.
    fn take_hook(&mut self) -> Option<DoneHook>;
}

impl CompletionHook for () {
    fn take_hook(&mut self) -> Option<DoneHook> {
        None
    }
}

impl CompletionHook for Option<DoneHook> {
    fn take_hook(&mut self) -> Option<DoneHook> {
        self.take()
    }
}
