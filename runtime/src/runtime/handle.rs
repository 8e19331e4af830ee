//! [`Handle`]: a cloneable reference to a runtime.

use crate::context::Context;
use crate::current;
use crate::error::{Error, Result};
use crate::scheduler::Shared;
use crate::task::raw::{CompletionHook, DoneHook, RawTask};
use crate::task::state::{Snapshot, ABORT, NOTIFIED, RUNNING};
use crate::task::{Task, TaskId, TaskRef};
use std::future::Future;
use std::sync::Arc;

/// Eager first steps nested deeper than this fall back to normal scheduling,
/// so chains of eager spawns cannot overflow the stack.
const EAGER_DEPTH_LIMIT: u32 = 32;

/// A handle to a runtime: spawn onto it from any thread. Cheap to clone.
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl Handle {
    pub(crate) fn from_shared(shared: Arc<Shared>) -> Handle {
        Handle { shared }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The runtime this thread is inside (a worker, or inside `block_on`).
    ///
    /// # Panics
    /// Outside a Ravel runtime; see [`try_current`](Self::try_current).
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Ok(h) => h,
            Err(e) => panic!("{e}"),
        }
    }

    /// The runtime this thread is inside, or an error outside any.
    pub fn try_current() -> Result<Handle> {
        current::handle().ok_or_else(|| {
            Error::runtime_closed("Handle::current() called outside of a Ravel runtime (no running event loop)")
        })
    }

    /// Spawns `future` as a task on this runtime, from any thread. Spawns
    /// from outside the runtime are never eager.
    ///
    /// ```
    /// let rt = ravel::Runtime::new().unwrap();
    /// let task = rt.handle().spawn(async { Ok("hi") });
    /// assert_eq!(rt.block_on(async move { task.await }).unwrap(), "hi");
    /// ```
    pub fn spawn<F, T>(&self, future: F) -> Task<T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_task(future, None, None)
    }

    /// Schedules `f` to run on the runtime soon, from any thread (asyncio
    /// `call_soon_threadsafe`). An error after the runtime has shut down.
    ///
    /// ```
    /// let rt = ravel::Runtime::new().unwrap();
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// rt.handle()
    ///     .call_soon_threadsafe(move || {
    ///         // A callback, not a task: it runs inside the runtime, outside any task.
    ///         tx.send((ravel::Handle::try_current().is_ok(), ravel::current_task().is_none())).unwrap()
    ///     })
    ///     .unwrap();
    /// assert_eq!(rx.recv().unwrap(), (true, true));
    /// ```
    pub fn call_soon_threadsafe(&self, f: impl FnOnce() + Send + 'static) -> Result<()> {
        if self.shared.registry.is_closed() || self.shared.is_shutdown() {
            return Err(Error::runtime_closed("call_soon_threadsafe(): the runtime is shut down"));
        }
        self.shared.call_soon(Box::new(f));
        Ok(())
    }

    /// All tasks of this runtime that are not done (asyncio `all_tasks`).
    pub fn all_tasks(&self) -> Vec<TaskRef> {
        self.shared.registry.snapshot().into_iter().map(TaskRef::from_raw).filter(|t| !t.done()).collect()
    }

    pub(crate) fn spawn_task<F, T>(&self, future: F, name: Option<String>, eager: Option<bool>) -> Task<T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_task_in(future, name, eager, Context::current())
    }

    /// Spawns in the given context instead of a snapshot of the current one.
    pub(crate) fn spawn_task_in<F, T>(
        &self,
        future: F,
        name: Option<String>,
        eager: Option<bool>,
        ctx: Context,
    ) -> Task<T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        spawn_new(self.shared.clone(), self.in_task_here(), future, name, eager, ctx, ())
    }

    /// A task of this runtime is running on this thread (eager start's
    /// precondition).
    fn in_task_here(&self) -> bool {
        current::task_ptr().is_some() && current::is_inside(&self.shared)
    }

    /// Spawns with a completion hook in the task's cell (a task group's
    /// child): the hook runs on the completing thread once the task is
    /// done, also when it finishes inside this call (eager start).
    pub(crate) fn spawn_task_hooked<F, T>(
        &self,
        future: F,
        name: Option<String>,
        eager: Option<bool>,
        hook: DoneHook,
    ) -> Task<T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        spawn_new(self.shared.clone(), self.in_task_here(), future, name, eager, Context::current(), Some(hook))
    }

    /// Spawns on the runtime this thread is inside (`ravel::spawn`): the
    /// handle read from the thread becomes the task's, with no second clone
    /// and no check that this thread is inside.
    pub(crate) fn spawn_here<F, T>(self, future: F, name: Option<String>, eager: Option<bool>) -> Task<T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        let in_task = current::task_ptr().is_some();
        spawn_new(self.shared, in_task, future, name, eager, Context::current(), ())
    }
}

/// Creates, registers and starts (or queues) a task on `shared`.
/// `in_task_inside`: a task of this runtime is running on this thread, the
/// precondition of an eager start.
fn spawn_new<F, T, H>(
    shared: Arc<Shared>,
    in_task_inside: bool,
    future: F,
    name: Option<String>,
    eager: Option<bool>,
    ctx: Context,
    hook: H,
) -> Task<T>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
    H: CompletionHook,
{
    let id = TaskId::next();
    let eager = eager.unwrap_or(shared.eager_tasks) && in_task_inside && current::eager_depth() < EAGER_DEPTH_LIMIT;
    let flags = if eager { RUNNING } else { NOTIFIED };
    let [registered, handle, runner] = RawTask::new(future, ctx, id, shared, flags, hook);
    // The task's own reference to the runtime (moved in above).
    let shared = &*handle.header().scheduler;
    if let Some(name) = name {
        handle.header().slot.lock().extra().name = Some(Arc::from(name));
    }
    match shared.registry.insert(id, registered) {
        Ok(()) if eager => {
            let _depth = current::enter_eager();
            runner.poll_owned(Snapshot(RUNNING));
        }
        Ok(()) => shared.schedule(runner, false),
        Err(registered) => {
            // Shut down: end the task at once, unpolled.
            drop(registered);
            if !eager {
                let _ = runner.header().state.transition_to_running();
            }
            runner.poll_owned(Snapshot(RUNNING | ABORT));
        }
    }
    Task::from_raw(handle)
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle").field("workers", &self.shared.num_workers()).finish()
    }
}
