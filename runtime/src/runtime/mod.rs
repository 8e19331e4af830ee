//! [`Runtime`], its [`Builder`] and [`Handle`].

mod builder;
mod handle;
pub(crate) mod spawn;

pub use crate::scheduler::unhandled::UnhandledError;
pub use builder::Builder;
pub use handle::Handle;

use crate::catch_unwind::CatchUnwind;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::scheduler::{enter, worker, Shared};
use crate::task::raw::{Local, RawTask};
use crate::task::TaskRef;
use parking_lot::{Condvar, Mutex};
use spawn::{spawn, Spec};
use std::future::Future;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long dropping a runtime waits for its workers to finish their
/// current poll before detaching them.
const DROP_TIMEOUT: Duration = Duration::from_secs(10);

/// A Ravel runtime: workers, reactor, timers and the tasks they run.
///
/// ```
/// let rt = ravel::Runtime::builder().worker_threads(2).build().unwrap();
/// let answer = rt.block_on(async {
///     let task = ravel::spawn(async { Ok(21) });
///     Ok(task.await? * 2)
/// });
/// assert_eq!(answer.unwrap(), 42);
/// ```
pub struct Runtime {
    handle: Handle,
    threads: Mutex<Vec<JoinHandle<()>>>,
    exited: Arc<(Mutex<usize>, Condvar)>,
    /// The current-thread scheduler's local queue, between `block_on` calls.
    local_queue: Mutex<Option<crossbeam_deque::Worker<RawTask>>>,
    /// The context shared by every `run` (asyncio `Runner._context`).
    run_context: Arc<Mutex<Option<Context>>>,
}

impl Runtime {
    /// A multi-thread runtime with default settings.
    pub fn new() -> std::io::Result<Runtime> {
        Builder::new_multi_thread().build()
    }

    /// A builder for a multi-thread runtime.
    pub fn builder() -> Builder {
        Builder::new_multi_thread()
    }

