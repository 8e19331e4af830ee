//! Stress for the thread bridges: many `run_coroutine_threadsafe`
//! submissions racing `cancel()` against completion from foreign threads; a
//! saturated blocking pool; shutdown while blocking closures run.

use ravel::Runtime;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

const THREADS: usize = 8;
const PER_THREAD: usize = 1250;
const TOTAL: usize = THREADS * PER_THREAD;

/// xorshift64: a tiny deterministic generator per thread.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// 10,000 submissions from 8 foreign threads against a 2-worker runtime;
/// each thread cancels about a third of its futures right after submitting,
/// while each coroutine completes after a yield or a short sleep. Every
/// future resolves exactly once, consistently with what `cancel()` returned:
/// `cancel() == true` → `result()` is a cancellation error and
/// `cancelled()` is true; otherwise `result()` is the value. Each future's
/// done callback runs exactly once, and afterwards no task is left.
/// asyncio: `run_coroutine_threadsafe` + `concurrent.futures.Future.cancel`
/// (spec section 1 item 19; K04, K05).
#[test]
fn bridge_submit_cancel_race() {
    let rt = ravel::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let handle = rt.handle().clone();
    let fired: Arc<Vec<AtomicUsize>> = Arc::new((0..TOTAL).map(|_| AtomicUsize::new(0)).collect());
    let start = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let handle = handle.clone();
            let fired = fired.clone();
            let start = start.clone();
            std::thread::spawn(move || {
                let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ ((t as u64 + 1) * 0x1234_5678_9ABC_DEF1));
                start.wait();
                let mut futures = Vec::with_capacity(PER_THREAD);
                for k in 0..PER_THREAD {
                    let id = t * PER_THREAD + k;
                    let r = rng.next();
                    let sleep_us = if r.is_multiple_of(2) { None } else { Some(r % 300) };
                    let f = ravel::run_coroutine_threadsafe(
                        async move {
                            match sleep_us {
                                None => ravel::yield_now().await?,
                                Some(us) => ravel::sleep(Duration::from_micros(us)).await?,
                            }
                            Ok(id)
                        },
                        &handle,
                    )
                    .expect("submit");
                    let fired = fired.clone();
                    f.add_done_callback(move |_| {
                        fired[id].fetch_add(1, Ordering::SeqCst);
                    });
                    let cancelled = (r >> 8).is_multiple_of(3) && f.cancel();
                    futures.push((id, f, cancelled));
                }
                let (mut values, mut cancels) = (0usize, 0usize);
                for (id, f, cancelled) in futures {
                    match f.result(Some(Duration::from_secs(20))) {
                        Ok(v) => {
                            assert!(!cancelled, "future {id}: cancel() returned true, yet a value came out");
                            assert_eq!(v, id);
                            assert!(!f.cancelled());
                            values += 1;
                        }
                        Err(e) => {
                            assert!(e.is_cancelled(), "future {id}: {e:?}");
                            assert!(cancelled, "future {id}: cancelled though cancel() was not called");
                            assert!(f.cancelled());
                            cancels += 1;
                        }
                    }
                    assert!(f.done());
                }
                (values, cancels)
            })
        })
        .collect();
    let (mut values, mut cancels) = (0, 0);
    for t in threads {
        let (v, c) = t.join().expect("submitter thread");
        values += v;
        cancels += c;
    }
    assert_eq!(values + cancels, TOTAL, "each future resolved exactly once");
    assert!(cancels > 0 && values > 0, "both outcomes occurred: {values} values, {cancels} cancels");
    // Callbacks run on the finishing thread, possibly just after `result()`
    // was released: wait (bounded) for the last ones.
    let deadline = Instant::now() + Duration::from_secs(5);
    let total = || fired.iter().map(|c| c.load(Ordering::SeqCst)).sum::<usize>();
    while total() < TOTAL && Instant::now() < deadline {
        std::thread::yield_now();
    }
    for (id, count) in fired.iter().enumerate() {
        assert_eq!(count.load(Ordering::SeqCst), 1, "done callback of future {id}");
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while !handle.all_tasks().is_empty() && Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert!(handle.all_tasks().is_empty(), "no task left: {:?}", handle.all_tasks().len());
}

