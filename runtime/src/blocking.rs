//! The blocking pool behind [`to_thread`](crate::to_thread): a bounded set
//! of threads, started lazily, retired after a keep-alive, with a FIFO queue
//! for work beyond the bound (asyncio's default executor, a
//! `ThreadPoolExecutor` of `min(32, cores + 4)` threads).

use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A job: runs the closure and delivers its result itself.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

struct State {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
    shutdown: bool,
    next_id: usize,
}

struct Inner {
    state: Mutex<State>,
    /// Signalled when a job is queued or on shutdown.
    work: Condvar,
    /// Signalled when a thread exits.
    exited: Condvar,
    max_threads: usize,
    keep_alive: Duration,
    name: String,
}

/// The pool; cheap to clone.
#[derive(Clone)]
pub(crate) struct BlockingPool {
    inner: Arc<Inner>,
}

/// asyncio's default: `min(32, cores + 4)`.
pub(crate) fn default_max_threads() -> usize {
    32.min(num_cpus::get() + 4)
}

impl BlockingPool {
    pub(crate) fn new(max_threads: usize, keep_alive: Duration, name: String) -> BlockingPool {
        BlockingPool {
            inner: Arc::new(Inner {
                state: Mutex::new(State { queue: VecDeque::new(), threads: 0, idle: 0, shutdown: false, next_id: 0 }),
                work: Condvar::new(),
                exited: Condvar::new(),
                max_threads: max_threads.max(1),
                keep_alive,
                name,
            }),
        }
    }

    /// Queues `job`; starts a thread if none is idle and the bound allows.
    /// Gives the job back after shutdown.
    pub(crate) fn submit(&self, job: Job) -> Result<(), Job> {
        let mut state = self.inner.state.lock();
        if state.shutdown {
            return Err(job);
        }
        state.queue.push_back(job);
        if state.idle >= state.queue.len() {
            // A waiting thread will take it.
            self.inner.work.notify_one();
        } else if state.threads < self.inner.max_threads {
            state.threads += 1;
            let id = state.next_id;
            state.next_id += 1;
            drop(state);
            let inner = self.inner.clone();
            let spawned =
                std::thread::Builder::new().name(format!("{}-{id}", self.inner.name)).spawn(move || run(inner));
            if spawned.is_err() {
                // No thread: the job stays queued for a running thread, or
                // runs when one is free. Undo the count.
                let mut state = self.inner.state.lock();
                state.threads -= 1;
                if state.threads == 0 {
                    // Nobody will run it: run it here rather than lose it.
                    let job = state.queue.pop_back().expect("job just queued");
                    drop(state);
                    job();
                }
            }
        }
        Ok(())
    }

    /// Stops accepting work, drops queued jobs, and waits until `deadline`
    /// for running jobs to finish. Returns true if every thread exited.
    pub(crate) fn shutdown(&self, deadline: Instant) -> bool {
        let mut state = self.inner.state.lock();
        state.shutdown = true;
        let queued = std::mem::take(&mut state.queue);
        self.inner.work.notify_all();
        drop(state);
        // Dropping a job drops its result slot: its awaiter sees the runtime closed.
        drop(queued);
        let mut state = self.inner.state.lock();
        while state.threads > 0 {
            if self.inner.exited.wait_until(&mut state, deadline).timed_out() {
                return state.threads == 0;
            }
        }
        true
    }

    #[cfg(test)]
    fn threads(&self) -> usize {
        self.inner.state.lock().threads
    }
}

fn run(inner: Arc<Inner>) {
    let mut state = inner.state.lock();
    loop {
        if let Some(job) = state.queue.pop_front() {
            drop(state);
            // A panicking closure is caught by the job itself; this is a
            // second line so the thread never dies.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            state = inner.state.lock();
            continue;
        }
        if state.shutdown {
            break;
        }
        // Idle only while waiting: submitters compare idle threads with
        // queued jobs to decide whether to start another thread.
        state.idle += 1;
        let timed_out = inner.work.wait_for(&mut state, inner.keep_alive).timed_out();
        state.idle -= 1;
        if timed_out && state.queue.is_empty() {
            break; // retire after the keep-alive
        }
    }
    state.threads -= 1;
    inner.exited.notify_all();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    #[test]
    fn bounded_lazy_and_retires() {
        let pool = BlockingPool::new(2, Duration::from_millis(50), "t".into());
        assert_eq!(pool.threads(), 0, "lazy");
        let (tx, rx) = mpsc::channel();
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        for i in 0..5 {
            let tx = tx.clone();
            let gate = gate.clone();
            pool.submit(Box::new(move || {
                let mut open = gate.0.lock();
                while !*open {
                    gate.1.wait(&mut open);
                }
                tx.send(i).unwrap();
            }))
            .ok()
            .unwrap();
        }
        assert_eq!(pool.threads(), 2, "bounded; the rest is queued");
        *gate.0.lock() = true;
        gate.1.notify_all();
        let mut got: Vec<i32> = (0..5).map(|_| rx.recv().unwrap()).collect();
        got.sort();
        assert_eq!(got, [0, 1, 2, 3, 4]);
        let deadline = Instant::now() + Duration::from_secs(5);
        while pool.threads() > 0 && Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert_eq!(pool.threads(), 0, "idle threads retire after the keep-alive");
    }

    #[test]
    fn shutdown_drops_queued_and_refuses_new() {
        let pool = BlockingPool::new(1, Duration::from_secs(10), "t".into());
        let ran = Arc::new(AtomicUsize::new(0));
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let r = ran.clone();
        pool.submit(Box::new(move || {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            r.fetch_add(1, Ordering::SeqCst);
        }))
        .ok()
        .unwrap();
        started_rx.recv().unwrap();
        let r = ran.clone();
        pool.submit(Box::new(move || {
            r.fetch_add(100, Ordering::SeqCst);
        }))
        .ok()
        .unwrap();
        // The running job is stuck: shutdown returns at its deadline.
        assert!(!pool.shutdown(Instant::now() + Duration::from_millis(20)));
        assert!(pool.submit(Box::new(|| {})).is_err());
        release_tx.send(()).unwrap();
        assert!(pool.shutdown(Instant::now() + Duration::from_secs(5)));
        assert_eq!(ran.load(Ordering::SeqCst), 1, "the queued job was dropped, the running one finished");
    }
}
