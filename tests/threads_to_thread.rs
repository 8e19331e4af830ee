//! K01, K02 and the blocking pool behind `ravel::to_thread` (asyncio
//! `to_thread` = `run_in_executor(None, partial(copy_context().run, f))`,
//! spec section 1 item 18).

use ravel::{ContextVar, Runtime};
use ravel_tests::both;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// A multi-thread runtime with 2 workers and the given blocking-pool bound.
fn pool_runtime(max_blocking: usize) -> Runtime {
    ravel::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(max_blocking)
        .build()
        .expect("build runtime")
}

/// Runs `fut` on the multi-thread runtime `rt` from this (foreign) thread and
/// waits at most `limit` for it, so that a deadlock in the pool (closures
/// stuck in a barrier) fails the test instead of hanging it.
fn run_within<T: Send + 'static>(
    rt: Runtime,
    limit: Duration,
    fut: impl Future<Output = ravel::Result<T>> + Send + 'static,
) -> ravel::Result<T> {
    let f = ravel::run_coroutine_threadsafe(fut, rt.handle()).expect("submit");
    match f.result(Some(limit)) {
        Err(e) if e.is_timeout() => {
            // Threads are stuck: do not wait for them in Drop.
            std::mem::forget(rt);
            panic!("no progress within {limit:?}: the blocking pool deadlocked");
        }
        out => out,
    }
}

/// Polls every future in vector order on each poll (so the order of their
/// first polls, hence of their `to_thread` submissions, is the vector order)
/// and returns their outputs in that order.
struct JoinAll<T> {
    futs: Vec<Pin<Box<dyn Future<Output = ravel::Result<T>> + Send>>>,
    outs: Vec<Option<ravel::Result<T>>>,
}

fn join_all<T>(futs: Vec<Pin<Box<dyn Future<Output = ravel::Result<T>> + Send>>>) -> JoinAll<T> {
    let outs = futs.iter().map(|_| None).collect();
    JoinAll { futs, outs }
}

impl<T> Unpin for JoinAll<T> {}

impl<T> Future for JoinAll<T> {
    type Output = ravel::Result<Vec<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        for (fut, out) in this.futs.iter_mut().zip(this.outs.iter_mut()) {
            if out.is_none() {
                if let Poll::Ready(v) = fut.as_mut().poll(cx) {
                    *out = Some(v);
                }
            }
        }
        if this.outs.iter().all(Option::is_some) {
            let outs = std::mem::take(&mut this.outs);
            Poll::Ready(outs.into_iter().map(|o| o.expect("checked")).collect())
        } else {
            Poll::Pending
        }
    }
}

/// K01: `await to_thread(sum, [40, 2])` gives 42; captured arguments (the
/// closure's equivalent of args/kwargs) reach the function; it is called
/// exactly once.
/// CPython: `test_threads.py::test_to_thread`, `test_to_thread_args_kwargs`,
/// `test_to_thread_once`.
#[test]
fn k01_to_thread_value_args_once() {
    for (flavour, rt) in both() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let out = rt
            .block_on(async move {
                let sum = ravel::to_thread(|| Ok([40, 2].iter().sum::<i32>())).await?;
                let items = vec![1, 2, 3];
                let label = String::from("kw");
                let joined = ravel::to_thread(move || {
                    c.fetch_add(1, Ordering::SeqCst);
                    Ok(format!("{label}={items:?}"))
                })
                .await?;
                Ok((sum, joined))
            })
            .unwrap();
        assert_eq!(out, (42, "kw=[1, 2, 3]".to_string()), "{flavour}");
        assert_eq!(calls.load(Ordering::SeqCst), 1, "{flavour}: called exactly once");
    }
}

/// K01: an error returned by the function is re-raised by the await, as the
/// same error type with the same message.
/// CPython: `test_threads.py::test_to_thread_exception`.
#[test]
fn k01_to_thread_error_reraised() {
    for (flavour, rt) in both() {
        let err = rt
            .block_on(async {
                ravel::to_thread(|| -> ravel::Result<i32> { Err(std::io::Error::other("Fail!").into()) }).await
            })
            .unwrap_err();
        let io = err.downcast_ref::<std::io::Error>().unwrap_or_else(|| panic!("{flavour}: same type, got {err:?}"));
        assert_eq!(io.to_string(), "Fail!", "{flavour}");
        assert!(!err.is_cancelled() && !err.is_panic(), "{flavour}");
    }
}

