//! [`Tally`]: a struct of named atomic counters, read by name for the
//! report (the client side's [`Counters`](super::clients::Counters) and the
//! server side's [`ServerCounters`](super::servers::ServerCounters)).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Named counters.
pub trait Tally {
    /// Every counter with its name, in report order.
    fn fields(&self) -> Vec<(&'static str, &AtomicU64)>;

    /// Every counter's value with its name.
    fn named(&self) -> Vec<(&'static str, u64)> {
        self.fields().into_iter().map(|(n, c)| (n, c.load(Relaxed))).collect()
    }

    /// The counter `name`'s value.
    ///
    /// # Panics
    /// If there is no counter `name`.
    fn get(&self, name: &str) -> u64 {
        let fields = self.fields();
        let (_, c) = fields.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("no counter {name}"));
        c.load(Relaxed)
    }

    /// Sets every counter back to 0.
    fn clear(&self) {
        for (_, c) in self.fields() {
            c.store(0, Relaxed);
        }
    }
}
