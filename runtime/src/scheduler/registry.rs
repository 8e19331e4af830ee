//! The registry of live tasks (asyncio `all_tasks`), sharded so that spawns
//! on different workers rarely contend. It holds one reference to every task
//! from spawn until completion.

use crate::task::raw::{Header, RawTask, TaskList};
use crate::task::TaskId;
use parking_lot::Mutex;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};

type Shard = TaskList;

pub(crate) struct Registry {
    shards: Box<[Mutex<Shard>]>,
    mask: u64,
    closed: AtomicBool,
}

impl Registry {
    pub(crate) fn new(workers: usize) -> Registry {
        let n = (workers * 4).next_power_of_two();
        Registry {
            shards: (0..n).map(|_| Mutex::new(Shard::default())).collect(),
            mask: n as u64 - 1,
            closed: AtomicBool::new(false),
        }
    }

    fn shard(&self, id: TaskId) -> &Mutex<Shard> {
        &self.shards[(id.as_u64() & self.mask) as usize]
    }

    /// Registers a task, taking its registry reference. Gives the reference
    /// back if the runtime is shutting down.
    pub(crate) fn insert(&self, id: TaskId, task: RawTask) -> Result<(), RawTask> {
        let mut shard = self.shard(id).lock();
        if self.closed.load(Ordering::Acquire) {
            return Err(task);
        }
        // SAFETY: a task is registered once, at spawn, so it is in no list.
        unsafe { shard.push(task) };
        Ok(())
    }

    /// Unregisters a completed task, returning the registry's reference
    /// (`None` if shutdown already took it).
    pub(crate) fn remove(&self, id: TaskId, task: NonNull<Header>) -> Option<RawTask> {
        // SAFETY: the caller holds a reference, so the task is live; it was
        // only ever pushed to the shard of its id.
        unsafe { self.shard(id).lock().remove(task) }
    }

    /// References to every registered task.
    pub(crate) fn snapshot(&self) -> Vec<RawTask> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            shard.lock().snapshot(&mut out);
        }
        out
    }

    /// Closes the registry to new tasks and takes every registered task.
    pub(crate) fn close(&self) -> Vec<RawTask> {
        self.closed.store(true, Ordering::Release);
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            shard.lock().drain(&mut out);
        }
        out
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}
