//! A worker: its local queue and LIFO slot, the run loop of a multi-thread
//! worker, and the iteration loop of the current-thread scheduler.

use super::lifo::{LifoSlot, Seen};
use super::Shared;
use crate::task::raw::RawTask;
use crossbeam_deque::{Steal, Worker};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

/// LIFO picks allowed in a row before the local queue gets a turn.
pub(crate) const MAX_LIFO_STREAK: u32 = 3;
/// Every this many picks the injector is checked before the local queue.
pub(crate) const GLOBAL_INTERVAL: u32 = 31;
/// Every this many picks the reactor and timers are polled without blocking.
pub(crate) const MAINTENANCE_INTERVAL: u32 = 61;
/// Steal rounds a searching worker makes before it goes to sleep, with a
/// short spin between rounds (a few microseconds in all). While it searches,
/// spawners skip waking a sleeper, so a worker that would otherwise park and
/// be woken again (two futex calls and a context switch) for every few tasks
/// of a steady stream of spawns stays awake instead.
const SEARCH_ROUNDS: u32 = 16;
/// `spin_loop` hints between two search rounds.
const SEARCH_SPINS: u32 = 32;
/// The search round in which a searcher notes the other workers' LIFO
/// slots; in the last round it steals a slot whose task is still the one
/// it noted (`scheduler/lifo.rs`).
const LIFO_PEEK_ROUND: u32 = SEARCH_ROUNDS / 2;

/// The worker-local half, reachable from this thread only.
pub(crate) struct Local {
    pub(crate) index: usize,
    pub(crate) shared: Arc<Shared>,
    queue: Worker<RawTask>,
    lifo_enabled: bool,
    /// What this worker, searching, saw in each other worker's LIFO slot.
    lifo_seen: RefCell<Vec<Seen>>,
}

thread_local! {
    static WORKER: RefCell<Option<Rc<Local>>> = const { RefCell::new(None) };
}

/// Pushes `task` on this thread's worker if it belongs to `shared`;
/// otherwise gives it back.
pub(crate) fn schedule_local(shared: &Shared, task: RawTask, yielded: bool) -> Result<(), RawTask> {
    let local = WORKER.try_with(|w| w.borrow().clone()).ok().flatten();
    match local {
        Some(local) if std::ptr::eq(&*local.shared, shared) => {
            local.push(task, yielded);
            Ok(())
        }
        _ => Err(task),
    }
}

/// This thread's worker index in `shared`, if it is one of its workers.
pub(crate) fn current_index(shared: &Shared) -> Option<usize> {
    WORKER
        .try_with(|w| w.borrow().as_ref().filter(|l| std::ptr::eq(&*l.shared, shared)).map(|l| l.index))
        .ok()
        .flatten()
}

/// Installs `local` as this thread's worker until the guard drops.
struct Installed;

impl Installed {
    fn new(local: Rc<Local>) -> Installed {
        WORKER.with(|w| *w.borrow_mut() = Some(local));
        Installed
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = WORKER.try_with(|w| w.borrow_mut().take());
    }
}

impl Local {
    pub(crate) fn new(index: usize, shared: Arc<Shared>, queue: Worker<RawTask>) -> Local {
        let lifo_enabled = !shared.current_thread;
        let lifo_seen = RefCell::new(vec![Seen::NOTHING; shared.num_workers()]);
        Local { index, shared, queue, lifo_enabled, lifo_seen }
    }

    fn lifo(&self) -> &LifoSlot {
        &self.shared.lifo[self.index]
    }

    fn push(&self, task: RawTask, yielded: bool) {
        if self.lifo_enabled && !yielded {
            if let Some(prev) = self.lifo().push(task) {
                self.queue.push(prev);
                self.shared.notify_parked();
            }
        } else {
            self.queue.push(task);
            // A yielding task is run again by this worker soon: waking a
            // sleeper for it only bounces it between workers (Tokio does not
            // notify for yields either).
            if !yielded && !self.shared.current_thread {
                self.shared.notify_parked();
            }
        }
    }

    fn next_task(&self, tick: u32, lifo_streak: &mut u32) -> Option<RawTask> {
        if tick.is_multiple_of(GLOBAL_INTERVAL) {
            if let Some(task) = self.steal_injector() {
                return Some(task);
            }
        }
        if let Some(task) = self.lifo().take() {
            if *lifo_streak < MAX_LIFO_STREAK {
                *lifo_streak += 1;
                return Some(task);
            }
            self.queue.push(task);
        }
        *lifo_streak = 0;
        self.queue.pop().or_else(|| self.steal_injector())
    }

    fn steal_injector(&self) -> Option<RawTask> {
        loop {
            match self.shared.injector.steal_batch_and_pop(&self.queue) {
                Steal::Success(task) => return Some(task),
                Steal::Empty => return None,
                Steal::Retry => continue,
            }
        }
    }

    fn steal(&self, seed: &mut u32) -> Option<RawTask> {
        let n = self.shared.stealers.len();
        *seed ^= *seed << 13;
        *seed ^= *seed >> 17;
        *seed ^= *seed << 5;
        let start = *seed as usize % n;
        for i in 0..n {
            let victim = (start + i) % n;
            if victim == self.index {
                continue;
            }
            loop {
                match self.shared.stealers[victim].steal_batch_and_pop(&self.queue) {
                    Steal::Success(task) => return Some(task),
                    Steal::Empty => break,
                    Steal::Retry => continue,
                }
            }
        }
        self.steal_injector()
    }

