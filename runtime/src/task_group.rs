//! [`TaskGroup`]: asyncio's `TaskGroup` (Python 3.13 rules, plus
//! `TaskGroup.cancel()` from CPython main).
//!
//! Rust has no async drop, so the `async with` block is a scope:
//! [`TaskGroup::run`] runs the body inline in the calling task (the parent)
//! and then does what `__aexit__` does, line by line as CPython 3.13's
//! `_aexit`:
//!
//! 1. The body's error, if any, aborts the group (cancels every child).
//! 2. Wait until every child is done. A cancellation of the parent while
//!    waiting aborts the group (unless already aborting) and is remembered
//!    for propagation.
//! 3. A panic (body or child; asyncio's `KeyboardInterrupt`/`SystemExit`) is
//!    resumed in the parent, after the children are done and before the
//!    counter is restored.
//! 4. If the group cancelled the parent, `uncancel()` it; if that reaches 0
//!    the parent's cancellation is not propagated. If it does not, another
//!    party cancelled the parent too, and a cancellation swallowed in step 2
//!    because the group was already aborting propagates after all (CPython
//!    main, gh-155433: after `cancel()`, an enclosing timeout or an outside
//!    cancel that arrives while the children clean up is not lost).
//! 5. A cancellation to propagate, with no child errors, is returned.
//! 6. Otherwise child errors (plus a non-cancellation body error) become an
//!    [`ExceptionGroup`]; if the parent is being cancelled from outside, its
//!    cancellation is re-armed (`uncancel(); cancel()`) so it is not lost.
//!
//! A child reports its end through a completion hook that runs on the
//! completing thread right after the child is done (`_on_task_done`,
//! without the extra loop iteration of a done callback): the first failure
//! aborts the group and cancels the parent once. A child that finishes in
//! its own eager first step reports on the next loop iteration, as in newer
//! CPython (gh-128550).

use crate::catch_unwind::CatchUnwind;
use crate::error::{Error, ExceptionGroup, Result};
use crate::runtime::{Handle, UnhandledError};
use crate::task::hook::{ChildDone, DoneHook};
use crate::task::introspect::{register_scope, Scope, ScopeView};
use crate::task::note::Noted;
use crate::task::{self, Leaf, Task, TaskRef};
use parking_lot::Mutex;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// The children of a group not yet reported done: a slab (a vector with a
/// free list), so spawning and finishing a child costs no hashing and no
/// rehash growth. A key is the slot index (low 32 bits) and the slot's
/// generation (high 32 bits), so a key whose child was already removed
/// never matches a newer child that reuses the slot.
#[derive(Default)]
struct Children {
    slots: Vec<ChildSlot>,
    /// Vacant slots; every other slot holds a child.
    free: Vec<u32>,
}

struct ChildSlot {
    generation: u32,
    /// `None` while vacant, `Some(None)` while `spawn` is still creating
    /// the task.
    child: Option<Option<TaskRef>>,
}

impl Children {
    /// Reserves a slot for a child being spawned; returns its key.
    fn reserve(&mut self) -> u64 {
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                let index = u32::try_from(self.slots.len()).expect("fewer than 2^32 live children");
                self.slots.push(ChildSlot { generation: 0, child: None });
                index
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.child = Some(None);
        u64::from(slot.generation) << 32 | u64::from(index)
    }

    fn slot(&mut self, key: u64) -> Option<&mut Option<Option<TaskRef>>> {
        let slot = self.slots.get_mut((key & u64::from(u32::MAX)) as usize)?;
        (slot.generation == (key >> 32) as u32 && slot.child.is_some()).then_some(&mut slot.child)
    }

    /// Records the task of a reserved child; false if it was removed since.
    fn fill(&mut self, key: u64, task: TaskRef) -> bool {
        match self.slot(key) {
            Some(child) => {
                *child = Some(Some(task));
                true
            }
            None => false,
        }
    }

