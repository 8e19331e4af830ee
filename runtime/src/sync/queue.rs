//! [`Queue`], [`LifoQueue`] and [`PriorityQueue`]: asyncio's queues
//! (CPython 3.13 `queues.py`, with `shutdown()`).
//!
//! One core serves the three kinds; they differ only in their storage,
//! CPython's `_init`/`_put`/`_get` hooks (here [`Items`]): a deque for
//! `Queue`, a list used as a stack for `LifoQueue`, a `heapq` heap for
//! `PriorityQueue` (the same sift algorithm, so the same layout). CPython's
//! algorithm, followed line by line:
//!
//! * `put_nowait(x)`: shut down → `QueueShutDown`; full → `QueueFull`.
//!   Otherwise store `x`, count one more unfinished task, clear
//!   `_finished`, and wake the next getter.
//! * `get_nowait()`: empty → `QueueShutDown` if shut down, else
//!   `QueueEmpty`. Otherwise take an item and wake the next putter.
//! * Waking the next waiter **pops** waiters from the front until one is
//!   still pending, and wakes that one: a woken waiter has left the deque
//!   (unlike a Lock's).
//! * `put(x)`: while full: shut down → `QueueShutDown`; otherwise queue a
//!   putter at the back and wait for it. Then `put_nowait(x)`. A woken
//!   putter re-checks, so one that a `*_nowait` call beat to the slot waits
//!   again, at the back (Q05). On any exception while waiting (a
//!   cancellation; here also the future being dropped, as Python's
//!   `GeneratorExit`): remove the putter if it is still queued and, if it
//!   had been woken and the queue is not full, wake the next putter; then
//!   re-raise. `get()` is the mirror image, with `empty()`.
//! * `task_done()`: an error at 0 ("task_done() called too many times");
//!   otherwise decrement, and at 0 set `_finished`. `join()` waits for
//!   `_finished` (at once at 0). The counter counts puts, not gets.
//! * `shutdown(immediate)`: mark the queue shut down. With `immediate`,
//!   drop every item, counting each one done (never below 0), and set
//!   `_finished` at 0. Then pop and wake every getter and every putter:
//!   getters re-check (an empty shut-down queue raises, a non-empty one
//!   still hands out its items), putters raise (a full queue in the loop,
//!   otherwise `put_nowait`).
//!
//! `_finished` is an [`Event`], set exactly when the counter is 0; both
//! change only under the queue's lock.
//!
//! Items are never dropped under the queue's lock (a `Drop` that touches
//! the queue would deadlock): an immediate shutdown drains them into a
//! vector first, and a failed put hands its item back to its caller.

use super::event::{Event, EventWait};
use super::waiter::{self, Node, NodeWait};
use crate::error::{Error, Result};
use crate::task::Leaf;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// [`get_nowait`](Queue::get_nowait) on an empty queue (asyncio
/// `QueueEmpty`), inside [`GetNowaitError::Empty`].
///
/// ```
/// use ravel::sync::{GetNowaitError, Queue, QueueEmpty};
///
/// let q = Queue::<i32>::new(0);
/// assert_eq!(q.get_nowait(), Err(GetNowaitError::Empty(QueueEmpty)));
/// assert_eq!(QueueEmpty.to_string(), "the queue is empty");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QueueEmpty;

impl fmt::Display for QueueEmpty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is empty")
    }
}

impl std::error::Error for QueueEmpty {}

/// [`put_nowait`](Queue::put_nowait) on a full queue (asyncio
/// `QueueFull`), inside [`PutNowaitError::Full`]: it gives the item back.
///
/// ```
/// use ravel::sync::{PutNowaitError, Queue, QueueFull};
///
/// let q = Queue::new(1);
/// q.put_nowait("a").unwrap();
/// match q.put_nowait("b") {
///     Err(PutNowaitError::Full(QueueFull(item))) => assert_eq!(item, "b"),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct QueueFull<T>(pub T);

impl<T> QueueFull<T> {
    /// The item that was not put.
    ///
    /// ```
    /// assert_eq!(ravel::sync::QueueFull(7).into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for QueueFull<T> {
    /// `QueueFull(..)`: the item is not shown, so any `T` will do.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueueFull(..)")
    }
}

impl<T> fmt::Display for QueueFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is full")
    }
}

impl<T> std::error::Error for QueueFull<T> {}

/// The queue is shut down (asyncio `QueueShutDown`, 3.13).
///
/// The async [`put`](Queue::put) and [`get`](Queue::get) fail with a
/// [`ravel::Error`](crate::Error) wrapping it (`Error::new(QueueShutDown)`):
/// test for it with `e.downcast_ref::<QueueShutDown>().is_some()`. The
/// nowait calls return it inside [`GetNowaitError::ShutDown`] and (with the
/// item) [`PutNowaitError::ShutDown`].
///
/// ```
/// use ravel::sync::{Queue, QueueShutDown};
///
/// ravel::run(async {
///     let q = Queue::<i32>::new(0);
///     q.shutdown(false);
///     let err = q.get().await.unwrap_err();
///     assert!(err.downcast_ref::<QueueShutDown>().is_some());
///     assert!(!err.is_cancelled());
///     Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QueueShutDown;

impl fmt::Display for QueueShutDown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is shut down")
    }
}

impl std::error::Error for QueueShutDown {}

