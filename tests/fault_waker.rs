//! Fault injection: wakers. A user waker whose `wake` panics, handed to
//! Ravel awaitables (a timer, a promise, an event) the way a foreign
//! executor or combinator does: the panic stays in that wake, reported to
//! the runtime's hook as "Exception in callback", and every other waiter
//! of the same event is woken. And Ravel wakers kept and called after
//! their task and their runtime are gone.

use ravel_tests::faults::{quiet_panics, workers_still_run, DropCount, TAG};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

const BOUND: Duration = Duration::from_secs(10);

/// A waker whose `wake` panics (after counting the call).
struct PanickingWaker(AtomicUsize);

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
        panic!("{TAG} wake");
    }
}

fn panicking_waker() -> (Waker, Arc<PanickingWaker>) {
    let inner = Arc::new(PanickingWaker(AtomicUsize::new(0)));
    (Waker::from(inner.clone()), inner)
}

/// Polls `future` once with `waker` (what a foreign executor or a
/// combinator with wakers of its own does).
fn poll_with<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    std::pin::Pin::new(future).poll(&mut Context::from_waker(waker))
}

fn flavours() -> Vec<(&'static str, usize, ravel::Runtime, mpsc::Receiver<ravel::runtime::UnhandledError>)> {
    ravel_tests::both_with_hook()
        .into_iter()
        .map(|(name, rt, rx)| (name, if name == "multi_thread" { 2 } else { 1 }, rt, rx))
        .collect()
}

/// The waker's panic, as the hook got it.
fn reported_wake_panic(name: &str, reports: &mpsc::Receiver<ravel::runtime::UnhandledError>) {
    let report = reports.recv_timeout(BOUND).expect("the waker's panic reached the hook");
    assert_eq!(report.message(), "Exception in callback", "{name}: {report}");
    assert_eq!(ravel_tests::faults::panic_text(report.error()), format!("{TAG} wake"), "{name}");
    assert!(reports.try_recv().is_err(), "{name}: reported once");
}

/// A timer whose waker panics when it fires: the driver (outside any task)
/// survives it, the timers due with it still fire, and the workers go on.
#[test]
fn timer_waker_panic_leaves_the_driver_and_other_timers_alone() {
    quiet_panics();
    for (name, workers, rt, reports) in flavours() {
        let (waker, calls) = panicking_waker();
        let woken = rt
            .block_on(async move {
                // All due at the same instant. The panicking waker's timer is
                // armed first, then kept (not polled again).
                let at = std::time::Instant::now() + Duration::from_millis(200);
                let mut foreign = Box::pin(ravel::sleep_until(at));
                assert!(poll_with(&mut foreign, &waker).is_pending());
                let others: Vec<_> = (0..4)
                    .map(|i| {
                        ravel::spawn(async move {
                            ravel::sleep_until(at).await?;
                            Ok(i)
                        })
                    })
                    .collect();
                let mut woken = Vec::new();
                for task in others {
                    woken.push(task.await?);
                }
                // Past the shared deadline: the foreign timer has fired too.
                ravel::sleep_until(at + Duration::from_millis(5)).await?;
                drop(foreign);
                Ok(woken)
            })
            .unwrap();
        assert_eq!(woken, [0, 1, 2, 3], "{name}: the timers due with it fired");
        assert_eq!(calls.0.load(SeqCst), 1, "{name}: the panicking waker was called once");
        reported_wake_panic(name, &reports);
        workers_still_run(&rt, workers);
    }
}

/// A promise awaited with a panicking waker (a foreign executor's): the
/// panic stays in the wake (reported to the hook), `set_result` succeeds,
/// and every other awaiter is woken and gets the value.
#[test]
fn promise_waker_panic_is_caught_and_loses_no_awaiter() {
    quiet_panics();
    for (name, workers, rt, reports) in flavours() {
        let promise: ravel::Promise<u32> = ravel::Promise::new();
        let (waker, calls) = panicking_waker();
        let mut foreign = Box::pin(promise.clone());
        let (got, set) = rt
            .block_on(async move {
                let awaiters: Vec<_> = (0..3).map(|_| ravel::spawn(promise.clone())).collect();
                ravel::yield_now().await?; // they wait on it
                assert!(poll_with(&mut foreign, &waker).is_pending());
                let setter = promise.clone();
                let set = ravel::spawn(async move {
                    setter.set_result(7)?;
                    Ok(())
                })
                .await;
                let mut got = Vec::new();
                for task in awaiters {
                    got.push(task.await?);
                }
                // The foreign awaiter gets it too when polled again.
                got.push(match poll_with(&mut foreign, Waker::noop()) {
                    Poll::Ready(value) => value?,
                    Poll::Pending => panic!("set, yet pending"),
                });
                Ok((got, set))
            })
            .unwrap();
        assert_eq!(got, [7, 7, 7, 7], "{name}: every awaiter got the value");
        set.expect("set_result() is not the waker's panic");
        assert_eq!(calls.0.load(SeqCst), 1, "{name}");
        reported_wake_panic(name, &reports);
        workers_still_run(&rt, workers);
    }
}

