//! The registry of live tasks (asyncio `all_tasks`), sharded so that spawns
//! on different workers rarely contend. It holds one reference to every task
//! from spawn until completion.

use crate::task::raw::RawTask;
use crate::task::TaskId;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};

/// Task ids are unique integers: hash them as themselves.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 keys are hashed")
    }

    fn write_u64(&mut self, n: u64) {
        // Spread the low bits a little; ids are sequential.
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type Shard = HashMap<u64, RawTask, BuildHasherDefault<IdHasher>>;

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
        shard.insert(id.as_u64(), task);
        Ok(())
    }

    /// Unregisters a completed task, returning the registry's reference.
    pub(crate) fn remove(&self, id: TaskId) -> Option<RawTask> {
        self.shard(id).lock().remove(&id.as_u64())
    }

    /// References to every registered task.
    pub(crate) fn snapshot(&self) -> Vec<RawTask> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            out.extend(shard.lock().values().cloned());
        }
        out
    }

    /// Closes the registry to new tasks and takes every registered task.
    pub(crate) fn close(&self) -> Vec<RawTask> {
        self.closed.store(true, Ordering::Release);
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            out.extend(shard.lock().drain().map(|(_, t)| t));
        }
        out
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}