/// Why [`get_nowait`](Queue::get_nowait) gave no item.
///
/// ```
/// use ravel::sync::{GetNowaitError, Queue};
///
/// let q = Queue::<i32>::new(0);
/// assert!(q.get_nowait().unwrap_err().is_empty());
/// q.shutdown(false);
/// let err = q.get_nowait().unwrap_err();
/// assert!(err.is_shut_down());
/// assert!(matches!(err, GetNowaitError::ShutDown(_)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GetNowaitError {
    /// Empty, and not shut down (asyncio `QueueEmpty`).
    Empty(QueueEmpty),
    /// Empty and shut down, or shut down with `immediate` (asyncio
    /// `QueueShutDown`).
    ShutDown(QueueShutDown),
}

impl GetNowaitError {
    /// True for [`GetNowaitError::Empty`].
    ///
    /// ```
    /// assert!(ravel::sync::Queue::<u8>::new(0).get_nowait().unwrap_err().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        matches!(self, GetNowaitError::Empty(_))
    }

    /// True for [`GetNowaitError::ShutDown`].
    ///
    /// ```
    /// let q = ravel::sync::Queue::<u8>::new(0);
    /// q.shutdown(false);
    /// assert!(q.get_nowait().unwrap_err().is_shut_down());
    /// ```
    pub fn is_shut_down(&self) -> bool {
        matches!(self, GetNowaitError::ShutDown(_))
    }
}

impl fmt::Display for GetNowaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetNowaitError::Empty(e) => fmt::Display::fmt(e, f),
            GetNowaitError::ShutDown(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for GetNowaitError {}

/// Why [`put_nowait`](Queue::put_nowait) did not put the item; either way
/// the item comes back ([`into_inner`](Self::into_inner)).
///
/// ```
/// use ravel::sync::{PutNowaitError, Queue};
///
/// let q = Queue::new(1);
/// q.put_nowait(1).unwrap();
/// let full = q.put_nowait(2).unwrap_err();
/// assert!(full.is_full());
/// assert_eq!(full.into_inner(), 2);
/// q.shutdown(false);
/// let shut = q.put_nowait(3).unwrap_err();
/// assert!(matches!(shut, PutNowaitError::ShutDown(3)));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum PutNowaitError<T> {
    /// The queue is full (asyncio `QueueFull`).
    Full(QueueFull<T>),
    /// The queue is shut down (asyncio `QueueShutDown`); the item is given
    /// back.
    ShutDown(T),
}

impl<T> PutNowaitError<T> {
    /// The item that was not put.
    ///
    /// ```
    /// let q = ravel::sync::Queue::new(1);
    /// q.put_nowait('a').unwrap();
    /// assert_eq!(q.put_nowait('b').unwrap_err().into_inner(), 'b');
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            PutNowaitError::Full(QueueFull(item)) | PutNowaitError::ShutDown(item) => item,
        }
    }

    /// True for [`PutNowaitError::Full`].
    ///
    /// ```
    /// let q = ravel::sync::Queue::new(1);
    /// q.put_nowait(1).unwrap();
    /// assert!(q.put_nowait(2).unwrap_err().is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, PutNowaitError::Full(_))
    }

    /// True for [`PutNowaitError::ShutDown`].
    ///
    /// ```
    /// let q = ravel::sync::Queue::new(0);
    /// q.shutdown(false);
    /// assert!(q.put_nowait(1).unwrap_err().is_shut_down());
    /// ```
    pub fn is_shut_down(&self) -> bool {
        matches!(self, PutNowaitError::ShutDown(_))
    }
}

impl<T> fmt::Debug for PutNowaitError<T> {
    /// `Full(..)` or `ShutDown(..)`: the item is not shown, so any `T` will do.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PutNowaitError::Full(_) => "Full(..)",
            PutNowaitError::ShutDown(_) => "ShutDown(..)",
        })
    }
}

impl<T> fmt::Display for PutNowaitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutNowaitError::Full(e) => fmt::Display::fmt(e, f),
            PutNowaitError::ShutDown(_) => fmt::Display::fmt(&QueueShutDown, f),
        }
    }
}

impl<T> std::error::Error for PutNowaitError<T> {}

fn shut_down_error() -> Error {
    Error::new(QueueShutDown)
}

// ---------------------------------------------------------------------------
// Storage: CPython's `_init` / `_put` / `_get` hooks
// ---------------------------------------------------------------------------

/// The storage of one queue kind.
enum Items<T> {
    /// `Queue`: `collections.deque`, `append` / `popleft`.
    Fifo(VecDeque<T>),
    /// `LifoQueue`: a list, `append` / `pop`.
    Lifo(Vec<T>),
    /// `PriorityQueue`: a list kept as a `heapq` min-heap; `less` is
    /// `T::lt`, captured where `T: Ord` is known.
    Priority { heap: Vec<T>, less: fn(&T, &T) -> bool },
}

fn lt<T: Ord>(a: &T, b: &T) -> bool {
    a < b
}

