//! Stress: spawning from inside tasks and from foreign threads at once,
//! nested spawn trees, lazy and eager runtimes. Every result is counted.

use ravel::{Handle, Promise, Result, Runtime, Task};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

type BoxFut<T> = Pin<Box<dyn Future<Output = Result<T>> + Send>>;

/// A node spawns `branching` children (down to depth 0), awaits them and
/// returns the size of its subtree. Half the levels yield first, so trees
/// interleave.
fn tree(depth: u32, branching: u64, nodes: Arc<AtomicUsize>) -> BoxFut<u64> {
    Box::pin(async move {
        nodes.fetch_add(1, SeqCst);
        if depth.is_multiple_of(2) {
            ravel::yield_now().await?;
        }
        if depth == 0 {
            return Ok(1);
        }
        let children: Vec<Task<u64>> =
            (0..branching).map(|_| ravel::spawn(tree(depth - 1, branching, nodes.clone()))).collect();
        let mut sum = 1;
        for c in children {
            sum += c.await?;
        }
        Ok(sum)
    })
}

fn tree_size(depth: u32, branching: u64) -> u64 {
    (0..=depth).map(|d| branching.pow(d)).sum()
}

fn runtimes() -> Vec<(&'static str, Runtime)> {
    vec![
        ("current_thread", ravel_tests::current_thread()),
        ("current_thread_eager", ravel_tests::current_thread_eager()),
        ("multi_thread(2)", ravel_tests::multi_thread(2)),
        ("multi_thread(4)", ravel_tests::multi_thread(4)),
        (
            "multi_thread(2) eager",
            ravel::Builder::new_multi_thread().worker_threads(2).eager_tasks(true).build().unwrap(),
        ),
    ]
}

/// Nested spawn trees (B03-style `create_task` from inside tasks): the
/// root's result is the exact number of nodes, each node ran once, and
/// nothing is left in `all_tasks()`. CPython: `test_tasks.py::test_create_task`
/// / `test_eager_tasks.py` nested eager `create_task`.
#[test]
fn b_nested_spawn_trees_sum() {
    let (depth, branching) = (6, 4);
    for (name, rt) in runtimes() {
        for _ in 0..2 {
            let nodes = Arc::new(AtomicUsize::new(0));
            let n = nodes.clone();
            let size = rt.block_on(tree(depth, branching, n)).unwrap();
            assert_eq!(size, tree_size(depth, branching), "{name}");
            assert_eq!(nodes.load(SeqCst) as u64, size, "{name}: every node ran once");
            assert!(rt.handle().all_tasks().is_empty(), "{name}: {:?}", rt.handle().all_tasks());
        }
    }
}

const THREADS: u64 = 4;
const PER_THREAD: u64 = 300;
const CHILDREN: u64 = 4;

