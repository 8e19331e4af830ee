//! The task allocation: header, future and output in one `Box`, reached
//! through a type-erased pointer and a per-type vtable. All of the crate's
//! task-related `unsafe` lives here; the protocol it follows is written in
//! the module docs of [`super`].

use super::current;
use super::hook::CompletionHook;
use super::note::Note;
use super::schedule::run_callback;
use super::schedule::Schedule;
use super::state::{
    CancelWord, Idle, Snapshot, State, Wake, ABORT, CANCELLED, COMPLETE, FAILED, JOIN_INTEREST, OUTPUT_TAKEN, STARTED,
};
use super::state::{CALLBACK, WAITER};
use super::waiter::Waiter;
use super::{CallbackId, TaskId, TaskRef};
use crate::context::{Context, WithContext};
use crate::error::{Error, Result};
use crate::shim::{Mutex, UnsafeCell};
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::Arc;
use std::task::{Poll, RawWaker, RawWakerVTable, Waker};

type DoneCallback = Box<dyn FnOnce(&TaskRef) + Send>;

/// Rarely used per-task data, allocated on first use.
#[derive(Default)]
pub(crate) struct Extra {
    pub(crate) message: Option<String>,
    pub(crate) name: Option<Arc<str>>,
    pub(crate) callbacks: Vec<(CallbackId, DoneCallback)>,
    pub(crate) done_wakers: Vec<Waker>,
    /// A clone of the error the task ended with, for `TaskRef::exception()`.
    pub(crate) error: Option<Error>,
    /// Someone looked at the error: do not report it as unretrieved.
    pub(crate) retrieved: bool,
    /// The scopes (task groups, armed timeouts) this task is in, for its
    /// introspection; dead ones are dropped at the next registration.
    pub(crate) scopes: Vec<std::sync::Weak<dyn super::introspect::ScopeView>>,
}

/// The lock-protected part of the header: the waiter, the waker of the task
/// awaiting this one through its `Task<T>` handle, and the extras.
#[derive(Default)]
pub(crate) struct Slot {
    pub(crate) waiter: Option<Waiter>,
    /// Woken at completion if the handle is still interested.
    pub(crate) join_waker: Option<Waker>,
    extra: Option<Box<Extra>>,
}

impl Slot {
    pub(crate) fn extra(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Default::default)
    }

    pub(crate) fn extra_ref(&self) -> Option<&Extra> {
        self.extra.as_deref()
    }

    /// Sets the cancel message; `None` allocates no extras.
    pub(crate) fn set_message(&mut self, message: Option<String>) {
        match (message, self.extra.as_deref_mut()) {
            (None, None) => {}
            (None, Some(extra)) => extra.message = None,
            (Some(message), _) => self.extra().message = Some(message),
        }
    }

    /// Takes the cancel message, allocating nothing.
    pub(crate) fn take_message(&mut self) -> Option<String> {
        self.extra.as_deref_mut().and_then(|extra| extra.message.take())
    }
}

/// The type-independent part of a task, at offset 0 of its allocation.
#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: State,
    pub(crate) cancel: CancelWord,
    vtable: &'static Vtable,
    pub(crate) id: TaskId,
    /// Where the task was spawned (`#[track_caller]` through every spawn
    /// function), for the call graph and `Handle::dump`.
    pub(crate) location: &'static Location<'static>,
    pub(crate) slot: Mutex<Slot>,
    /// What the task is suspended on when a plain leaf says so without the
    /// slot lock (module `note`).
    pub(crate) note: Note,
    /// Links of the [`TaskList`] holding the task (the registry), touched
    /// only by the holder of that list.
    links: UnsafeCell<Links>,
}

/// A task's place in a [`TaskList`].
#[derive(Default)]
struct Links {
    prev: Option<NonNull<Header>>,
    next: Option<NonNull<Header>>,
}

struct Vtable {
    /// Polls the future; the state is already `RUNNING` and the caller's
    /// reference is consumed. The flag says this is the eager first step,
    /// run inside `spawn`.
    poll: unsafe fn(NonNull<Header>, Snapshot, bool),
    /// Moves the output into `*dst` (an `Option<Result<T>>`).
    read_output: unsafe fn(NonNull<Header>, *mut ()),
    dealloc: unsafe fn(NonNull<Header>),
    /// The scheduler the task runs on (kept in the cell, typed).
    scheduler: unsafe fn(&Header) -> &dyn Schedule,
}

enum Stage<F: Future> {
    Running(F),
    Finished(F::Output),
    Consumed,
}