impl<T> Items<T> {
    fn name(&self) -> &'static str {
        match self {
            Items::Fifo(_) => "Queue",
            Items::Lifo(_) => "LifoQueue",
            Items::Priority { .. } => "PriorityQueue",
        }
    }

    fn len(&self) -> usize {
        match self {
            Items::Fifo(d) => d.len(),
            Items::Lifo(v) | Items::Priority { heap: v, .. } => v.len(),
        }
    }

    /// `_put`.
    fn put(&mut self, item: T) {
        match self {
            Items::Fifo(d) => d.push_back(item),
            Items::Lifo(v) => v.push(item),
            Items::Priority { heap, less } => {
                // heapq.heappush
                heap.push(item);
                let last = heap.len() - 1;
                sift_down(heap, 0, last, *less);
            }
        }
    }

    /// `_get`, on a non-empty queue.
    fn get(&mut self) -> Option<T> {
        match self {
            Items::Fifo(d) => d.pop_front(),
            Items::Lifo(v) => v.pop(),
            Items::Priority { heap, less } => {
                // heapq.heappop
                let last = heap.pop()?;
                if heap.is_empty() {
                    return Some(last);
                }
                let first = std::mem::replace(&mut heap[0], last);
                sift_up(heap, 0, *less);
                Some(first)
            }
        }
    }

    /// `list(self._queue)`: storage order.
    fn as_list(&self) -> Vec<&T> {
        match self {
            Items::Fifo(d) => d.iter().collect(),
            Items::Lifo(v) | Items::Priority { heap: v, .. } => v.iter().collect(),
        }
    }
}

/// `heapq._siftdown`: moves `heap[pos]` up towards `start` while it is
/// smaller than its parent.
fn sift_down<T>(heap: &mut [T], start: usize, mut pos: usize, less: fn(&T, &T) -> bool) {
    while pos > start {
        let parent = (pos - 1) >> 1;
        if !less(&heap[pos], &heap[parent]) {
            break;
        }
        heap.swap(pos, parent);
        pos = parent;
    }
}

/// `heapq._siftup`: moves the smaller child up until `heap[pos]` reaches a
/// leaf, then sifts it back down into place.
fn sift_up<T>(heap: &mut [T], mut pos: usize, less: fn(&T, &T) -> bool) {
    let end = heap.len();
    let start = pos;
    let mut child = 2 * pos + 1;
    while child < end {
        let right = child + 1;
        if right < end && !less(&heap[child], &heap[right]) {
            child = right;
        }
        heap.swap(pos, child);
        pos = child;
        child = 2 * pos + 1;
    }
    sift_down(heap, start, pos, less);
}

// ---------------------------------------------------------------------------
// The core
// ---------------------------------------------------------------------------

struct State<T> {
    items: Items<T>,
    /// 0: unbounded.
    maxsize: usize,
    getters: VecDeque<Arc<Node>>,
    putters: VecDeque<Arc<Node>>,
    unfinished: usize,
    shutdown: bool,
}

impl<T> State<T> {
    fn empty(&self) -> bool {
        self.items.len() == 0
    }

    fn full(&self) -> bool {
        self.maxsize > 0 && self.items.len() >= self.maxsize
    }
}

/// `_wakeup_next`: pops waiters until one is still pending, and wakes it.
fn wakeup_next(waiters: &mut VecDeque<Arc<Node>>) {
    while let Some(w) = waiters.pop_front() {
        if w.wake() {
            break;
        }
    }
}

struct Inner<T> {
    state: Mutex<State<T>>,
    /// Set exactly when `unfinished == 0` (changed under `state`'s lock).
    finished: Event,
}

/// One pass of `put()`'s loop.
enum PutPass {
    Put,
    ShutDown,
    Wait(Arc<Node>),
}

/// One pass of `get()`'s loop.
enum GetPass<T> {
    Got(T),
    ShutDown,
    Wait(Arc<Node>),
}

impl<T> Inner<T> {
    fn new(items: Items<T>, maxsize: usize) -> Arc<Inner<T>> {
        let finished = Event::new();
        finished.set();
        Arc::new(Inner {
            state: Mutex::new(State {
                items,
                maxsize,
                getters: VecDeque::new(),
                putters: VecDeque::new(),
                unfinished: 0,
                shutdown: false,
            }),
            finished,
        })
    }

    fn put_locked(&self, st: &mut State<T>, item: T) -> std::result::Result<(), PutNowaitError<T>> {
        if st.shutdown {
            return Err(PutNowaitError::ShutDown(item));
        }
        if st.full() {
            return Err(PutNowaitError::Full(QueueFull(item)));
        }
        st.items.put(item);
        st.unfinished += 1;
        self.finished.clear();
        wakeup_next(&mut st.getters);
        Ok(())
    }

    fn get_locked(st: &mut State<T>) -> std::result::Result<T, GetNowaitError> {
        if st.empty() {
            return Err(if st.shutdown {
                GetNowaitError::ShutDown(QueueShutDown)
            } else {
                GetNowaitError::Empty(QueueEmpty)
            });
        }
        let item = st.items.get().expect("not empty");
        wakeup_next(&mut st.putters);
        Ok(item)
    }

    fn put_nowait(&self, item: T) -> std::result::Result<(), PutNowaitError<T>> {
        let mut st = self.state.lock();
        self.put_locked(&mut st, item)
    }

    fn get_nowait(&self) -> std::result::Result<T, GetNowaitError> {
        Self::get_locked(&mut self.state.lock())
    }

    /// `while self.full(): if shutdown: raise; queue a putter` / `put_nowait`.
    /// On a shut-down queue that has room the item goes back to `slot`.
    fn put_pass(&self, slot: &mut Option<T>) -> PutPass {
        let mut st = self.state.lock();
        if st.full() {
            if st.shutdown {
                return PutPass::ShutDown;
            }
            let node = Node::new("Queue.put");
            st.putters.push_back(node.clone());
            return PutPass::Wait(node);
        }
        let item = slot.take().expect("QueuePut polled after completion");
        match self.put_locked(&mut st, item) {
            Ok(()) => PutPass::Put,
            Err(e) => {
                // Not full, so shut down.
                *slot = Some(e.into_inner());
                PutPass::ShutDown
            }
        }
    }