/// Polls every future in vector order on each poll, so the `to_thread`
/// calls are submitted (queued) in vector order.
struct JoinAll<T> {
    futs: Vec<Pin<Box<dyn Future<Output = ravel::Result<T>> + Send>>>,
    outs: Vec<Option<ravel::Result<T>>>,
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

/// Runs 64 `to_thread` calls, queued in index order, on a pool of
/// `max_blocking` threads; each call records its start order and the
/// concurrency it observes, and waits on a Barrier of `group` (so calls run
/// in groups that must all be running at once). Waits at most 20 s, so a
/// deadlock fails the test instead of hanging it.
fn saturate(max_blocking: usize, group: usize) -> (Vec<usize>, Vec<usize>, usize) {
    let rt: Runtime =
        ravel::Builder::new_multi_thread().worker_threads(2).max_blocking_threads(max_blocking).build().unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let current = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(group));
    let (ord, cur, mx) = (order.clone(), current.clone(), max.clone());
    let f = ravel::run_coroutine_threadsafe(
        async move {
            let futs = (0..64usize)
                .map(|i| {
                    let (ord, cur, mx, barrier) = (ord.clone(), cur.clone(), mx.clone(), barrier.clone());
                    Box::pin(ravel::to_thread(move || {
                        ord.lock().unwrap().push(i);
                        let now = cur.fetch_add(1, Ordering::SeqCst) + 1;
                        mx.fetch_max(now, Ordering::SeqCst);
                        barrier.wait();
                        cur.fetch_sub(1, Ordering::SeqCst);
                        Ok(i)
                    })) as Pin<Box<dyn Future<Output = ravel::Result<usize>> + Send>>
                })
                .collect::<Vec<_>>();
            let outs = futs.iter().map(|_| None).collect();
            JoinAll { futs, outs }.await
        },
        rt.handle(),
    )
    .unwrap();
    let outs = match f.result(Some(Duration::from_secs(20))) {
        Err(e) if e.is_timeout() => {
            std::mem::forget(rt); // pool threads are stuck: do not wait for them
            panic!("deadlock: 64 calls on {max_blocking} threads did not complete");
        }
        out => out.expect("all calls succeed"),
    };
    let order = order.lock().unwrap().clone();
    (outs, order, max.load(Ordering::SeqCst))
}

/// Pool saturation: 64 calls on `max_blocking_threads(4)` all complete with
/// their own results, never more than 4 at a time (and 4 reached: they wait
/// on a Barrier of 4), in FIFO order: group by group of 4 (within a group the
/// threads race between taking a job and recording its start, so only the
/// group is ordered). With one pool thread the start order is exactly the
/// queue order.
/// asyncio: the default executor's work queue is FIFO and bounded by
/// `max_workers`.
#[test]
fn pool_saturation_fifo() {
    let (outs, order, max) = saturate(4, 4);
    assert_eq!(outs, (0..64).collect::<Vec<_>>());
    assert_eq!(max, 4, "bounded by 4 and saturated");
    assert_eq!(order.len(), 64, "each ran once");
    for (g, chunk) in order.chunks(4).enumerate() {
        let mut chunk = chunk.to_vec();
        chunk.sort_unstable();
        assert_eq!(chunk, (4 * g..4 * g + 4).collect::<Vec<_>>(), "FIFO groups, got {order:?}");
    }

    let (outs, order, max) = saturate(1, 1);
    assert_eq!(outs, (0..64).collect::<Vec<_>>());
    assert_eq!(max, 1);
    assert_eq!(order, (0..64).collect::<Vec<_>>(), "one thread: strictly increasing start order");
}

/// Shutdown while a closure runs: `shutdown_timeout(200ms)` with a closure
/// blocked until the test releases it returns at about the deadline (a
/// generous bound, < 2 s, only fails on a real hang); the awaiting task ends
/// with the runtime; a call queued behind the blocked one is dropped (never
/// runs); the released closure then finishes on its own.
/// asyncio analogue: `shutdown_default_executor(timeout)` stops waiting at
/// the timeout and leaves the thread running.
#[test]
fn shutdown_while_closure_runs() {
    let rt = ravel::Builder::new_multi_thread().worker_threads(2).max_blocking_threads(1).build().unwrap();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (finished_tx, finished_rx) = mpsc::channel::<()>();
    let queued_ran = Arc::new(AtomicUsize::new(0));
    let q = queued_ran.clone();
    let blocked = ravel::run_coroutine_threadsafe(
        ravel::to_thread(move || {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            finished_tx.send(()).unwrap();
            Ok(1)
        }),
        rt.handle(),
    )
    .unwrap();
    started_rx.recv_timeout(Duration::from_secs(10)).expect("closure started");
    let (submitting_tx, submitting_rx) = mpsc::channel::<()>();
    let queued = ravel::run_coroutine_threadsafe(
        async move {
            submitting_tx.send(()).unwrap();
            // Submitted in this same poll, behind the blocked call.
            ravel::to_thread(move || {
                q.fetch_add(1, Ordering::SeqCst);
                Ok(2)
            })
            .await
        },
        rt.handle(),
    )
    .unwrap();
    submitting_rx.recv_timeout(Duration::from_secs(10)).expect("queued call submitting");

    let t0 = Instant::now();
    rt.shutdown_timeout(Duration::from_millis(200));
    let elapsed = t0.elapsed();
    assert!(elapsed < Duration::from_secs(2), "shutdown_timeout(200ms) took {elapsed:?}");

    let b = blocked.result(Some(Duration::from_secs(5))).unwrap_err();
    assert!(!b.is_timeout(), "released by the shutdown: {b:?}");
    let q_out = queued.result(Some(Duration::from_secs(5))).unwrap_err();
    assert!(!q_out.is_timeout(), "released by the shutdown: {q_out:?}");

    release_tx.send(()).unwrap();
    finished_rx.recv_timeout(Duration::from_secs(5)).expect("the blocked closure ran to its end after shutdown");
    assert_eq!(queued_ran.load(Ordering::SeqCst), 0, "the queued call was dropped at shutdown");
}
