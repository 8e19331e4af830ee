//! What a task is doing, read without stopping it: its state, where it
//! was spawned, what it is suspended on and the scopes it is in. The call
//! graph (`ravel::call_graph`) is built from these.
//!
//! Cheap when unused: the spawn location is one pointer in the header;
//! what a task is suspended on is the waiter record that cancellation
//! forwarding already keeps (asyncio `_fut_waiter`), plus a record made
//! only when a sleep, `to_thread`, `shield`, `wait` or a task group's exit
//! actually suspends; a task group or an armed timeout registers itself
//! with its task once. Nothing is read until someone asks.

use super::note::Noted;
use super::state::{CANCELLED, COMPLETE, FAILED, NOTIFIED, RUNNING};
use super::waiter::Waiter;
use super::{TaskId, TaskRef};
use std::panic::Location;
use std::sync::{Arc, Weak};
use std::time::Instant;

/// Where a task is in its life, as [`TaskInfo::state`] reports it.
///
/// ```
/// use ravel::call_graph::TaskState;
///
/// let rt = ravel::Builder::new_current_thread().build().unwrap();
/// rt.block_on(async {
///     let me = ravel::current_task().unwrap();
///     assert_eq!(me.info().state, TaskState::Running);
///     let t = ravel::spawn(async { Ok(()) });
///     assert_eq!(t.info().state, TaskState::Scheduled);
///     t.to_task_ref().wait_done().await?;
///     assert_eq!(t.info().state, TaskState::Done);
///     Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// Queued to run (not started yet, or woken).
    Scheduled,
    /// Being polled right now, on some thread.
    Running,
    /// Suspended at an await, waiting to be woken.
    Suspended,
    /// Ended with a value.
    Done,
    /// Ended cancelled (or aborted).
    Cancelled,
    /// Ended with an error or a panic.
    Failed,
}

impl TaskState {
    /// The lower-case word the call graph prints.
    ///
    /// ```
    /// assert_eq!(ravel::call_graph::TaskState::Suspended.as_str(), "suspended");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Scheduled => "scheduled",
            TaskState::Running => "running",
            TaskState::Suspended => "suspended",
            TaskState::Done => "done",
            TaskState::Cancelled => "cancelled",
            TaskState::Failed => "failed",
        }
    }
}

