//! A task that awaits its own handle, or closes a cycle of tasks awaiting
//! each other (asyncio-semantics §1.3: `__step` on a yielded `self`).
//!
//! CPython 3.13.0 (3.12.1 prints the same for the first two cases):
//!
//! ```text
//! # me = current_task(); try: await me  except RuntimeError: ...; await sleep(0); return "went on"
//! self-await raised: RuntimeError Task cannot await on itself
//!   cancelling: 0
//! result: went on
//! # me.cancel("own"); await me
//! self-await with a cancel pending raised: CancelledError ('own',)
//!   task ended cancelled: True ('own',) 1
//! # t0 awaits t1, t1 awaits t0 (each got the other through a future); t0.cancel("x")
//! cycle of 2: waiters: ['t1', 't0']
//!   cancel raised RecursionError: maximum recursion depth exceeded while calling a Python object
//!   cancelling: [4998, 4997]
//! cycle of 3: waiters: ['t1', 't2', 't0']
//!   cancel raised RecursionError: maximum recursion depth exceeded while calling a Python object
//!   cancelling: [3332, 3332, 3332]
//! ```
//!
//! asyncio does not detect a cycle: the tasks wait for each other for ever
//! and `cancel()` recurses round the cycle until `RecursionError`. Ravel
//! (documented in docs/asyncio.md) makes the await that would close the
//! cycle fail like the self-await, and its `cancel()` follows waiter chains
//! without recursion and never round a cycle.

use ravel::{Promise, Task};
use ravel_tests::{block, both, current_thread, Log};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LONG: Duration = Duration::from_secs(10);

type Slot<T> = Promise<Arc<Mutex<Option<Task<T>>>>>;

fn slot<T>() -> Slot<T>
where
    T: Send + 'static,
{
    Promise::new()
}

fn fill<T: Send + 'static>(slot: &Slot<T>, task: Task<T>) {
    slot.set_result(Arc::new(Mutex::new(Some(task)))).unwrap();
}

async fn take<T: Send + 'static>(slot: Slot<T>) -> ravel::Result<Task<T>> {
    Ok(slot.await?.lock().unwrap().take().expect("handle taken once"))
}

/// Awaiting its own handle fails at once with an invalid-state error ("Task
/// cannot await on itself"); the task is not cancelled and goes on.
#[test]
fn awaiting_own_handle_is_an_invalid_state_error() {
    for (flavour, rt) in both() {
        let log = Log::new();
        let l = log.clone();
        let out = block(&rt, async move {
            let own = slot::<&'static str>();
            let o = own.clone();
            let t = ravel::spawn(async move {
                let me = take(o).await?;
                let err = me.await.expect_err("a task cannot await itself");
                assert!(err.is_invalid_state(), "{err:?}");
                l.push(err.to_string());
                l.push(format!("cancelling: {}", ravel::current_task().unwrap().cancelling()));
                ravel::sleep(Duration::ZERO).await?;
                Ok("went on")
            });
            let tr = t.as_task_ref().clone();
            fill(&own, t);
            tr.wait_done().await?;
            assert!(!tr.cancelled());
            Ok(tr.exception()?.is_none())
        });
        assert!(out, "{flavour}");
        let events = log.events();
        assert!(events[0].contains("Task cannot await on itself"), "{flavour}: {events:?}");
        assert_eq!(events[1], "cancelling: 0", "{flavour}");
    }
}

/// A cancellation pending when the task awaits itself is what it gets
/// (asyncio's step replaces the `RuntimeError` with it).
#[test]
fn awaiting_own_handle_with_a_cancel_pending_delivers_the_cancel() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let own = slot::<()>();
            let o = own.clone();
            let t = ravel::spawn(async move {
                let me = take(o).await?;
                ravel::current_task().unwrap().cancel_with("own");
                me.await
            });
            let tr = t.as_task_ref().clone();
            fill(&own, t);
            tr.wait_done().await?;
            assert!(tr.cancelled(), "{flavour}");
            assert_eq!(tr.exception().unwrap_err().cancel_message(), Some("own"), "{flavour}");
            assert_eq!(tr.cancelling(), 1, "{flavour}");
            Ok(())
        });
    }
}

/// `wait_done()` on the current task fails the same way, instead of
/// waiting for ever.
#[test]
fn wait_done_on_itself_is_an_invalid_state_error() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let me = ravel::current_task().unwrap();
            let err = me.wait_done().await.expect_err("cannot wait for itself");
            assert!(err.is_invalid_state(), "{flavour}: {err:?}");
            assert!(err.to_string().contains("Task cannot await on itself"), "{err}");
            Ok(())
        });
    }
}