/// K01: 10 concurrent calls all run, and really concurrently: each waits on a
/// `Barrier` of 10, which only opens if all 10 run at the same time on a pool
/// of 10 threads.
/// CPython: `test_threads.py::test_to_thread_concurrent`.
#[test]
fn k01_ten_concurrent_calls() {
    let rt = pool_runtime(10);
    let barrier = Arc::new(Barrier::new(10));
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let out = run_within(rt, Duration::from_secs(5), async move {
        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let barrier = barrier.clone();
                let c = c.clone();
                ravel::spawn(async move {
                    ravel::to_thread(move || {
                        c.fetch_add(1, Ordering::SeqCst);
                        let leader = barrier.wait().is_leader();
                        Ok((i, leader))
                    })
                    .await
                })
            })
            .collect();
        let mut outs = Vec::new();
        for t in tasks {
            outs.push(t.await?);
        }
        Ok(outs)
    })
    .unwrap();
    assert_eq!(out.iter().map(|(i, _)| *i).collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());
    assert_eq!(out.iter().filter(|(_, leader)| *leader).count(), 1, "one barrier generation of 10");
    assert_eq!(calls.load(Ordering::SeqCst), 10, "each called once");
}

/// K02: the function runs in a copy of the caller's context: it sees the
/// caller's value ('parrot'); what it sets is invisible to the caller (and to
/// a later call); it runs on a blocking-pool thread whose name is
/// "<thread_name>-blocking-N" (asyncio: "asyncio_N").
/// CPython: `test_threads.py::test_to_thread_contextvars`.
#[test]
fn k02_context_copy_and_thread_name() {
    static CV: ContextVar<&'static str> = ContextVar::new("cv");
    for (flavour, rt) in both() {
        let (inside, after, second, name) = rt
            .block_on(async {
                CV.set("parrot");
                let inside = ravel::to_thread(|| {
                    let seen = CV.get();
                    CV.set("in thread");
                    Ok((seen, CV.get()))
                })
                .await?;
                let after = CV.get();
                let (second, name) =
                    ravel::to_thread(|| Ok((CV.get(), std::thread::current().name().map(String::from)))).await?;
                Ok((inside, after, second, name))
            })
            .unwrap();
        assert_eq!(inside, (Some("parrot"), Some("in thread")), "{flavour}");
        assert_eq!(after, Some("parrot"), "{flavour}: the thread's set is invisible to the caller");
        assert_eq!(second, Some("parrot"), "{flavour}: each call gets a fresh copy");
        let name = name.expect("pool threads are named");
        assert!(name.starts_with("ravel-worker-blocking-"), "{flavour}: {name}");
    }

    let rt = ravel::Builder::new_multi_thread().worker_threads(1).thread_name("custom").build().unwrap();
    let name = rt.block_on(async { ravel::to_thread(|| Ok(std::thread::current().name().map(String::from))).await });
    let name = name.unwrap().expect("named");
    assert!(name.starts_with("custom-blocking-"), "{name}");
    let suffix = &name["custom-blocking-".len()..];
    assert!(suffix.parse::<usize>().is_ok(), "{name}");
}

/// A panic in the function becomes a panic error carrying the payload, and
/// the pool thread survives: the next call runs on the same thread (with one
/// pool thread and the default keep-alive, a new thread would have a new
/// index in its name).
/// CPython analogue: an exception in the executor function is re-raised
/// (`test_to_thread_exception`); Rust panics are the uncaught case.
#[test]
fn panic_becomes_error_and_pool_survives() {
    let rt = ravel::Builder::new_multi_thread().worker_threads(1).max_blocking_threads(1).build().unwrap();
    let out = rt
        .block_on(async {
            let first = ravel::to_thread(|| Ok(std::thread::current().name().map(String::from))).await?;
            let err = ravel::to_thread(|| -> ravel::Result<i32> { panic!("kaboom in thread") }).await.unwrap_err();
            let again = ravel::to_thread(|| Ok((7, std::thread::current().name().map(String::from)))).await?;
            Ok((first, err, again))
        })
        .unwrap();
    let (first, err, (seven, again)) = out;
    assert!(err.is_panic(), "{err:?}");
    let payload = err.take_panic().expect("payload kept");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"kaboom in thread"));
    assert_eq!(seven, 7, "the pool still works after a panic");
    assert_eq!(first, again, "the same pool thread survived the panic");
}