/// Foreign threads spawn tasks with `Handle::spawn` (and named ones with
/// `task::Builder::spawn_on`) while the root task and those tasks spawn
/// children with `ravel::spawn`: every task runs once and the sums add up.
/// CPython analogue: `run_coroutine_threadsafe` from several threads while
/// the loop's own tasks call `create_task` (`test_tasks.py::RunCoroutineThreadsafeTests`).
#[test]
fn k_spawn_from_foreign_threads_and_tasks_concurrently() {
    for (name, rt) in runtimes() {
        let sum = Arc::new(AtomicU64::new(0));
        let ran = Arc::new(AtomicUsize::new(0));
        // The root task spawns its own children while the threads spawn.
        let (s, r) = (sum.clone(), ran.clone());
        let root = rt.handle().spawn(async move {
            let mut local = Vec::new();
            for i in 0..PER_THREAD {
                let (s, r) = (s.clone(), r.clone());
                local.push(ravel::spawn(async move {
                    r.fetch_add(1, SeqCst);
                    s.fetch_add(i, SeqCst);
                    ravel::yield_now().await?;
                    Ok(i)
                }));
            }
            let mut total = 0;
            for t in local {
                total += t.await?;
            }
            Ok(total)
        });
        let threads: Vec<_> = (0..THREADS)
            .map(|k| {
                let handle: Handle = rt.handle().clone();
                let (s, r) = (sum.clone(), ran.clone());
                std::thread::spawn(move || {
                    (0..PER_THREAD)
                        .map(|i| {
                            let (s, r) = (s.clone(), r.clone());
                            let body = async move {
                                r.fetch_add(1, SeqCst);
                                let children: Vec<Task<u64>> = (0..CHILDREN)
                                    .map(|c| {
                                        let (s, r) = (s.clone(), r.clone());
                                        ravel::spawn(async move {
                                            r.fetch_add(1, SeqCst);
                                            s.fetch_add(c, SeqCst);
                                            Ok(c)
                                        })
                                    })
                                    .collect();
                                let mut total = 0;
                                for c in children {
                                    total += c.await?;
                                }
                                Ok(total)
                            };
                            if i % 2 == 0 {
                                handle.spawn(body)
                            } else {
                                ravel::task::Builder::new().name(format!("t{k}-{i}")).spawn_on(&handle, body)
                            }
                        })
                        .collect::<Vec<Task<u64>>>()
                })
            })
            .collect();
        let mut tasks = Vec::new();
        for t in threads {
            tasks.extend(t.join().unwrap());
        }
        for (j, t) in tasks.iter().enumerate() {
            let (k, i) = (j as u64 / PER_THREAD, j as u64 % PER_THREAD);
            if i % 2 == 1 {
                assert_eq!(t.name(), format!("t{k}-{i}"), "{name}");
            }
        }
        let (root_total, thread_totals) = rt
            .block_on(async move {
                let mut totals = Vec::new();
                for t in tasks {
                    totals.push(t.await?);
                }
                Ok((root.await?, totals))
            })
            .unwrap();
        let child_sum: u64 = (0..CHILDREN).sum();
        let root_expected: u64 = (0..PER_THREAD).sum();
        assert_eq!(root_total, root_expected, "{name}");
        assert!(thread_totals.iter().all(|&t| t == child_sum), "{name}");
        assert_eq!(thread_totals.len() as u64, THREADS * PER_THREAD, "{name}");
        let tasks_run = PER_THREAD + THREADS * PER_THREAD * (1 + CHILDREN);
        assert_eq!(ran.load(SeqCst) as u64, tasks_run, "{name}: each task ran once");
        assert_eq!(sum.load(SeqCst), root_expected + THREADS * PER_THREAD * child_sum, "{name}");
    }
}

/// Detached spawns (handles dropped at once) from foreign threads and from
/// tasks: each still runs exactly once; the last one to finish completes a
/// promise the test awaits. CPython: `test_tasks.py::test_create_task`
/// (a task runs without being awaited).
#[test]
fn b_detached_spawns_from_threads_and_tasks_all_run() {
    for (name, rt) in runtimes() {
        let total = (THREADS * PER_THREAD * 2) as usize;
        let finished = Arc::new(AtomicUsize::new(0));
        let all_done: Promise<()> = Promise::new();
        let finish = {
            let (finished, all_done) = (finished.clone(), all_done.clone());
            move || {
                if finished.fetch_add(1, SeqCst) + 1 == total {
                    all_done.set_result(()).unwrap();
                }
            }
        };
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let handle = rt.handle().clone();
                let finish = finish.clone();
                std::thread::spawn(move || {
                    for _ in 0..PER_THREAD {
                        let finish = finish.clone();
                        drop(handle.spawn(async move {
                            // Each foreign-spawned task spawns one detached child.
                            let f = finish.clone();
                            drop(ravel::spawn(async move {
                                ravel::yield_now().await?;
                                f();
                                Ok(())
                            }));
                            finish();
                            Ok(())
                        }));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        rt.block_on(all_done).unwrap();
        assert_eq!(finished.load(SeqCst), total, "{name}");
    }
}