#[repr(C)]
struct Cell<F: Future, H, S> {
    header: Header,
    /// The scheduler: the task's reference to its runtime.
    scheduler: Arc<S>,
    stage: UnsafeCell<Stage<F>>,
    /// The completion hook, if the spawner gave one (`Option<DoneHook>`) or
    /// nothing at all (`()`, no space): kept in the task's own allocation,
    /// so a task group's child needs no separate allocation for it. Taken
    /// by `complete`, under the exclusive access `RUNNING` gives.
    hook: UnsafeCell<H>,
}

/// A counted reference to a task. Dropping it releases the reference.
pub(crate) struct RawTask {
    ptr: NonNull<Header>,
}

// SAFETY: the header is only accessed through atomics, locks, and the stage
// cell under the ownership rules of the protocol (RUNNING owns the future,
// OUTPUT_TAKEN owns the output); futures and outputs are `Send`. The
// header's `links` are read and written only by the `TaskList` holding the
// task, under its owner's lock (a registry shard's mutex).
unsafe impl Send for RawTask {}
// SAFETY: as above; every `&self` method is safe to call concurrently.
unsafe impl Sync for RawTask {}

impl RawTask {
    /// Allocates a task with the given flags (`NOTIFIED`, or `RUNNING` for
    /// an eager start) and its three initial references: the registry's, the
    /// `Task<T>` handle's, and the runner's. `hook` is run at completion.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new<F, T, H, S>(
        future: F,
        ctx: Context,
        id: TaskId,
        location: &'static Location<'static>,
        scheduler: Arc<S>,
        flags: usize,
        hook: H,
    ) -> [RawTask; 3]
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
        H: CompletionHook,
        S: Schedule,
    {
        let cell = Box::new(Cell::<WithContext<F>, H, S> {
            header: Header {
                state: State::new(flags | JOIN_INTEREST, 3),
                cancel: CancelWord::new(),
                vtable: &Vtable {
                    poll: poll::<WithContext<F>, T, H, S>,
                    read_output: read_output::<WithContext<F>, T, H, S>,
                    dealloc: dealloc::<WithContext<F>, H, S>,
                    scheduler: scheduler_of::<WithContext<F>, H, S>,
                },
                id,
                location,
                slot: Mutex::new(Slot::default()),
                note: Note::new(),
                links: UnsafeCell::new(Links::default()),
            },
            scheduler,
            stage: UnsafeCell::new(Stage::Running(WithContext::new(ctx, future))),
            hook: UnsafeCell::new(hook),
        });
        let ptr = NonNull::from(Box::leak(cell)).cast::<Header>();
        [RawTask { ptr }, RawTask { ptr }, RawTask { ptr }]
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: a RawTask holds a reference, so the allocation is live.
        unsafe { self.ptr.as_ref() }
    }

    pub(crate) fn ptr(&self) -> NonNull<Header> {
        self.ptr
    }

    /// A new counted reference to the task at `ptr`.
    ///
    /// # Safety
    /// `ptr` must point to a live task (some reference is held elsewhere for
    /// the duration of the call).
    pub(crate) unsafe fn clone_from_ptr(ptr: NonNull<Header>) -> RawTask {
        // SAFETY: the caller guarantees the task is live.
        unsafe { ptr.as_ref() }.state.ref_inc();
        RawTask { ptr }
    }

    /// This reference as a bare pointer, for a lock-free slot that holds
    /// it (the scheduler's LIFO slot); [`from_ptr`](Self::from_ptr) takes
    /// it back. The count is unchanged: the pointer *is* the reference.
    pub(crate) fn into_ptr(self) -> NonNull<Header> {
        let ptr = self.ptr;
        std::mem::forget(self);
        ptr
    }

    /// Takes back a reference given up by [`into_ptr`](Self::into_ptr).
    ///
    /// # Safety
    /// `ptr` came from `into_ptr`, and no other `from_ptr` takes back the
    /// same reference (whoever removed it from its slot owns it).
    pub(crate) unsafe fn from_ptr(ptr: NonNull<Header>) -> RawTask {
        RawTask { ptr }
    }

    /// Gives up this reference without decrementing the count; it is then
    /// accounted for by whatever the caller did to the state word.
    pub(crate) fn forget(self) {
        std::mem::forget(self);
    }

    /// Whether this is a `call_soon` callback entry rather than a task.
    pub(crate) fn is_callback(&self) -> bool {
        self.header().state.load().has(CALLBACK)
    }

    /// A queue entry found when the runtime shuts down: a `call_soon`
    /// callback still runs (it is never silently lost); a task's entry is
    /// dropped (the task itself is ended by the shutdown).
    pub(crate) fn run_or_drop(self) {
        if self.is_callback() {
            self.run();
        }
    }

    /// Runs a queue entry (`Notified`), consuming its reference.
    pub(crate) fn run(self) {
        let this = ManuallyDrop::new(self);
        match this.header().state.transition_to_running() {
            // SAFETY: we hold the queue entry's reference, which `poll` consumes,
            // and the transition gave us ownership of the future.
            Ok(snapshot) => unsafe { (this.header().vtable.poll)(this.ptr, snapshot, false) },
            Err(_) => drop(ManuallyDrop::into_inner(this)),
        }
    }

    /// Polls a task whose state is already `RUNNING` (eager start, shutdown),
    /// consuming this reference as the runner's reference. `eager`: this is
    /// the eager first step, inside `spawn` (decided there, once).
    pub(crate) fn poll_owned(self, snapshot: Snapshot, eager: bool) {
        let this = ManuallyDrop::new(self);
        // SAFETY: the caller made the state RUNNING for us (eager spawn creates
        // the task RUNNING; shutdown transitioned it), so we own the future,
        // and the reference we hold is the runner's.
        unsafe { (this.header().vtable.poll)(this.ptr, snapshot, eager) }
    }

    /// Takes the output of a completed task whose output this caller claimed.
    pub(crate) fn take_output<T>(&self) -> Result<T> {
        let mut out: Option<Result<T>> = None;
        // SAFETY: the caller claimed the output (`claim_output` returned true),
        // so no one else reads the stage; the output type is `Result<T>`
        // because `Task<T>` handles are only created by `RawTask::new::<_, T>`.
        unsafe { (self.header().vtable.read_output)(self.ptr, &mut out as *mut _ as *mut ()) };
        out.expect("task output already consumed")
    }

    /// Wakes the task through this reference.
    pub(crate) fn wake_by_ref(&self) {
        if self.header().state.wake_by_ref() == Wake::Submit {
            let notified = RawTask { ptr: self.ptr };
            self.header().scheduler().schedule(notified, false);
        }
    }

    /// Sets ABORT and schedules the task so it drops its future.
    pub(crate) fn abort(&self) {
        if self.header().state.abort() == Wake::Submit {
            self.header().scheduler().schedule(RawTask { ptr: self.ptr }, true);
        }
    }

    /// A waker that does not own a reference; valid while `self` lives.
    fn waker_ref(ptr: NonNull<Header>) -> ManuallyDrop<Waker> {
        // SAFETY: the vtable functions follow the RawWaker contract: clone
        // takes a reference, wake consumes one, drop releases one.
        ManuallyDrop::new(unsafe { Waker::from_raw(RawWaker::new(ptr.as_ptr() as *const (), &WAKER_VTABLE)) })
    }
}