    fn remove(&mut self, key: u64) {
        if let Some(child) = self.slot(key) {
            *child = None;
            let index = (key & u64::from(u32::MAX)) as u32;
            let slot = &mut self.slots[index as usize];
            slot.generation = slot.generation.wrapping_add(1);
            self.free.push(index);
        }
    }

    fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The children whose task exists, in slot order.
    fn tasks(&self) -> impl Iterator<Item = &TaskRef> {
        self.slots.iter().filter_map(|slot| slot.child.as_ref()?.as_ref())
    }
}

/// The message of the group error a task group raises.
pub const GROUP_MESSAGE: &str = "unhandled errors in a TaskGroup";

#[derive(Default)]
struct State {
    /// Children not yet reported done.
    tasks: Children,
    errors: Vec<Error>,
    base_error: Option<Error>,
    aborting: bool,
    exiting: bool,
    finished: bool,
    parent_cancel_requested: bool,
    exit_waker: Option<Waker>,
}

struct Inner {
    state: Mutex<State>,
    parent: TaskRef,
    handle: Handle,
}

/// A handle to a running task group (asyncio `TaskGroup`). Cheap to clone,
/// `Send + Sync`: children may spawn siblings into the group, also while the
/// body is waiting for them at the end of the scope.
///
/// ```
/// use ravel::TaskGroup;
/// use std::time::Duration;
///
/// ravel::run(async {
///     let (a, b) = TaskGroup::run(|tg| async move {
///         let a = tg.spawn(async { Ok(1) })?;
///         let b = tg.spawn(async {
///             ravel::sleep(Duration::from_millis(1)).await?;
///             Ok(2)
///         })?;
///         Ok((a, b))
///     })
///     .await?;
///     // Every child is done when the scope ends.
///     assert_eq!(a.result()? + b.result()?, 3);
///     Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Clone)]
pub struct TaskGroup {
    inner: Arc<Inner>,
}

impl TaskGroup {
    /// Runs `body` as the group's scope in the current task (the parent),
    /// then waits for every child, as `async with TaskGroup() as tg:` does.
    ///
    /// Outcomes:
    /// * the body's value, when neither the body nor any child failed;
    /// * an error whose [`as_group`](Error::as_group) is an
    ///   [`ExceptionGroup`] ("unhandled errors in a TaskGroup") holding every
    ///   child failure and a non-cancellation body error, after the
    ///   remaining children were cancelled and awaited;
    /// * a cancellation error when the parent was cancelled from outside (not
    ///   a group);
    /// * a panic of the body or a child is resumed in the parent once all
    ///   children are done.
    ///
    /// [`cancel`](Self::cancel) ends the scope without cancelling the
    /// parent: children are cancelled and awaited, the parent's counter is
    /// restored, and `run` returns what the body returned. A body interrupted
    /// by it returns its cancellation error unless it catches it: Rust's
    /// scope has a value, which asyncio's `async with` has not, so a body
    /// that wants a value after `cancel()` catches the cancellation and
    /// returns one.
    ///
    /// Errors at once if called outside a task ("cannot determine the
    /// parent task").
    pub async fn run<F, Fut, V>(body: F) -> Result<V>
    where
        F: FnOnce(TaskGroup) -> Fut,
        Fut: Future<Output = Result<V>>,
    {
        let Some(parent) = crate::current_task() else {
            return Err(Error::invalid_state(
                "TaskGroup::run(): cannot determine the parent task (it must be awaited inside a Ravel task)",
            ));
        };
        let handle = Handle::try_current()?;
        let group = TaskGroup { inner: Arc::new(Inner { state: Mutex::new(State::default()), parent, handle }) };
        // The parent awaits the children (call graph), as asyncio 3.14
        // records the parent in each child's awaited-by.
        let scope: Arc<dyn ScopeView> = group.inner.clone();
        register_scope(&group.inner.parent, Arc::downgrade(&scope));
        let body_out = CatchUnwind::new(body(group.clone())).await;
        group.exit(body_out).await
    }

