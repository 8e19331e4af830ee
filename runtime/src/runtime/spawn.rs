//! Spawning: one spec value and one function that every spawn goes through
//! (`ravel::spawn`, [`task::Builder`](crate::task::Builder), [`Handle::spawn`],
//! task groups, `block_on` and `run`). Eagerness is decided here, once, and
//! passed down to the task as its first step's flag.

use super::Handle;
use crate::context::Context;
use crate::error::Result;
use crate::scheduler::{enter, Shared};
use crate::task::current;
use crate::task::hook::{CompletionHook, DoneHook};
use crate::task::raw::RawTask;
use crate::task::state::{Snapshot, ABORT, NOTIFIED, RUNNING};
use crate::task::{Builder, Task, TaskId};
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

/// Eager first steps nested deeper than this fall back to normal scheduling,
/// so chains of eager spawns cannot overflow the stack.
const EAGER_DEPTH_LIMIT: u32 = 32;

/// Everything a spawn needs besides the future.
pub(crate) struct Spec<H = ()> {
    /// The task's name; `Task-<id>` when `None`.
    pub(crate) name: Option<String>,
    /// Start eagerly (`Some`), or follow the runtime's setting (`None`).
    pub(crate) eager: Option<bool>,
    /// The context to run in; a snapshot of the spawner's when `None`.
    pub(crate) ctx: Option<Context>,
    /// Run on the completing thread once the task is done (task groups).
    pub(crate) hook: H,
    /// Where the spawn was asked for (the user's call site).
    pub(crate) location: &'static Location<'static>,
}

impl Spec {
    /// No name, the runtime's eager setting, the spawner's context, no hook;
    /// spawned at the caller's location.
    #[track_caller]
    pub(crate) fn new() -> Spec {
        Spec { name: None, eager: None, ctx: None, hook: (), location: Location::caller() }
    }

    /// Never eager (the root task of `block_on` and `run`).
    #[track_caller]
    pub(crate) fn lazy() -> Spec {
        Spec { eager: Some(false), ..Spec::new() }
    }
}

/// Creates, registers and starts (or queues) a task on `shared`.
/// `inside`: the caller knows this thread is inside `shared` (so an eager
/// start needs only a current task); otherwise it is checked, and only if
/// the spawn would be eager.
pub(crate) fn spawn<F, T, H>(shared: Arc<Shared>, inside: bool, spec: Spec<H>, future: F) -> Task<T>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
    H: CompletionHook,
{
    let eager = spec.eager.unwrap_or(shared.eager_tasks)
        && current::task_ptr().is_some()
        && (inside || enter::is_inside(&shared))
        && current::eager_depth() < EAGER_DEPTH_LIMIT;
    let id = TaskId::next();
    let flags = if eager { RUNNING } else { NOTIFIED };
    let ctx = spec.ctx.unwrap_or_else(Context::current);
    let [registered, handle, runner] = RawTask::new(future, ctx, id, spec.location, shared, flags, spec.hook);
    // The task's own reference to the runtime (moved in above), borrowed.
    let shared: &Shared = handle.header().scheduler().as_any().downcast_ref().expect("a Ravel task runs on Shared");
    if let Some(name) = spec.name {
        handle.header().slot.lock().extra().name = Some(Arc::from(name));
    }
    match shared.registry.insert(id, registered) {
        Ok(()) if eager => {
            let _depth = current::enter_eager();
            runner.poll_owned(Snapshot(RUNNING), true);
        }
        Ok(()) => shared.schedule(runner, false),
        Err(registered) => {
            // Shut down: end the task at once, unpolled.
            drop(registered);
            if !eager {
                let _ = runner.header().state.transition_to_running();
            }
            runner.poll_owned(Snapshot(RUNNING | ABORT), false);
        }
    }
    Task::from_raw(handle)
}

impl Builder {
    #[track_caller]
    fn spec(self) -> Spec {
        let location = match self.location {
            Some(location) => location,
            None => Location::caller(),
        };
        Spec { name: self.name, eager: self.eager_start, location, ..Spec::new() }
    }

    /// Spawns on the current runtime.
    ///
    /// # Panics
    /// Outside a Ravel runtime; use [`spawn_on`](Self::spawn_on) there.
    #[track_caller]
    pub fn spawn<F, T>(self, future: F) -> Task<T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        match enter::current() {
            Some(shared) => spawn(shared, true, self.spec(), future),
            None => panic!(
                "ravel::spawn called outside of a Ravel runtime: call it from inside \
                 `Runtime::block_on` or `ravel::run`, or use `Handle::spawn`"
            ),
        }
    }

    /// Spawns on the runtime of `handle`, from any thread. Spawns from
    /// outside that runtime are never eager.
    ///
    /// ```
    /// let rt = ravel::Runtime::new().unwrap();
    /// let task = ravel::task::Builder::new().name("greeter").spawn_on(rt.handle(), async {
    ///     Ok(ravel::current_task().unwrap().name())
    /// });
    /// assert_eq!(rt.block_on(task).unwrap(), "greeter");
    /// ```
    #[track_caller]
    pub fn spawn_on<F, T>(self, handle: &Handle, future: F) -> Task<T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        spawn(handle.shared().clone(), false, self.spec(), future)
    }

    /// Spawns on `handle` with a completion hook (task groups).
    #[track_caller]
    pub(crate) fn spawn_hooked<F, T>(self, handle: &Handle, future: F, hook: DoneHook) -> Task<T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        let location = match self.location {
            Some(location) => location,
            None => Location::caller(),
        };
        let spec = Spec { name: self.name, eager: self.eager_start, ctx: None, hook: Some(hook), location };
        spawn(handle.shared().clone(), false, spec, future)
    }
}