/// An intrusive doubly linked list of tasks, threaded through their headers
/// (the registry's storage: no allocation per task). The list owns one
/// reference to each member. A task is in at most one list at a time, and
/// its links are read and written only through the `&mut TaskList` that
/// holds it; the owner of the list (a registry shard's lock) serialises
/// those accesses.
pub(crate) struct TaskList {
    head: Option<NonNull<Header>>,
}

// SAFETY: the list holds counted `RawTask` references, which are `Send`; the
// links it touches belong to its own members only.
unsafe impl Send for TaskList {}

impl Default for TaskList {
    fn default() -> Self {
        TaskList::new()
    }
}

impl TaskList {
    /// An empty list.
    pub(crate) const fn new() -> TaskList {
        TaskList { head: None }
    }

    /// Runs `f` on the links of `ptr`.
    ///
    /// # Safety
    /// `ptr` is live and a member of this list (or about to become one), and
    /// no other `&mut` to its links exists.
    unsafe fn links<R>(ptr: NonNull<Header>, f: impl FnOnce(&mut Links) -> R) -> R {
        // SAFETY: live per the contract; exclusive because only this list,
        // borrowed mutably by the caller, touches a member's links.
        unsafe { ptr.as_ref() }.links.with_mut(|links| f(unsafe { &mut *links }))
    }

    /// Adds `task` at the front, taking its reference.
    ///
    /// # Safety
    /// `task` is in no list.
    pub(crate) unsafe fn push(&mut self, task: RawTask) {
        let ptr = task.ptr;
        task.forget();
        let next = self.head;
        // SAFETY: `ptr` is live (we hold its reference) and joins this list;
        // `next` is a member.
        unsafe {
            Self::links(ptr, |l| *l = Links { prev: None, next });
            if let Some(next) = next {
                Self::links(next, |l| l.prev = Some(ptr));
            }
        }
        self.head = Some(ptr);
    }

