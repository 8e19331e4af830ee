//! The boundary between tasks and the scheduler that runs them.
//!
//! A task knows its scheduler only through this trait (as Tokio's tasks
//! know theirs through `Schedule`, and async-task's through a schedule
//! function), so `task/` imports nothing from the scheduler or the runtime
//! and can be built, tested and loom-modelled with a scheduler of its own.

use super::raw::{Header, RawTask};
use super::TaskId;
use crate::error::Error;
use std::sync::Arc;

/// What a task needs from the scheduler it runs on.
pub(crate) trait Schedule: Send + Sync + 'static {
    /// Queue `task` (a queue entry's reference). `yielded`: it woke itself,
    /// so it goes behind the tasks already ready.
    fn schedule(&self, task: RawTask, yielded: bool);
    /// Run `f` soon (asyncio `call_soon`); never lost, never inline.
    fn call_soon(&self, f: Box<dyn FnOnce() + Send>);
    /// The task completed: take it out of the registry of live tasks and
    /// hand back the registry's reference (`None` if it was not registered).
    fn release(&self, task: &Header) -> Option<RawTask>;
    /// A failure nobody retrieved ("Task exception was never retrieved").
    fn report_unretrieved(&self, id: TaskId, name: Option<Arc<str>>, error: Error);
    /// The scheduler itself, for code above `task/` that knows its type
    /// (borrowing it through a task costs no reference count).
    fn as_any(&self) -> &dyn std::any::Any;
}

/// Runs a user callback (a done callback), catching its panic and reporting
/// it to the error hook as "Exception in callback" (asyncio passes an
/// exception raised in a callback to the loop's exception handler), so a
/// panicking callback neither takes the callbacks after it with it nor
/// unwinds into whoever runs it (a worker, or a thread shutting the
/// runtime down, where callbacks run at once).
pub(crate) fn run_callback(scheduler: &dyn Schedule, callback: impl FnOnce()) {
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(callback)) {
        report_callback_panic(scheduler, payload);
    }
}

/// Reports a callback's (or a waker's) caught panic to the error hook, as
/// "Exception in callback".
pub(crate) fn report_callback_panic(scheduler: &dyn Schedule, payload: Box<dyn std::any::Any + Send>) {
    scheduler.report_unretrieved(TaskId::next_callback(), None, Error::panic(payload));
}