/// After the failed self-await the task is an ordinary task: a `cancel()`
/// reaches it at its next await (nothing forwards to itself).
#[test]
fn cancel_after_a_failed_self_await_is_delivered() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let own = slot::<()>();
            let asleep = Promise::new();
            let (o, a) = (own.clone(), asleep.clone());
            let t = ravel::spawn(async move {
                let me = take(o).await?;
                assert!(me.await.unwrap_err().is_invalid_state());
                a.set_result(())?;
                ravel::sleep(LONG).await
            });
            let tr = t.as_task_ref().clone();
            fill(&own, t);
            asleep.await?;
            assert!(tr.cancel_with("x"));
            tr.wait_done().await?;
            assert!(tr.cancelled(), "{flavour}");
            assert_eq!(tr.exception().unwrap_err().cancel_message(), Some("x"));
            assert_eq!(tr.cancelling(), 1, "{flavour}");
            Ok(())
        });
    }
}

/// Spawns `n` tasks; task `i` is given task `(i + 1) % n` and awaits it.
/// A task whose await fails with an invalid-state error logs it and then
/// sleeps until cancelled; every task logs how it ended.
fn cycle(n: usize, log: &Log) -> Vec<ravel::TaskRef> {
    let slots: Vec<Slot<usize>> = (0..n).map(|_| slot()).collect();
    let tasks: Vec<Task<usize>> = (0..n)
        .map(|i| {
            let (s, l) = (slots[i].clone(), log.clone());
            ravel::spawn(async move {
                let next = take(s).await?;
                match next.await {
                    Err(e) if e.is_invalid_state() => {
                        l.push(format!("t{i}: {e}"));
                        let r = ravel::sleep(LONG).await;
                        l.push(format!("t{i}: {:?}", r.as_ref().map_err(|e| e.cancel_message())));
                        r.map(|()| i)
                    }
                    other => {
                        l.push(format!("t{i}: {:?}", other.as_ref().map_err(|e| e.cancel_message())));
                        other
                    }
                }
            })
        })
        .collect();
    let refs: Vec<_> = tasks.iter().map(|t| t.as_task_ref().clone()).collect();
    for (i, t) in tasks.into_iter().enumerate() {
        fill(&slots[(i + n - 1) % n], t);
    }
    refs
}

/// A cycle of 2 or 3 tasks awaiting each other: the await that would close
/// it fails ("Task cannot await on itself: ... a cycle of n tasks"), so the
/// tasks form a chain; `cancel()` of its head is forwarded down the whole
/// chain and every task ends cancelled with the message, each counted once.
/// Current-thread: the tasks start in order, so the last one closes it.
#[test]
fn waiter_cycle_fails_at_the_closing_await_and_cancel_walks_the_chain() {
    let rt = current_thread();
    for n in [2, 3] {
        let log = Log::new();
        let l = log.clone();
        block(&rt, async move {
            let tasks = cycle(n, &l);
            while l.events().is_empty() {
                ravel::yield_now().await?;
            }
            assert!(tasks[0].cancel_with("x"));
            for t in &tasks {
                t.wait_done().await?;
                assert!(t.cancelled(), "{t:?}");
                assert_eq!(t.cancelling(), 1, "{t:?}");
            }
            Ok(())
        });
        let mut expected =
            vec![format!("t{}: Task cannot await on itself: the awaited task awaits it (a cycle of {n} tasks)", n - 1)];
        expected.extend((0..n).rev().map(|i| format!("t{i}: Err(Some(\"x\"))")));
        assert_eq!(log.events(), expected, "n={n}");
    }
}

/// The same on both flavours, where which task closes the cycle depends on
/// timing: at least one await fails, nothing hangs, and cancelling every
/// task ends them all.
#[test]
fn waiter_cycle_never_hangs_or_recurses() {
    for (flavour, rt) in both() {
        for n in [2, 3] {
            let log = Log::new();
            let l = log.clone();
            block(&rt, async move {
                let tasks = cycle(n, &l);
                while !l.events().iter().any(|e| e.contains("cannot await on itself")) {
                    ravel::sleep(Duration::from_millis(1)).await?;
                }
                for t in &tasks {
                    t.cancel();
                }
                for t in &tasks {
                    t.wait_done().await?;
                    assert!(t.cancelled(), "{flavour}: {t:?}");
                }
                Ok(())
            });
        }
    }
}