    /// Removes `ptr` if it is a member, returning the list's reference.
    ///
    /// # Safety
    /// `ptr` is live and is a member of this list or of no list.
    pub(crate) unsafe fn remove(&mut self, ptr: NonNull<Header>) -> Option<RawTask> {
        // SAFETY: per the contract, only this list can touch the links; a
        // task in no list has both links `None` and is not the head.
        let Links { prev, next } = unsafe { Self::links(ptr, std::mem::take) };
        if prev.is_none() && self.head != Some(ptr) {
            return None;
        }
        // SAFETY: `prev` and `next` are members of this list.
        unsafe {
            match prev {
                Some(prev) => Self::links(prev, |l| l.next = next),
                None => self.head = next,
            }
            if let Some(next) = next {
                Self::links(next, |l| l.prev = prev);
            }
        }
        Some(RawTask { ptr })
    }

    /// A new reference to every member.
    pub(crate) fn snapshot(&self, out: &mut Vec<RawTask>) {
        let mut cur = self.head;
        while let Some(ptr) = cur {
            // SAFETY: members are live (the list holds a reference to each).
            out.push(unsafe { RawTask::clone_from_ptr(ptr) });
            // SAFETY: as above; links are ours to read.
            cur = unsafe { Self::links(ptr, |l| l.next) };
        }
    }

    /// Empties the list, handing over its references.
    pub(crate) fn drain(&mut self, out: &mut Vec<RawTask>) {
        let mut cur = self.head.take();
        while let Some(ptr) = cur {
            // SAFETY: members are live and their links ours to reset.
            cur = unsafe { Self::links(ptr, |l| std::mem::take(l).next) };
            out.push(RawTask { ptr });
        }
    }
}

impl Drop for TaskList {
    fn drop(&mut self) {
        let mut tasks = Vec::new();
        self.drain(&mut tasks);
    }
}

impl Clone for RawTask {
    fn clone(&self) -> RawTask {
        self.header().state.ref_inc();
        RawTask { ptr: self.ptr }
    }
}

impl Drop for RawTask {
    fn drop(&mut self) {
        if self.header().state.ref_dec(1) {
            // SAFETY: that was the last reference.
            unsafe { (self.header().vtable.dealloc)(self.ptr) }
        }
    }
}

static WAKER_VTABLE: RawWakerVTable = RawWakerVTable::new(waker_clone, waker_wake, waker_wake_by_ref, waker_drop);

/// Whether `waker` is a Ravel task's (whose wake never panics).
pub(crate) fn is_task_waker(waker: &Waker) -> bool {
    std::ptr::eq(waker.vtable(), &WAKER_VTABLE)
}

/// `RawWakerVTable::clone`.
///
/// # Safety
/// `ptr` is the header of a live task, from a waker made by this module.
unsafe fn waker_clone(ptr: *const ()) -> RawWaker {
    // SAFETY: a waker holds (or borrows from its creator) a reference, so the
    // task is live; the clone takes its own reference.
    unsafe { (*(ptr as *const Header)).state.ref_inc() };
    RawWaker::new(ptr, &WAKER_VTABLE)
}

/// `RawWakerVTable::wake`: consumes the waker's reference.
///
/// # Safety
/// `ptr` is the header of a live task and the waker owns one reference.
unsafe fn waker_wake(ptr: *const ()) {
    // SAFETY: an owned waker carries one reference, moved into this call.
    let ptr = unsafe { NonNull::new_unchecked(ptr as *mut Header) };
    // SAFETY: as above, the task is live while we hold the reference.
    let header = unsafe { ptr.as_ref() };
    match header.state.wake_by_val() {
        Wake::Submit => header.scheduler().schedule(RawTask { ptr }, false),
        Wake::Nothing => {}
        // SAFETY: our reference was the last one.
        Wake::Dealloc => unsafe { (header.vtable.dealloc)(ptr) },
    }
}

/// `RawWakerVTable::wake_by_ref`.
///
/// # Safety
/// `ptr` is the header of a live task, kept alive by the waker's reference.
unsafe fn waker_wake_by_ref(ptr: *const ()) {
    // SAFETY: the waker's reference keeps the task live for this call.
    let raw = ManuallyDrop::new(RawTask { ptr: unsafe { NonNull::new_unchecked(ptr as *mut Header) } });
    raw.wake_by_ref();
}

