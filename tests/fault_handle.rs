//! Fault injection: a runtime's `Handle` (and its futures) used after the
//! runtime shut down. Each use says what surfaces, at once — no hang, no
//! panic on the caller's thread, nothing leaked:
//!
//! - `spawn`: a task already done, ended aborted, its future dropped unpolled;
//! - `call_soon_threadsafe`, `run_coroutine_threadsafe`: a runtime-closed
//!   error, the closure or future dropped;
//! - `to_thread`: a call queued when the runtime went ends with a
//!   runtime-closed error; one first polled outside any runtime too;
//! - `sleep`: a sleep armed on the runtime and polled after it ends with a
//!   runtime-closed error.

use ravel::ErrorKind;
use ravel_tests::faults::{foreign_block_on, DropCount};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::Duration;

const BOUND: Duration = Duration::from_secs(10);

fn flavours() -> Vec<(&'static str, ravel::Runtime)> {
    ravel_tests::both()
}

#[test]
fn spawn_after_shutdown_gives_an_aborted_task_and_drops_the_future() {
    for (name, rt) in flavours() {
        let handle = rt.handle().clone();
        drop(rt);
        let dropped = Arc::new(AtomicUsize::new(0));
        let polled = Arc::new(AtomicBool::new(false));
        let (guard, p) = (DropCount(dropped.clone()), polled.clone());
        let task = handle.spawn(async move {
            let _guard = guard;
            p.store(true, SeqCst);
            Ok(1)
        });
        assert!(task.done() && task.cancelled(), "{name}");
        assert!(task.result().unwrap_err().is_aborted(), "{name}");
        assert_eq!((dropped.load(SeqCst), polled.load(SeqCst)), (1, false), "{name}: dropped, never polled");
        assert!(handle.all_tasks().is_empty(), "{name}");
    }
}

#[test]
fn threadsafe_calls_after_shutdown_are_runtime_closed_errors() {
    for (name, rt) in flavours() {
        let handle = rt.handle().clone();
        drop(rt);
        let dropped = Arc::new(AtomicUsize::new(0));
        let guard = DropCount(dropped.clone());
        let err = handle.call_soon_threadsafe(move || drop(guard)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RuntimeClosed, "{name}: {err}");
        let guard = DropCount(dropped.clone());
        let err = ravel::run_coroutine_threadsafe(
            async move {
                let _guard = guard;
                Ok(())
            },
            &handle,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RuntimeClosed, "{name}: {err}");
        assert_eq!(dropped.load(SeqCst), 2, "{name}: the closure and the future were dropped");
    }
}

/// A `run_coroutine_threadsafe` future still running when the runtime shuts
/// down: its `ConcurrentFuture` ends with an error, the waiting thread
/// does not hang.
#[test]
fn run_coroutine_threadsafe_pending_at_shutdown_ends_with_an_error() {
    for (name, rt) in flavours() {
        let (tx, rx) = mpsc::channel();
        let future = ravel::run_coroutine_threadsafe(
            async move {
                tx.send(()).unwrap();
                ravel::sleep(Duration::from_secs(3600)).await
            },
            rt.handle(),
        )
        .unwrap();
        if name == "current_thread" {
            // It runs only while the runtime is driven.
            rt.block_on(async { ravel::yield_now().await }).unwrap();
        }
        rx.recv_timeout(BOUND).expect("the coroutine started");
        drop(rt);
        let err = future.result(Some(BOUND)).unwrap_err();
        assert!(err.is_cancelled() || err.kind() == ErrorKind::RuntimeClosed, "{name}: {err:?}");
        assert!(!err.is_timeout(), "{name}: the waiter timed out instead of getting the outcome");
    }
}

/// A `to_thread` call queued behind a busy pool when the runtime shuts
/// down, then polled (on another executor): a runtime-closed error, and its
/// closure never ran; a `to_thread` first polled outside any runtime: the
/// same error.
#[test]
fn to_thread_after_shutdown_is_a_runtime_closed_error() {
    for (flavour, builder) in
        [("current_thread", ravel::Builder::new_current_thread()), ("multi_thread", ravel::Builder::new_multi_thread())]
    {
        let rt = builder.max_blocking_threads(1).build().unwrap();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let started: ravel::Promise<()> = ravel::Promise::new();
        let started_set = started.clone();
        let queued = rt
            .block_on(async move {
                let busy = ravel::spawn(ravel::to_thread(move || {
                    started_set.set_result(()).unwrap();
                    let _ = release_rx.recv_timeout(BOUND);
                    Ok(())
                }));
                started.await?; // the only pool thread is taken
                let mut queued = Box::pin(ravel::to_thread(move || {
                    r.store(true, SeqCst);
                    Ok(5)
                }));
                // Submitted (queued behind `busy`), then carried out.
                let first = std::future::poll_fn(|cx| std::task::Poll::Ready(queued.as_mut().poll_unpin(cx))).await;
                assert!(first.is_pending());
                drop(busy);
                Ok(queued)
            })
            .unwrap();
        // Shut down without waiting for the busy call, which is released
        // only afterwards: the queued one cannot have started.
        rt.shutdown_timeout(Duration::ZERO);
        let _ = release_tx.send(());
        let out = foreign_block_on(queued, BOUND).expect("a queued to_thread hangs after shutdown");
        let err = out.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RuntimeClosed, "{flavour}: {err}");
        assert!(!ran.load(SeqCst), "{flavour}: the queued closure never ran");
        let outside = foreign_block_on(ravel::to_thread(|| Ok(1)), BOUND).expect("no hang");
        assert_eq!(outside.unwrap_err().kind(), ErrorKind::RuntimeClosed, "{flavour}");
    }
}

/// A sleep armed on the runtime, then carried out and polled after the
/// runtime shut down: a runtime-closed error at once, not a wait forever.
#[test]
fn sleep_armed_then_polled_after_shutdown_is_a_runtime_closed_error() {
    for (name, rt) in flavours() {
        let sleep = rt
            .block_on(async {
                let mut sleep = Box::pin(ravel::sleep(Duration::from_secs(3600)));
                let first = std::future::poll_fn(|cx| std::task::Poll::Ready(sleep.as_mut().poll_unpin(cx))).await;
                assert!(first.is_pending());
                Ok(sleep)
            })
            .unwrap();
        drop(rt);
        let out = foreign_block_on(sleep, BOUND).expect("a sleep of a shut-down runtime waits forever");
        let err = out.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RuntimeClosed, "{name}: {err}");
    }
}

/// `poll_unpin` for the pinned boxes above.
trait PollUnpin: std::future::Future {
    fn poll_unpin(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        self.poll(cx)
    }
}

impl<F: std::future::Future + ?Sized> PollUnpin for F {}
