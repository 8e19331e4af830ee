//! Property test of the timer wheel against a `BTreeMap` model: random
//! sequences of insert, reset (take + insert at a new deadline, as a
//! `Sleep` rescheduled by `Timeout::reschedule` does), cancel and advance.
//! Every expiry must come out of the advance that passes its deadline,
//! never earlier, in deadline-then-insertion order, none lost and none twice.

use super::wheel::{TimerKey, Wheel};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};
use std::time::{Duration, Instant};

/// A waker that logs its id and counts its wakes.
struct Probe {
    id: usize,
    wakes: AtomicUsize,
    log: Arc<Mutex<Vec<usize>>>,
}

impl Wake for Probe {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.log.lock().unwrap().push(self.id);
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// A timer `delta` after now (or before it when `past`).
    Insert { delta: Duration, past: bool },
    /// Moves the `pick`-th live timer to `delta` after now.
    Reset { pick: usize, delta: Duration },
    /// Cancels the `pick`-th live timer.
    Cancel { pick: usize },
    /// Cancels an already fired or cancelled timer: must be refused.
    CancelStale { pick: usize },
    /// Time moves on by `by`, and the wheel is processed.
    Advance { by: Duration },
}

/// Deadlines on every level: within a tick, the first levels, hours, years.
fn delta() -> impl Strategy<Value = Duration> {
    prop_oneof![
        6 => (0u64..3_000_000).prop_map(Duration::from_nanos),
        4 => (0u64..300_000_000).prop_map(Duration::from_nanos),
        2 => (0u64..600_000_000_000).prop_map(Duration::from_nanos),
        1 => (0u64..3 * 365 * 86_400_000_000_000).prop_map(Duration::from_nanos),
    ]
}

fn advance() -> impl Strategy<Value = Duration> {
    prop_oneof![
        6 => (0u64..2_000_000).prop_map(Duration::from_nanos),
        3 => (0u64..100_000_000).prop_map(Duration::from_nanos),
        1 => (0u64..3_600_000_000_000).prop_map(Duration::from_nanos),
        1 => (0u64..365 * 86_400_000_000_000).prop_map(Duration::from_nanos),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (delta(), proptest::bool::weighted(0.05)).prop_map(|(delta, past)| Op::Insert { delta, past }),
        2 => (any::<usize>(), delta()).prop_map(|(pick, delta)| Op::Reset { pick, delta }),
        2 => any::<usize>().prop_map(|pick| Op::Cancel { pick }),
        1 => any::<usize>().prop_map(|pick| Op::CancelStale { pick }),
        5 => advance().prop_map(|by| Op::Advance { by }),
    ]
}

/// The wheel under test plus everything needed to check it.
struct Harness {
    origin: Instant,
    now: Instant,
    wheel: Wheel,
    log: Arc<Mutex<Vec<usize>>>,
    /// (deadline, insertion number) -> probe id: what must fire, in order.
    model: BTreeMap<(Instant, u64), usize>,
    /// Live timers: wheel key, model key.
    live: Vec<(TimerKey, (Instant, u64))>,
    stale: Vec<TimerKey>,
    probes: Vec<Arc<Probe>>,
    seq: u64,
}

impl Harness {
    fn new() -> Harness {
        let origin = Instant::now();
        Harness {
            origin,
            now: origin,
            wheel: Wheel::new(origin),
            log: Arc::default(),
            model: BTreeMap::new(),
            live: Vec::new(),
            stale: Vec::new(),
            probes: Vec::new(),
            seq: 0,
        }
    }

    fn insert(&mut self, deadline: Instant) {
        let probe = Arc::new(Probe { id: self.probes.len(), wakes: AtomicUsize::new(0), log: self.log.clone() });
        self.probes.push(probe.clone());
        let key = self.wheel.insert(deadline, Waker::from(probe.clone()));
        // The wheel keeps a deadline before its origin as the origin (due at
        // once): ordered among those by insertion, as the model is.
        let deadline = deadline.max(self.origin);
        self.model.insert((deadline, self.seq), probe.id);
        self.live.push((key, (deadline, self.seq)));
        self.seq += 1;
    }

