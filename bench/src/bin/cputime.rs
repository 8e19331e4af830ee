//! CPU time per iteration next to wall time, for Tokio and Ravel: how many
//! cores each runtime keeps busy on a workload. Criterion measures wall time
//! only; this explains ratios where one runtime spreads work over more
//! threads than the other (for example the eager `block_on` variants, where
//! Ravel runs every ready spawn inline on one worker).
//!
//! `cargo run --release -p ravel-bench --bin cputime -- <group> <workload> [iterations]`
//! e.g. `cargo run --release -p ravel-bench --bin cputime -- w2_eager cache_mix_90 300`
//!
//! Process CPU time (user and system, all threads) comes from
//! `/proc/self/stat` (Linux); wall time from `Instant`. Each runtime is
//! built once, warmed up for a tenth of the iterations, then measured.

use ravel_bench::{workloads, Group, RavelRt, Rt, Sizes, TokioRt, GROUPS};
use std::time::{Duration, Instant};

/// User and system CPU time of this process so far.
fn cpu_times() -> (Duration, Duration) {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("read /proc/self/stat (Linux only)");
    // Fields after the command name (which is in parentheses and may hold
    // spaces): state is field 3, utime 14, stime 15 (1-based).
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields[i].parse::<u64>().expect("clock ticks");
    // `/proc` reports times in USER_HZ ticks, 100 per second on Linux
    // whatever the kernel's own tick rate.
    let to_duration = |t: u64| Duration::from_millis(t * 10);
    (to_duration(ticks(11)), to_duration(ticks(12)))
}

struct Measured {
    wall: Duration,
    user: Duration,
    system: Duration,
}

fn measure<R: Rt>(group: &Group, name: &str, iterations: u32) -> Measured {
    let rt = R::build(group.workers, group.eager);
    let wl = workloads::<R>()
        .into_iter()
        .find(|w| w.class == group.class && w.name == name)
        .unwrap_or_else(|| panic!("no workload {name} in group {}", group.name));
    let expected = (wl.expected)(&Sizes::FULL);
    let mut prepared = (wl.prepare)(&rt, Sizes::FULL);
    for _ in 0..iterations.div_ceil(10) {
        assert_eq!(prepared.run().value, expected, "{name}: wrong result");
    }
    let (user0, system0) = cpu_times();
    let start = Instant::now();
    for _ in 0..iterations {
        assert_eq!(prepared.run().value, expected, "{name}: wrong result");
    }
    let wall = start.elapsed();
    let (user1, system1) = cpu_times();
    Measured { wall, user: user1 - user0, system: system1 - system0 }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(group), Some(name)) = (args.first(), args.get(1)) else {
        eprintln!("usage: cputime <group> <workload> [iterations]");
        std::process::exit(2);
    };
    let iterations: u32 = args.get(2).map_or(200, |n| n.parse().expect("iterations: a number"));
    let group = GROUPS.iter().find(|g| g.name == group).unwrap_or_else(|| panic!("no group {group}"));
    println!("{}/{name}, {iterations} iterations, {} workers", group.name, group.workers);
    println!("{:<6} {:>14} {:>14} {:>14} {:>10}", "", "wall/iter", "user/iter", "system/iter", "cores");
    for (runtime, m) in
        [("tokio", measure::<TokioRt>(group, name, iterations)), ("ravel", measure::<RavelRt>(group, name, iterations))]
    {
        let per = |d: Duration| d / iterations;
        let cores = (m.user + m.system).as_secs_f64() / m.wall.as_secs_f64();
        println!("{runtime:<6} {:>14.1?} {:>14.1?} {:>14.1?} {cores:>10.2}", per(m.wall), per(m.user), per(m.system));
    }
}
