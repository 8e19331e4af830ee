//! Ravel: Python asyncio's task model on a multi-threaded work-stealing
//! scheduler.
//!
//! * **Cancellation a task can catch.** [`TaskRef::cancel`] does not drop the
//!   task's future: the next Ravel await in the task returns an
//!   [`Error`] whose [`is_cancelled`](Error::is_cancelled) is true. The task
//!   may clean up with more awaits, then return the error (re-raise) or carry
//!   on.
//! * **Cancel counters.** [`cancelling`](TaskRef::cancelling) and
//!   [`uncancel`](TaskRef::uncancel) let nested scopes tell whose
//!   cancellation they see.
//! * **Eager start**, context variables, `run`, done callbacks, and a
//!   low-level [`Promise`] (asyncio `Future`).
//!
//! ```
//! use std::time::Duration;
//!
//! let out = ravel::run(async {
//!     let worker = ravel::spawn(async {
//!         match ravel::sleep(Duration::from_secs(3600)).await {
//!             Err(e) if e.is_cancelled() => {
//!                 // Async cleanup is allowed here; then re-raise.
//!                 ravel::sleep(Duration::from_millis(1)).await.ok();
//!                 Err(e)
//!             }
//!             other => other.map(|_| "slept"),
//!         }
//!     });
//!     ravel::yield_now().await?;
//!     worker.cancel_with("shutting down");
//!     let err = worker.await.unwrap_err();
//!     assert_eq!(err.cancel_message(), Some("shutting down"));
//!     Ok(worker_cancelling())
//! });
//! # fn worker_cancelling() -> u32 { 1 }
//! assert_eq!(out.unwrap(), 1);
//! ```
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]

#[doc(hidden)]
#[path = "macros.rs"]
pub mod __private;
mod blocking;
pub mod call_graph;
mod catch_unwind;
mod catch_wake;
pub mod context;
mod driver;
mod error;
mod exception_group;
pub mod io;
mod promise;
mod run;
pub mod runtime;
mod scheduler;
mod shim;
#[cfg(target_os = "linux")]
mod sigint;
pub mod sync;
pub mod task;
mod task_group;
mod threadsafe;
mod time;
mod timeout;
mod to_thread;
mod yield_now;

pub use call_graph::{capture_call_graph, print_call_graph};
pub use context::ContextVar;
pub use error::{Error, ErrorKind, ExceptionGroup, Result};
pub use promise::Promise;
pub use ravel_macros::{main, test};
pub use run::run;
pub use runtime::{Builder, Handle, Runtime};
pub use task::cancellable::{cancellable, Cancellable};
pub use task::Leaf;
pub use task::{CallbackId, Task, TaskId, TaskRef};
pub use task_group::TaskGroup;
pub use threadsafe::{run_coroutine_threadsafe, ConcurrentFuture};
pub use time::{sleep, sleep_until, time, Sleep};
pub use timeout::{timeout, timeout_at, wait_for, Timeout, TimeoutFuture};
pub use to_thread::{to_thread, ToThread};
pub use yield_now::{yield_now, YieldNow};

// --- combinators: shield, gather, wait, as_completed (module declarations and re-exports) ---
mod as_completed;
mod gather;
mod shield;
mod wait;
pub use as_completed::{as_completed, AsCompleted};
pub use gather::{gather, gather_tasks, gather_tuple, Gather, GatherAll, GatherTuple, GatherTupleFuture};
pub use shield::{shield, Shield};
pub use wait::{wait, ReturnWhen};
// --- end combinators ---

use std::future::Future;

/// Spawns `future` as a new task on the current runtime (asyncio
/// `create_task`) and returns its handle.
///
/// With eager start on (runtime-wide [`Builder::eager_tasks`], or
/// [`task::Builder::eager_start`]) and called from inside a task, the new
/// future is polled once before `spawn` returns.
///
/// A panic in the future's `poll` ends the task with a panic error
/// ([`Error::is_panic`]); so does a panic in its `Drop` (run as soon as it
/// is done) after an `Ok`. After an error or a cancellation the task keeps
/// that outcome, and the drop's panic is only printed by the panic hook.
/// The worker survives either way; a drop panic at shutdown stays inside
/// the runtime's drop.
///
/// # Panics
/// Outside a Ravel runtime; use [`Handle::spawn`] there.
#[track_caller]
pub fn spawn<F, T>(future: F) -> Task<T>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    task::Builder::new().spawn(future)
}

/// Not public API: ravel-io's signal module calls this before it installs
/// its own SIGINT handling, so that [`run`]'s Ctrl-C handler stands aside
/// for the rest of the process (the program that awaits Ctrl-C gets it,
/// and the main task is not cancelled; asyncio's
/// `loop.add_signal_handler(SIGINT, ...)` replaces the Runner's handler too).
#[doc(hidden)]
pub fn __hand_over_sigint() {
    #[cfg(target_os = "linux")]
    sigint::hand_over();
}

/// The task being run on this thread (asyncio `current_task`); `None`
/// outside a task.
pub fn current_task() -> Option<TaskRef> {
    task::raw::current_raw().map(TaskRef::from_raw)
}

/// Every task of the current runtime that is not done (asyncio
/// `all_tasks`), including tasks not yet started and the current one.
///
/// # Panics
/// Outside a Ravel runtime.
#[track_caller]
pub fn all_tasks() -> Vec<TaskRef> {
    Handle::current().all_tasks()
}