    /// Steals; while nothing is found, retries up to [`SEARCH_ROUNDS`]
    /// rounds with short pauses. At most half the workers spin (as Tokio
    /// bounds its searchers), so many idle workers do not hammer each
    /// other's stealers. Halfway through, it notes the other workers' LIFO
    /// slots; in the last round it steals a slot still holding the task it
    /// noted, which has then waited half a search behind one long poll
    /// (`scheduler/lifo.rs`).
    fn search(&self, seed: &mut u32) -> Option<RawTask> {
        for round in 0..SEARCH_ROUNDS {
            if round > 0 {
                if !self.shared.may_spin() || self.shared.is_shutdown() {
                    return None;
                }
                for _ in 0..SEARCH_SPINS {
                    std::hint::spin_loop();
                }
            }
            if let Some(task) = self.steal(seed) {
                return Some(task);
            }
            if round == LIFO_PEEK_ROUND {
                self.peek_lifos();
            } else if round == SEARCH_ROUNDS - 1 {
                return self.steal_lifo();
            }
        }
        None
    }

    fn peek_lifos(&self) {
        let mut seen = self.lifo_seen.borrow_mut();
        for (victim, seen) in seen.iter_mut().enumerate() {
            *seen = if victim == self.index { Seen::NOTHING } else { self.shared.lifo[victim].peek() };
        }
    }

    fn steal_lifo(&self) -> Option<RawTask> {
        let seen = self.lifo_seen.borrow();
        seen.iter().enumerate().find_map(|(victim, &seen)| self.shared.lifo[victim].steal_if(seen))
    }

    fn drain(&self) {
        if let Some(task) = self.lifo().take() {
            task.run_or_drop();
        }
        while let Some(task) = self.queue.pop() {
            task.run_or_drop();
        }
    }
}

/// The run loop of a multi-thread worker.
pub(crate) fn run_worker(local: Local) {
    let local = Rc::new(local);
    let _installed = Installed::new(local.clone());
    let shared = local.shared.clone();
    let _enter = super::enter::enter(shared.clone());
    let mut tick: u32 = 0;
    let mut lifo_streak = 0;
    let mut searching = false;
    let mut seed = (local.index as u32).wrapping_mul(0x9E37_79B9) | 1;
    while !shared.is_shutdown() {
        tick = tick.wrapping_add(1);
        if tick.is_multiple_of(MAINTENANCE_INTERVAL) {
            shared.maintenance();
        }
        let mut task = local.next_task(tick, &mut lifo_streak);
        if task.is_none() {
            if !searching {
                searching = true;
                shared.begin_search();
            }
            task = local.search(&mut seed);
        }
        if let Some(task) = task {
            if searching {
                searching = false;
                shared.end_search();
            }
            task.run();
            continue;
        }
        shared.sleep(local.index, searching);
        searching = false;
        if shared.is_shutdown() {
            break;
        }
        shared.park(local.index);
        shared.wake_up(local.index);
        searching = true;
    }
    if searching {
        shared.end_search();
    }
    local.drain();
}

/// Drives the current-thread scheduler on this thread until `done()`.
///
/// Each iteration is asyncio's `_run_once`: take in remote wake-ups, append
/// one entry that fires the due timers (in deadline order) to the end of the
/// ready queue, then run exactly the entries ready at that point; what they
/// wake or queue runs in the next iteration. So a timer's effect comes after
/// everything already ready (a task woken before a deadline passed runs
/// before the expiry cancels it), and a task woken by its timer runs one
/// iteration after the timer, as a task woken by asyncio's timer callback
/// (through its future) does. It blocks only when nothing is ready.
pub(crate) fn run_current_thread(
    shared: &Arc<Shared>,
    queue: Worker<RawTask>,
    done: impl Fn() -> bool,
) -> Worker<RawTask> {
    let local = Rc::new(Local::new(0, shared.clone(), queue));
    let installed = Installed::new(local.clone());
    let mut iterations: u32 = 0;
    loop {
        // Remote wake-ups and spawns join the back of the ready queue.
        while local.steal_injector_one() {}
        if done() {
            break;
        }
        iterations = iterations.wrapping_add(1);
        if iterations.is_multiple_of(MAINTENANCE_INTERVAL) {
            shared.driver.poll_reactor();
        }
        // Then the due timers (asyncio: moved to the end of `_ready`).
        shared.queue_due_timers(Instant::now());
        let ready = local.queue.len();
        for _ in 0..ready {
            match local.queue.pop() {
                Some(task) => task.run(),
                None => break,
            }
        }
        if local.queue.is_empty() && shared.injector.is_empty() && !done() {
            shared.sleep(0, false);
            shared.park(0);
            shared.wake_up(0);
            // Counted as searching after a wake-up; this loop never steals.
            shared.end_search();
        }
    }
    drop(installed);
    let local = Rc::try_unwrap(local).ok().expect("current-thread worker still referenced");
    local.queue
}

impl Local {
    /// Moves one task from the injector to the back of the local queue.
    fn steal_injector_one(&self) -> bool {
        loop {
            match self.shared.injector.steal() {
                Steal::Success(task) => {
                    self.queue.push(task);
                    return true;
                }
                Steal::Empty => return false,
                Steal::Retry => continue,
            }
        }
    }
}
