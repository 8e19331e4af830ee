//! The runtime a thread is inside (a worker, or a thread in `block_on`):
//! a thread-local holding the scheduler's shared state.

use super::Shared;
use std::cell::RefCell;
use std::sync::Arc;

thread_local! {
    static CURRENT: RefCell<Option<Arc<Shared>>> = const { RefCell::new(None) };
}

/// The runtime this thread is inside, if any.
pub(crate) fn current() -> Option<Arc<Shared>> {
    CURRENT.try_with(|h| h.borrow().clone()).ok().flatten()
}

/// Whether this thread is inside any runtime.
pub(crate) fn is_inside_any() -> bool {
    CURRENT.try_with(|h| h.borrow().is_some()).unwrap_or(false)
}

/// Whether this thread is inside the runtime `shared`.
pub(crate) fn is_inside(shared: &Shared) -> bool {
    CURRENT.try_with(|h| h.borrow().as_deref().is_some_and(|h| std::ptr::eq(h, shared))).unwrap_or(false)
}

/// Enters the runtime `shared` on this thread until the guard drops.
pub(crate) fn enter(shared: Arc<Shared>) -> EnterGuard {
    let prev = CURRENT.with(|h| h.borrow_mut().replace(shared));
    EnterGuard { prev }
}

/// Restores the previously entered runtime.
pub(crate) struct EnterGuard {
    prev: Option<Arc<Shared>>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CURRENT.try_with(|h| *h.borrow_mut() = prev);
    }
}
