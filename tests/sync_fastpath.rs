//! S47: uncontended operations of the sync primitives complete without
//! suspending (asyncio-sync-semantics §2.S, S47; the queue and stream rows
//! are for primitives Ravel does not have yet).
//!
//! CPython's probe queues a `call_soon` callback, then awaits the
//! operation: `suspended` means the callback ran before the await
//! returned. Here the callback is a task spawned just before the await, on
//! the current-thread runtime. A second, runtime-independent check runs on
//! both runtimes: with a cancellation pending, an await that does not
//! suspend returns its value (the leaf rule), one that suspends delivers
//! the cancellation.
//!
//! CPython 3.13.0 (and 3.12.1):
//! ```text
//! Lock.acquire True suspended=False
//! Semaphore(2).acquire True suspended=False
//! BoundedSemaphore(1).acquire True suspended=False
//! Event.wait True suspended=False
//! Condition.wait_for 'yes' suspended=False
//! Condition.acquire True suspended=False
//! Barrier(1).wait 0 suspended=False
//! Barrier.reset None suspended=False
//! Barrier.abort None suspended=False
//! contended Lock.acquire True suspended=True
//! ```

use ravel::sync::{Barrier, BoundedSemaphore, Condition, Event, Lock, Semaphore};
use ravel::{current_task, Result};
use ravel_tests::{block, both, current_thread};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;

/// Awaits `op` after spawning a task that records it ran: returns the
/// value and whether that task ran first (the await suspended).
async fn probe<T>(op: impl Future<Output = Result<T>>) -> Result<(T, bool)> {
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let callback = ravel::spawn(async move {
        r.store(true, SeqCst);
        Ok(())
    });
    let value = op.await?;
    let suspended = ran.load(SeqCst);
    callback.await?;
    Ok((value, suspended))
}

/// Awaits `op` with a cancellation of the current task pending: an await
/// that does not suspend returns its value; the cancellation is then
/// taken back (`uncancel`, and a yield that absorbs the delivery).
async fn with_cancel_pending<T>(op: impl Future<Output = Result<T>>) -> Result<T> {
    let me = current_task().unwrap();
    me.cancel();
    let out = op.await;
    let delivered = ravel::yield_now().await.is_err();
    me.uncancel();
    match out {
        Ok(value) => {
            assert!(delivered, "still pending after the non-suspending await");
            Ok(value)
        }
        Err(e) => Err(e),
    }
}

#[test]
fn s47_uncontended_operations_do_not_suspend() {
    let rt = current_thread();
    block(&rt, async {
        let lock = Lock::new();
        let (guard, suspended) = probe(lock.acquire()).await?;
        assert!(!suspended, "Lock.acquire");
        drop(guard);

        let sem = Semaphore::new(2);
        let (permit, suspended) = probe(sem.acquire()).await?;
        assert!(!suspended, "Semaphore(2).acquire");
        permit.forget();

        let bs = BoundedSemaphore::new(1);
        let (permit, suspended) = probe(bs.acquire()).await?;
        assert!(!suspended, "BoundedSemaphore(1).acquire");
        drop(permit);

        let ev = Event::new();
        ev.set();
        let ((), suspended) = probe(ev.wait()).await?;
        assert!(!suspended, "Event.wait");

        let cond = Condition::new();
        let (value, suspended) = probe(cond.wait_for(|| Some("yes"))).await?;
        assert_eq!(value, "yes");
        assert!(!suspended, "Condition.wait_for");
        let (guard, suspended) = probe(cond.acquire()).await?;
        assert!(!suspended, "Condition.acquire");
        drop(guard);

        let b = Barrier::new(1);
        let (index, suspended) = probe(b.wait()).await?;
        assert_eq!(index, 0);
        assert!(!suspended, "Barrier(1).wait");
        let ((), suspended) = probe(b.reset()).await?;
        assert!(!suspended, "Barrier.reset");
        let ((), suspended) = probe(b.abort()).await?;
        assert!(!suspended, "Barrier.abort");

        // Contrast: a contended acquire suspends.
        let lock = Lock::new();
        lock.acquire().await?.forget();
        let l = lock.clone();
        let releaser = ravel::spawn(async move { l.release() });
        let (guard, suspended) = probe(lock.acquire()).await?;
        assert!(suspended, "contended Lock.acquire");
        drop(guard);
        releaser.await
    });
}

/// The same operations on both runtimes, each awaited with a cancellation
/// pending: none suspends, so each returns its value.
#[test]
fn s47_uncontended_operations_win_over_a_pending_cancellation() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let lock = Lock::new();
            drop(with_cancel_pending(lock.acquire()).await.unwrap_or_else(|e| panic!("{flavour}: Lock: {e:?}")));
            let sem = Semaphore::new(2);
            drop(with_cancel_pending(sem.acquire()).await.unwrap_or_else(|e| panic!("{flavour}: Semaphore: {e:?}")));
            let ev = Event::new();
            ev.set();
            with_cancel_pending(ev.wait()).await.unwrap_or_else(|e| panic!("{flavour}: Event: {e:?}"));
            let cond = Condition::new();
            let v = with_cancel_pending(cond.wait_for(|| Some(7))).await;
            assert_eq!(v.unwrap_or_else(|e| panic!("{flavour}: Condition.wait_for: {e:?}")), 7);
            drop(with_cancel_pending(cond.acquire()).await.unwrap_or_else(|e| panic!("{flavour}: Condition: {e:?}")));
            let b = Barrier::new(1);
            let i = with_cancel_pending(b.wait()).await;
            assert_eq!(i.unwrap_or_else(|e| panic!("{flavour}: Barrier.wait: {e:?}")), 0);
            with_cancel_pending(b.reset()).await.unwrap_or_else(|e| panic!("{flavour}: Barrier.reset: {e:?}"));
            with_cancel_pending(b.abort()).await.unwrap_or_else(|e| panic!("{flavour}: Barrier.abort: {e:?}"));

            // Contrast: a contended acquire suspends, so the pending
            // cancellation is delivered there.
            let lock = Lock::new();
            let _held = lock.acquire().await?;
            let err = with_cancel_pending(lock.acquire()).await.unwrap_err();
            assert!(err.is_cancelled(), "{flavour}: {err:?}");
            assert_eq!(lock.waiters(), 0);
            Ok(())
        });
    }
}