    /// `while self.empty(): if shutdown: raise; queue a getter` / `get_nowait`.
    fn get_pass(&self) -> GetPass<T> {
        let mut st = self.state.lock();
        if st.empty() {
            if st.shutdown {
                return GetPass::ShutDown;
            }
            let node = Node::new("Queue.get");
            st.getters.push_back(node.clone());
            return GetPass::Wait(node);
        }
        match Self::get_locked(&mut st) {
            Ok(item) => GetPass::Got(item),
            Err(_) => unreachable!("not empty"),
        }
    }

    /// A putter leaves with an exception (cancelled, or its future
    /// dropped): remove it if still queued; if it had been woken and there
    /// is room, wake the next putter.
    fn leave_put(&self, node: &Arc<Node>) {
        let mut st = self.state.lock();
        waiter::remove(&mut st.putters, node);
        if !st.full() && node.woken() {
            wakeup_next(&mut st.putters);
        }
    }

    /// The mirror image of [`leave_put`](Self::leave_put) for a getter.
    fn leave_get(&self, node: &Arc<Node>) {
        let mut st = self.state.lock();
        waiter::remove(&mut st.getters, node);
        if !st.empty() && node.woken() {
            wakeup_next(&mut st.getters);
        }
    }

    fn task_done(&self) -> Result<()> {
        let mut st = self.state.lock();
        if st.unfinished == 0 {
            return Err(Error::invalid_state("task_done() called too many times"));
        }
        st.unfinished -= 1;
        if st.unfinished == 0 {
            self.finished.set();
        }
        Ok(())
    }

    fn shutdown(&self, immediate: bool) {
        let mut drained = Vec::new();
        {
            let mut st = self.state.lock();
            st.shutdown = true;
            if immediate {
                while let Some(item) = st.items.get() {
                    drained.push(item);
                    st.unfinished = st.unfinished.saturating_sub(1);
                }
                if st.unfinished == 0 {
                    self.finished.set();
                }
            }
            while let Some(getter) = st.getters.pop_front() {
                getter.wake();
            }
            while let Some(putter) = st.putters.pop_front() {
                putter.wake();
            }
        }
        drop(drained);
    }

    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result
    where
        T: fmt::Debug,
    {
        let st = self.state.lock();
        write!(f, "<{} maxsize={}", st.items.name(), st.maxsize)?;
        if !st.empty() {
            write!(f, " _queue={:?}", st.items.as_list())?;
        }
        if !st.getters.is_empty() {
            write!(f, " _getters[{}]", st.getters.len())?;
        }
        if !st.putters.is_empty() {
            write!(f, " _putters[{}]", st.putters.len())?;
        }
        if st.unfinished > 0 {
            write!(f, " tasks={}", st.unfinished)?;
        }
        if st.shutdown {
            f.write_str(" shutdown")?;
        }
        f.write_str(">")
    }
}

// ---------------------------------------------------------------------------
// Futures
// ---------------------------------------------------------------------------

/// The future returned by `put` ([`Queue::put`], [`LifoQueue::put`],
/// [`PriorityQueue::put`]). Dropping it while it waits leaves the queue
/// as a cancellation does (a wake-up it had been given goes to the next
/// putter); the item is then dropped.
#[must_use = "futures do nothing unless polled"]
pub struct QueuePut<T> {
    inner: Arc<Inner<T>>,
    item: Option<T>,
    /// The fast path (the first pass of the loop).
    leaf: Leaf,
    /// The putter being awaited.
    wait: Option<(Arc<Node>, NodeWait)>,
}

// The item is never pinned: it is only moved into the queue.
impl<T> Unpin for QueuePut<T> {}

impl<T> Future for QueuePut<T> {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = &mut *self;
        loop {
            let pass = if let Some((_, wait)) = this.wait.as_mut() {
                let out = std::task::ready!(Pin::new(wait).poll(cx));
                let (node, _) = this.wait.take().expect("waiting");
                if let Err(e) = out {
                    this.inner.leave_put(&node);
                    return Poll::Ready(Err(e));
                }
                // Woken (and popped by the waker): loop again, without a
                // suspension, so nothing is delivered here.
                this.inner.put_pass(&mut this.item)
            } else {
                let (inner, item) = (&this.inner, &mut this.item);
                std::task::ready!(this.leaf.poll(cx, |_| Poll::Ready(inner.put_pass(item))))?
            };
            match pass {
                PutPass::Put => return Poll::Ready(Ok(())),
                PutPass::ShutDown => {
                    drop(this.item.take());
                    return Poll::Ready(Err(shut_down_error()));
                }
                PutPass::Wait(node) => this.wait = Some((node.clone(), NodeWait::new(node))),
            }
        }
    }
}

impl<T> Drop for QueuePut<T> {
    fn drop(&mut self) {
        if let Some((node, wait)) = self.wait.take() {
            drop(wait);
            self.inner.leave_put(&node);
        }
    }
}

impl<T> fmt::Debug for QueuePut<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueuePut").field("waiting", &self.wait.is_some()).finish_non_exhaustive()
    }
}

