//! Fault injection: `to_thread` closures that panic. The awaiter gets a
//! panic error with the payload (the documented outcome), the pool thread
//! survives and runs the next calls, and calls racing with the panicking
//! ones on other workers each get their own outcome.

use ravel_tests::faults::{panic_text, quiet_panics, workers_still_run, TAG};
use std::collections::HashSet;

/// A panicking closure on a one-thread pool: a panic error with its
/// payload; the same pool thread then runs the next calls.
#[test]
fn to_thread_panic_is_the_awaiters_error_and_the_pool_thread_survives() {
    quiet_panics();
    for (name, workers, builder) in [
        ("current_thread", 1, ravel::Builder::new_current_thread()),
        ("multi_thread", 2, ravel::Builder::new_multi_thread().worker_threads(2)),
    ] {
        let rt = builder.max_blocking_threads(1).build().unwrap();
        let (err, threads) = rt
            .block_on(async {
                let first = ravel::to_thread(|| Ok(std::thread::current().id())).await?;
                let err = ravel::to_thread(|| -> ravel::Result<()> { panic!("{TAG} in to_thread") }).await.unwrap_err();
                let mut threads = vec![first];
                for _ in 0..5 {
                    threads.push(ravel::to_thread(|| Ok(std::thread::current().id())).await?);
                }
                Ok((err, threads))
            })
            .unwrap();
        assert_eq!(panic_text(&err), format!("{TAG} in to_thread"), "{name}");
        assert!(threads.iter().all(|t| *t == threads[0]), "{name}: the one pool thread survived the panic");
        workers_still_run(&rt, workers);
    }
}

/// 200 calls from tasks on two workers, every third panicking: each
/// awaiter gets exactly its own outcome, none lost.
#[test]
fn racing_panicking_to_thread_calls_each_get_their_outcome() {
    quiet_panics();
    let rt = ravel::Builder::new_multi_thread().worker_threads(2).max_blocking_threads(3).build().unwrap();
    let outcomes = rt
        .block_on(async {
            let tasks: Vec<_> = (0..200u32)
                .map(|i| {
                    ravel::spawn(async move {
                        Ok(ravel::to_thread(move || {
                            if i % 3 == 0 {
                                panic!("{TAG} call {i}");
                            }
                            Ok(i * 2)
                        })
                        .await)
                    })
                })
                .collect();
            let mut outcomes = Vec::new();
            for task in tasks {
                outcomes.push(task.await?);
            }
            Ok(outcomes)
        })
        .unwrap();
    let mut panics = HashSet::new();
    for (i, out) in outcomes.into_iter().enumerate() {
        let i = i as u32;
        match out {
            Ok(v) => assert_eq!(v, i * 2, "call {i}"),
            Err(e) => {
                assert_eq!(i % 3, 0, "call {i} failed: {e}");
                assert!(panics.insert(panic_text(&e)), "call {i}: a payload seen twice");
                assert!(panics.contains(&format!("{TAG} call {i}")), "call {i}: another call's payload");
            }
        }
    }
    assert_eq!(panics.len(), 67);
    workers_still_run(&rt, 2);
}
