//! Thread-local task state: the task being polled, its cooperative budget,
//! and the eager-start depth. (The runtime a thread is inside is the
//! scheduler's business: `scheduler::enter`.)

use std::cell::Cell;
use std::ptr::NonNull;

/// Leaf polls a task may make in one poll before it is made to yield.
pub(crate) const BUDGET: u32 = 128;

thread_local! {
    /// The header of the task being polled, type-erased: `raw` publishes
    /// and reads it (this module is the ground floor of `task/`).
    static TASK: Cell<Option<NonNull<()>>> = const { Cell::new(None) };
    static BUDGET_LEFT: Cell<u32> = const { Cell::new(BUDGET) };
    static EAGER_DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// The task being polled on this thread, if any.
pub(crate) fn task_ptr() -> Option<NonNull<()>> {
    TASK.with(Cell::get)
}

/// Marks `ptr` as the current task, with a fresh budget, until the guard drops.
pub(crate) fn enter_task(ptr: NonNull<()>) -> TaskGuard {
    let prev_task = TASK.with(|t| t.replace(Some(ptr)));
    let prev_budget = BUDGET_LEFT.with(|b| b.replace(BUDGET));
    TaskGuard { prev_task, prev_budget }
}

/// Runs a `call_soon` callback: no current task until the guard drops.
pub(crate) fn enter_callback() -> TaskGuard {
    let prev_task = TASK.with(|t| t.replace(None));
    let prev_budget = BUDGET_LEFT.with(|b| b.replace(BUDGET));
    TaskGuard { prev_task, prev_budget }
}

/// Restores the previous current task and budget.
pub(crate) struct TaskGuard {
    prev_task: Option<NonNull<()>>,
    prev_budget: u32,
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        TASK.with(|t| t.set(self.prev_task));
        BUDGET_LEFT.with(|b| b.set(self.prev_budget));
    }
}

/// Consumes one unit of the running task's budget; false when it is spent
/// (the caller must then yield). Outside a task the budget is unlimited.
pub(crate) fn consume_budget() -> bool {
    if task_ptr().is_none() {
        return true;
    }
    BUDGET_LEFT.with(|b| {
        let left = b.get();
        if left == 0 {
            false
        } else {
            b.set(left - 1);
            true
        }
    })
}

/// Nesting depth of eager first steps on this thread.
pub(crate) fn eager_depth() -> u32 {
    EAGER_DEPTH.with(Cell::get)
}

/// Increments the eager depth until the guard drops.
pub(crate) fn enter_eager() -> EagerGuard {
    EAGER_DEPTH.with(|d| d.set(d.get() + 1));
    EagerGuard(())
}

/// Restores the eager depth.
pub(crate) struct EagerGuard(());

impl Drop for EagerGuard {
    fn drop(&mut self) {
        EAGER_DEPTH.with(|d| d.set(d.get() - 1));
    }
}