/// The future returned by `get` ([`Queue::get`], [`LifoQueue::get`],
/// [`PriorityQueue::get`]). Dropping it while it waits leaves the queue
/// as a cancellation does: a wake-up it had been given goes to the next
/// getter, and the item stays in the queue.
#[must_use = "futures do nothing unless polled"]
pub struct QueueGet<T> {
    inner: Arc<Inner<T>>,
    leaf: Leaf,
    wait: Option<(Arc<Node>, NodeWait)>,
}

impl<T> Future for QueueGet<T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = &mut *self;
        loop {
            let pass = if let Some((_, wait)) = this.wait.as_mut() {
                let out = std::task::ready!(Pin::new(wait).poll(cx));
                let (node, _) = this.wait.take().expect("waiting");
                if let Err(e) = out {
                    this.inner.leave_get(&node);
                    return Poll::Ready(Err(e));
                }
                this.inner.get_pass()
            } else {
                let inner = &this.inner;
                std::task::ready!(this.leaf.poll(cx, |_| Poll::Ready(inner.get_pass())))?
            };
            match pass {
                GetPass::Got(item) => return Poll::Ready(Ok(item)),
                GetPass::ShutDown => return Poll::Ready(Err(shut_down_error())),
                GetPass::Wait(node) => this.wait = Some((node.clone(), NodeWait::new(node))),
            }
        }
    }
}

impl<T> Drop for QueueGet<T> {
    fn drop(&mut self) {
        if let Some((node, wait)) = self.wait.take() {
            drop(wait);
            self.inner.leave_get(&node);
        }
    }
}

impl<T> fmt::Debug for QueueGet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueGet").field("waiting", &self.wait.is_some()).finish_non_exhaustive()
    }
}

/// The future returned by `join` ([`Queue::join`], [`LifoQueue::join`],
/// [`PriorityQueue::join`]): asyncio's `await self._finished.wait()`.
#[must_use = "futures do nothing unless polled"]
pub struct QueueJoin {
    wait: EventWait,
}

impl Future for QueueJoin {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Pin::new(&mut self.wait).poll(cx)
    }
}

impl fmt::Debug for QueueJoin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueJoin").finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------
// The three queue types
// ---------------------------------------------------------------------------

