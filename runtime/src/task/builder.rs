//! [`Builder`]: spawn options (name, eager start).

use super::Task;
use crate::error::Result;
use crate::runtime::Handle;
use std::future::Future;

/// Options for spawning one task: its name and whether it starts eagerly.
///
/// ```
/// ravel::run(async {
///     let task = ravel::task::Builder::new()
///         .name("fetch")
///         .eager_start(true)
///         .spawn(async { Ok(ravel::current_task().unwrap().name()) });
///     // With eager start the body ran inside `spawn`, under its given name.
///     assert!(task.done());
///     assert_eq!(task.await?, "fetch");
///     Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Debug, Default, Clone)]
#[must_use = "a task builder does nothing until `spawn` is called"]
pub struct Builder {
    name: Option<String>,
    eager_start: Option<bool>,
}

impl Builder {
    /// Default options: a generated name, and the runtime's eager setting.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task (asyncio `create_task(name=...)`). The name is visible
    /// from the start, including during an eager first step.
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Overrides the runtime's [`eager_tasks`](crate::runtime::Builder::eager_tasks)
    /// setting for this task (asyncio 3.14 `eager_start=`).
    ///
    /// With eager start, `spawn` called from inside the runtime polls the
    /// new future once, on the calling thread, before it returns: **user
    /// code runs inside `spawn`** (Tokio guarantees the opposite). If that
    /// first poll completes, the task is born done and never queued.
    pub fn eager_start(mut self, eager: bool) -> Builder {
        self.eager_start = Some(eager);
        self
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
        match Handle::try_current() {
            Ok(handle) => handle.spawn_here(future, self.name, self.eager_start),
            Err(_) => panic!(
                "ravel::spawn called outside of a Ravel runtime: call it from inside \
                 `Runtime::block_on` or `ravel::run`, or use `Handle::spawn`"
            ),
        }
    }

    /// Spawns on the runtime of `handle`, from any thread. Spawns from
    /// outside that runtime are never eager.
    pub fn spawn_on<F, T>(self, handle: &Handle, future: F) -> Task<T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        handle.spawn_task(future, self.name, self.eager_start)
    }

    /// Spawns on `handle` with a completion hook (task groups).
    pub(crate) fn spawn_hooked<F, T>(self, handle: &Handle, future: F, hook: crate::task::raw::DoneHook) -> Task<T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        handle.spawn_task_hooked(future, self.name, self.eager_start, hook)
    }
}
