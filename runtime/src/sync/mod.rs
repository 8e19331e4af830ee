//! asyncio's synchronization primitives for tasks, cancellation-aware and
//! usable from every worker: [`Lock`], [`Event`], [`Condition`],
//! [`Semaphore`], [`BoundedSemaphore`], [`Barrier`]; and asyncio's queues,
//! [`Queue`], [`LifoQueue`] and [`PriorityQueue`].
//!
//! They follow CPython 3.13's `locks.py` and `queues.py` (its rules of
//! fairness and of what a cancelled waiter gives back, written at the top
//! of each file), and every wait is a cancellation delivery point through
//! [`Leaf`](crate::task::Leaf): a task waiting here can be cancelled the
//! asyncio way, and a waiter that was woken and then cancelled passes its
//! wake-up (the lock, the unit, the notification, the item or slot) on.
//! Waiters are asyncio's plain futures in a deque (`waiter.rs`).
//!
//! Guards are the Rust form of `async with`: dropping a [`LockGuard`] or a
//! [`SemaphorePermit`] releases.

mod barrier;
mod condition;
mod event;
mod lock;
mod queue;
mod semaphore;
pub(crate) mod waiter;

pub use barrier::{Barrier, BrokenBarrierError};
pub use condition::Condition;
pub use event::{Event, EventWait};
pub use lock::{Acquire, Lock, LockGuard};
pub use queue::{
    GetNowaitError, LifoQueue, PriorityQueue, PutNowaitError, Queue, QueueEmpty, QueueFull, QueueGet, QueueJoin,
    QueuePut, QueueShutDown,
};
pub use semaphore::{BoundedSemaphore, Semaphore, SemaphoreAcquire, SemaphorePermit};