    /// Spawns `future` as a child of the group (asyncio `create_task`).
    ///
    /// An error, with the future dropped unpolled, if the group has finished
    /// ("TaskGroup is finished") or is shutting down after a failure or
    /// [`cancel`](Self::cancel) ("TaskGroup is shutting down").
    #[track_caller]
    pub fn spawn<F, T>(&self, future: F) -> Result<Task<T>>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_with(task::Builder::new(), future)
    }

    /// [`spawn`](Self::spawn) with task options (name, eager start).
    #[track_caller]
    pub fn spawn_with<F, T>(&self, builder: task::Builder, future: F) -> Result<Task<T>>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        let seq = {
            let mut st = self.inner.state.lock();
            if st.finished || (st.exiting && st.tasks.is_empty()) {
                return Err(Error::invalid_state(format!("{} is finished", self.describe(&st))));
            }
            if st.aborting {
                return Err(Error::invalid_state(format!("{} is shutting down", self.describe(&st))));
            }
            st.tasks.reserve()
        };
        // The hook lives in the child's own allocation; it reports even a
        // child that finishes inside this call (eager start).
        let hook = DoneHook { target: self.inner.clone(), key: seq };
        let task = builder.spawn_hooked(&self.inner.handle, future, hook);
        let mut st = self.inner.state.lock();
        if st.tasks.fill(seq, task.as_task_ref().clone()) && st.aborting && !task.done() {
            // The group began aborting while we were spawning.
            drop(st);
            task.cancel();
        }
        Ok(task)
    }

    /// Cancels the group (CPython main `TaskGroup.cancel()`): every child
    /// that is not done and the body are cancelled, and the scope then ends
    /// without an error. Idempotent; no effect once the group has finished.
    ///
    /// ```
    /// use ravel::TaskGroup;
    /// use std::time::Duration;
    ///
    /// ravel::run(async {
    ///     let out = TaskGroup::run(|tg| async move {
    ///         tg.spawn(async {
    ///             ravel::sleep(Duration::from_secs(3600)).await?;
    ///             Ok(())
    ///         })?;
    ///         tg.cancel();
    ///         match ravel::sleep(Duration::from_secs(3600)).await {
    ///             Err(e) if e.is_cancelled() => Ok("stopped by cancel()"),
    ///             other => other.map(|_| "slept"),
    ///         }
    ///     })
    ///     .await?;
    ///     assert_eq!(out, "stopped by cancel()");
    ///     // The parent task is not left cancelled.
    ///     assert_eq!(ravel::current_task().unwrap().cancelling(), 0);
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn cancel(&self) {
        let mut st = self.inner.state.lock();
        if st.finished || (st.exiting && st.tasks.is_empty()) {
            return;
        }
        let children = if st.aborting { Vec::new() } else { Self::abort(&mut st) };
        let cancel_parent = !st.parent_cancel_requested;
        st.parent_cancel_requested = true;
        drop(st);
        for child in children {
            child.cancel();
        }
        if cancel_parent {
            self.inner.parent.cancel();
        }
    }

    /// The number of children not yet done.
    pub fn len(&self) -> usize {
        self.inner.state.lock().tasks.len()
    }

    /// True if no child is running.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Marks the group aborting and returns the children to cancel (the
    /// caller cancels them after releasing the lock).
    fn abort(st: &mut State) -> Vec<TaskRef> {
        st.aborting = true;
        st.tasks.tasks().filter(|t| !t.done()).cloned().collect()
    }

    fn describe(&self, st: &State) -> String {
        let mut s = String::from("TaskGroup <TaskGroup");
        if !st.tasks.is_empty() {
            s.push_str(&format!(" tasks={}", st.tasks.len()));
        }
        if !st.errors.is_empty() {
            s.push_str(&format!(" errors={}", st.errors.len()));
        }
        if st.aborting {
            s.push_str(" cancelling");
        } else if !st.finished {
            s.push_str(" entered");
        }
        s.push('>');
        s
    }

    /// `_aexit`: see the module docs.
    async fn exit<V>(&self, body_out: std::thread::Result<Result<V>>) -> Result<V> {
        let (value, exc) = match body_out {
            Ok(Ok(v)) => (Some(v), None),
            Ok(Err(e)) => (None, Some(e)),
            Err(payload) => (None, Some(Error::panic(payload))),
        };
        let mut propagate: Option<Error> = None;
        let to_cancel = {
            let mut st = self.inner.state.lock();
            st.exiting = true;
            match &exc {
                Some(e) => {
                    if e.is_panic() && st.base_error.is_none() {
                        st.base_error = Some(e.clone());
                    }
                    if e.is_cancelled() {
                        propagate = Some(e.clone());
                    }
                    if st.aborting {
                        Vec::new()
                    } else {
                        Self::abort(&mut st)
                    }
                }
                None => Vec::new(),
            }
        };
        for child in to_cancel {
            child.cancel();
        }
        // A cancellation that arrived while already aborting: the group's
        // own (from `cancel()` or a child failure), or one from outside that
        // came at the same time (gh-155433). Step 4 tells them apart.
        let mut dropped: Option<Error> = None;
        loop {
            match (WaitEmpty { group: &self.inner, leaf: Leaf::new() }).await {
                Ok(()) => break,
                Err(cancelled) => {
                    let to_cancel = {
                        let mut st = self.inner.state.lock();
                        if st.aborting {
                            dropped = Some(cancelled);
                            Vec::new()
                        } else {
                            propagate = Some(cancelled);
                            Self::abort(&mut st)
                        }
                    };
                    for child in to_cancel {
                        child.cancel();
                    }
                }
            }
        }
        let mut st = self.inner.state.lock();
        st.finished = true;
        if let Some(base) = st.base_error.take() {
            drop(st);
            // asyncio raises the base error bare, before uncancel().
            base.resume_unwind();
        }
        let mut swallowed = None;
        if st.parent_cancel_requested {
            if self.inner.parent.uncancel() == 0 {
                swallowed = propagate.take();
            } else if propagate.is_none() {
                // gh-155433: a request is left that is not the group's own
                // (an outside cancel, an enclosing timeout): the cancellation
                // dropped while aborting was that one, so it propagates.
                propagate = dropped;
            }
        }
        if let Some(cancelled) = propagate {
            if st.errors.is_empty() {
                return Err(cancelled);
            }
        }
        if let Some(e) = exc {
            if !e.is_cancelled() {
                st.errors.push(e);
            }
        }
        if !st.errors.is_empty() {
            let errors = std::mem::take(&mut st.errors);
            drop(st);
            if self.inner.parent.cancelling() > 0 {
                // Keep an outside cancellation: it is delivered at the next await.
                self.inner.parent.uncancel();
                self.inner.parent.cancel();
            }
            return Err(Error::group(ExceptionGroup::new(GROUP_MESSAGE, errors)));
        }
        match (value, swallowed) {
            (Some(v), _) => Ok(v),
            // The body was interrupted by `cancel()` and returned the
            // cancellation: the parent is not cancelled any more, but the
            // scope has no value to give.
            (None, Some(cancelled)) => Err(cancelled),
            (None, None) => unreachable!("a body without a value returned an error"),
        }
    }
}