/// `RawWakerVTable::drop`: releases the waker's reference.
///
/// # Safety
/// `ptr` is the header of a live task and the waker owns one reference.
unsafe fn waker_drop(ptr: *const ()) {
    // SAFETY: an owned waker carries one reference, released here.
    drop(RawTask { ptr: unsafe { NonNull::new_unchecked(ptr as *mut Header) } });
}

/// Polls the future of a `RUNNING` task, consuming the runner's reference.
///
/// # Safety
/// `ptr` is a `Cell<F>`; the state is `RUNNING` and owned by the caller, who
/// passes in the runner's reference.
unsafe fn poll<F, T, H: CompletionHook, S: Schedule>(ptr: NonNull<Header>, snapshot: Snapshot, eager_first_step: bool)
where
    F: Future<Output = Result<T>>,
{
    // SAFETY: the header is the first field of a live `Cell<F>`.
    let cell = unsafe { ptr.cast::<Cell<F, H, S>>().as_ref() };
    let header = &cell.header;

    if snapshot.has(ABORT) {
        // SAFETY: we own the running state.
        return unsafe { complete::<F, T, H, S>(ptr, Err(Error::aborted()), false) };
    }
    if snapshot.has(WAITER) {
        // The last suspension's waiter is stale now; an await still pending
        // records itself again during this poll.
        header.slot.lock().waiter = None;
        header.state.clear_flag(WAITER);
    }
    header.note.clear();
    if !snapshot.has(STARTED) {
        if let Some(err) = header.take_delivery() {
            // asyncio A01: a task cancelled before its first step never runs.
            // SAFETY: we own the running state.
            return unsafe { complete::<F, T, H, S>(ptr, Err(err), false) };
        }
    }

    let waker = RawTask::waker_ref(ptr);
    let mut cx = std::task::Context::from_waker(&waker);
    let result = {
        let _enter = if snapshot.has(CALLBACK) { current::enter_callback() } else { current::enter_task(ptr.cast()) };
        catch_unwind(AssertUnwindSafe(|| {
            cell.stage.with_mut(|stage| {
                // SAFETY: RUNNING gives us exclusive access to the stage.
                match unsafe { &mut *stage } {
                    // SAFETY: the future is never moved while in the cell: the
                    // cell is boxed and the stage is replaced only after it ends.
                    Stage::Running(fut) => unsafe { Pin::new_unchecked(fut) }.poll(&mut cx),
                    _ => unreachable!("polled a task whose future is gone"),
                }
            })
        }))
    };
    match result {
        // SAFETY: we still own the running state.
        Ok(Poll::Ready(out)) => unsafe { complete::<F, T, H, S>(ptr, out, eager_first_step) },
        // SAFETY: as above; the panicked future is still in the stage and is
        // dropped by `complete`.
        Err(payload) => unsafe { complete::<F, T, H, S>(ptr, Err(Error::panic(payload)), eager_first_step) },
        Ok(Poll::Pending) => match header.state.transition_to_idle() {
            Idle::Parked => {}
            // The runner's reference moves into the new queue entry; a task that
            // woke itself yielded, so it goes to the back of the queue.
            Idle::Requeue => cell.scheduler.schedule(RawTask { ptr }, true),
        },
    }
}

