//! `ravel::task::Leaf`: the one implementation of the leaf rule, tested
//! directly on a leaf over a foreign event (a flag with a waker slot, the
//! shape of any third-party wait). Every Ravel awaitable delivers
//! cancellation through this type (or its forwarding twin), so these cases
//! are the rule itself:
//!
//! * ready on the first poll: the value wins over a pending cancellation
//!   (asyncio A10: no suspension on a done future);
//! * about to suspend: a pending cancellation is delivered instead;
//! * resumed after suspending: a pending cancellation wins over the value;
//! * the budget: a loop over always-ready leaves yields to other tasks;
//! * `poll_yield`: always one suspension, so a pending cancellation is
//!   delivered at once;
//! * outside a task, nothing is delivered and the budget is unlimited.

use ravel::task::Leaf;
use ravel::Result;
use ravel_tests::{block, both, current_thread};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// A flag set from anywhere, and how often a wait on it checked it.
#[derive(Default)]
struct Flag {
    set: AtomicBool,
    waker: Mutex<Option<Waker>>,
    checks: AtomicUsize,
}

impl Flag {
    fn new(set: bool) -> Arc<Flag> {
        let flag = Arc::new(Flag::default());
        flag.set.store(set, SeqCst);
        flag
    }

    fn set(&self) {
        self.set.store(true, SeqCst);
        if let Some(waker) = self.waker.lock().unwrap().take() {
            waker.wake();
        }
    }
}

/// A leaf over a [`Flag`].
struct WaitFlag {
    flag: Arc<Flag>,
    leaf: Leaf,
}

fn wait(flag: &Arc<Flag>) -> WaitFlag {
    WaitFlag { flag: flag.clone(), leaf: Leaf::new() }
}

impl Future for WaitFlag {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = &mut *self;
        let flag = &this.flag;
        this.leaf.poll(cx, |cx| {
            flag.checks.fetch_add(1, SeqCst);
            *flag.waker.lock().unwrap() = Some(cx.waker().clone());
            if flag.set.load(SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }
}

#[test]
fn ready_on_first_poll_wins_over_a_pending_cancellation() {
    for (flavour, rt) in both() {
        let (value, cancelled_next, count) = block(&rt, async {
            let me = ravel::current_task().unwrap();
            me.cancel_with("later");
            let value = wait(&Flag::new(true)).await;
            // The cancellation is still pending: the next suspension takes it.
            let next = ravel::yield_now().await;
            Ok((value.is_ok(), next.unwrap_err().cancel_message().map(str::to_owned), me.uncancel()))
        });
        assert!(value, "{flavour}: the ready value is returned");
        assert_eq!(cancelled_next.as_deref(), Some("later"), "{flavour}");
        assert_eq!(count, 0, "{flavour}: one request, counted once");
    }
}

#[test]
fn a_leaf_about_to_suspend_delivers_the_pending_cancellation() {
    for (flavour, rt) in both() {
        let flag = Flag::new(false);
        let f = flag.clone();
        let (message, checks) = block(&rt, async move {
            ravel::current_task().unwrap().cancel_with("now");
            let err = wait(&f).await.unwrap_err();
            ravel::current_task().unwrap().uncancel();
            Ok((err.cancel_message().map(str::to_owned), f.checks.load(SeqCst)))
        });
        assert_eq!(message.as_deref(), Some("now"), "{flavour}");
        assert_eq!(checks, 1, "{flavour}: the wait was checked once, then the cancellation delivered");
        assert!(!flag.set.load(SeqCst));
    }
}

#[test]
fn a_resumed_leaf_delivers_the_cancellation_before_its_value() {
    for (flavour, rt) in both() {
        let flag = Flag::new(false);
        let f = flag.clone();
        let suspended = ravel::Promise::new();
        let s = suspended.clone();
        let out = block(&rt, async move {
            let waiter = ravel::spawn(async move {
                let w = wait(&f);
                // Tell the main task once this task is about to suspend.
                s.set_result(())?;
                w.await
            });
            suspended.await?;
            while flag.waker.lock().unwrap().is_none() {
                ravel::yield_now().await?;
            }
            // Cancel first, then make the value ready: the resumed leaf
            // delivers the cancellation, whichever wake runs it.
            assert!(waiter.cancel_with("resumed"));
            flag.set();
            let err = waiter.await.unwrap_err();
            Ok((err.is_cancelled(), err.cancel_message().map(str::to_owned), flag.checks.load(SeqCst)))
        });
        assert!(out.0, "{flavour}");
        assert_eq!(out.1.as_deref(), Some("resumed"), "{flavour}");
        assert_eq!(out.2, 1, "{flavour}: the resumed poll delivered without checking the flag");
    }
}

#[test]
fn a_loop_over_ready_leaves_yields_to_other_tasks() {
    // Current thread: the other task can only run if the loop yields.
    let rt = current_thread();
    let observed = block(&rt, async {
        let progress = Arc::new(AtomicUsize::new(0));
        let p = progress.clone();
        let observer = ravel::spawn(async move { Ok(p.load(SeqCst)) });
        let flag = Flag::new(true);
        for _ in 0..1000 {
            wait(&flag).await?;
            progress.fetch_add(1, SeqCst);
        }
        observer.await
    });
    assert!(observed < 1000, "the observer ran only after the loop ended ({observed})");
    assert!(observed > 0, "a forced yield comes after a budget of leaf polls, not at the first");
}

#[test]
fn a_yield_point_delivers_a_pending_cancellation_at_once() {
    for (flavour, rt) in both() {
        let (first, second) = block(&rt, async {
            let me = ravel::current_task().unwrap();
            me.cancel();
            let mut leaf = Leaf::new();
            let first = std::future::poll_fn(|cx| leaf.poll_yield(cx)).await;
            me.uncancel();
            let mut leaf = Leaf::new();
            let second = std::future::poll_fn(|cx| leaf.poll_yield(cx)).await;
            Ok((first.map_err(|e| e.is_cancelled()), second.is_ok()))
        });
        assert_eq!(first, Err(true), "{flavour}: delivered instead of yielding");
        assert!(second, "{flavour}: with nothing pending, one yield and then ready");
    }
}

#[test]
fn outside_a_task_a_leaf_only_waits() {
    // Polled by hand, outside any runtime: nothing to deliver, no budget.
    let flag = Flag::new(false);
    let mut fut = wait(&flag);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1000 {
        assert!(Pin::new(&mut fut).poll(&mut cx).is_pending());
    }
    flag.set();
    assert!(matches!(Pin::new(&mut fut).poll(&mut cx), Poll::Ready(Ok(()))));
    assert!(fut.leaf.is_suspended());
    fut.leaf.reset();
    assert!(!fut.leaf.is_suspended());
}
