//! Memory per idle task: bytes a task parked on a sleep keeps allocated, on
//! Tokio and on Ravel (same 2-worker configuration, Ravel without eager
//! start), measured with a counting global allocator.
//!
//! For each runtime: spawn N = 10,000 tasks (from inside the runtime, handles
//! dropped) that each sleep 1 h, wait until every one has reached its sleep,
//! and divide the growth of live heap bytes by N. Done twice on the same
//! runtime: the first ("cold") batch includes one-time growth of the
//! runtime's structures (queues, timer wheel levels); the second ("warm")
//! batch is the steady per-task cost. Prints a table and writes
//! `target/ravel-bench/memory.json` for the report.
//!
//! `cargo run --release -p ravel-bench --bin memory`

use ravel_bench::counting_alloc::{allocs, by_size, live, Counting};
use ravel_bench::{RavelRt, Rt, TokioRt};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

#[global_allocator]
static GLOBAL: Counting = Counting;

const N: usize = 10_000;
const WORKERS: usize = 2;

struct Batch {
    bytes_per_task: f64,
    allocs_per_task: f64,
    /// Sizes allocated at least once per task during the batch (the task
    /// itself and anything else each spawn allocates), ascending.
    per_task_sizes: Vec<usize>,
}

/// Spawns `N` tasks that sleep 1 h and measures the heap growth once all are
/// parked on their sleep.
fn batch<R: Rt>(rt: &R) -> Batch {
    let parked = Arc::new(AtomicUsize::new(0));
    let (live0, allocs0, sizes0) = (live(), allocs(), by_size());
    let p = parked.clone();
    rt.block_on(async move {
        for _ in 0..N {
            let p = p.clone();
            drop(R::spawn(async move {
                p.fetch_add(1, Relaxed);
                let _ = R::sleep(Duration::from_secs(3600)).await;
            }));
        }
    });
    while parked.load(Relaxed) < N {
        std::thread::sleep(Duration::from_millis(1));
    }
    // Let the last tasks finish the poll that registers their timer.
    std::thread::sleep(Duration::from_millis(50));
    let (live1, allocs1, sizes1) = (live(), allocs(), by_size());
    let per_task_sizes = (0..sizes1.len()).filter(|&s| sizes1[s] - sizes0[s] >= N).collect();
    Batch {
        bytes_per_task: (live1 - live0) as f64 / N as f64,
        allocs_per_task: (allocs1 - allocs0) as f64 / N as f64,
        per_task_sizes,
    }
}

fn measure<R: Rt>() -> serde_json::Value {
    let rt = R::build(WORKERS, false);
    // Start the workers and the timer before the first measurement.
    rt.block_on(async {
        let _ = R::sleep(Duration::from_millis(1)).await;
    });
    let cold = batch(&rt);
    let warm = batch(&rt);
    println!(
        "{:<6} {:>16.1} {:>16.1} {:>18.2}   {:?}",
        R::NAME,
        cold.bytes_per_task,
        warm.bytes_per_task,
        warm.allocs_per_task,
        warm.per_task_sizes
    );
    drop(rt);
    serde_json::json!({
        "runtime": R::NAME,
        "cold_bytes_per_task": cold.bytes_per_task,
        "warm_bytes_per_task": warm.bytes_per_task,
        "cold_allocs_per_task": cold.allocs_per_task,
        "warm_allocs_per_task": warm.allocs_per_task,
        "per_task_allocation_sizes": warm.per_task_sizes,
    })
}

fn main() {
    println!("memory per idle task: {N} tasks parked on a 1 h sleep, {WORKERS} workers");
    println!(
        "{:<6} {:>16} {:>16} {:>18}   sizes allocated once per task",
        "", "cold bytes/task", "warm bytes/task", "warm allocs/task"
    );
    let tokio = measure::<TokioRt>();
    let ravel = measure::<RavelRt>();
    let json = serde_json::json!({
        "tasks": N,
        "workers": WORKERS,
        "date": ravel_bench::utc_now(),
        "rows": [tokio, ravel],
    });
    let path = ravel_bench::out_dir().expect("target/ravel-bench").join("memory.json");
    std::fs::write(&path, serde_json::to_string_pretty(&json).expect("json")).expect("write memory.json");
    println!("wrote {}", path.display());
}