/// Ends a task: drops the future, stores the output, wakes the joiner, runs
/// the done hook and schedules done callbacks, removes the task from the
/// registry and releases the registry's and the runner's references.
///
/// Callbacks, `wait_done` wakers and the hook are taken from the slot only
/// after `COMPLETE` is set: whoever adds one checks `COMPLETE` under the
/// same lock, so each is either taken here or sees the task done.
///
/// # Safety
/// As for [`poll`].
unsafe fn complete<F, T, H: CompletionHook, S: Schedule>(ptr: NonNull<Header>, out: Result<T>, eager_first_step: bool)
where
    F: Future<Output = Result<T>>,
{
    // SAFETY: the header is the first field of a live `Cell<F>`.
    let cell = unsafe { ptr.cast::<Cell<F, H, S>>().as_ref() };
    let header = &cell.header;

    // Drop the future at once, so drop-based libraries see the end too. In
    // place: moving it out first would copy the whole future.
    let drop_result = {
        let _enter = current::enter_task(ptr.cast());
        // SAFETY: RUNNING gives us exclusive access to the stage, which holds
        // `Running(future)`; it is overwritten below without being dropped
        // again, whether or not this drop panics.
        catch_unwind(AssertUnwindSafe(|| cell.stage.with_mut(|stage| unsafe { std::ptr::drop_in_place(stage) })))
    };
    // SAFETY: as above; the old contents are already dropped.
    cell.stage.with_mut(|stage| unsafe { std::ptr::write(stage, Stage::Consumed) });
    let mut out = out;
    if let (Err(payload), Ok(_)) = (drop_result, &out) {
        out = Err(Error::panic(payload));
    }

    // An undelivered cancellation discards the result (asyncio A11).
    let pending = header.cancel.mark_done();
    let out = match out {
        Ok(value) if pending => {
            drop(value);
            let message = header.slot.lock().take_message();
            Err(Error::cancelled(message))
        }
        out => out,
    };
    let outcome = match &out {
        Ok(_) => 0,
        Err(e) if e.is_cancelled() => CANCELLED,
        Err(_) => FAILED,
    };
    let error = out.as_ref().err().cloned();
    // SAFETY: RUNNING still gives us exclusive access to the stage.
    cell.stage.with_mut(|stage| unsafe { *stage = Stage::Finished(out) });
    // SAFETY: RUNNING still gives us exclusive access to the cell's hook
    // (nothing else ever touches it).
    let hook = cell.hook.with_mut(|hook| unsafe { (*hook).take_hook() });

    // One critical section: record the error, publish COMPLETE, take what
    // completion hands out. Whoever sees COMPLETE and then takes the lock
    // (`exception`, `add_done_callback`, a joiner) finds all of it settled.
    // The waiter needs no clearing: the future, and with it every join or
    // promise wait that could have registered one, is already dropped.
    let (snapshot, join_waker, taken) = {
        let mut slot = header.slot.lock();
        if let Some(e) = &error {
            // A plain cancellation is not stored unless the extras exist
            // anyway: `exception()` rebuilds it from the CANCELLED bit, so
            // cancelling an ordinary task allocates nothing.
            if !e.is_plain_cancellation() || slot.extra.is_some() {
                slot.extra().error = Some(e.clone());
            }
        }
        let snapshot = header.state.transition_to_complete(outcome);
        let join_waker = slot.join_waker.take();
        let taken = slot
            .extra
            .as_deref_mut()
            .map(|extra| (std::mem::take(&mut extra.callbacks), std::mem::take(&mut extra.done_wakers)));
        (snapshot, join_waker, taken)
    };
    // Done callbacks are queued before the awaiters are woken: in asyncio
    // the awaiter's wake-up is a done callback registered when it started
    // awaiting, after the ones added before.
    let (callbacks, done_wakers) = taken.unwrap_or_default();
    let task = (hook.is_some() || !callbacks.is_empty())
        // SAFETY: we hold the runner's reference, so the task is live.
        .then(|| TaskRef::from_raw(unsafe { RawTask::clone_from_ptr(ptr) }));
    if !callbacks.is_empty() {
        let task = task.clone().expect("made above");
        cell.scheduler.call_soon(Box::new(move || {
            // One panicking callback must not take the later ones with it
            // (asyncio runs each as its own handle).
            for (_, callback) in callbacks {
                run_callback(task.raw().header().scheduler(), || callback(&task));
            }
        }));
    }
    let hook = hook.map(|h| (h, task.expect("made above"), error));
    if let Some(waker) = join_waker.filter(|_| snapshot.has(JOIN_INTEREST)) {
        waker.wake();
    }
    for waker in done_wakers {
        waker.wake();
    }
    if let Some((hook, task, error)) = hook {
        let _ = catch_unwind(AssertUnwindSafe(|| hook.call(&task, error, eager_first_step)));
    }
    // The registry's reference and the runner's.
    let registered = cell.scheduler.release(header);
    if let Some(raw) = registered {
        raw.forget();
        if header.state.ref_dec(2) {
            // SAFETY: those were the last references.
            unsafe { (header.vtable.dealloc)(ptr) }
        }
    } else {
        drop(RawTask { ptr });
    }
}

/// # Safety
/// `ptr` is a `Cell<F>` whose output the caller claimed; `dst` points to an
/// `Option<F::Output>`.
unsafe fn read_output<F, T, H, S>(ptr: NonNull<Header>, dst: *mut ())
where
    F: Future<Output = Result<T>>,
{
    // SAFETY: the header is the first field of a live `Cell<F>`.
    let cell = unsafe { ptr.cast::<Cell<F, H, S>>().as_ref() };
    // SAFETY: the claim gives this caller exclusive access to the finished stage.
    let stage = cell.stage.with_mut(|stage| std::mem::replace(unsafe { &mut *stage }, Stage::Consumed));
    if let Stage::Finished(out) = stage {
        // SAFETY: the caller passes a pointer to an `Option<Result<T>>`.
        unsafe { *(dst as *mut Option<Result<T>>) = Some(out) };
    }
}