/// What a task is suspended on, as far as Ravel knows: the Ravel awaitable
/// it last suspended at. A task suspended on a future Ravel cannot see into
/// (a channel of another crate) shows [`Unknown`](SuspendedOn::Unknown).
///
/// ```
/// use ravel::call_graph::SuspendedOn;
/// use std::time::Duration;
///
/// ravel::run(async {
///     let sleeper = ravel::spawn(ravel::sleep(Duration::from_secs(3600)));
///     let slept = sleeper.to_task_ref();
///     let joiner = ravel::spawn(async move { sleeper.await });
///     let suspended = |t: &ravel::TaskRef| t.info().state == ravel::call_graph::TaskState::Suspended;
///     while !suspended(&joiner) || !suspended(&slept) {
///         ravel::yield_now().await?;
///     }
///     assert!(matches!(slept.info().suspended_on, SuspendedOn::Sleep(Some(_))));
///     assert!(matches!(joiner.info().suspended_on, SuspendedOn::Task(t) if t == slept));
///     joiner.cancel();
///     Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SuspendedOn {
    /// Nothing recorded: running, scheduled, yielding, or waiting on a
    /// future that is not a Ravel awaitable.
    Unknown,
    /// Awaiting this task (a `Task` join; cancellation is forwarded to it).
    Task(TaskRef),
    /// `shield(task)`: awaiting this task without forwarding cancellation.
    Shield(TaskRef),
    /// `gather`: awaiting these tasks.
    Gather(Vec<TaskRef>),
    /// `wait`: awaiting these tasks.
    Wait(Vec<TaskRef>),
    /// The end of a `TaskGroup::run` scope, waiting for the group's
    /// children (listed in the task's [`Scope::TaskGroup`]).
    TaskGroupExit,
    /// `sleep` until this instant (`None`: a sleep that never ends).
    Sleep(Option<Instant>),
    /// `to_thread`: a closure on the blocking pool.
    ToThread,
    /// A `Promise`.
    Promise,
    /// A `ravel::sync` primitive or queue: which wait (`"Lock.acquire"`,
    /// `"Event.wait"`, `"Queue.get"`, ...).
    Sync(&'static str),
    /// I/O readiness: the hook `ravel::io` fills (a socket or another
    /// source, described), recorded when an I/O wait suspends. Nothing
    /// records it yet: I/O readiness dispatch lands with `ravel::io`.
    Io(String),
    /// Another cancellable Ravel awaitable, named.
    Other(&'static str),
}

/// A scope a task is inside, that makes it await other tasks or limits its
/// time, as [`TaskInfo::scopes`] lists it (innermost last).
///
/// ```
/// use ravel::call_graph::Scope;
///
/// ravel::run(async {
///     ravel::TaskGroup::run(|tg| async move {
///         tg.spawn(async { Ok(()) })?;
///         let scopes = ravel::current_task().unwrap().info().scopes;
///         assert!(matches!(&scopes[..], [Scope::TaskGroup { children }] if children.len() == 1));
///         Ok(())
///     })
///     .await
/// })
/// .unwrap();
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Scope {
    /// A `TaskGroup::run` scope, with its children not yet done: the task
    /// awaits them (asyncio adds the parent to each child's awaited-by).
    TaskGroup {
        /// The children not yet done.
        children: Vec<TaskRef>,
    },
    /// A timeout scope (`timeout`, `timeout_at`, `wait_for`, `Timeout`)
    /// whose body has suspended.
    Timeout {
        /// Its deadline; `None` if it has none.
        deadline: Option<Instant>,
    },
}

/// A snapshot of one task for introspection ([`TaskRef::info`]): name, id,
/// state, spawn location, cancel counter, what it is suspended on and the
/// scopes it is in.
///
/// ```
/// ravel::run(async {
///     let info = ravel::current_task().unwrap().info();
///     assert_eq!(info.name, "main");
///     assert_eq!(info.cancelling, 0);
///     assert!(info.location.file().ends_with(".rs"));
///     Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TaskInfo {
    /// The task.
    pub task: TaskRef,
    /// Its id.
    pub id: TaskId,
    /// Its name.
    pub name: String,
    /// Its state.
    pub state: TaskState,
    /// Where it was spawned (`ravel::spawn`, `TaskGroup::spawn`, ... are
    /// `#[track_caller]`; the root task: the `block_on`/`run` call).
    pub location: &'static Location<'static>,
    /// Its cancel counter (`cancelling()`).
    pub cancelling: u32,
    /// What it is suspended on.
    pub suspended_on: SuspendedOn,
    /// The scopes it is inside that are still active, outermost first.
    pub scopes: Vec<Scope>,
}

