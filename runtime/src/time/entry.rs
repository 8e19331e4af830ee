//! [`TimerEntry`]: the owner of one deadline in a runtime's timer wheels.
//!
//! The one way the crate arms a timer (`Sleep`, timeout scopes): the entry
//! knows its runtime, its wheel (shard) and its key, re-arms in the same
//! wheel, moves a live registration to a new deadline, and removes it when
//! dropped, so no caller handles a bare `(runtime, shard, key)` tuple.

use crate::driver::wheel::TimerKey;
use crate::error::Error;
use crate::runtime::Handle;
use std::task::Waker;
use std::time::Instant;

/// A timer registration: none until first armed.
/// Why [`TimerEntry::arm`] could not arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Armed {
    /// Not inside a runtime, and never armed on one.
    NoRuntime,
    /// The runtime has shut down.
    ShutDown,
}

impl Armed {
    /// As an error.
    pub(crate) fn error(self) -> Error {
        match self {
            Armed::NoRuntime => {
                Error::runtime_closed("a Ravel timer was polled outside of a Ravel runtime (no timer driver)")
            }
            Armed::ShutDown => Error::runtime_closed("a Ravel timer was polled after its runtime shut down"),
        }
    }
}

pub(crate) struct TimerEntry {
    /// The runtime whose wheel `shard` holds the timer under `key`; `None`
    /// until the first registration. (Flat fields rather than one optional
    /// struct, which keeps a `Sleep` small.)
    handle: Option<Handle>,
    key: TimerKey,
    shard: u32,
}

impl TimerEntry {
    /// An entry with no registration.
    pub(crate) const fn new() -> TimerEntry {
        TimerEntry { handle: None, key: TimerKey::NONE, shard: 0 }
    }

    /// Makes sure `waker` is woken at `deadline`: keeps a live registration
    /// (updating its waker), or registers, in the wheel of this thread's
    /// worker on the runtime this thread is inside the first time and in the
    /// same wheel afterwards (after the timer fired, or was cancelled).
    ///
    /// An error outside a runtime, for a first registration
    /// ([`Armed::NoRuntime`]), and once the runtime has shut down
    /// ([`Armed::ShutDown`]: no driver fires its timers any more).
    ///
    /// A waker that is not a Ravel task's (a foreign executor's) is stored
    /// guarded: its panic, when the timer fires, stays in its wake.
    pub(crate) fn arm(&mut self, deadline: Instant, waker: &Waker) -> std::result::Result<(), Armed> {
        let guarded;
        let waker = if crate::task::is_task_waker(waker) {
            waker
        } else {
            guarded = crate::catch_wake::guarded(waker);
            &guarded
        };
        if let Some(handle) = &self.handle {
            if handle.shared().is_shutdown() {
                self.cancel();
                return Err(Armed::ShutDown);
            }
            let timers = &handle.shared().driver.timers;
            if !timers.update(self.shard as usize, self.key, waker) {
                self.key = handle.shared().insert_timer(self.shard as usize, deadline, waker.clone());
            }
            return Ok(());
        }
        let handle = Handle::try_current().map_err(|_| Armed::NoRuntime)?;
        if handle.shared().is_shutdown() {
            return Err(Armed::ShutDown);
        }
        self.arm_on(handle, deadline, waker.clone());
        Ok(())
    }

    /// Registers anew on `handle`'s runtime for `deadline` (dropping any
    /// previous registration), with a fresh waker.
    pub(crate) fn arm_on(&mut self, handle: Handle, deadline: Instant, waker: Waker) {
        self.cancel();
        let shared = handle.shared();
        self.shard = u32::try_from(shared.timer_shard()).expect("fewer than 2^32 workers");
        self.key = shared.insert_timer(self.shard as usize, deadline, waker);
        self.handle = Some(handle);
    }

    /// Moves a live registration to `deadline`, keeping its waker (who is
    /// waiting is woken at the new deadline without polling again). False
    /// if there was none live (never armed, fired, or cancelled).
    pub(crate) fn reset(&mut self, deadline: Instant) -> bool {
        let Some(handle) = &self.handle else { return false };
        let shared = handle.shared();
        match shared.driver.timers.take(self.shard as usize, self.key) {
            Some(waker) => {
                self.key = shared.insert_timer(self.shard as usize, deadline, waker);
                true
            }
            None => false,
        }
    }

    /// Removes a live registration; the runtime and wheel are kept for the
    /// next [`arm`](Self::arm).
    pub(crate) fn cancel(&mut self) {
        if self.key == TimerKey::NONE {
            return; // nothing registered: no wheel lock
        }
        if let Some(handle) = &self.handle {
            handle.shared().driver.timers.remove(self.shard as usize, self.key);
            self.key = TimerKey::NONE;
        }
    }
}

impl Drop for TimerEntry {
    fn drop(&mut self) {
        self.cancel();
    }
}