impl ChildDone for Inner {
    fn child_done(self: Arc<Self>, seq: u64, child: &TaskRef, error: Option<Error>, eager_first_step: bool) {
        if error.is_some() {
            child.mark_retrieved();
        }
        if eager_first_step {
            // Finished in its eager first step: handled next iteration.
            let shared = self.handle.shared().clone();
            let child = child.clone();
            shared.call_soon(Box::new(move || self.on_child_done(seq, Some(child), error)));
        } else {
            self.on_child_done(seq, Some(child.clone()), error);
        }
    }
}

impl Inner {
    /// `_on_task_done`, for the child `seq` that ended with `outcome`
    /// (`None`: cancelled or dropped unfinished).
    fn on_child_done(self: &Arc<Self>, seq: u64, child: Option<TaskRef>, outcome: Option<Error>) {
        let mut st = self.state.lock();
        st.tasks.remove(seq);
        if st.tasks.is_empty() {
            if let Some(waker) = st.exit_waker.take() {
                crate::catch_wake::wake(waker);
            }
        }
        let Some(error) = outcome else { return };
        if error.is_cancelled() {
            return;
        }
        st.errors.push(error.clone());
        if error.is_panic() && st.base_error.is_none() {
            st.base_error = Some(error.clone());
        }
        if self.parent.done() {
            drop(st);
            let (id, name) = child.map(|c| (c.id(), c.name())).unwrap_or((self.parent.id(), String::new()));
            let report =
                UnhandledError::new("a TaskGroup task failed after its parent task had completed", id, name, error);
            (self.handle.shared().error_hook)(&report);
            return;
        }
        if !st.aborting && !st.parent_cancel_requested {
            let to_cancel = TaskGroup::abort(&mut st);
            st.parent_cancel_requested = true;
            drop(st);
            for t in to_cancel {
                t.cancel();
            }
            self.parent.cancel();
        }
    }
}