    /// A handle to this runtime, usable from any thread.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Runs `future` to completion as a task (the root task: `current_task()`,
    /// cancellation and timeouts work in it as in any other task) and blocks
    /// this thread until it ends.
    ///
    /// On a current-thread runtime, this thread runs the scheduler meanwhile.
    /// On a multi-thread runtime the root task runs on the workers, and
    /// spawns from inside it are worker-local.
    ///
    /// # Panics
    /// When called from inside a Ravel runtime (a worker thread, or inside
    /// another `block_on`): blocking there would deadlock; await instead.
    ///
    /// When `future` itself panics, the panic resumes here, in the caller,
    /// with its original payload (as in Tokio's `block_on` and
    /// `std::thread::scope`), so a failed `assert!` in a test fails the test
    /// even if the result is ignored. A panic of a task that `future`
    /// awaits stays that task's error ([`Error::is_panic`]), which `future`
    /// may handle or return.
    ///
    /// ```
    /// let rt = ravel::Builder::new_current_thread().build().unwrap();
    /// let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ///     let _ = rt.block_on(async { panic!("root") as ravel::Result<()> });
    /// }));
    /// assert_eq!(caught.unwrap_err().downcast_ref::<&str>(), Some(&"root"));
    /// // A child's panic is that child's error.
    /// let err = rt.block_on(async { ravel::spawn(async { panic!("child") as ravel::Result<()> }).await });
    /// assert!(err.unwrap_err().is_panic());
    /// ```
    #[track_caller]
    pub fn block_on<F, T>(&self, future: F) -> Result<T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        if enter::is_inside_any() {
            panic!(
                "Runtime::block_on cannot be called from inside a Ravel runtime \
                 (the thread would deadlock waiting for itself); await the future instead"
            );
        }
        if self.handle.shared().is_shutdown() {
            return Err(Error::runtime_closed("the runtime is shut down"));
        }
        let _enter = enter::enter(self.handle.shared().clone());
        let task = spawn(self.handle.shared().clone(), true, Spec::lazy(), catch_root(future));
        self.drive_until(task.as_task_ref());
        resume_root(task.result())
    }

    /// [`block_on`](Self::block_on) for a root future that is not `Send`
    /// (it may hold `Rc`, `RefCell`, or borrow-free thread-bound state), on a
    /// current-thread runtime: the root is polled only by this thread, which
    /// runs the scheduler, so nothing forces it to be `Send`, as Tokio's
    /// `block_on` does not. Tasks it spawns are ordinary tasks and are
    /// `Send` as always. Root panics resume here as in `block_on`.
    ///
    /// The Send path pays nothing for this: `block_on` is unchanged, and
    /// the root is wrapped in a thread check only here.
    ///
    /// # Panics
    /// On a multi-thread runtime (its workers poll the root task), and
    /// where `block_on` panics.
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    ///
    /// let rt = ravel::Builder::new_current_thread().build().unwrap();
    /// let total = rt.block_on_local(async {
    ///     let log = Rc::new(RefCell::new(Vec::new())); // not Send
    ///     for i in 0..3 {
    ///         let n = ravel::spawn(async move { Ok(i * 10) }).await?;
    ///         log.borrow_mut().push(n);
    ///     }
    ///     let sum: i32 = log.borrow().iter().sum();
    ///     Ok(Rc::new(sum)) // nor is the output
    /// });
    /// assert_eq!(*total.unwrap(), 30);
    /// ```
    #[track_caller]
    pub fn block_on_local<F, T>(&self, future: F) -> Result<T>
    where
        F: Future<Output = Result<T>> + 'static,
        T: 'static,
    {
        self.require_current_thread("Runtime::block_on_local");
        self.block_on(Local::new(future)).map(Local::into_inner)
    }

    /// [`run`](Self::run) for a `main` that is not `Send`, on a
    /// current-thread runtime, as [`block_on_local`](Self::block_on_local)
    /// is to `block_on`. `#[ravel::main(flavor = "current_thread")]` and
    /// `#[ravel::test]` run their body this way.
    ///
    /// # Panics
    /// On a multi-thread runtime.
    ///
    /// ```
    /// let rt = ravel::Builder::new_current_thread().build().unwrap();
    /// let out = rt.run_local(async {
    ///     let counter = std::rc::Rc::new(std::cell::Cell::new(0));
    ///     ravel::yield_now().await?;
    ///     counter.set(counter.get() + 1);
    ///     Ok((counter.get(), ravel::current_task().unwrap().name()))
    /// });
    /// assert_eq!(out.unwrap(), (1, "main".to_string()));
    /// ```
    #[track_caller]
    pub fn run_local<F, T>(&self, main: F) -> Result<T>
    where
        F: Future<Output = Result<T>> + 'static,
        T: 'static,
    {
        self.require_current_thread("Runtime::run_local");
        self.run(Local::new(main)).map(Local::into_inner)
    }

    fn require_current_thread(&self, what: &str) {
        if !self.handle.shared().current_thread {
            panic!(
                "{what} needs a current-thread runtime (Builder::new_current_thread()): \
                 a multi-thread runtime polls its root task on its workers, so the root must be Send \
                 (use block_on / run there)"
            );
        }
    }

    /// Runs the scheduler (current-thread) or waits (multi-thread) until
    /// `task` is done.
    fn drive_until(&self, task: &TaskRef) {
        let shared = self.handle.shared();
        if shared.current_thread {
            let queue = self.local_queue.lock().take().expect("current-thread runtime used re-entrantly");
            let queue = worker::run_current_thread(shared, queue, || task.done());
            *self.local_queue.lock() = Some(queue);
        } else {
            // Wait on the task's done wakers with a waker that unparks us.
            struct Unpark(std::thread::Thread);
            impl std::task::Wake for Unpark {
                fn wake(self: Arc<Self>) {
                    self.0.unpark();
                }
            }
            let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
            let mut cx = std::task::Context::from_waker(&waker);
            let mut wait = task.wait_done();
            while std::pin::Pin::new(&mut wait).poll(&mut cx).is_pending() {
                std::thread::park();
            }
        }
    }

    /// asyncio `run` on this runtime: runs `main` as a task; when it ends,
    /// cancels every task still alive once, waits for them, reports their
    /// failures through the unhandled-error hook, and returns main's
    /// outcome. The runtime stays usable afterwards.
    ///
    /// A panic of `main` itself resumes in the caller with its original
    /// payload, after the leftover tasks were cancelled and awaited (asyncio
    /// `run` propagates `SystemExit` and `KeyboardInterrupt` the same way).
    ///
    /// ```
    /// let rt = ravel::Runtime::new().unwrap();
    /// let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ///     rt.run(async { panic!("main") as ravel::Result<()> })
    /// }));
    /// assert_eq!(caught.unwrap_err().downcast_ref::<&str>(), Some(&"main"));
    /// assert_eq!(rt.run(async { Ok(1) }).unwrap(), 1, "the runtime is still usable");
    /// ```
    #[track_caller]
    pub fn run<F, T>(&self, main: F) -> Result<T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        if enter::is_inside_any() {
            return Err(Error::invalid_state("ravel::run() cannot be called from a running event loop"));
        }
        let _enter = enter::enter(self.handle.shared().clone());
        #[cfg(target_os = "linux")]
        let sigint = crate::sigint::SigintGuard::install();
        #[cfg(not(target_os = "linux"))]
        let sigint: Option<NoSigint> = None;
        // Every `run` shares one context, as asyncio's Runner does: what main
        // sets is seen by the next run's main.
        let ctx = self.run_context.lock().take().unwrap_or_else(Context::current);
        let slot = self.run_context.clone();
        let main = async move {
            let out = catch_root(main).await;
            *slot.lock() = Some(Context::current());
            out
        };
        let spec = Spec { name: Some("main".to_string()), ctx: Some(ctx), ..Spec::lazy() };
        let main_task = spawn(self.handle.shared().clone(), true, spec, main);
        if let Some(guard) = &sigint {
            guard.target(main_task.as_task_ref().clone());
        }
        self.drive_until(main_task.as_task_ref());
        let interrupts = sigint.map(|guard| guard.finish()).unwrap_or(0);
        let out = main_task.result();
        self.cancel_leftovers();
        // Run what is still queued (done callbacks, call_soon), as asyncio's
        // later shutdown steps do: a no-op task queued behind it all.
        let flush = spawn(self.handle.shared().clone(), true, Spec::lazy(), async { Ok(()) });
        self.drive_until(flush.as_task_ref());
        match out {
            // asyncio: a Ctrl-C'd main that re-raised its cancellation, with
            // no other cancel left, becomes KeyboardInterrupt.
            Err(e) if e.is_cancelled() && interrupts > 0 && (e.is_aborted() || main_task.uncancel() == 0) => {
                Err(Error::interrupted())
            }
            out => resume_root(out),
        }
    }

    /// asyncio `_cancel_all_tasks`: cancel each live task once, wait for all
    /// of them, report failures.
    fn cancel_leftovers(&self) {
        let shared = self.handle.shared().clone();
        let tasks: Vec<TaskRef> = shared.registry.snapshot().into_iter().map(TaskRef::from_raw).collect();
        if tasks.is_empty() {
            return;
        }
        for task in &tasks {
            task.cancel();
        }
        let waited = tasks.clone();
        let spec = Spec { name: Some("ravel::run shutdown".to_string()), ..Spec::lazy() };
        let waiter = spawn(shared.clone(), true, spec, async move {
            for task in &waited {
                while task.wait_done().await.is_err() {}
            }
            Ok(())
        });
        self.drive_until(waiter.as_task_ref());
        for task in tasks {
            if task.done() && !task.cancelled() {
                if let Ok(Some(error)) = task.exception() {
                    let report = UnhandledError::new(
                        "unhandled exception during ravel::run() shutdown",
                        task.id(),
                        task.name(),
                        error,
                    );
                    (shared.error_hook)(&report);
                }
            }
        }
    }

    /// Shuts the runtime down: workers stop after their current poll, blocking
    /// closures started by [`to_thread`](crate::to_thread) run to their end,
    /// queued ones are dropped (their awaiters get a runtime-closed error),
    /// and then every task still alive is ended by dropping its future (it
    /// ends aborted). Waits at most `timeout` in all for workers and
    /// blocking threads; threads still busy then are left to finish alone.
    pub fn shutdown_timeout(self, timeout: Duration) {
        self.shutdown(timeout);
    }

    fn shutdown(&self, timeout: Duration) {
        let shared = self.handle.shared();
        if shared.is_shutdown() && self.threads.lock().is_empty() {
            return;
        }
        shared.begin_shutdown();
        let threads = std::mem::take(&mut *self.threads.lock());
        let expected = threads.len();
        let deadline = Instant::now() + timeout;
        let on_worker = worker::current_index(shared).is_some();
        // From one of its own workers (a task's destructor dropped the last
        // reference), the others are still waited for, so that every task
        // they were polling or held queued is ended before this returns;
        // this worker itself ends when the task it is running returns.
        let must_exit = if on_worker { expected.saturating_sub(1) } else { expected };
        let (count, cv) = &*self.exited;
        let mut exited = count.lock();
        while *exited < must_exit {
            if cv.wait_until(&mut exited, deadline).timed_out() {
                break;
            }
        }
        let all_exited = *exited >= expected;
        drop(exited);
        if all_exited && !on_worker {
            for t in threads {
                let _ = t.join();
            }
        }
        // Running blocking closures get what is left of the deadline.
        shared.blocking.shutdown(deadline);
        if let Some(queue) = self.local_queue.lock().take() {
            while let Some(task) = queue.pop() {
                task.run_or_drop();
            }
        }
        shared.shutdown_tasks();
        shared.driver.free_released_after_shutdown();
    }
}

