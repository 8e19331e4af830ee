//! The waiter every primitive queues: asyncio's "plain future in a deque".
//!
//! # Model
//!
//! asyncio's primitives (CPython 3.13 `locks.py`, `queues.py`) keep deques
//! of bare futures. A waiter appends a fresh future, awaits it, and removes
//! it in `finally`; whoever wakes it calls `set_result` on a future that is
//! not done yet. The woken task runs an iteration later, so there is a
//! window where the future is done but its task has not resumed; a
//! `cancel()` in that window cannot cancel the future, and the task sees
//! the cancellation at its `await` instead, as a woken-then-cancelled
//! waiter that must pass its wake-up on.
//!
//! A [`Node`] is that future: one small allocation, made only when a task
//! really has to wait, with three outcomes (`Pending`, `Woken`,
//! `Cancelled`). Each primitive keeps `Arc<Node>`s in a `VecDeque` under
//! its own lock, in arrival order, and applies asyncio's rules to them
//! (wake the head only, wake the first pending one, wake all, ...).
//!
//! [`NodeWait`] awaits a node. It is a forwarding leaf
//! (`task::leaf::ForwardingLeaf`) whose target is the node itself, so
//! `cancel()` on a task waiting here cancels the node **at once**, as
//! asyncio's `Task.cancel()` cancels `_fut_waiter`: a primitive sees a
//! cancelled waiter immediately (a newcomer may then take a lock at once,
//! S06), and a woken waiter refuses the cancellation (the task then gets
//! it at the await, and the primitive passes the wake-up on).
//!
//! # Who may touch what
//!
//! A node's outcome and waker are behind the node's own mutex (the shim's,
//! so loom can model it). The outcome moves only from `Pending`, once: to
//! `Woken` by the primitive (under the primitive's lock), or to
//! `Cancelled` by a forwarded `cancel()` (from any thread, without the
//! primitive's lock). Whichever comes first wins, and the other sees a
//! done node: a wake that finds the node cancelled returns false so the
//! primitive wakes someone else; a cancel that finds it woken returns
//! false so the task's cancellation is delivered at the await. The
//! primitive's deque is changed only under the primitive's lock.

use crate::error::{Error, Result};
use crate::shim::Mutex;
use crate::task::leaf::ForwardingLeaf;
use crate::task::waiter::CancelTarget;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

enum Outcome {
    Pending,
    Woken,
    Cancelled(Option<String>),
}

struct NodeState {
    outcome: Outcome,
    waker: Option<Waker>,
}

/// One waiter: asyncio's bare future in a primitive's deque.
pub(crate) struct Node {
    state: Mutex<NodeState>,
    /// The wait it stands for (`"Lock.acquire"`), for the call graph.
    kind: &'static str,
}

impl Node {
    pub(crate) fn new(kind: &'static str) -> Arc<Node> {
        Arc::new(Node { state: Mutex::new(NodeState { outcome: Outcome::Pending, waker: None }), kind })
    }

    /// `fut.set_result(..)` on a pending node: wakes its task. False if the
    /// node is done already (woken, or cancelled).
    pub(crate) fn wake(&self) -> bool {
        let mut st = self.state.lock();
        if !matches!(st.outcome, Outcome::Pending) {
            return false;
        }
        st.outcome = Outcome::Woken;
        let waker = st.waker.take();
        drop(st);
        if let Some(waker) = waker {
            crate::catch_wake::wake(waker);
        }
        true
    }

    /// `fut.cancel(msg)`: false if the node is done already.
    fn cancel(&self, message: Option<String>) -> bool {
        let mut st = self.state.lock();
        if !matches!(st.outcome, Outcome::Pending) {
            return false;
        }
        st.outcome = Outcome::Cancelled(message);
        let waker = st.waker.take();
        drop(st);
        if let Some(waker) = waker {
            crate::catch_wake::wake(waker);
        }
        true
    }

    /// `fut.done()`.
    pub(crate) fn done(&self) -> bool {
        !matches!(self.state.lock().outcome, Outcome::Pending)
    }

