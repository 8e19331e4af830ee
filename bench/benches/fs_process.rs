//! Files and subprocesses, Ravel (`ravel_io::fs`, `ravel_io::process`) vs
//! Tokio (`tokio::fs`, `tokio::process`): ids
//! `fs_process_w{1,2}/<workload>/{tokio,ravel}`, picked up by the report.
//!
//! `cargo bench -p ravel-bench --bench fs_process` (about a minute);
//! `RAVEL_BENCH_QUICK=1` for a short check. Both sides run the measured
//! work inside a spawned task, on runtimes built once per group with the
//! same worker count. Every iteration's result is asserted.

use criterion::{BenchmarkId, Criterion, SamplingMode};
use ravel_bench::{FS_PROCESS_GROUPS, FS_PROCESS_WORKLOADS};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const FILES: usize = 256;
const FILE_LEN: usize = 1024;
const READERS: usize = 32;
const CHILDREN: usize = 8;

/// `FILES` files of `FILE_LEN` bytes in a fresh directory.
fn small_files() -> (PathBuf, Arc<Vec<PathBuf>>) {
    let dir = std::env::temp_dir().join(format!("ravel-bench-fs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let paths: Vec<PathBuf> = (0..FILES)
        .map(|i| {
            let p = dir.join(format!("f{i}"));
            std::fs::write(&p, vec![(i % 251) as u8; FILE_LEN]).unwrap();
            p
        })
        .collect();
    (dir, Arc::new(paths))
}

fn ravel_read(rt: &ravel::Runtime, paths: &Arc<Vec<PathBuf>>) -> usize {
    let paths = paths.clone();
    rt.block_on(async move {
        let tasks: Vec<_> = (0..READERS)
            .map(|r| {
                let paths = paths.clone();
                ravel::spawn(async move {
                    let mut total = 0;
                    for p in paths.iter().skip(r).step_by(READERS) {
                        total += ravel_io::fs::read(p).await?.len();
                    }
                    Ok(total)
                })
            })
            .collect();
        let mut total = 0;
        for t in tasks {
            total += t.await?;
        }
        Ok(total)
    })
    .unwrap()
}

fn tokio_read(rt: &tokio::runtime::Runtime, paths: &Arc<Vec<PathBuf>>) -> usize {
    let paths = paths.clone();
    rt.block_on(async move {
        tokio::spawn(async move {
            let tasks: Vec<_> = (0..READERS)
                .map(|r| {
                    let paths = paths.clone();
                    tokio::spawn(async move {
                        let mut total = 0;
                        for p in paths.iter().skip(r).step_by(READERS) {
                            total += tokio::fs::read(p).await.unwrap().len();
                        }
                        total
                    })
                })
                .collect();
            let mut total = 0;
            for t in tasks {
                total += t.await.unwrap();
            }
            total
        })
        .await
        .unwrap()
    })
}

fn ravel_spawn(rt: &ravel::Runtime) -> i32 {
    rt.block_on(async {
        let tasks: Vec<_> = (0..CHILDREN)
            .map(|_| {
                ravel::spawn(async {
                    let options = ravel_io::process::Options::new();
                    let proc = ravel_io::process::create_subprocess_exec("/bin/true", [""; 0], options).await?;
                    proc.wait().await
                })
            })
            .collect();
        let mut codes = 0;
        for t in tasks {
            codes += t.await?;
        }
        Ok(codes)
    })
    .unwrap()
}

fn tokio_spawn(rt: &tokio::runtime::Runtime) -> i32 {
    rt.block_on(async {
        tokio::spawn(async {
            let tasks: Vec<_> = (0..CHILDREN)
                .map(|_| {
                    tokio::spawn(async {
                        let mut child = tokio::process::Command::new("/bin/true").spawn().unwrap();
                        child.wait().await.unwrap().code().unwrap()
                    })
                })
                .collect();
            let mut codes = 0;
            for t in tasks {
                codes += t.await.unwrap();
            }
            codes
        })
        .await
        .unwrap()
    })
}

fn main() {
    let quick = ravel_bench::quick_mode();
    let mut c = if quick {
        Criterion::default()
            .warm_up_time(Duration::from_millis(100))
            .measurement_time(Duration::from_millis(300))
            .sample_size(10)
    } else {
        Criterion::default()
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3))
            .sample_size(20)
    }
    .configure_from_args();
    let (dir, paths) = small_files();
    for &(group_name, workers) in FS_PROCESS_GROUPS {
        let tokio = tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build().unwrap();
        let ravel = ravel::Builder::new_multi_thread().worker_threads(workers).build().unwrap();
        let mut group = c.benchmark_group(group_name);
        if quick {
            group.sampling_mode(SamplingMode::Flat);
        }
        let [(read_name, _), (spawn_name, _)] = FS_PROCESS_WORKLOADS else { unreachable!("two workloads") };
        group.bench_function(BenchmarkId::new(*read_name, "tokio"), |b| {
            b.iter(|| assert_eq!(tokio_read(&tokio, &paths), FILES * FILE_LEN))
        });
        group.bench_function(BenchmarkId::new(*read_name, "ravel"), |b| {
            b.iter(|| assert_eq!(ravel_read(&ravel, &paths), FILES * FILE_LEN))
        });
        group.bench_function(BenchmarkId::new(*spawn_name, "tokio"), |b| b.iter(|| assert_eq!(tokio_spawn(&tokio), 0)));
        group.bench_function(BenchmarkId::new(*spawn_name, "ravel"), |b| b.iter(|| assert_eq!(ravel_spawn(&ravel), 0)));
        group.finish();
    }
    let _ = std::fs::remove_dir_all(dir);
    c.final_summary();
}
