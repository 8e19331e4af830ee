//! [`UnhandledError`]: what the runtime's error hook receives.

use crate::error::Error;
use crate::task::TaskId;

/// A task failure nobody handled, passed to the hook set with
/// [`Builder::unhandled_error_hook`](crate::Builder::unhandled_error_hook)
/// (asyncio's `call_exception_handler` context).
///
/// Reported for a failed task whose outcome was never retrieved, when the
/// last handle to it is dropped ("Task exception was never retrieved"), for
/// a failed [`Promise`](crate::Promise) dropped unretrieved ("Future
/// exception was never retrieved"), for a task that failed while
/// [`run`](crate::run) was shutting down, and for a callback that panicked
/// (a done callback, a [`call_soon_threadsafe`](crate::Handle::call_soon_threadsafe)
/// closure: "Exception in callback", with no task id; asyncio passes an
/// exception raised in a callback to the loop's exception handler).
#[derive(Debug, Clone)]
pub struct UnhandledError {
    message: &'static str,
    task_id: Option<TaskId>,
    task_name: String,
    error: Error,
}

impl UnhandledError {
    pub(crate) fn new(message: &'static str, task_id: TaskId, task_name: String, error: Error) -> Self {
        if task_id.is_callback() {
            // A `call_soon` entry runs as a task-like cell, and its panic is
            // its failure, never retrieved: report it as what it is.
            return UnhandledError {
                message: "Exception in callback",
                task_id: None,
                task_name: "callback".into(),
                error,
            };
        }
        UnhandledError { message, task_id: Some(task_id), task_name, error }
    }

    /// A report about something that is not a task (a promise).
    pub(crate) fn without_task(message: &'static str, what: String, error: Error) -> Self {
        UnhandledError { message, task_id: None, task_name: what, error }
    }

    /// What happened, e.g. "Task exception was never retrieved" or
    /// "Exception in callback".
    pub fn message(&self) -> &'static str {
        self.message
    }

    /// The failed task's id; `None` when what failed is not a task (a
    /// promise, a callback).
    pub fn task_id(&self) -> Option<TaskId> {
        self.task_id
    }

    /// The failed task's name (or a description of the promise; `"callback"`
    /// for a callback).
    pub fn task_name(&self) -> &str {
        &self.task_name
    }

    /// The error the task failed with.
    pub fn error(&self) -> &Error {
        &self.error
    }
}

impl std::fmt::Display for UnhandledError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.task_id {
            Some(id) => write!(f, "{}: task '{}' (id {}): {}", self.message, self.task_name, id, self.error),
            None => write!(f, "{}: {}: {}", self.message, self.task_name, self.error),
        }
    }
}

/// The default hook: one line on stderr.
pub(crate) fn default_hook(report: &UnhandledError) {
    eprintln!("ravel: {report}");
}
