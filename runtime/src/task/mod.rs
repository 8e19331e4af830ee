//! Tasks: asyncio's `Task` on a work-stealing scheduler.
//!
//! # The task protocol
//!
//! A task is one heap allocation (`raw::Cell`): a header (`raw::Header`)
//! at offset 0, then the future and, once it ends, its output, in the same
//! slot (`Stage`). Everything else reaches it through a type-erased pointer
//! to the header and a per-type vtable.
//!
//! ## The state word (`state::State`)
//!
//! One `AtomicUsize`: flag bits, and the reference count above bit 16.
//!
//! | bit | meaning | set by | cleared by |
//! | --- | --- | --- | --- |
//! | `RUNNING` | the runner owns the future | the runner (queue entry run, eager spawn, shutdown) | the runner, at idle or complete |
//! | `NOTIFIED` | a queue entry exists, or must be made when the poll returns | wakers, `abort` | the runner, when it starts |
//! | `COMPLETE` | the output is stored; the future is gone | the runner | never |
//! | `CANCELLED` / `FAILED` | the outcome, set with `COMPLETE` | the runner | never |
//! | `JOIN_INTEREST` | a `Task<T>` handle exists | spawn | the handle's drop |
//! | `OUTPUT_TAKEN` | a reader claimed the output | `Task::result` / `.await` | never |
//! | `ABORT` | drop the future at the next scheduling point | `abort`, shutdown | never |
//! | `STARTED` | the future has been polled | the runner | never |
//! | `CALLBACK` | a `call_soon` entry, not a task: unregistered, no current task while it runs | creation | never |
//! | `WAITER` | a waiter (`_fut_waiter`) was recorded during a poll | the awaiting leaf | the runner, at the next poll |
//!
//! Who may touch what: the future and the stage belong to whoever set
//! `RUNNING` (one thread at a time, by the CAS in `transition_to_running`);
//! the output belongs to whoever won `claim_output` after `COMPLETE`. All
//! other fields are atomics or behind the header's locks.
//!
//! References: a spawned task starts with three: the registry's (released
//! when it completes), the `Task<T>` handle's, and the runner's (the queue
//! entry, or the eager poller). Every queue entry, waker, `TaskRef` and
//! handle holds one. A waker that finds the task idle sets `NOTIFIED` and
//! moves (or takes) a reference into a new queue entry; one that finds it
//! `RUNNING` only sets `NOTIFIED`, and the runner requeues the task when its
//! poll returns `Pending`, handing its reference to the new entry. The
//! registry's reference keeps the count above zero while the task is not
//! complete, so only completion (and then the last handle, waker or ref) can
//! free it.
//!
//! Orderings: every transition is an `AcqRel` CAS, so whatever the runner
//! wrote to the stage before `COMPLETE` is visible to a reader that saw
//! `COMPLETE` with `Acquire`; the last `ref_dec` is `AcqRel`, so the freeing
//! thread sees every other thread's writes.
//!
//! ## The cancel word (`state::CancelWord`)
//!
//! One `AtomicU64`: asyncio's `_num_cancels_requested` in the low 32 bits,
//! `_must_cancel` (`PENDING`), and `DONE`. `cancel()` counts with a CAS that
//! fails if `DONE` is set, so a cancel that races completion either counts
//! before the task ends (and then, if undelivered, the task ends cancelled)
//! or returns `false` and leaves the counter alone. The message and the
//! waiter (`_fut_waiter`) live in the header's `slot` lock; every writer of
//! the cancel word except completion's `fetch_or(DONE)` holds that lock.
//!
//! ## Waiters
//!
//! A leaf that awaits a task, a promise or a gather records it as the task's
//! waiter, so `cancel()` forwards there (asyncio `_fut_waiter`). The record
//! lasts one suspension: the next poll clears it (only when `WAITER` is set,
//! so tasks that never await one pay nothing) and a leaf still pending
//! records itself again.
//!
//! A leaf whose suspension fits in 64 bits (a sleep and its deadline,
//! `to_thread`, a task group's exit) writes a note instead (`note::Note`,
//! one relaxed store, no lock): introspection reads it when no waiter is
//! recorded, and the runner clears it at the start of the next poll.
//!
//! ## Delivery
//!
//! Rust cannot throw into a suspended future, so a pending cancellation is
//! delivered by the next Ravel awaitable the task polls, by the leaf rule
//! written once in [`Leaf`] (module `leaf`); `cancel` holds the requests.

pub(crate) mod cancel;
pub(crate) mod cancellable;
pub(crate) mod current;
pub(crate) mod hook;
pub(crate) mod introspect;
pub(crate) mod leaf;
pub(crate) mod note;
pub(crate) mod raw;
pub(crate) mod schedule;
pub(crate) mod state;
pub(crate) mod waiter;

mod builder;
mod handle;

pub use builder::Builder;
pub use handle::{Task, TaskRef, WaitDone};
pub use leaf::Leaf;
pub(crate) use raw::is_task_waker;

use std::fmt;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};

/// A task's unique id (unique for the life of the process).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(NonZeroU64);

impl TaskId {
    pub(crate) fn next() -> TaskId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        TaskId(NonZeroU64::new(NEXT.fetch_add(1, Ordering::Relaxed)).expect("task id overflow"))
    }

    /// An id for a `call_soon` entry: its own range, so task ids (and the
    /// default `Task-<id>` names) have no gaps from callbacks.
    pub(crate) fn next_callback() -> TaskId {
        static NEXT: AtomicU64 = AtomicU64::new(1 << 62);
        TaskId(NonZeroU64::new(NEXT.fetch_add(1, Ordering::Relaxed)).expect("callback id overflow"))
    }

    /// Whether this id is a `call_soon` entry's, not a task's.
    pub(crate) fn is_callback(self) -> bool {
        self.0.get() >= 1 << 62
    }

    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Debug for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Identifies a done callback, for [`TaskRef::remove_done_callback`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CallbackId(u64);

impl CallbackId {
    pub(crate) fn next() -> CallbackId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        CallbackId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}