/// The parent's wait at the end of the scope (`await _on_completed_fut`): a
/// leaf, so the parent's cancellation is delivered here.
struct WaitEmpty<'a> {
    group: &'a Arc<Inner>,
    leaf: Leaf,
}

impl Future for WaitEmpty<'_> {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = &mut *self;
        let group = this.group;
        this.leaf.poll_noted(cx, Noted::TaskGroupExit, |cx| {
            let mut st = group.state.lock();
            if st.tasks.is_empty() {
                return Poll::Ready(());
            }
            st.exit_waker = Some(cx.waker().clone());
            Poll::Pending
        })
    }
}

impl ScopeView for Inner {
    fn view(&self) -> Option<Scope> {
        let st = self.state.lock();
        (!st.finished).then(|| Scope::TaskGroup { children: st.tasks.tasks().filter(|t| !t.done()).cloned().collect() })
    }
}

impl std::fmt::Debug for TaskGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.inner.state.lock();
        f.write_str(&self.describe(&st)["TaskGroup ".len()..])
    }
}

#[cfg(test)]
mod tests {
    use super::Children;

    #[test]
    fn children_slab_keys_go_stale_when_their_slot_is_reused() {
        let rt = crate::Builder::new_current_thread().build().unwrap();
        let task = rt.handle().spawn(async { Ok(()) });
        let tr = task.as_task_ref().clone();
        let mut children = Children::default();
        let a = children.reserve();
        let b = children.reserve();
        assert_eq!(children.len(), 2);
        assert!(children.fill(a, tr.clone()));
        assert_eq!(children.tasks().count(), 1, "b is reserved, not filled");
        children.remove(a);
        assert_eq!(children.len(), 1);
        // The freed slot goes to the next child under a new generation: the
        // old key neither fills nor removes it.
        let c = children.reserve();
        assert_eq!(c & u64::from(u32::MAX), a & u64::from(u32::MAX), "slot reused");
        assert_ne!(c, a);
        assert!(!children.fill(a, tr.clone()));
        children.remove(a);
        assert_eq!(children.len(), 2);
        assert!(children.fill(c, tr.clone()));
        assert!(children.fill(b, tr));
        assert_eq!(children.tasks().count(), 2);
        children.remove(b);
        children.remove(c);
        children.remove(c);
        assert!(children.is_empty());
        assert_eq!(children.tasks().count(), 0);
    }
}