/// The root future of `block_on` or `run`, with its own panic caught so
/// that the caller can resume it (a panic of a task it awaits stays that
/// task's error).
async fn catch_root<F, T>(future: F) -> Result<std::thread::Result<T>>
where
    F: Future<Output = Result<T>>,
{
    match CatchUnwind::new(future).await {
        Ok(out) => out.map(Ok),
        Err(payload) => Ok(Err(payload)),
    }
}

/// The root's outcome for the caller: a panic of the root future resumes
/// here, with its original payload (as Tokio's `block_on`,
/// `std::thread::scope` and asyncio `run` for `SystemExit` do).
fn resume_root<T>(out: Result<std::thread::Result<T>>) -> Result<T> {
    match out {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(payload)) => std::panic::resume_unwind(payload),
        Err(e) => Err(e),
    }
}

/// Ctrl-C handling is Linux-only for now (`sigaction`, `pipe2`).
#[cfg(not(target_os = "linux"))]
struct NoSigint;

#[cfg(not(target_os = "linux"))]
impl NoSigint {
    fn target(&self, _: TaskRef) {}
    fn finish(self) -> usize {
        0
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(DROP_TIMEOUT);
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shared = self.handle.shared();
        f.debug_struct("Runtime")
            .field("workers", &shared.num_workers())
            .field("current_thread", &shared.current_thread)
            .field("eager_tasks", &shared.eager_tasks)
            .finish()
    }
}

