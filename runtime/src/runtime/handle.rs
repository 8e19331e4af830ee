//! [`Handle`]: a cloneable reference to a runtime.

use super::spawn::{spawn, Spec};
use crate::error::{Error, Result};
use crate::scheduler::{enter, Shared};
use crate::task::{Task, TaskRef};
use std::future::Future;
use std::sync::Arc;

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

    /// Whether this thread is inside this runtime (a worker, or `block_on`).
    pub(crate) fn is_entered(&self) -> bool {
        enter::is_inside(&self.shared)
    }

    /// Spawns with a full spec (the one spawn path).
    #[track_caller]
    pub(crate) fn spawn_spec<F, T>(&self, spec: Spec, future: F) -> Task<T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        spawn(self.shared.clone(), false, spec, future)
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
        enter::current().map(Handle::from_shared).ok_or_else(|| {
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
    #[track_caller]
    pub fn spawn<F, T>(&self, future: F) -> Task<T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        spawn(self.shared.clone(), false, Spec::new(), future)
    }

    /// Schedules `f` to run on the runtime soon, from any thread (asyncio
    /// `call_soon_threadsafe`). An error after the runtime has shut down.
    ///
    /// A closure that panics is reported to the runtime's
    /// [unhandled-error hook](crate::Builder::unhandled_error_hook) as a
    /// panic error with the message "Exception in callback" (asyncio passes
    /// it to the loop's exception handler); the worker and the other
    /// closures are unaffected.
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
        // A shutdown that closes the registry after the check above makes
        // `call_soon` run `f` at once, on this thread: it catches and
        // reports the panic there, as the entry's poll does otherwise.
        self.shared.call_soon(Box::new(f));
        Ok(())
    }

    /// Every live task of this runtime with its name, id, state, spawn
    /// location, cancel counter, what it is suspended on and the scopes it
    /// is in; `Display` prints the tree of which task awaits which
    /// (`python -m asyncio pstree`). From any thread: a program that hangs
    /// can print it from a watchdog thread. See [`call_graph`](crate::call_graph).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = ravel::Runtime::new().unwrap();
    /// let stuck = rt.handle().spawn(ravel::sleep(Duration::from_secs(3600)));
    /// while stuck.info().state != ravel::call_graph::TaskState::Suspended {
    ///     std::thread::yield_now(); // until it parks on its sleep
    /// }
    /// let handle = rt.handle().clone();
    /// let text = std::thread::spawn(move || handle.dump().to_string()).join().unwrap();
    /// assert!(text.contains("on sleep (until +"), "{text}");
    /// stuck.cancel();
    /// ```
    pub fn dump(&self) -> crate::call_graph::Dump {
        crate::call_graph::Dump::of(self.all_tasks())
    }

    /// All tasks of this runtime that are not done (asyncio `all_tasks`).
    pub fn all_tasks(&self) -> Vec<TaskRef> {
        self.shared.registry.snapshot().into_iter().map(TaskRef::from_raw).filter(|t| !t.done()).collect()
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle").field("workers", &self.shared.num_workers()).finish()
    }
}
