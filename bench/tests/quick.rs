//! Runs every benchmark workload on both runtimes with tiny sizes and checks
//! each produced its expected result, so the workspace test suite covers the
//! harness (the timings themselves are criterion's business, never a test's).

use ravel_bench::{check_group, workloads, Class, RavelRt, Rt, Sizes, TokioRt, GROUPS};
use std::sync::mpsc;
use std::time::Duration;

/// Runs `f` on a thread; fails with `what` instead of hanging if it takes
/// longer than a minute (a deadlocked workload).
fn with_watchdog(what: &str, f: impl FnOnce() -> usize + Send + 'static) -> usize {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(Ok(n)) => n,
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(_) => panic!("{what}: did not finish within 60 s (deadlock?)"),
    }
}

fn check_runtime<R: Rt>() {
    let total = workloads::<R>().len();
    let mut ran = 0;
    // Every class once: w1, w2 and w2_eager cover every workload.
    for group in GROUPS.iter().filter(|g| g.workers <= 2) {
        let g = *group;
        ran += with_watchdog(&format!("{}/{}", g.name, R::NAME), move || check_group::<R>(&g, Sizes::TINY, 2));
    }
    assert_eq!(ran, total, "every workload ran once");
}

#[test]
fn every_workload_tokio() {
    check_runtime::<TokioRt>();
}

#[test]
fn every_workload_ravel() {
    check_runtime::<RavelRt>();
}

#[test]
fn both_runtimes_list_the_same_workloads() {
    let t: Vec<(&str, Class)> = workloads::<TokioRt>().iter().map(|w| (w.name, w.class)).collect();
    let r: Vec<(&str, Class)> = workloads::<RavelRt>().iter().map(|w| (w.name, w.class)).collect();
    assert_eq!(t, r);
}