impl TaskInfo {
    pub(crate) fn of(task: &TaskRef) -> TaskInfo {
        let header = task.raw().header();
        let snapshot = header.state.load();
        let state = if snapshot.has(COMPLETE) {
            if snapshot.has(CANCELLED) {
                TaskState::Cancelled
            } else if snapshot.has(FAILED) {
                TaskState::Failed
            } else {
                TaskState::Done
            }
        } else if snapshot.has(RUNNING) {
            TaskState::Running
        } else if snapshot.has(NOTIFIED) {
            TaskState::Scheduled
        } else {
            TaskState::Suspended
        };
        // Copy what the slot holds, then look inside it after unlocking:
        // gathers and scopes have locks of their own.
        let (waiter, scopes) = {
            let slot = header.slot.lock();
            let scopes = slot.extra_ref().map(|e| e.scopes.clone()).unwrap_or_default();
            (slot.waiter.clone(), scopes)
        };
        let suspended_on = match waiter {
            _ if snapshot.has(COMPLETE) => SuspendedOn::Unknown,
            None => match header.note.get() {
                None => SuspendedOn::Unknown,
                Some(Noted::Sleep(when)) => SuspendedOn::Sleep(when),
                Some(Noted::ToThread) => SuspendedOn::ToThread,
                Some(Noted::TaskGroupExit) => SuspendedOn::TaskGroupExit,
            },
            Some(Waiter::Task(t)) => SuspendedOn::Task(t),
            Some(Waiter::Target(target)) => target.suspended_on(),
            Some(Waiter::Leaf(s)) => s.into_public(),
        };
        let scopes = scopes.iter().filter_map(Weak::upgrade).filter_map(|s| s.view()).collect();
        TaskInfo {
            task: task.clone(),
            id: header.id,
            name: task.name(),
            state,
            location: header.location,
            cancelling: header.cancel.count(),
            suspended_on,
            scopes,
        }
    }

    /// The tasks this task awaits: the edges of the call graph. The task
    /// it joins, shields, gathers or waits for, and the children of the
    /// task groups it is in.
    ///
    /// ```
    /// ravel::run(async {
    ///     let child = ravel::spawn(ravel::sleep(std::time::Duration::from_secs(3600)));
    ///     let id = child.id();
    ///     let parent = ravel::spawn(async move { child.await });
    ///     while parent.info().state != ravel::call_graph::TaskState::Suspended {
    ///         ravel::yield_now().await?;
    ///     }
    ///     assert_eq!(parent.info().awaits().iter().map(|t| t.id()).collect::<Vec<_>>(), [id]);
    ///     parent.cancel();
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn awaits(&self) -> Vec<TaskRef> {
        let mut out: Vec<TaskRef> = match &self.suspended_on {
            SuspendedOn::Task(t) | SuspendedOn::Shield(t) => vec![t.clone()],
            SuspendedOn::Gather(ts) | SuspendedOn::Wait(ts) => ts.iter().filter(|t| !t.done()).cloned().collect(),
            _ => Vec::new(),
        };
        for scope in &self.scopes {
            if let Scope::TaskGroup { children } = scope {
                for child in children {
                    if !out.contains(child) {
                        out.push(child.clone());
                    }
                }
            }
        }
        out
    }
}

/// What a plain leaf recorded as the task's suspension, for introspection
/// only: `cancel()` never forwards to it. Kept small (it shares the
/// header's waiter slot with the forwarding records).
#[derive(Clone)]
/// (Suspensions that fit in 64 bits are noted without the lock instead:
/// module `note`.)
pub(crate) enum Suspension {
    Shield(TaskRef),
    Wait(Arc<[TaskRef]>),
    /// The hook for `ravel::io`: what the I/O wait is on.
    #[allow(dead_code)]
    Io(Arc<str>),
}

impl Suspension {
    fn into_public(self) -> SuspendedOn {
        match self {
            Suspension::Shield(t) => SuspendedOn::Shield(t),
            Suspension::Wait(ts) => SuspendedOn::Wait(ts.to_vec()),
            Suspension::Io(what) => SuspendedOn::Io(what.to_string()),
        }
    }
}

/// A scope that registers with its task (`Extra::scopes`) so the task's
/// info can list it: a task group, an armed timeout.
pub(crate) trait ScopeView: Send + Sync {
    /// The scope as it is now; `None` once it is over.
    fn view(&self) -> Option<Scope>;
}

/// Registers `scope` with the running task (once per scope), dropping the
/// registrations of scopes that are gone.
pub(crate) fn register_scope(task: &TaskRef, scope: Weak<dyn ScopeView>) {
    let mut slot = task.raw().header().slot.lock();
    let scopes = &mut slot.extra().scopes;
    scopes.retain(|s| s.strong_count() > 0);
    scopes.push(scope);
}