/// # Safety
/// `ptr` is a `Cell<F>` and the last reference was just released.
unsafe fn dealloc<F: Future, H, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the allocation came from `Box::new` in `RawTask::new`, and no
    // reference remains.
    let cell = unsafe { Box::from_raw(ptr.cast::<Cell<F, H, S>>().as_ptr()) };
    let header = &cell.header;
    let snapshot = header.state.load();
    if snapshot.has(COMPLETE) && snapshot.has(FAILED) && !snapshot.has(OUTPUT_TAKEN) {
        let mut slot = header.slot.lock();
        let extra = slot.extra();
        if !extra.retrieved {
            if let Some(error) = extra.error.take() {
                let name = extra.name.clone();
                drop(slot);
                cell.scheduler.report_unretrieved(header.id, name, error);
            }
        }
    }
    // Dropping an unread output may run user code; keep panics in here.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(cell)));
}

/// # Safety
/// `header` is the header of a `Cell<F, H, S>`.
unsafe fn scheduler_of<F: Future, H, S: Schedule>(header: &Header) -> &dyn Schedule {
    // SAFETY: the header is the first field of a live `Cell<F, H, S>`; the
    // returned borrow lives no longer than the caller's borrow of it.
    let cell = unsafe { &*(header as *const Header).cast::<Cell<F, H, S>>() };
    &*cell.scheduler
}

impl Header {
    /// Takes the task's pending delivery, if any, as a cancellation error.
    pub(crate) fn take_delivery(&self) -> Option<Error> {
        if !self.cancel.is_pending() {
            return None;
        }
        let mut slot = self.slot.lock();
        if !self.cancel.take_pending() {
            return None;
        }
        Some(Error::cancelled(slot.take_message()))
    }

    /// The scheduler this task runs on.
    pub(crate) fn scheduler(&self) -> &dyn Schedule {
        // SAFETY: every header is made by `RawTask::new` with the vtable of
        // its own cell type.
        unsafe { (self.vtable.scheduler)(self) }
    }
}

/// Runs `f` on the header of the task being polled on this thread.
pub(crate) fn with_current<R>(f: impl FnOnce(&Header) -> R) -> Option<R> {
    let ptr = current::task_ptr()?.cast::<Header>();
    // SAFETY: `current::enter_task` publishes the pointer only while the
    // runner polls (or completes) that task, holding its reference.
    Some(f(unsafe { ptr.as_ref() }))
}

/// A counted reference to the task being polled on this thread.
pub(crate) fn current_raw() -> Option<RawTask> {
    let ptr = current::task_ptr()?.cast::<Header>();
    // SAFETY: as in `with_current`, the task is live while it is current.
    Some(unsafe { RawTask::clone_from_ptr(ptr) })
}

/// A `!Send` future (or value) bound to the thread that made it, so that it
/// can travel in a task cell (which must be `Send`) on a runtime that only
/// ever touches it from that thread: the root task of
/// `Runtime::block_on_local`, polled and completed by the current-thread
/// loop on the calling thread.
///
/// It is only ever used from its own thread: [`poll`](Future::poll) and
/// [`into_inner`](Local::into_inner) panic on any other, and a drop on
/// another thread leaks the contents instead of dropping them there.
pub(crate) struct Local<T> {
    thread: std::thread::ThreadId,
    inner: ManuallyDrop<T>,
}

// SAFETY: the contents are never accessed (polled, read, moved out or
// dropped) from any thread but the one that made the `Local`: every access
// checks the thread first. Moving the bytes between threads without using
// them is sound for any `T`.
unsafe impl<T> Send for Local<T> {}

impl<T> Local<T> {
    /// Binds `value` to this thread.
    pub(crate) fn new(value: T) -> Local<T> {
        Local { thread: std::thread::current().id(), inner: ManuallyDrop::new(value) }
    }

    fn check(&self) {
        assert!(
            std::thread::current().id() == self.thread,
            "a !Send root future (Runtime::block_on_local) was touched from another thread than its own"
        );
    }

    /// The value, on its own thread.
    pub(crate) fn into_inner(self) -> T {
        self.check();
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used again (and its drop never runs), so
        // the value is moved out exactly once.
        unsafe { ManuallyDrop::take(&mut this.inner) }
    }
}

impl<F: Future<Output = Result<T>>, T> Future for Local<F> {
    type Output = Result<Local<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        self.check();
        // SAFETY: structural pinning of `inner`: it is never moved out of a
        // pinned `Local` (only `into_inner`, which takes `self` by value, on
        // an unpinned one, moves it) and is dropped in place.
        let inner = unsafe { self.map_unchecked_mut(|local| &mut *local.inner) };
        inner.poll(cx).map(|out| out.map(Local::new))
    }
}