/// Cancelling the awaiting task delivers the cancellation at once, while the
/// function is still blocked; the function then runs to completion on its
/// thread and its result is dropped.
/// asyncio: spec section 1 item 18 ("cancelling cancels only the asyncio
/// future, and the thread runs on"); `futures._chain_future`.
#[test]
fn cancel_awaiter_while_closure_runs() {
    for (flavour, rt) in both() {
        let started = Arc::new(AtomicBool::new(false));
        let finished = Arc::new(AtomicUsize::new(0));
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (s, f) = (started.clone(), finished.clone());
        let (err, cancelling, finished_when_cancelled, finished_after) = rt
            .block_on(async move {
                let (s2, f2) = (s.clone(), f.clone());
                let worker = ravel::spawn(async move {
                    ravel::to_thread(move || {
                        s2.store(true, Ordering::SeqCst);
                        release_rx.recv().expect("released");
                        f2.fetch_add(1, Ordering::SeqCst);
                        Ok(5)
                    })
                    .await
                });
                while !s.load(Ordering::SeqCst) {
                    ravel::yield_now().await?;
                }
                assert!(worker.cancel());
                let worker_ref = worker.as_task_ref().clone();
                let out = worker.await;
                let finished_when_cancelled = f.load(Ordering::SeqCst);
                let cancelling = worker_ref.cancelling();
                // Release the closure; observe that it runs on to its end.
                release_tx.send(()).unwrap();
                while f.load(Ordering::SeqCst) == 0 {
                    ravel::yield_now().await?;
                }
                Ok((out.unwrap_err(), cancelling, finished_when_cancelled, f.load(Ordering::SeqCst)))
            })
            .unwrap();
        assert!(err.is_cancelled() && err.cancel_message().is_none(), "{flavour}: {err:?}");
        assert_eq!(cancelling, 1, "{flavour}");
        assert_eq!(finished_when_cancelled, 0, "{flavour}: delivered while the closure was still blocked");
        assert_eq!(finished_after, 1, "{flavour}: the closure ran to completion exactly once");
        assert_eq!(finished.load(Ordering::SeqCst), 1);
    }
}

/// A call still queued behind a busy pool whose awaiter is cancelled never
/// runs: asyncio cancels the executor's concurrent future, and a
/// `ThreadPoolExecutor` work item that was cancelled before it started is
/// skipped (`set_running_or_notify_cancel()` returns False). Checked on
/// CPython 3.13.0 with a 1-thread default executor: the second function
/// never ran.
/// CPython: `asyncio/futures.py::_chain_future` (`_call_check_cancel`),
/// `concurrent/futures/thread.py::_WorkItem.run`.
#[test]
fn cancel_awaiter_of_queued_call_skips_it() {
    let rt = ravel::Builder::new_current_thread().max_blocking_threads(1).build().unwrap();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let second_ran = Arc::new(AtomicBool::new(false));
    let ran = second_ran.clone();
    let out = rt
        .block_on(async move {
            // One pool thread: `first` holds it until released; `second` is
            // queued behind it.
            let first = ravel::spawn(ravel::to_thread(move || {
                release_rx.recv().unwrap();
                Ok(1)
            }));
            let second = ravel::spawn(ravel::to_thread(move || {
                ran.store(true, Ordering::SeqCst);
                Ok(2)
            }));
            // FIFO: `first` then `second` take their first step (and submit
            // their calls, in that order) before this task resumes.
            ravel::yield_now().await?;
            assert!(second.cancel());
            let second_out = second.await;
            release_tx.send(()).unwrap();
            let first_out = first.await?;
            // Queued after `second`'s call on the single FIFO pool thread: by
            // the time it runs, `second`'s call has run or been skipped.
            ravel::to_thread(|| Ok(())).await?;
            Ok((first_out, second_out.unwrap_err().is_cancelled()))
        })
        .unwrap();
    assert_eq!(out, (1, true));
    assert!(!second_ran.load(Ordering::SeqCst), "the cancelled queued call must not run");
}

