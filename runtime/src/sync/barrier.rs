//! [`Barrier`]: asyncio's `Barrier` (CPython 3.11+ `locks.py`), built as
//! CPython builds it, on a [`Condition`]:
//!
//! * `wait()`, with the condition held: wait while the barrier drains or
//!   resets (a broken one is an error, "Barrier aborted"); take the next
//!   index; the arrival that completes the party starts draining and wakes
//!   everyone, and returns at once; the others wait until filling ends (a
//!   broken or resetting barrier is an error, "Abort or reset of
//!   barrier"). On the way out, in all cases, one fewer waiter; the last
//!   one out of a draining or resetting barrier makes it fill again.
//! * A cancelled waiter only leaves: the barrier is not broken. A wait
//!   dropped before it ends (an aborted task) leaves the same way.
//! * `reset()`: resetting if tasks wait (they get the error, the last out
//!   refills it), else filling. `abort()`: broken, until a `reset()`.

use super::condition::Condition;
use crate::error::{Error, Result};
use parking_lot::Mutex;
use std::fmt;
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Filling,
    Draining,
    Resetting,
    Broken,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Filling => "filling",
            Phase::Draining => "draining",
            Phase::Resetting => "resetting",
            Phase::Broken => "broken",
        }
    }
}

struct State {
    phase: Phase,
    count: usize,
}

/// The error of a broken (aborted) or reset barrier (asyncio
/// `BrokenBarrierError`, a `RuntimeError`). Reach it with
/// [`Error::downcast_ref`](crate::Error::downcast_ref).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenBarrierError {
    message: &'static str,
}

impl fmt::Display for BrokenBarrierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for BrokenBarrierError {}

fn broken(message: &'static str) -> Error {
    Error::new(BrokenBarrierError { message })
}

/// Lets `parties` tasks wait until all of them have arrived (asyncio
/// `Barrier`). A handle: clones share the barrier.
///
/// ```
/// use ravel::sync::Barrier;
///
/// ravel::run(async {
///     let barrier = Barrier::new(3);
///     let tasks: Vec<_> = (0..3)
///         .map(|_| {
///             let b = barrier.clone();
///             ravel::spawn(async move { b.wait().await })
///         })
///         .collect();
///     let mut indices = Vec::new();
///     for task in tasks {
///         indices.push(task.await?);
///     }
///     indices.sort();
///     assert_eq!(indices, [0, 1, 2]);
///     Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Clone)]
pub struct Barrier {
    cond: Condition,
    parties: usize,
    state: Arc<Mutex<State>>,
}

impl Barrier {
    /// A barrier for `parties` tasks.
    ///
    /// # Panics
    /// If `parties` is 0 ("parties must be > 0", asyncio's `ValueError`).
    pub fn new(parties: usize) -> Barrier {
        assert!(parties > 0, "parties must be > 0");
        Barrier {
            cond: Condition::new(),
            parties,
            state: Arc::new(Mutex::new(State { phase: Phase::Filling, count: 0 })),
        }
    }

    /// How many tasks the barrier waits for.
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// Tasks waiting in the current round (0 unless filling).
    pub fn n_waiting(&self) -> usize {
        let st = self.state.lock();
        if st.phase == Phase::Filling {
            st.count
        } else {
            0
        }
    }

    /// True once aborted (until a `reset()`).
    pub fn broken(&self) -> bool {
        self.state.lock().phase == Phase::Broken
    }

    fn phase(&self) -> Phase {
        self.state.lock().phase
    }

    /// Waits until `parties` tasks have called `wait()` and returns this
    /// task's arrival index in the round, `0..parties` (the last arrival
    /// returns first). A [`BrokenBarrierError`] if the barrier is aborted
    /// or reset meanwhile. A cancellation delivery point; a cancelled
    /// waiter leaves without breaking the barrier, and so does a wait
    /// dropped before it ends (an aborted task).
    pub async fn wait(&self) -> Result<usize> {
        self.cond.acquire().await?.forget();
        let mut w = Waiting { barrier: self, holding: true, arrived: false };
        // Block while the barrier drains or resets. A condition wait
        // returns holding the lock, also with an error; dropped before it
        // returns, it does not hold it.
        w.holding = false;
        let blocked =
            self.cond.wait_for(|| (!matches!(self.phase(), Phase::Draining | Phase::Resetting)).then_some(())).await;
        w.holding = true;
        blocked?;
        if self.phase() == Phase::Broken {
            return Err(broken("Barrier aborted"));
        }
        let index = {
            let mut st = self.state.lock();
            let index = st.count;
            st.count += 1;
            index
        };
        w.arrived = true;
        if index + 1 == self.parties {
            // We release the barrier.
            self.state.lock().phase = Phase::Draining;
            self.cond.notify_waiters(usize::MAX);
            return Ok(index);
        }
        w.holding = false;
        let filled = self.cond.wait_for(|| (self.phase() != Phase::Filling).then_some(())).await;
        w.holding = true;
        filled?;
        if matches!(self.phase(), Phase::Broken | Phase::Resetting) {
            return Err(broken("Abort or reset of barrier"));
        }
        Ok(index)
    }

    /// Returns the barrier to filling (asyncio `reset()`): tasks waiting now
    /// get a [`BrokenBarrierError`]; a broken barrier works again.
    pub async fn reset(&self) -> Result<()> {
        let _held = self.cond.acquire().await?;
        {
            let mut st = self.state.lock();
            st.phase = if st.count > 0 { Phase::Resetting } else { Phase::Filling };
        }
        self.cond.notify_all()
    }

    /// Breaks the barrier (asyncio `abort()`): waiting and future `wait()`
    /// calls get a [`BrokenBarrierError`] until a `reset()`.
    pub async fn abort(&self) -> Result<()> {
        let _held = self.cond.acquire().await?;
        self.state.lock().phase = Phase::Broken;
        self.cond.notify_all()
    }
}

/// One `wait()` in progress: its way out, in every case (returned, failed,
/// or dropped), as asyncio's `finally`: one fewer waiter, the last one out
/// of a draining or resetting barrier makes it fill again; then the
/// condition's lock is released if this wait holds it.
struct Waiting<'a> {
    barrier: &'a Barrier,
    /// This wait holds the condition's lock.
    holding: bool,
    /// This wait was counted in `count`.
    arrived: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let barrier = self.barrier;
        if self.arrived {
            let mut st = barrier.state.lock();
            st.count -= 1;
            if st.count == 0 {
                if matches!(st.phase, Phase::Resetting | Phase::Draining) {
                    st.phase = Phase::Filling;
                }
                drop(st);
                barrier.cond.notify_waiters(usize::MAX);
            }
        }
        if self.holding {
            let released = barrier.cond.release();
            debug_assert!(released.is_ok(), "a barrier wait holding the lock releases it");
        }
    }
}

impl fmt::Debug for Barrier {
    /// As asyncio's repr: `<Barrier [filling, waiters:2/3]>`, `<Barrier [broken]>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = self.phase();
        if phase == Phase::Broken {
            write!(f, "<Barrier [broken]>")
        } else {
            write!(f, "<Barrier [{}, waiters:{}/{}]>", phase.name(), self.n_waiting(), self.parties)
        }
    }
}
