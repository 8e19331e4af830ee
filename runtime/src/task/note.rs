//! The suspension note: what a task is suspended on, for the call graph,
//! recorded without a lock by the leaves whose answer fits in 64 bits (a
//! sleep and its deadline, `to_thread`, a task group's exit).
//!
//! # Protocol
//!
//! One `AtomicU64` in the task header, read only by introspection
//! (`TaskInfo::of`, `Handle::dump`), never by `cancel()`:
//!
//! | value | meaning |
//! | --- | --- |
//! | `0` | nothing noted |
//! | `TO_THREAD` | suspended in `to_thread` |
//! | `TASK_GROUP_EXIT` | suspended at a task group's exit, waiting for children |
//! | `SLEEP_FOREVER` | suspended on a sleep with no deadline |
//! | `SLEEP | n` | suspended on a sleep until `EPOCH + (n - 1)` ns |
//!
//! - **Who writes.** Only the thread polling the task: the leaf stores its
//!   note when it suspends, and the runner stores `0` at the start of the
//!   next poll (after one load, so a task that never notes pays no store).
//!   Both writers hold `RUNNING`, so they never race each other.
//! - **Why `Relaxed` is enough.** A reader on another thread gets either
//!   the note of the last suspension or `0`; both are true answers for a
//!   diagnostic taken while the task moves on. No other memory is published
//!   through the note, so no reader needs to see anything *with* it.
//! - **Precedence.** A waiter recorded in the header's slot during the same
//!   poll (a forwarding one, for `cancel()`, or a plain leaf's record that
//!   carries task references) is reported before the note: it was recorded
//!   with the slot lock for a reason the note cannot carry.
//!
//! Replacing the slot record (lock, store, flag `fetch_or`, then the next
//! poll's lock and `fetch_and`) by one plain store on the sleep path is
//! what this file is for: a sleeping task pays no atomic read-modify-write
//! for the call graph (bench/report-notes.md, the issue 13 A/B).

use crate::shim::AtomicU64;
use std::sync::atomic::Ordering;
use std::sync::OnceLock;
use std::time::Instant;

const TO_THREAD: u64 = 1;
const TASK_GROUP_EXIT: u64 = 2;
const SLEEP_FOREVER: u64 = 3;
/// Set on a sleep with a deadline; the low 63 bits hold the deadline as
/// nanoseconds after [`epoch`], plus one (292 years of range).
const SLEEP: u64 = 1 << 63;

/// What a note can say: the payload-free or `Instant`-sized suspensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Noted {
    Sleep(Option<Instant>),
    ToThread,
    TaskGroupExit,
}

/// The header's note word.
pub(crate) struct Note(AtomicU64);

impl Note {
    pub(crate) fn new() -> Note {
        Note(AtomicU64::new(0))
    }

    /// Notes `what` as the running task's suspension (the polling thread
    /// only).
    pub(crate) fn set(&self, what: Noted) {
        self.0.store(encode(what), Ordering::Relaxed);
    }

    /// Forgets the last suspension's note (the runner, at the start of a
    /// poll): one load, and a store only when something was noted.
    #[inline]
    pub(crate) fn clear(&self) {
        if self.0.load(Ordering::Relaxed) != 0 {
            self.0.store(0, Ordering::Relaxed);
        }
    }

    /// The note of the last suspension, if any (any thread).
    pub(crate) fn get(&self) -> Option<Noted> {
        decode(self.0.load(Ordering::Relaxed))
    }
}

/// The process-wide origin of noted deadlines: the first time anything
/// was noted (a deadline is always later than the sleep that notes it was
/// created, so it is never before this).
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn encode(what: Noted) -> u64 {
    match what {
        Noted::ToThread => TO_THREAD,
        Noted::TaskGroupExit => TASK_GROUP_EXIT,
        Noted::Sleep(None) => SLEEP_FOREVER,
        Noted::Sleep(Some(deadline)) => {
            // A deadline before the epoch (a sleep whose deadline had passed
            // before anything was noted) is noted as the epoch itself: it is
            // in the past either way.
            let nanos = deadline.saturating_duration_since(epoch()).as_nanos();
            let nanos = u64::try_from(nanos).unwrap_or(u64::MAX).min((SLEEP - 1) - 1);
            SLEEP | (nanos + 1)
        }
    }
}

fn decode(word: u64) -> Option<Noted> {
    match word {
        0 => None,
        TO_THREAD => Some(Noted::ToThread),
        TASK_GROUP_EXIT => Some(Noted::TaskGroupExit),
        SLEEP_FOREVER => Some(Noted::Sleep(None)),
        w if w & SLEEP != 0 => {
            let nanos = (w & !SLEEP) - 1;
            Some(Noted::Sleep(Some(epoch() + std::time::Duration::from_nanos(nanos))))
        }
        _ => None,
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn every_note_decodes_to_what_was_noted() {
        let note = Note::new();
        assert_eq!(note.get(), None);
        let soon = Instant::now() + Duration::from_millis(1500);
        for what in [Noted::ToThread, Noted::TaskGroupExit, Noted::Sleep(None), Noted::Sleep(Some(soon))] {
            note.set(what);
            assert_eq!(note.get(), Some(what));
        }
        note.clear();
        assert_eq!(note.get(), None);
    }

    #[test]
    fn a_deadline_before_the_epoch_is_noted_as_the_epoch() {
        let early = Instant::now();
        let _ = epoch();
        let note = Note::new();
        note.set(Noted::Sleep(Some(early)));
        let Some(Noted::Sleep(Some(got))) = note.get() else { panic!("not a sleep") };
        assert_eq!(got, early.max(epoch()));
    }

    #[test]
    fn a_far_deadline_saturates_rather_than_wrapping() {
        let far = Instant::now() + Duration::from_secs(400 * 365 * 24 * 3600);
        let note = Note::new();
        note.set(Noted::Sleep(Some(far)));
        let Some(Noted::Sleep(Some(got))) = note.get() else { panic!("not a sleep") };
        assert!(got > Instant::now() + Duration::from_secs(290 * 365 * 24 * 3600));
    }
}
