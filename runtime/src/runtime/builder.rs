//! [`Builder`]: runtime configuration.

use super::Runtime;
use crate::scheduler::unhandled::{default_hook, UnhandledError};
use crate::scheduler::Shared;
use std::sync::Arc;
use std::time::Duration;

/// Configures and builds a [`Runtime`].
///
/// ```
/// let rt = ravel::Runtime::builder()
///     .worker_threads(2)
///     .eager_tasks(true)
///     .thread_name("my-worker")
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(async { Ok(1) }).unwrap(), 1);
/// ```
pub struct Builder {
    current_thread: bool,
    worker_threads: Option<usize>,
    eager_tasks: bool,
    thread_name: String,
    hook: Arc<dyn Fn(&UnhandledError) + Send + Sync>,
    max_blocking_threads: usize,
    keep_alive: Duration,
}

impl Builder {
    /// A multi-thread runtime: `worker_threads` workers (default: one per
    /// core) stealing work from each other.
    pub fn new_multi_thread() -> Builder {
        Builder {
            current_thread: false,
            worker_threads: None,
            eager_tasks: false,
            thread_name: "ravel-worker".to_string(),
            hook: Arc::new(default_hook),
            max_blocking_threads: crate::blocking::default_max_threads(),
            keep_alive: Duration::from_secs(10),
        }
    }

    /// A single-worker runtime that runs on the thread calling
    /// [`Runtime::block_on`], with asyncio's FIFO ready order: each loop
    /// iteration runs exactly the tasks that were ready when it began.
    pub fn new_current_thread() -> Builder {
        Builder { current_thread: true, ..Builder::new_multi_thread() }
    }

    /// The number of worker threads (multi-thread runtime). Default:
    /// `num_cpus::get()`.
    ///
    /// # Panics
    /// If `n` is 0.
    pub fn worker_threads(mut self, n: usize) -> Builder {
        assert!(n > 0, "worker_threads must be at least 1");
        self.worker_threads = Some(n);
        self
    }

    /// Start spawned tasks eagerly (asyncio `eager_task_factory`): `spawn`
    /// from inside a task polls the new future once before returning. See
    /// [`task::Builder::eager_start`](crate::task::Builder::eager_start).
    pub fn eager_tasks(mut self, eager: bool) -> Builder {
        self.eager_tasks = eager;
        self
    }

    /// The name prefix of worker threads (`<name>-<index>`).
    pub fn thread_name(mut self, name: impl Into<String>) -> Builder {
        self.thread_name = name.into();
        self
    }

    /// The hook that receives failures nobody handled (asyncio's exception
    /// handler). Default: print one line on stderr.
    pub fn unhandled_error_hook(mut self, hook: impl Fn(&UnhandledError) + Send + Sync + 'static) -> Builder {
        self.hook = Arc::new(hook);
        self
    }

    /// The most threads [`to_thread`](crate::to_thread) may use at once
    /// (default `min(32, cores + 4)`, asyncio's default executor). Calls
    /// beyond it wait in a FIFO queue. Threads start lazily.
    ///
    /// # Panics
    /// If `n` is 0.
    pub fn max_blocking_threads(mut self, n: usize) -> Builder {
        assert!(n > 0, "max_blocking_threads must be at least 1");
        self.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking-pool thread waits for work before it exits
    /// (default 10 s).
    pub fn thread_keep_alive(mut self, keep_alive: Duration) -> Builder {
        self.keep_alive = keep_alive;
        self
    }

    /// Builds the runtime and starts its workers.
    pub fn build(self) -> std::io::Result<Runtime> {
        let workers = if self.current_thread { 1 } else { self.worker_threads.unwrap_or_else(num_cpus::get).max(1) };
        let locals: Vec<_> = (0..workers).map(|_| crossbeam_deque::Worker::new_fifo()).collect();
        let stealers = locals.iter().map(|w| w.stealer()).collect();
        let driver = crate::driver::Driver::new(workers)?;
        let blocking = crate::blocking::BlockingPool::new(
            self.max_blocking_threads,
            self.keep_alive,
            format!("{}-blocking", self.thread_name),
        );
        let shared = Arc::new_cyclic(|me| {
            Shared::new(stealers, driver, self.eager_tasks, self.current_thread, self.hook, blocking, me.clone())
        });
        super::new_runtime(shared, locals, &self.thread_name)
    }
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("current_thread", &self.current_thread)
            .field("worker_threads", &self.worker_threads)
            .field("eager_tasks", &self.eager_tasks)
            .field("thread_name", &self.thread_name)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("keep_alive", &self.keep_alive)
            .finish()
    }
}
