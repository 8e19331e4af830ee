//! Stress: wake-ups from many foreign threads, and work stealing past a
//! blocked worker.

use ravel::{Promise, Runtime, Task};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Barrier};
use std::time::{Duration, Instant};

const SETTERS: usize = 8;

fn promises() -> usize {
    10_000
}

/// `n` tasks each await their own promise; `SETTERS` std threads complete the
/// promises. With `wait_suspended`, the setters start only once every task
/// has started (so most wakes hit parked tasks); otherwise they race the
/// tasks' first polls.
fn wake_from_threads(rt: &Runtime, n: usize, wait_suspended: bool) {
    let completions: Arc<Vec<AtomicUsize>> = Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect());
    let started = Arc::new(AtomicUsize::new(0));
    let all_started: Promise<()> = Promise::new();
    let ps: Vec<Promise<u64>> = (0..n).map(|_| Promise::new()).collect();
    let tasks: Vec<Task<u64>> = ps
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let p = p.clone();
            let (completions, started, all_started) = (completions.clone(), started.clone(), all_started.clone());
            rt.handle().spawn(async move {
                if started.fetch_add(1, SeqCst) + 1 == n {
                    all_started.set_result(()).unwrap();
                }
                let v = p.await?;
                completions[i].fetch_add(1, SeqCst);
                Ok(v)
            })
        })
        .collect();
    if wait_suspended {
        rt.block_on(all_started.clone()).unwrap();
    }
    let ps = Arc::new(ps);
    let setters: Vec<_> = (0..SETTERS)
        .map(|k| {
            let ps = ps.clone();
            std::thread::spawn(move || {
                for i in (k..n).step_by(SETTERS) {
                    ps[i].set_result(i as u64 * 7 + 1).unwrap();
                }
            })
        })
        .collect();
    let values = rt
        .block_on(async move {
            let mut values = Vec::with_capacity(tasks.len());
            for t in tasks {
                values.push(t.await?);
            }
            Ok(values)
        })
        .unwrap();
    for s in setters {
        s.join().unwrap();
    }
    for (i, v) in values.iter().enumerate() {
        assert_eq!(*v, i as u64 * 7 + 1, "task {i} got the value of its own promise");
        assert_eq!(completions[i].load(SeqCst), 1, "task {i} resumed past its await exactly once");
    }
}

/// Promise wake-ups from 8 threads, racing first polls, on 2 and 4 workers.
/// CPython analogue: `test_futures.py` `call_soon_threadsafe`-completed
/// futures awaited by tasks (`test_tasks.py::test_wait_for_...` family);
/// here 10,000 promises.
#[test]
fn k_wake_from_8_threads_racing_first_poll() {
    for workers in [2, 4] {
        wake_from_threads(&ravel_tests::multi_thread(workers), promises(), false);
    }
}

/// Promise wake-ups from 8 threads after every task started (wakes of
/// parked tasks), on 2 and 4 workers, and on a current-thread runtime
/// driven by `block_on`. CPython analogue: `test_futures.py` futures
/// completed from other threads through `call_soon_threadsafe`.
#[test]
fn k_wake_from_8_threads_parked_tasks() {
    for workers in [2, 4] {
        wake_from_threads(&ravel_tests::multi_thread(workers), promises(), true);
    }
    wake_from_threads(&ravel_tests::current_thread(), promises(), true);
}

const STOLEN: usize = 50;

/// Waits (bounded: a hang must fail, not block the suite) for `count`
/// messages; returns the ones that arrived.
fn collect(rx: &mpsc::Receiver<usize>, count: usize) -> Vec<usize> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut got = Vec::new();
    while got.len() < count {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(i) => got.push(i),
            Err(_) => break,
        }
    }
    got.sort_unstable();
    got
}