/// An event waited on with a panicking waker among other waiters: the
/// panic stays in the wake (reported to the hook); every other waiter,
/// before and after it, is still woken.
#[test]
fn event_waker_panic_is_caught_and_loses_no_waiter() {
    quiet_panics();
    for (name, workers, rt, reports) in flavours() {
        let event = Arc::new(ravel::sync::Event::new());
        let (waker, calls) = panicking_waker();
        let (woken, set) = rt
            .block_on(async move {
                let before: Vec<_> = (0..3)
                    .map(|i| {
                        let e = event.clone();
                        ravel::spawn(async move {
                            e.wait().await?;
                            Ok(i)
                        })
                    })
                    .collect();
                ravel::yield_now().await?;
                let e = event.clone();
                let mut foreign = Box::pin(async move { e.wait().await });
                assert!(poll_with(&mut foreign, &waker).is_pending());
                let after: Vec<_> = (3..6)
                    .map(|i| {
                        let e = event.clone();
                        ravel::spawn(async move {
                            e.wait().await?;
                            Ok(i)
                        })
                    })
                    .collect();
                ravel::yield_now().await?;
                let e = event.clone();
                let set = ravel::spawn(async move {
                    e.set();
                    Ok(())
                })
                .await;
                let mut woken = Vec::new();
                for task in before.into_iter().chain(after) {
                    woken.push(task.await?);
                }
                drop(foreign);
                Ok((woken, set))
            })
            .unwrap();
        assert_eq!(woken, [0, 1, 2, 3, 4, 5], "{name}: every other waiter was woken");
        set.expect("set() is not the waker's panic");
        assert_eq!(calls.0.load(SeqCst), 1, "{name}");
        reported_wake_panic(name, &reports);
        workers_still_run(&rt, workers);
    }
}

/// Wakers of tasks (done, and ended by the shutdown) kept past the end of
/// their runtime, then woken, woken by reference, cloned and dropped from
/// several threads at once: nothing happens, nothing crashes, and the last
/// drop frees the runtime's state (its hook is dropped then, not before).
#[test]
fn wakers_kept_past_their_task_and_runtime_do_nothing_and_free_it() {
    for multi in [false, true] {
        for _round in 0..20 {
            let hook_dropped = Arc::new(AtomicUsize::new(0));
            let guard = DropCount(hook_dropped.clone());
            let builder = if multi {
                ravel::Builder::new_multi_thread().worker_threads(2)
            } else {
                ravel::Builder::new_current_thread()
            };
            let rt = builder
                .unhandled_error_hook(move |_| {
                    let _ = &guard;
                })
                .build()
                .unwrap();
            let kept: Arc<Mutex<Vec<Waker>>> = Arc::default();
            let futures_dropped = Arc::new(AtomicUsize::new(0));
            let (k, d) = (kept.clone(), futures_dropped.clone());
            rt.block_on(async move {
                for i in 0..8 {
                    let (k, guard) = (k.clone(), DropCount(d.clone()));
                    let task = ravel::spawn(async move {
                        let _guard = guard;
                        std::future::poll_fn(|cx| {
                            k.lock().unwrap().push(cx.waker().clone());
                            Poll::Ready(())
                        })
                        .await;
                        if i % 2 == 0 {
                            Ok(()) // done before the runtime goes
                        } else {
                            ravel::sleep(Duration::from_secs(3600)).await // ended by the shutdown
                        }
                    });
                    if i % 2 == 0 {
                        task.await?;
                    } else {
                        drop(task);
                    }
                }
                ravel::yield_now().await?;
                Ok(())
            })
            .unwrap();
            drop(rt);
            assert_eq!(futures_dropped.load(SeqCst), 8, "every future was dropped");
            let wakers = std::mem::take(&mut *kept.lock().unwrap());
            assert_eq!(wakers.len(), 8);
            assert_eq!(hook_dropped.load(SeqCst), 0, "the wakers still hold the runtime's state");
            let (tx, rx) = mpsc::channel();
            let threads: Vec<_> = wakers
                .chunks(2)
                .map(|pair| {
                    let pair = pair.to_vec();
                    let tx = tx.clone();
                    std::thread::spawn(move || {
                        for w in &pair {
                            w.wake_by_ref();
                            // A clone woken by value: its own reference, released.
                            #[allow(clippy::waker_clone_wake)]
                            w.clone().wake();
                        }
                        for w in pair {
                            w.wake();
                        }
                        tx.send(()).unwrap();
                    })
                })
                .collect();
            drop(wakers);
            for _ in 0..threads.len() {
                rx.recv_timeout(BOUND).expect("a thread waking dead tasks returned");
            }
            for t in threads {
                t.join().unwrap();
            }
            assert_eq!(hook_dropped.load(SeqCst), 1, "the last waker freed the runtime's state");
        }
    }
}