/// The methods every queue kind shares, with a doc example per kind.
macro_rules! queue_methods {
    ($name:ident) => {
        impl<T> $name<T> {
            /// The number of items allowed in the queue; 0 means unbounded
            /// (asyncio `maxsize`).
            ///
            /// ```
            #[doc = concat!("let q = ravel::sync::", stringify!($name), "::<i32>::new(2);")]
            /// assert_eq!(q.maxsize(), 2);
            /// ```
            pub fn maxsize(&self) -> usize {
                self.inner.state.lock().maxsize
            }

            /// The number of items in the queue (asyncio `qsize()`).
            ///
            /// ```
            #[doc = concat!("let q = ravel::sync::", stringify!($name), "::new(0);")]
            /// q.put_nowait(1).unwrap();
            /// q.put_nowait(2).unwrap();
            /// assert_eq!(q.qsize(), 2);
            /// ```
            pub fn qsize(&self) -> usize {
                self.inner.state.lock().items.len()
            }

            /// True if the queue holds no item (asyncio `empty()`).
            ///
            /// ```
            #[doc = concat!("let q = ravel::sync::", stringify!($name), "::new(0);")]
            /// assert!(q.empty());
            /// q.put_nowait(1).unwrap();
            /// assert!(!q.empty());
            /// ```
            pub fn empty(&self) -> bool {
                self.inner.state.lock().empty()
            }

            /// True if the queue holds `maxsize` items (asyncio `full()`);
            /// never for an unbounded queue.
            ///
            /// ```
            #[doc = concat!("let q = ravel::sync::", stringify!($name), "::new(1);")]
            /// assert!(!q.full());
            /// q.put_nowait(1).unwrap();
            /// assert!(q.full());
            /// ```
            pub fn full(&self) -> bool {
                self.inner.state.lock().full()
            }

            /// Puts `item` in the queue, waiting for a free slot while it
            /// is full (asyncio `put()`). With room it does not suspend.
            ///
            /// A cancellation delivery point: a putter woken and then
            /// cancelled passes its wake-up on to the next putter. Fails
            /// with [`QueueShutDown`] (wrapped in a [`ravel::Error`](crate::Error);
            /// the item is dropped) once the queue is shut down, also for a
            /// putter that was waiting when [`shutdown`](Self::shutdown) was called.
            ///
            /// ```
            #[doc = concat!("use ravel::sync::", stringify!($name), ";")]
            ///
            /// ravel::run(async {
            #[doc = concat!("    let q = ", stringify!($name), "::new(1);")]
            ///     q.put(1).await?; // room: no suspension
            ///     let p = q.clone();
            ///     let putter = ravel::spawn(async move { p.put(2).await });
            ///     ravel::yield_now().await?;
            ///     assert_eq!(q.putters(), 1, "waiting for a slot");
            ///     assert_eq!(q.get().await?, 1);
            ///     putter.await?;
            ///     assert_eq!(q.get_nowait(), Ok(2));
            ///     Ok(())
            /// })
            /// .unwrap();
            /// ```
            pub fn put(&self, item: T) -> QueuePut<T> {
                QueuePut { inner: self.inner.clone(), item: Some(item), leaf: Leaf::new(), wait: None }
            }

            /// Removes and returns an item, waiting while the queue is
            /// empty (asyncio `get()`). With an item there it does not
            /// suspend.
            ///
            /// A cancellation delivery point: a getter woken and then
            /// cancelled leaves the item in the queue and passes its
            /// wake-up on to the next getter. Fails with [`QueueShutDown`]
            /// (wrapped in a [`ravel::Error`](crate::Error)) once the queue
            /// is shut down and empty: after a plain
            /// [`shutdown`](Self::shutdown) the remaining items are still
            /// handed out first.
            ///
            /// ```
            #[doc = concat!("use ravel::sync::{", stringify!($name), ", QueueShutDown};")]
            ///
            /// ravel::run(async {
            #[doc = concat!("    let q = ", stringify!($name), "::<u32>::new(0);")]
            ///     let c = q.clone();
            ///     let consumer = ravel::spawn(async move {
            ///         let mut got = Vec::new();
            ///         loop {
            ///             match c.get().await {
            ///                 Ok(item) => got.push(item),
            ///                 Err(e) if e.downcast_ref::<QueueShutDown>().is_some() => return Ok(got),
            ///                 Err(e) => return Err(e),
            ///             }
            ///         }
            ///     });
            ///     ravel::yield_now().await?;
            ///     q.put(7).await?;
            ///     q.shutdown(false);
            ///     assert_eq!(consumer.await?, [7]);
            ///     Ok(())
            /// })
            /// .unwrap();
            /// ```
            pub fn get(&self) -> QueueGet<T> {
                QueueGet { inner: self.inner.clone(), leaf: Leaf::new(), wait: None }
            }

            /// Puts `item` without waiting (asyncio `put_nowait()`), and
            /// wakes the next waiting getter. Gives the item back in a
            /// [`PutNowaitError`]: `Full` when the queue is full, `ShutDown`
            /// once it is shut down. Callable from any thread.
            ///
            /// ```
            #[doc = concat!("use ravel::sync::{", stringify!($name), ", PutNowaitError, QueueFull};")]
            ///
            #[doc = concat!("let q = ", stringify!($name), "::new(1);")]
            /// assert_eq!(q.put_nowait(1), Ok(()));
            /// assert_eq!(q.put_nowait(2), Err(PutNowaitError::Full(QueueFull(2))));
            /// q.shutdown(false);
            /// assert_eq!(q.put_nowait(3), Err(PutNowaitError::ShutDown(3)));
            /// ```
            pub fn put_nowait(&self, item: T) -> std::result::Result<(), PutNowaitError<T>> {
                self.inner.put_nowait(item)
            }

            /// Removes and returns an item without waiting (asyncio
            /// `get_nowait()`), and wakes the next waiting putter. When
            /// there is none: [`GetNowaitError::ShutDown`] once the queue
            /// is shut down, else [`GetNowaitError::Empty`]. Callable from
            /// any thread.
            ///
            /// ```
            #[doc = concat!("use ravel::sync::{", stringify!($name), ", GetNowaitError, QueueEmpty, QueueShutDown};")]
            ///
            #[doc = concat!("let q = ", stringify!($name), "::new(0);")]
            /// q.put_nowait(1).unwrap();
            /// q.shutdown(false);
            /// assert_eq!(q.get_nowait(), Ok(1), "a plain shutdown still hands out items");
            /// assert_eq!(q.get_nowait(), Err(GetNowaitError::ShutDown(QueueShutDown)));
            #[doc = concat!("assert_eq!(", stringify!($name), "::<i32>::new(0).get_nowait(), Err(GetNowaitError::Empty(QueueEmpty)));")]
            /// ```
            pub fn get_nowait(&self) -> std::result::Result<T, GetNowaitError> {
                self.inner.get_nowait()
            }

            /// Marks one item put earlier as processed (asyncio
            /// `task_done()`); once every item put has been, [`join`](Self::join)
            /// returns. An invalid-state error "task_done() called too many
            /// times" (asyncio's `ValueError`) when no item is unfinished.
            /// Callable from any thread.
            ///
            /// ```
            #[doc = concat!("let q = ravel::sync::", stringify!($name), "::new(0);")]
            /// assert!(q.task_done().unwrap_err().is_invalid_state());
            /// q.put_nowait("job").unwrap();
            /// let _job = q.get_nowait().unwrap();
            /// assert_eq!(q.unfinished_tasks(), 1);
            /// q.task_done().unwrap();
            /// assert_eq!(q.unfinished_tasks(), 0);
            /// ```
            pub fn task_done(&self) -> Result<()> {
                self.inner.task_done()
            }

            /// Waits until every item put has been marked done with
            /// [`task_done`](Self::task_done) (asyncio `join()`); returns
            /// without suspending if none is unfinished. The count goes up
            /// with each put, not down with each get. A cancellation
            /// delivery point.
            ///
            /// ```
            #[doc = concat!("use ravel::sync::", stringify!($name), ";")]
            ///
            /// ravel::run(async {
            #[doc = concat!("    let q = ", stringify!($name), "::new(0);")]
            ///     let w = q.clone();
            ///     ravel::spawn(async move {
            ///         while let Ok(job) = w.get().await {
            ///             let _ = job * 2; // the work
            ///             w.task_done()?;
            ///         }
            ///         Ok(())
            ///     });
            ///     for job in 0..5 {
            ///         q.put(job).await?;
            ///     }
            ///     q.join().await?; // all 5 processed
            ///     assert_eq!(q.unfinished_tasks(), 0);
            ///     Ok(())
            /// })
            /// .unwrap();
            /// ```
            pub fn join(&self) -> QueueJoin {
                QueueJoin { wait: self.inner.finished.wait() }
            }

            /// Shuts the queue down (asyncio 3.13 `shutdown()`): from now
            /// on every put fails with [`QueueShutDown`], and gets fail once
            /// the queue is empty. Every waiting getter and putter is woken:
            /// putters fail, getters take a remaining item or fail.
            ///
            /// With `immediate`, the items left are dropped at once and
            /// each counts as done for [`join`](Self::join) (items already
            /// taken still need their [`task_done`](Self::task_done)).
            /// Calling it again is allowed. Callable from any thread.
            ///
            /// ```
            #[doc = concat!("let q = ravel::sync::", stringify!($name), "::new(0);")]
            /// q.put_nowait(1).unwrap();
            /// q.put_nowait(2).unwrap();
            /// q.shutdown(true);
            /// assert!(q.is_shutdown());
            /// assert_eq!((q.qsize(), q.unfinished_tasks()), (0, 0));
            /// assert!(q.get_nowait().unwrap_err().is_shut_down());
            /// ```
            pub fn shutdown(&self, immediate: bool) {
                self.inner.shutdown(immediate)
            }

            /// True once [`shutdown`](Self::shutdown) was called (asyncio
            /// `_is_shutdown`).
            ///
            /// ```
            #[doc = concat!("let q = ravel::sync::", stringify!($name), "::<i32>::new(0);")]
            /// assert!(!q.is_shutdown());
            /// q.shutdown(false);
            /// assert!(q.is_shutdown());
            /// ```
            pub fn is_shutdown(&self) -> bool {
                self.inner.state.lock().shutdown
            }

            /// Items put and not yet marked done (asyncio
            /// `_unfinished_tasks`).
            ///
            /// ```
            #[doc = concat!("let q = ravel::sync::", stringify!($name), "::new(0);")]
            /// q.put_nowait(1).unwrap();
            /// q.get_nowait().unwrap();
            /// assert_eq!(q.unfinished_tasks(), 1, "counts puts, not gets");
            /// ```
            pub fn unfinished_tasks(&self) -> usize {
                self.inner.state.lock().unfinished
            }

            /// Getters queued (asyncio `len(_getters)`): tasks waiting in
            /// `get()`, plus cancelled ones not yet removed. A woken getter
            /// has left.
            ///
            /// ```
            #[doc = concat!("use ravel::sync::", stringify!($name), ";")]
            ///
            /// ravel::run(async {
            #[doc = concat!("    let q = ", stringify!($name), "::<i32>::new(0);")]
            ///     let g = q.clone();
            ///     let getter = ravel::spawn(async move { g.get().await });
            ///     ravel::yield_now().await?;
            ///     assert_eq!(q.getters(), 1);
            ///     q.put_nowait(5).unwrap();
            ///     assert_eq!(q.getters(), 0, "woken and popped");
            ///     assert_eq!(getter.await?, 5);
            ///     Ok(())
            /// })
            /// .unwrap();
            /// ```
            pub fn getters(&self) -> usize {
                self.inner.state.lock().getters.len()
            }

            /// Putters queued (asyncio `len(_putters)`): tasks waiting in
            /// `put()`, plus cancelled ones not yet removed. A woken putter
            /// has left.
            ///
            /// ```
            #[doc = concat!("use ravel::sync::", stringify!($name), ";")]
            ///
            /// ravel::run(async {
            #[doc = concat!("    let q = ", stringify!($name), "::new(1);")]
            ///     q.put_nowait(1).unwrap();
            ///     let p = q.clone();
            ///     let putter = ravel::spawn(async move { p.put(2).await });
            ///     ravel::yield_now().await?;
            ///     assert_eq!(q.putters(), 1);
            ///     putter.cancel();
            ///     assert!(putter.await.unwrap_err().is_cancelled());
            ///     assert_eq!(q.putters(), 0);
            ///     Ok(())
            /// })
            /// .unwrap();
            /// ```
            pub fn putters(&self) -> usize {
                self.inner.state.lock().putters.len()
            }
        }

        impl<T> Clone for $name<T> {
            /// Another handle to the same queue.
            fn clone(&self) -> Self {
                $name { inner: self.inner.clone() }
            }
        }

        impl<T: fmt::Debug> fmt::Debug for $name<T> {
            /// As asyncio's `str(q)`: `<Queue maxsize=0 _queue=[1] tasks=1>`,
            /// with `_getters[n]`, `_putters[n]` and ` shutdown` when they
            /// apply; the items in storage order.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.inner.fmt(f)
            }
        }
    };
}

