//! [`Builder`]: spawn options (name, eager start). Its `spawn` methods are
//! the runtime's (`runtime/spawn.rs`): a task does not know how it is
//! scheduled.

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
    pub(crate) name: Option<String>,
    pub(crate) eager_start: Option<bool>,
    /// The spawn location to record, when the spawn goes through a closure
    /// that `#[track_caller]` cannot see through (`gather`); else the caller
    /// of `spawn`.
    pub(crate) location: Option<&'static std::panic::Location<'static>>,
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
}