pub(crate) fn new_runtime(
    shared: Arc<Shared>,
    locals: Vec<crossbeam_deque::Worker<RawTask>>,
    thread_name: &str,
) -> std::io::Result<Runtime> {
    let exited = Arc::new((Mutex::new(0usize), Condvar::new()));
    let mut threads = Vec::new();
    let mut local_queue = None;
    if shared.current_thread {
        local_queue = locals.into_iter().next();
    } else {
        for (index, queue) in locals.into_iter().enumerate() {
            let worker_shared = shared.clone();
            let exited = exited.clone();
            let thread = std::thread::Builder::new().name(format!("{thread_name}-{index}")).spawn(move || {
                struct Exit(Arc<(Mutex<usize>, Condvar)>);
                impl Drop for Exit {
                    fn drop(&mut self) {
                        *self.0 .0.lock() += 1;
                        self.0 .1.notify_all();
                    }
                }
                let _exit = Exit(exited);
                // Task panics are caught inside the task's poll, so a panic that
                // reaches the worker loop is a bug in Ravel itself: losing the
                // worker silently would hide it (and strand its queue), so say
                // so and abort.
                let run = std::panic::AssertUnwindSafe(|| {
                    worker::run_worker(worker::Local::new(index, worker_shared, queue))
                });
                if let Err(payload) = std::panic::catch_unwind(run) {
                    let message = crate::error::Error::panic(payload).to_string();
                    eprintln!("ravel: worker thread {index} panicked outside any task ({message}); this is a bug in Ravel, aborting");
                    std::process::abort();
                }
            });
            match thread {
                Ok(t) => threads.push(t),
                Err(e) => {
                    shared.begin_shutdown();
                    return Err(e);
                }
            }
        }
    }
    Ok(Runtime {
        handle: Handle::from_shared(shared),
        threads: Mutex::new(threads),
        exited,
        local_queue: Mutex::new(local_queue),
        run_context: Arc::new(Mutex::new(None)),
    })
}