/// A first-in, first-out queue for tasks (asyncio `Queue`): producers
/// `put`, consumers `get`, `maxsize` bounds it (0: unbounded), `task_done`
/// and `join` track the work, and `shutdown` ends it (3.13).
///
/// A handle: clones share the queue (an `Arc` inside). It is `Send + Sync`
/// for `T: Send`, usable from every worker; the `*_nowait` calls,
/// `task_done`, `shutdown` and the sizes also work from plain threads.
/// `put` and `get` are cancellation delivery points that follow CPython
/// 3.13's rules, including what a woken-then-cancelled waiter passes on.
///
/// ```
/// use ravel::sync::{Queue, QueueShutDown};
///
/// ravel::run(async {
///     let q = Queue::new(2);
///     let mut workers = Vec::new();
///     for _ in 0..2 {
///         let q = q.clone();
///         workers.push(ravel::spawn(async move {
///             let mut sum = 0;
///             loop {
///                 match q.get().await {
///                     Ok(n) => sum += n,
///                     Err(e) if e.downcast_ref::<QueueShutDown>().is_some() => return Ok(sum),
///                     Err(e) => return Err(e),
///                 }
///                 q.task_done()?;
///             }
///         }));
///     }
///     for n in 1..=10 {
///         q.put(n).await?; // waits while 2 are queued
///     }
///     q.join().await?;
///     q.shutdown(false);
///     let mut total = 0;
///     for w in workers {
///         total += w.await?;
///     }
///     assert_eq!(total, 55);
///     assert_eq!(format!("{q:?}"), "<Queue maxsize=2 shutdown>");
///     Ok(())
/// })
/// .unwrap();
/// ```
pub struct Queue<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Queue<T> {
    /// A queue holding at most `maxsize` items; 0 means unbounded.
    ///
    /// ```
    /// let q = ravel::sync::Queue::new(0);
    /// q.put_nowait(1).unwrap();
    /// q.put_nowait(3).unwrap();
    /// q.put_nowait(2).unwrap();
    /// assert_eq!(format!("{q:?}"), "<Queue maxsize=0 _queue=[1, 3, 2] tasks=3>");
    /// assert_eq!([q.get_nowait(), q.get_nowait(), q.get_nowait()], [Ok(1), Ok(3), Ok(2)]);
    /// ```
    pub fn new(maxsize: usize) -> Queue<T> {
        Queue { inner: Inner::new(Items::Fifo(VecDeque::new()), maxsize) }
    }
}

