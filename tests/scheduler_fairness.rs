//! The scheduler's fairness bounds, on one worker (no stealing to hide
//! behind): two tasks passing a message back and forth hand each other the
//! LIFO slot on every hop, and still a task waiting in the local queue runs
//! after at most `MAX_LIFO_STREAK` (3) slot picks; a task injected from
//! outside runs while the local queue stays busy.

use ravel::sync::Queue;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

/// The LIFO streak bound (`scheduler/worker.rs` `MAX_LIFO_STREAK`).
const MAX_LIFO_STREAK: usize = 3;
const HOPS: usize = 20_000;

/// A and B ping-pong through two queues (each `put` wakes the other into
/// the LIFO slot); C yields in a loop (each yield puts it at the back of
/// the local queue) and records how many hops passed between two of its
/// turns. The largest gap is the streak bound plus the one queue pick.
#[test]
fn fairness_lifo_ping_pong_lets_the_local_queue_run_every_streak() {
    let rt = ravel_tests::multi_thread(1);
    let max_gap = ravel_tests::block(&rt, async {
        let hops = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (q1, q2) = (Arc::new(Queue::<usize>::new(0)), Arc::new(Queue::<usize>::new(0)));
        let c = {
            let (hops, stop) = (hops.clone(), stop.clone());
            ravel::spawn(async move {
                let (mut last, mut max_gap, mut turns) = (0, 0, 0usize);
                while !stop.load(SeqCst) {
                    let now = hops.load(SeqCst);
                    max_gap = max_gap.max(now - last);
                    last = now;
                    turns += 1;
                    ravel::yield_now().await?;
                }
                Ok((max_gap, turns))
            })
        };
        let a = {
            let (q1, q2, hops) = (q1.clone(), q2.clone(), hops.clone());
            ravel::spawn(async move {
                for i in 0..HOPS {
                    q2.put(i).await?;
                    hops.fetch_add(1, SeqCst);
                    assert_eq!(q1.get().await?, i);
                }
                Ok(())
            })
        };
        let b = ravel::spawn(async move {
            for _ in 0..HOPS {
                let i = q2.get().await?;
                hops.fetch_add(1, SeqCst);
                q1.put(i).await?;
            }
            Ok(())
        });
        a.await?;
        b.await?;
        stop.store(true, SeqCst);
        let (max_gap, turns) = c.await?;
        assert!(turns > HOPS / (2 * (MAX_LIFO_STREAK + 1)), "the yielding task ran only {turns} times");
        Ok(max_gap)
    });
    assert!(
        max_gap <= MAX_LIFO_STREAK + 1,
        "{max_gap} ping-pong hops ran between two turns of a task in the local queue"
    );
}

/// A task spawned from outside the runtime (into the injector) runs while
/// the only worker's local queue never empties (a task that yields
/// forever keeps it busy): the injector is checked every
/// `GLOBAL_INTERVAL` picks.
#[test]
fn fairness_injected_task_runs_while_the_local_queue_is_busy() {
    let rt = ravel_tests::multi_thread(1);
    let stop = Arc::new(AtomicBool::new(false));
    let spinner = {
        let stop = stop.clone();
        rt.handle().spawn(async move {
            let mut turns = 0u64;
            while !stop.load(SeqCst) {
                turns += 1;
                ravel::yield_now().await?;
            }
            Ok(turns)
        })
    };
    for _ in 0..100 {
        let (tx, rx) = std::sync::mpsc::channel();
        drop(rt.handle().spawn(async move {
            tx.send(()).unwrap();
            Ok(())
        }));
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("an injected task starved behind a busy local queue");
    }
    stop.store(true, SeqCst);
    assert!(rt.block_on(spinner).unwrap() > 0);
}