/// The pool bound: with `max_blocking_threads(2)`, 6 calls never run more
/// than 2 at a time, and do reach 2 (each waits on a Barrier of 2, so the
/// calls run in pairs); they start in the order they were queued (FIFO):
/// pair by pair, {0,1}, {2,3}, {4,5} (inside a pair the two threads race
/// from taking the job to recording its start, so only the pair is ordered).
/// asyncio: the default executor is a bounded `ThreadPoolExecutor` with a
/// FIFO work queue.
#[test]
fn pool_bound_and_fifo() {
    let rt = pool_runtime(2);
    let current = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let order = Arc::new(Mutex::new(Vec::new()));
    let barrier = Arc::new(Barrier::new(2));
    let (cur, mx, ord) = (current.clone(), max.clone(), order.clone());
    let outs = run_within(rt, Duration::from_secs(5), async move {
        let futs = (0..6)
            .map(|i| {
                let (cur, mx, ord, barrier) = (cur.clone(), mx.clone(), ord.clone(), barrier.clone());
                Box::pin(ravel::to_thread(move || {
                    ord.lock().unwrap().push(i);
                    let now = cur.fetch_add(1, Ordering::SeqCst) + 1;
                    mx.fetch_max(now, Ordering::SeqCst);
                    barrier.wait();
                    cur.fetch_sub(1, Ordering::SeqCst);
                    Ok(i * 10)
                })) as Pin<Box<dyn Future<Output = ravel::Result<usize>> + Send>>
            })
            .collect();
        join_all(futs).await
    })
    .unwrap();
    assert_eq!(outs, [0, 10, 20, 30, 40, 50], "all 6 complete with their own results");
    assert_eq!(max.load(Ordering::SeqCst), 2, "at most (and at least) 2 at a time");
    let order = order.lock().unwrap().clone();
    let mut pairs: Vec<Vec<usize>> = order.chunks(2).map(|c| c.to_vec()).collect();
    pairs.iter_mut().for_each(|p| p.sort_unstable());
    assert_eq!(pairs, [[0, 1], [2, 3], [4, 5]], "FIFO start order, got {order:?}");
}

/// Idle pool threads retire after `thread_keep_alive`, and work submitted
/// afterwards still runs (on a freshly started thread: its name carries a
/// new index). Rounds of 2 concurrent calls (Barrier of 2) separated by idle
/// gaps longer than the keep-alive never deadlock and give the right
/// results.
/// asyncio analogue: `ThreadPoolExecutor` threads are reused; Ravel's pool
/// additionally retires idle threads (Tokio-style keep-alive).
#[test]
fn idle_threads_retire_and_work_still_runs() {
    let rt = ravel::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(2)
        .thread_keep_alive(Duration::from_millis(20))
        .build()
        .unwrap();
    let out = run_within(rt, Duration::from_secs(6), async {
        let name = || Ok(std::thread::current().name().unwrap_or_default().to_string());
        let first = ravel::to_thread(name).await?;
        // Idle gaps (the scenario: the keep-alive elapsing) until the next
        // call runs on a new thread, bounded.
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut later = first.clone();
        while later == first && Instant::now() < deadline {
            ravel::sleep(Duration::from_millis(100)).await?;
            later = ravel::to_thread(name).await?;
        }
        let mut sums = Vec::new();
        for round in 0..5usize {
            ravel::sleep(Duration::from_millis(40)).await?;
            let barrier = Arc::new(Barrier::new(2));
            let b = barrier.clone();
            let a = ravel::spawn(ravel::to_thread(move || {
                b.wait();
                Ok(round)
            }));
            let b = barrier.clone();
            let c = ravel::spawn(ravel::to_thread(move || {
                b.wait();
                Ok(round * 100)
            }));
            sums.push(a.await? + c.await?);
        }
        Ok((first, later, sums))
    })
    .unwrap();
    let (first, later, sums) = out;
    assert!(first.starts_with("ravel-worker-blocking-"), "{first}");
    assert_ne!(first, later, "the idle thread retired; a new one (new index) ran the later call");
    assert_eq!(sums, [0, 101, 202, 303, 404]);
}
