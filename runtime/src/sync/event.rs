//! [`Event`]: asyncio's `Event` (CPython 3.13 `locks.py`).
//!
//! * `set()`: if not yet set, set the flag and wake every waiter that is
//!   still pending; repeated calls do nothing.
//! * `clear()` only resets the flag: a waiter woken by `set()` returns even
//!   if `clear()` ran before it resumed.
//! * `wait()`: a set event returns at once without suspending; otherwise
//!   queue a waiter and wait; the waiter leaves the queue when it resumes.

use super::waiter::{self, Node, WaitPhase, Waited};
use crate::error::Result;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

struct State {
    set: bool,
    waiters: VecDeque<Arc<Node>>,
}

/// A flag tasks can wait for (asyncio `Event`). A handle: clones share the
/// event; `set` and `clear` work from any thread.
///
/// ```
/// use ravel::sync::Event;
///
/// ravel::run(async {
///     let shutdown = Event::new();
///     let s = shutdown.clone();
///     let worker = ravel::spawn(async move {
///         s.wait().await?;
///         Ok("stopping")
///     });
///     ravel::yield_now().await?;
///     shutdown.set();
///     assert_eq!(worker.await?, "stopping");
///     Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Clone)]
pub struct Event {
    state: Arc<Mutex<State>>,
}

impl Default for Event {
    fn default() -> Self {
        Event::new()
    }
}

impl Event {
    /// An event that is not set.
    pub fn new() -> Event {
        Event { state: Arc::new(Mutex::new(State { set: false, waiters: VecDeque::new() })) }
    }

    /// True once set (until cleared).
    pub fn is_set(&self) -> bool {
        self.state.lock().set
    }

    /// Sets the flag and wakes every waiter; no effect if already set.
    pub fn set(&self) {
        let mut st = self.state.lock();
        if !st.set {
            st.set = true;
            for w in &st.waiters {
                w.wake();
            }
        }
    }

    /// Resets the flag; waiters already woken still return.
    pub fn clear(&self) {
        self.state.lock().set = false;
    }

    /// Waits until the flag is set (asyncio `wait()`); a set event returns
    /// without suspending. A cancellation delivery point.
    ///
    /// ```
    /// ravel::run(async {
    ///     let ev = ravel::sync::Event::new();
    ///     ev.set();
    ///     ev.wait().await?; // no suspension
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn wait(&self) -> EventWait {
        EventWait { event: self.clone(), phase: WaitPhase::default() }
    }

    fn leave(&self, node: &Arc<Node>) {
        waiter::remove(&mut self.state.lock().waiters, node);
    }

    /// Waiters queued (asyncio `len(_waiters)`: woken ones that have not
    /// run yet are included).
    pub fn waiters(&self) -> usize {
        self.state.lock().waiters.len()
    }
}

impl fmt::Debug for Event {
    /// As asyncio's repr: `<Event [set]>`, `<Event [unset, waiters:2]>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state.lock();
        let mut s = String::from(if st.set { "set" } else { "unset" });
        if !st.waiters.is_empty() {
            s.push_str(&format!(", waiters:{}", st.waiters.len()));
        }
        write!(f, "<Event [{s}]>")
    }
}

/// The future returned by [`Event::wait`].
#[must_use = "futures do nothing unless polled"]
pub struct EventWait {
    event: Event,
    phase: WaitPhase,
}

impl Future for EventWait {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = &mut *self;
        let event = &this.event;
        let waited = std::task::ready!(this.phase.poll(cx, || {
            let mut st = event.state.lock();
            if st.set {
                return Ok(());
            }
            let node = Node::new("Event.wait");
            st.waiters.push_back(node.clone());
            Err(node)
        }));
        Poll::Ready(match waited {
            Err(e) => Err(e),
            Ok(Waited::Fast(())) => Ok(()),
            Ok(Waited::Node(node, out)) => {
                event.leave(&node);
                out
            }
        })
    }
}

impl Drop for EventWait {
    fn drop(&mut self) {
        if let Some(node) = self.phase.abandon() {
            self.event.leave(&node);
        }
    }
}

impl fmt::Debug for EventWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait").finish_non_exhaustive()
    }
}