queue_methods!(Queue);

/// A last-in, first-out queue for tasks (asyncio `LifoQueue`): the most
/// recently put item comes out first. Otherwise exactly a [`Queue`].
///
/// ```
/// use ravel::sync::LifoQueue;
///
/// ravel::run(async {
///     let q = LifoQueue::new(0);
///     for n in [1, 3, 2] {
///         q.put(n).await?;
///     }
///     assert_eq!([q.get().await?, q.get().await?, q.get().await?], [2, 3, 1]);
///     Ok(())
/// })
/// .unwrap();
/// ```
pub struct LifoQueue<T> {
    inner: Arc<Inner<T>>,
}

impl<T> LifoQueue<T> {
    /// A LIFO queue holding at most `maxsize` items; 0 means unbounded.
    ///
    /// ```
    /// let q = ravel::sync::LifoQueue::new(0);
    /// q.put_nowait(1).unwrap();
    /// q.put_nowait(3).unwrap();
    /// q.put_nowait(2).unwrap();
    /// assert_eq!(format!("{q:?}"), "<LifoQueue maxsize=0 _queue=[1, 3, 2] tasks=3>");
    /// assert_eq!([q.get_nowait(), q.get_nowait(), q.get_nowait()], [Ok(2), Ok(3), Ok(1)]);
    /// ```
    pub fn new(maxsize: usize) -> LifoQueue<T> {
        LifoQueue { inner: Inner::new(Items::Lifo(Vec::new()), maxsize) }
    }
}

queue_methods!(LifoQueue);

/// A priority queue for tasks (asyncio `PriorityQueue`): the smallest item
/// by [`Ord`] comes out first; ties between equal items come out in no
/// promised order. Put `(priority, data)` tuples to order by priority,
/// then data. Otherwise exactly a [`Queue`].
///
/// The items are kept in a binary min-heap by `heapq`'s algorithm, so its
/// `Debug` shows them in the same layout as CPython's `str(q)`.
///
/// ```
/// use ravel::sync::PriorityQueue;
///
/// ravel::run(async {
///     let q = PriorityQueue::new(0);
///     for job in [(2, "b"), (1, "z"), (1, "a"), (0, "x")] {
///         q.put(job).await?;
///     }
///     let mut out = Vec::new();
///     while let Ok(job) = q.get_nowait() {
///         out.push(job);
///     }
///     assert_eq!(out, [(0, "x"), (1, "a"), (1, "z"), (2, "b")]);
///     Ok(())
/// })
/// .unwrap();
/// ```
pub struct PriorityQueue<T> {
    inner: Arc<Inner<T>>,
}

impl<T> PriorityQueue<T> {
    /// A priority queue holding at most `maxsize` items; 0 means unbounded.
    ///
    /// ```
    /// let q = ravel::sync::PriorityQueue::new(0);
    /// q.put_nowait(1).unwrap();
    /// q.put_nowait(3).unwrap();
    /// q.put_nowait(2).unwrap();
    /// assert_eq!(format!("{q:?}"), "<PriorityQueue maxsize=0 _queue=[1, 3, 2] tasks=3>");
    /// assert_eq!([q.get_nowait(), q.get_nowait(), q.get_nowait()], [Ok(1), Ok(2), Ok(3)]);
    /// ```
    pub fn new(maxsize: usize) -> PriorityQueue<T>
    where
        T: Ord,
    {
        PriorityQueue { inner: Inner::new(Items::Priority { heap: Vec::new(), less: lt::<T> }, maxsize) }
    }
}

queue_methods!(PriorityQueue);