    /// `fut.cancelled()`.
    pub(crate) fn cancelled(&self) -> bool {
        matches!(self.state.lock().outcome, Outcome::Cancelled(_))
    }

    /// Woken (done and not cancelled): the primitive already did its
    /// bookkeeping for this waiter.
    pub(crate) fn woken(&self) -> bool {
        matches!(self.state.lock().outcome, Outcome::Woken)
    }

    fn poll_outcome(&self, waker: &Waker) -> Poll<Result<()>> {
        let mut st = self.state.lock();
        match &mut st.outcome {
            Outcome::Pending => {
                match &st.waker {
                    Some(w) if w.will_wake(waker) => {}
                    _ => st.waker = Some(waker.clone()),
                }
                Poll::Pending
            }
            Outcome::Woken => Poll::Ready(Ok(())),
            Outcome::Cancelled(message) => Poll::Ready(Err(Error::cancelled(message.clone()))),
        }
    }
}

impl CancelTarget for Node {
    fn cancel_target(self: Arc<Self>, message: Option<String>) -> bool {
        self.cancel(message)
    }

    fn target_done(&self) -> bool {
        self.done()
    }

    fn target_cancelled(&self) -> bool {
        self.cancelled()
    }

    fn suspended_on(&self) -> crate::call_graph::SuspendedOn {
        crate::call_graph::SuspendedOn::Sync(self.kind)
    }
}

/// Awaits a [`Node`]: `Ok(())` once woken, the cancellation error once
/// cancelled (forwarded, or delivered after the node was woken).
pub(crate) struct NodeWait {
    node: Arc<Node>,
    leaf: ForwardingLeaf,
}

impl NodeWait {
    pub(crate) fn new(node: Arc<Node>) -> NodeWait {
        NodeWait { node, leaf: ForwardingLeaf::new() }
    }
}

impl Future for NodeWait {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = &mut *self;
        let node = &this.node;
        this.leaf.poll(cx, node, |cx| node.poll_outcome(cx.waker())).map(|out| out.and_then(|inner| inner))
    }
}

/// Removes `node` from `waiters` (the waiter's `finally`); most often it is
/// at the front.
pub(crate) fn remove(waiters: &mut std::collections::VecDeque<Arc<Node>>, node: &Arc<Node>) {
    if let Some(i) = waiters.iter().position(|w| Arc::ptr_eq(w, node)) {
        waiters.remove(i);
    }
}

/// Wakes the first waiter that is not done; false if there is none.
pub(crate) fn wake_next(waiters: &std::collections::VecDeque<Arc<Node>>) -> bool {
    waiters.iter().any(|w| w.wake())
}

/// How a primitive's wait ended (see [`WaitPhase::poll`]).
pub(crate) enum Waited<T> {
    /// The fast path: no waiter was queued.
    Fast(T),
    /// The queued waiter ended: `Ok(())` woken, `Err` cancelled. The
    /// primitive now does its waiter's `finally` with the node.
    Node(Arc<Node>, Result<()>),
}

/// The two phases of every primitive's wait, as asyncio writes them: a fast
/// path that completes without suspending or queues a waiter, then the
/// await on that waiter. The fast path is a [`Leaf`](crate::task::Leaf) (it
/// spends budget, and is ready on a first poll); the await is a
/// [`NodeWait`] (it forwards cancellation to the node).
#[derive(Default)]
pub(crate) struct WaitPhase {
    leaf: crate::task::Leaf,
    wait: Option<NodeWait>,
}