    /// Processes `now` and returns the ids woken, in order.
    fn process(&mut self) -> Vec<usize> {
        let mut out = Vec::new();
        self.wheel.process(self.now, &mut out);
        for waker in out {
            waker.wake();
        }
        std::mem::take(&mut *self.log.lock().unwrap())
    }

    fn apply(&mut self, op: Op) -> Result<(), TestCaseError> {
        match op {
            Op::Insert { delta, past } => {
                let deadline = if past { self.now.checked_sub(delta).unwrap_or(self.origin) } else { self.now + delta };
                self.insert(deadline);
            }
            Op::Reset { pick, delta } => {
                if !self.live.is_empty() {
                    let (key, mk) = self.live.swap_remove(pick % self.live.len());
                    let waker = self.wheel.take(key);
                    prop_assert!(waker.is_some(), "a live key was refused by take");
                    let id = self.model.remove(&mk).expect("live in the model");
                    self.stale.push(key);
                    // The same probe, re-registered: one wake still expected.
                    let deadline = self.now + delta;
                    let new_key = self.wheel.insert(deadline, waker.unwrap());
                    self.model.insert((deadline, self.seq), id);
                    self.live.push((new_key, (deadline, self.seq)));
                    self.seq += 1;
                }
            }
            Op::Cancel { pick } => {
                if !self.live.is_empty() {
                    let (key, mk) = self.live.swap_remove(pick % self.live.len());
                    prop_assert!(self.wheel.remove(key), "a live key was refused by remove");
                    let id = self.model.remove(&mk).expect("live in the model");
                    // A cancelled timer must never fire: mark it as expected 0.
                    self.probes[id].wakes.fetch_add(1, Ordering::SeqCst);
                    self.stale.push(key);
                }
            }
            Op::CancelStale { pick } => {
                if !self.stale.is_empty() {
                    let key = self.stale[pick % self.stale.len()];
                    prop_assert!(!self.wheel.remove(key), "a stale key removed something");
                }
            }
            Op::Advance { by } => {
                self.now += by;
                let fired = self.process();
                let mut expected = Vec::new();
                while let Some(entry) = self.model.first_entry() {
                    if entry.key().0 > self.now {
                        break;
                    }
                    let mk = *entry.key();
                    expected.push(entry.remove());
                    let at = self.live.iter().position(|l| l.1 == mk).expect("model and live agree");
                    self.stale.push(self.live.swap_remove(at).0);
                }
                // Equal lists: nothing early (all fired are due), nothing
                // late (all due fired), in deadline-then-insertion order.
                prop_assert_eq!(fired, expected, "advance to +{:?}", self.now - self.origin);
                if let Some(next) = self.wheel.next_deadline() {
                    prop_assert!(next > self.now, "processed, yet it wants to run again now");
                }
            }
        }
        prop_assert_eq!(self.wheel.len(), self.model.len());
        match (self.wheel.next_deadline(), self.model.keys().next()) {
            (None, None) => {}
            (Some(next), Some(&(min, _))) => prop_assert!(next <= min, "next_deadline later than the earliest timer"),
            other => prop_assert!(false, "next_deadline {:?} vs the model's {:?}", other.0, other.1),
        }
        Ok(())
    }
}

proptest! {
    // Each case is a few hundred operations on a wheel: 128 cases take about
    // a second in a debug build.
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn wheel_matches_btreemap_model(ops in proptest::collection::vec(op(), 1..300)) {
        let mut h = Harness::new();
        for op in ops {
            h.apply(op)?;
        }
        // Drain: everything left fires, in model order.
        h.now += Duration::from_secs(10 * 365 * 86_400);
        let fired = h.process();
        let expected: Vec<usize> = h.model.values().copied().collect();
        prop_assert_eq!(fired, expected);
        prop_assert!(h.wheel.is_empty());
        prop_assert_eq!(h.wheel.next_deadline(), None);
        // None lost and none twice: every probe was woken exactly once (a
        // cancelled one counts its cancellation instead).
        for probe in &h.probes {
            prop_assert_eq!(probe.wakes.load(Ordering::SeqCst), 1, "probe {} woken a wrong number of times", probe.id);
        }
    }
}
