//! The synchronisation shim.
//!
//! Every atomic, lock, condvar and `UnsafeCell` that takes part in a
//! protocol (the task state machine, the cancel counters, the parker, the
//! timer hand-off) comes from here, so that building with
//! `RUSTFLAGS="--cfg loom"` swaps them for [loom]'s model-checked versions.
//! Outside loom the types are the standard library's atomics, `parking_lot`'s
//! mutex, and a thin `UnsafeCell` with loom's closure-based API.
//!
//! [loom]: https://docs.rs/loom

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize};

/// Between a `SeqCst` write and a `SeqCst` read of another location, in a
/// store-load (Dekker) hand-off where each side writes one location and
/// reads the other: the C++ memory model already orders them (all `SeqCst`
/// operations form one total order), so this is nothing, and on x86 the
/// pair costs a locked instruction and a plain load. Loom treats `SeqCst`
/// accesses as `AcqRel`, which cannot express that guarantee, so under
/// loom this is a `SeqCst` fence, which loom models: the model then checks
/// the protocol with the guarantee the real build gets from `SeqCst`.
#[inline(always)]
pub(crate) fn seq_cst_store_load() {
    #[cfg(loom)]
    loom::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
}

/// A mutex with `parking_lot`'s infallible `lock()`.
#[cfg(not(loom))]
pub(crate) type Mutex<T> = parking_lot::Mutex<T>;

/// Loom's mutex, wrapped so that `lock()` is infallible like `parking_lot`'s.
#[cfg(loom)]
#[derive(Debug, Default)]
pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

#[cfg(loom)]
impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Mutex(loom::sync::Mutex::new(value))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        MutexGuard(Some(self.0.lock().unwrap()))
    }
}

/// Loom's guard, held in an `Option` so that [`Condvar::wait`] can take it
/// through `&mut` as `parking_lot`'s does.
#[cfg(loom)]
pub(crate) struct MutexGuard<'a, T>(Option<loom::sync::MutexGuard<'a, T>>);

#[cfg(loom)]
impl<T> std::ops::Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.0.as_ref().expect("guard present outside a wait")
    }
}

#[cfg(loom)]
impl<T> std::ops::DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.as_mut().expect("guard present outside a wait")
    }
}

/// A condvar with `parking_lot`'s `&mut guard` API.
#[cfg(not(loom))]
pub(crate) type Condvar = parking_lot::Condvar;

/// Loom's condvar with `parking_lot`'s `&mut guard` API. Loom does not
/// model time: a timed wait waits for a notification.
#[cfg(loom)]
#[derive(Debug, Default)]
pub(crate) struct Condvar(loom::sync::Condvar);

#[cfg(loom)]
impl Condvar {
    pub(crate) fn new() -> Self {
        Condvar(loom::sync::Condvar::new())
    }

    pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
        let inner = guard.0.take().expect("guard present");
        guard.0 = Some(self.0.wait(inner).unwrap());
    }

    pub(crate) fn wait_until<T>(&self, guard: &mut MutexGuard<'_, T>, _deadline: std::time::Instant) -> TimedOut {
        self.wait(guard);
        TimedOut
    }

    pub(crate) fn notify_one(&self) {
        self.0.notify_one();
    }
}

/// The result of a timed wait under loom: never timed out.
#[cfg(loom)]
pub(crate) struct TimedOut;

#[cfg(loom)]
impl TimedOut {
    pub(crate) fn timed_out(&self) -> bool {
        false
    }
}

/// An `UnsafeCell` with loom's `with`/`with_mut` API.
#[cfg(not(loom))]
#[derive(Debug, Default)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    /// Runs `f` with a shared raw pointer to the contents.
    #[allow(dead_code)] // Part of loom's API; the task cell only needs `with_mut`.
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with a unique raw pointer to the contents.
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;