impl WaitPhase {
    /// Polls the wait. `start` runs once, under the primitive's lock taken
    /// by the caller: the fast path's value, or the node it queued.
    pub(crate) fn poll<T>(
        &mut self,
        cx: &mut Context<'_>,
        start: impl FnOnce() -> std::result::Result<T, Arc<Node>>,
    ) -> Poll<Result<Waited<T>>> {
        if self.wait.is_none() {
            match self.leaf.poll(cx, |_| Poll::Ready(start())) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(Ok(value))) => return Poll::Ready(Ok(Waited::Fast(value))),
                Poll::Ready(Ok(Err(node))) => self.wait = Some(NodeWait::new(node)),
            }
        }
        let wait = self.wait.as_mut().expect("queued above");
        let out = std::task::ready!(Pin::new(&mut *wait).poll(cx));
        let node = self.wait.take().expect("queued above").node;
        Poll::Ready(Ok(Waited::Node(node, out)))
    }

    /// The node still queued, if the wait is dropped before it ended (the
    /// primitive then does the waiter's `finally`, as for a cancellation).
    pub(crate) fn abandon(&mut self) -> Option<Arc<Node>> {
        self.wait.take().map(|wait| wait.node)
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! The race every primitive relies on: a wake and a cancel of the same
    //! waiter, with a newcomer arriving, on a small lock built from the
    //! rules `Lock` follows (head-only wake, a cancelled waiter's `finally`
    //! wakes the new head if the lock is free, the fast path when every
    //! queued waiter is cancelled).
    use super::Node;
    use crate::shim::Mutex;
    use crate::task::waiter::CancelTarget;
    use loom::sync::Arc;
    use loom::thread;
    use std::collections::VecDeque;

    #[derive(Default)]
    struct MiniLock {
        state: Mutex<(bool, VecDeque<std::sync::Arc<Node>>)>,
    }

    impl MiniLock {
        /// `release()`: unlock, wake the head if pending.
        fn release(&self) {
            let mut st = self.state.lock();
            st.0 = false;
            if let Some(head) = st.1.front() {
                head.wake();
            }
        }

        /// A waiter's `finally`: leave; take the lock if `woken` (and not
        /// cancelled since), else pass a wake-up on if the lock is free.
        fn leave(&self, node: &std::sync::Arc<Node>, woken: bool) -> bool {
            let mut st = self.state.lock();
            super::remove(&mut st.1, node);
            if woken {
                assert!(!st.0, "two holders");
                st.0 = true;
                return true;
            }
            if !st.0 {
                if let Some(head) = st.1.front() {
                    head.wake();
                }
            }
            false
        }

        /// The fast path: free and every queued waiter cancelled.
        fn try_take(&self) -> bool {
            let mut st = self.state.lock();
            if !st.0 && st.1.iter().all(|w| w.cancelled()) {
                st.0 = true;
                true
            } else {
                false
            }
        }
    }

    /// The bug this guards: a waiter woken by `release()` and cancelled at
    /// the same moment neither takes the lock nor passes the wake-up on, and
    /// the next waiter sleeps for ever with the lock free (or a newcomer and
    /// a waiter both take it). The lock is held with waiter A queued (and,
    /// in the second run, B behind it); one thread releases, one cancels A,
    /// one tries the fast path. In every interleaving A's node ends exactly
    /// one of woken or cancelled; A's task then leaves without the lock (a
    /// cancel that found A woken is delivered at its await); and afterwards
    /// at most one party holds the lock, and a free lock has an empty queue
    /// or a woken head: it is never lost.
    #[test]
    fn loom_wake_cancel_and_a_newcomer() {
        for with_b in [false, true] {
            loom::model(move || {
                let lock = Arc::new(MiniLock::default());
                let a = Node::new("test");
                {
                    let mut st = lock.state.lock();
                    st.0 = true;
                    st.1.push_back(a.clone());
                    if with_b {
                        st.1.push_back(Node::new("test"));
                    }
                }
                let (l1, l2) = (lock.clone(), lock.clone());
                let releaser = thread::spawn(move || l1.release());
                let a2 = a.clone();
                let canceller = thread::spawn(move || a2.clone().cancel_target(Some("stop".to_string())));
                let newcomer = thread::spawn(move || l2.try_take());
                releaser.join().unwrap();
                let cancel_accepted = canceller.join().unwrap();
                let newcomer_took = newcomer.join().unwrap();
                assert_ne!(cancel_accepted, a.woken(), "a waiter is woken or cancelled, never both");
                assert!(!lock.leave(&a, false));
                let st = lock.state.lock();
                assert_eq!(st.0, newcomer_took, "only the newcomer can hold it");
                if !st.0 {
                    assert!(st.1.front().is_none_or(|head| head.woken()), "the lock is free and nobody will take it");
                }
            });
        }
    }
}