/// One worker of two is blocked (its task sits in a `std::sync::Barrier`
/// rendezvous with the test thread); tasks spawned from outside the runtime
/// meanwhile still run, on the other worker.
#[test]
fn scheduler_blocked_worker_injected_tasks_still_run() {
    let rt = ravel_tests::multi_thread(2);
    let barrier = Arc::new(Barrier::new(2));
    let b = barrier.clone();
    let blocker = rt.handle().spawn(async move {
        b.wait(); // rendezvous 1: the worker is now blocked
        b.wait(); // rendezvous 2: released by the test thread
        Ok(())
    });
    barrier.wait();
    let (tx, rx) = mpsc::channel();
    for i in 0..STOLEN {
        let tx = tx.clone();
        drop(rt.handle().spawn(async move {
            ravel::yield_now().await?;
            tx.send(i).unwrap();
            Ok(())
        }));
    }
    let got = collect(&rx, STOLEN);
    barrier.wait();
    assert_eq!(got, (0..STOLEN).collect::<Vec<_>>(), "tasks ran while a worker was blocked");
    rt.block_on(blocker).unwrap();
}

/// Tasks spawned by the blocking task itself (into its own worker's local
/// queue and LIFO slot) before it blocks are stolen and run by the other
/// worker, the last one from its LIFO slot (`scheduler/lifo.rs`; the
/// limitation tokio-rs/tokio#4941 describes in Tokio).
#[test]
fn scheduler_blocked_worker_local_tasks_are_stolen() {
    let rt = ravel_tests::multi_thread(2);
    let barrier = Arc::new(Barrier::new(2));
    let b = barrier.clone();
    let (tx, rx) = mpsc::channel();
    let blocker = rt.handle().spawn(async move {
        for i in 0..STOLEN {
            let tx = tx.clone();
            drop(ravel::spawn(async move {
                tx.send(i).unwrap();
                Ok(())
            }));
        }
        b.wait(); // rendezvous 1: the worker is now blocked
        b.wait(); // rendezvous 2: released by the test thread
        Ok(())
    });
    barrier.wait();
    let got = collect(&rx, STOLEN);
    barrier.wait();
    let missing: Vec<usize> = (0..STOLEN).filter(|i| !got.contains(i)).collect();
    assert!(missing.is_empty(), "stuck behind the blocked worker: {missing:?}");
    rt.block_on(blocker).unwrap();
}

/// A task woken into its worker's LIFO slot by a task that then blocks
/// that worker (waiting, on a std channel, for the woken task itself) is
/// stolen and run by the other worker: whether that worker is searching
/// or parked (the LIFO watch wakes it, `scheduler/lifo.rs`), and whether
/// the task was spawned or woken. Without a stealable slot this deadlocks
/// until the 5 s bound fails it.
#[test]
fn scheduler_lifo_task_behind_a_blocked_poll_is_stolen() {
    let rt = ravel_tests::multi_thread(2);
    for round in 0..40usize {
        // Half the rounds let the idle worker reach its park first.
        if round % 2 == 1 {
            std::thread::sleep(Duration::from_millis(2));
        }
        let (tx, rx) = mpsc::channel::<usize>();
        let (done_tx, done_rx) = mpsc::channel::<Vec<usize>>();
        let woken = round % 4 >= 2;
        drop(rt.handle().spawn(async move {
            if woken {
                // The other task is already waiting on an event; setting it
                // wakes that task into this worker's LIFO slot.
                let event = Arc::new(ravel::sync::Event::new());
                let e2 = event.clone();
                let tx2 = tx.clone();
                let waiter = ravel::spawn(async move {
                    e2.wait().await?;
                    tx2.send(round).unwrap();
                    Ok(())
                });
                while waiter.info().state != ravel::call_graph::TaskState::Suspended {
                    ravel::yield_now().await?;
                }
                event.set();
            } else {
                let tx2 = tx.clone();
                drop(ravel::spawn(async move {
                    tx2.send(round).unwrap();
                    Ok(())
                }));
            }
            // Block this worker until the task in its LIFO slot has run.
            done_tx.send(collect(&rx, 1)).unwrap();
            Ok(())
        }));
        let got = done_rx.recv_timeout(Duration::from_secs(10)).expect("the blocked task never finished");
        assert_eq!(got, [round], "round {round} (woken: {woken}): the LIFO task was not stolen");
    }
}