impl<T> Drop for Local<T> {
    fn drop(&mut self) {
        if std::thread::current().id() == self.thread {
            // SAFETY: dropped once, here, on its own thread; never used again.
            unsafe { ManuallyDrop::drop(&mut self.inner) }
        }
        // On another thread (a runtime shut down from elsewhere while the
        // root was still alive): leaked, which is safe, rather than dropped
        // where it may not be.
    }
}

#[cfg(all(test, target_pointer_width = "64", not(loom)))]
mod layout {
    /// The header size the docs state (docs/architecture.md): a change here
    /// changes the memory per task that the benchmarks report. (The
    /// scheduler reference lives in the cell, typed, after the header.)
    #[test]
    fn header_is_120_bytes() {
        assert_eq!(std::mem::size_of::<super::Header>(), 120);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Models of the reference count against completion, cancellation and
    //! wakers, on a scheduler of their own (possible since `task/` knows
    //! its scheduler only through `Schedule`).
    use super::*;
    use crate::task::schedule::Schedule;
    use crate::task::{cancel, Task};
    use loom::thread;

    /// Holds the registry's reference and the queue entries wakers make.
    #[derive(Default)]
    struct TestSchedule {
        registered: Mutex<Option<RawTask>>,
        queue: Mutex<Vec<RawTask>>,
    }

    impl Schedule for TestSchedule {
        fn schedule(&self, task: RawTask, _yielded: bool) {
            self.queue.lock().push(task);
        }
        fn call_soon(&self, f: Box<dyn FnOnce() + Send>) {
            f();
        }
        fn release(&self, _task: &Header) -> Option<RawTask> {
            self.registered.lock().take()
        }
        fn report_unretrieved(&self, _: TaskId, _: Option<Arc<str>>, _: Error) {}
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }

    fn spawn_ready(sched: &Arc<TestSchedule>) -> (RawTask, RawTask) {
        let [registered, handle, runner] = RawTask::new(
            async { Ok(5u32) },
            Context::current(),
            TaskId::next(),
            Location::caller(),
            sched.clone(),
            super::super::state::NOTIFIED,
            (),
        );
        *sched.registered.lock() = Some(registered);
        (handle, runner)
    }

    /// Run what wakers queued (entries of a completed task only drop).
    fn drain(sched: &TestSchedule) {
        let queued = std::mem::take(&mut *sched.queue.lock());
        for entry in queued {
            entry.run();
        }
    }

    /// The bug this guards: a cancel that races the task's only poll either
    /// frees the task twice or leaks it (a reference moved into a queue
    /// entry that nobody accounts for), or is silently lost (it counted but
    /// the task ended with its value). In every interleaving: the task ends
    /// cancelled, with the message, exactly when `cancel()` returned true,
    /// and once every reference is gone the cell is freed exactly once (its
    /// reference to the scheduler is released).
    #[test]
    fn loom_cancel_races_the_only_poll() {
        loom::model(|| {
            let sched = Arc::new(TestSchedule::default());
            let (handle, runner) = spawn_ready(&sched);
            let target = handle.clone();
            let canceller = thread::spawn(move || cancel::cancel(&target, Some("stop".to_string())));
            runner.run();
            let accepted = canceller.join().unwrap();
            drain(&sched);
            let task: Task<u32> = Task::from_raw(handle);
            match task.result() {
                Ok(v) => {
                    assert!(!accepted, "a counted cancel was lost");
                    assert_eq!(v, 5);
                }
                Err(e) => {
                    assert!(accepted, "cancelled without a counted request");
                    assert_eq!(e.cancel_message(), Some("stop"));
                }
            }
            drop(task);
            assert_eq!(Arc::strong_count(&sched), 1, "the task cell was not freed exactly once");
        });
    }

    /// An owned waker woken from another thread while the task completes
    /// and its handle is dropped: the waker's reference and the queue entry
    /// it may make are accounted for, and the last of them frees the task.
    #[test]
    fn loom_waker_races_completion_and_handle_drop() {
        loom::model(|| {
            let sched = Arc::new(TestSchedule::default());
            let (handle, runner) = spawn_ready(&sched);
            let waker = (*RawTask::waker_ref(handle.ptr())).clone();
            let waking = thread::spawn(move || waker.wake());
            runner.run();
            drop(Task::<u32>::from_raw(handle));
            waking.join().unwrap();
            drain(&sched);
            assert_eq!(Arc::strong_count(&sched), 1, "the task cell was not freed exactly once");
        });
    }
}
