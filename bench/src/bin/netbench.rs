//! The network benchmarks: the same servers on Ravel, Tokio and raw mio
//! (`netserver`), driven by `wrk` or by this crate's clients, side by side
//! in one run. Run it through `bench/net/run.sh` (builds, installs wrk if
//! missing, and pins: server on CPU 0, load on CPU 1).
//!
//!     netbench [--rounds N] [--duration SECS] [--only SUBSTRING] [--runtime NAME] [--out FILE] [--append]
//!
//! For each case, each round starts every runtime's server in turn (the
//! order rotates every round, so no runtime always goes first), warms it
//! up for a second, then measures:
//!
//! * **server CPU per request**: user + system time of the server process
//!   over the measured interval (`/proc/<pid>/stat`), divided by the
//!   requests (or round trips, or connections) served — the deciding
//!   figure: req/s of a fast server measures the load generator. The two
//!   parts are recorded apart too: system time is the kernel's socket and
//!   epoll work, which every runtime makes the same syscalls for, and user
//!   time is where runtimes differ;
//! * req/s, and latency: wrk's `--latency` p50/p99 for plain keep-alive
//!   runs; for pipelined runs, per **batch** from this crate's pipelined
//!   client in a second pass (wrk's own figures apply a per-response
//!   correction to per-batch samples); per round trip for echo, per
//!   connection for churn;
//! * idle and steal of CPU 0 and CPU 1 over the interval (`/proc/stat`),
//!   so each row says which side was saturated; a round whose steal
//!   exceeds 5 % on either core is run again once.
//!
//! Each measurement is one JSON line in `--out`; the summary printed at the
//! end gives, per case, the median over rounds of each runtime's figures
//! and the median of the per-round ratios Ravel / other.

use ravel_bench::net::client::{self, quantile, ClientRun};
use ravel_bench::net::report::median;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
enum Load {
    Wrk { conns: usize, pipeline: Option<usize> },
    Echo { conns: usize, size: usize },
    Churn { conns: usize },
}

struct Case {
    name: &'static str,
    workload: &'static str,
    load: Load,
    runtimes: &'static [&'static str],
}

const HTTP_RUNTIMES: &[&str] = &["ravel", "tokio-mt", "tokio-ct"];
const WITH_MIO: &[&str] = &["ravel", "tokio-mt", "tokio-ct", "mio"];

fn cases() -> Vec<Case> {
    let mut v = vec![
        Case {
            name: "hyper_plain_c64",
            workload: "hyper",
            load: Load::Wrk { conns: 64, pipeline: None },
            runtimes: HTTP_RUNTIMES,
        },
        Case {
            name: "hyper_plain_c256",
            workload: "hyper",
            load: Load::Wrk { conns: 256, pipeline: None },
            runtimes: HTTP_RUNTIMES,
        },
        Case {
            name: "hyper_pipelined_c256",
            workload: "hyper",
            load: Load::Wrk { conns: 256, pipeline: Some(16) },
            runtimes: HTTP_RUNTIMES,
        },
        Case {
            name: "minimal_plain_c64",
            workload: "minimal",
            load: Load::Wrk { conns: 64, pipeline: None },
            runtimes: WITH_MIO,
        },
        Case {
            name: "minimal_plain_c256",
            workload: "minimal",
            load: Load::Wrk { conns: 256, pipeline: None },
            runtimes: WITH_MIO,
        },
        Case {
            name: "minimal_pipelined_c256",
            workload: "minimal",
            load: Load::Wrk { conns: 256, pipeline: Some(16) },
            runtimes: WITH_MIO,
        },
    ];
    for conns in [1, 64, 512] {
        for (size, label) in [(64, "64B"), (4096, "4KiB")] {
            let name: &'static str = Box::leak(format!("echo_c{conns}_{label}").into_boxed_str());
            v.push(Case { name, workload: "echo", load: Load::Echo { conns, size }, runtimes: WITH_MIO });
        }
    }
    v.push(Case { name: "churn_c16", workload: "minimal", load: Load::Churn { conns: 16 }, runtimes: WITH_MIO });
    v
}

/// One measured run.
#[derive(Debug, Clone)]
struct Row {
    commit: String,
    case: String,
    runtime: String,
    round: usize,
    ops: u64,
    secs: f64,
    cpu_us_per_op: f64,
    user_us_per_op: f64,
    sys_us_per_op: f64,
    p50_us: f64,
    p99_us: f64,
    /// Least-served connection's operations over the median connection's
    /// (`ClientRun::fairness`); NaN for wrk runs, which do not report it.
    fairness: f64,
    idle0: f64,
    idle1: f64,
    steal: f64,
}

impl Row {
    fn json(&self) -> String {
        format!(
            "{{\"commit\":\"{}\",\"case\":\"{}\",\"runtime\":\"{}\",\"round\":{},\"ops\":{},\"secs\":{:.3},\"ops_per_s\":{:.0},\"cpu_us_per_op\":{:.4},\"user_us_per_op\":{:.4},\"sys_us_per_op\":{:.4},\"p50_us\":{:.1},\"p99_us\":{:.1},\"fairness\":{},\"idle_cpu0\":{:.3},\"idle_cpu1\":{:.3},\"steal\":{:.3}}}",
            self.commit,
            self.case,
            self.runtime,
            self.round,
            self.ops,
            self.secs,
            self.ops as f64 / self.secs,
            self.cpu_us_per_op,
            self.user_us_per_op,
            self.sys_us_per_op,
            self.p50_us,
            self.p99_us,
            if self.fairness.is_finite() { format!("{:.3}", self.fairness) } else { "null".into() },
            self.idle0,
            self.idle1,
            self.steal
        )
    }
}

struct Args {
    /// The commit measured (`ravel_bench::git_commit`), written in every row.
    commit: String,
    rounds: usize,
    duration: Duration,
    only: Option<String>,
    runtime: Option<String>,
    out: String,
    append: bool,
    bin_dir: std::path::PathBuf,
}

fn parse_args() -> Args {
    let mut args = Args {
        commit: ravel_bench::git_commit(),
        rounds: 3,
        duration: Duration::from_secs(5),
        only: None,
        runtime: None,
        append: false,
        out: "target/net-results.jsonl".into(),
        bin_dir: std::env::current_exe().unwrap().parent().unwrap().to_path_buf(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--rounds" => args.rounds = it.next().unwrap().parse().unwrap(),
            "--duration" => args.duration = Duration::from_secs_f64(it.next().unwrap().parse().unwrap()),
            "--only" => args.only = it.next(),
            "--runtime" => args.runtime = it.next(),
            "--append" => args.append = true,
            "--out" => args.out = it.next().unwrap(),
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

fn pin_to_cpu(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes a bit
    // inside it; sched_setaffinity reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
}

/// (utime, stime) of `pid`, in ticks.
fn process_ticks(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the parenthesised command: state is field 3; utime 14, stime 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    (fields[11].parse::<u64>().unwrap(), fields[12].parse::<u64>().unwrap())
}

/// Per CPU (0 and 1): (idle+iowait, steal, total) jiffies.
fn cpu_times() -> [(u64, u64, u64); 2] {
    let stat = std::fs::read_to_string("/proc/stat").unwrap();
    let mut out = [(0, 0, 0); 2];
    for line in stat.lines() {
        for (i, slot) in out.iter_mut().enumerate() {
            if let Some(rest) = line.strip_prefix(&format!("cpu{i} ")) {
                let v: Vec<u64> = rest.split_whitespace().map(|x| x.parse().unwrap()).collect();
                let total: u64 = v.iter().take(8).sum();
                *slot = (v[3] + v[4], v[7], total);
            }
        }
    }
    out
}

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(bin_dir: &std::path::Path, runtime: &str, workload: &str) -> Server {
        let mut child = Command::new("taskset")
            .args(["-c", "0"])
            .arg(bin_dir.join("netserver"))
            .args([runtime, workload, "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start netserver (build it with the bench crate)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line.trim().strip_prefix("ready ").expect("netserver says ready").parse().unwrap();
        Server { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse_duration_us(s: &str) -> f64 {
    let (num, unit) = s.split_at(s.find(|c: char| c.is_alphabetic()).unwrap_or(s.len()));
    let v: f64 = num.parse().unwrap_or(0.0);
    match unit {
        "us" => v,
        "ms" => v * 1e3,
        "s" => v * 1e6,
        "m" => v * 60e6,
        _ => v,
    }
}

/// Runs wrk on CPU 1; returns (requests, seconds, p50 µs, p99 µs).
fn wrk(addr: SocketAddr, conns: usize, pipeline: Option<usize>, duration: Duration, lua: &str) -> (u64, f64, f64, f64) {
    let mut cmd = Command::new("taskset");
    cmd.args([
        "-c",
        "1",
        "wrk",
        "-t1",
        &format!("-c{conns}"),
        &format!("-d{}s", duration.as_secs_f64().ceil()),
        "--latency",
    ]);
    if let Some(depth) = pipeline {
        cmd.args(["-s", lua, &format!("http://{addr}/"), "--", &depth.to_string()]);
    } else {
        cmd.arg(format!("http://{addr}/"));
    }
    let out = cmd.output().expect("run wrk (bench/net/run.sh installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut requests = 0;
    let mut secs = duration.as_secs_f64();
    let (mut p50, mut p99) = (0.0, 0.0);
    for line in text.lines() {
        let t = line.trim();
        if let Some(idx) = t.find(" requests in ") {
            requests = t[..idx].trim().parse().unwrap_or(0);
            let after = &t[idx + " requests in ".len()..];
            secs = parse_duration_us(after.split(',').next().unwrap().trim()) / 1e6;
        } else if let Some(v) = t.strip_prefix("50%") {
            p50 = parse_duration_us(v.trim());
        } else if let Some(v) = t.strip_prefix("99%") {
            p99 = parse_duration_us(v.trim());
        }
        if t.contains("Socket errors") || t.contains("Non-2xx") {
            eprintln!("    wrk: {t}");
        }
    }
    (requests, secs, p50, p99)
}

fn measure(args: &Args, case: &Case, runtime: &str, round: usize, lua: &str) -> Row {
    let server = Server::start(&args.bin_dir, runtime, case.workload);
    let addr = server.addr;
    let warm = Duration::from_secs(1);
    let run_client = |d: Duration| -> ClientRun {
        match case.load {
            Load::Echo { conns, size } => client::echo(addr, conns, size, d),
            Load::Churn { conns } => client::churn(addr, conns, d),
            Load::Wrk { conns, pipeline } => client::pipelined(addr, conns, pipeline.unwrap_or(1), d),
        }
    };
    // Warm-up.
    match case.load {
        Load::Wrk { conns, pipeline } => drop(wrk(addr, conns, pipeline, warm, lua)),
        _ => drop(run_client(warm)),
    }
    let ticks0 = process_ticks(server.child.id());
    let cpu0 = cpu_times();
    let start = Instant::now();
    let mut fairness = f64::NAN;
    let (ops, secs, p50, p99) = match case.load {
        Load::Wrk { conns, pipeline } => wrk(addr, conns, pipeline, args.duration, lua),
        _ => {
            let mut run = run_client(args.duration);
            fairness = run.fairness();
            let (p50, p99) =
                (quantile(&mut run.latencies_us, 0.5) as f64, quantile(&mut run.latencies_us, 0.99) as f64);
            (run.ops, run.elapsed.as_secs_f64(), p50, p99)
        }
    };
    let _ = start;
    let ticks1 = process_ticks(server.child.id());
    let cpu1 = cpu_times();
    let (mut p50, mut p99) = (p50, p99);
    if let Load::Wrk { pipeline: Some(_), .. } = case.load {
        // Per-batch latency, measured by our client (see the module docs).
        let mut run = run_client(Duration::from_secs(2));
        p50 = quantile(&mut run.latencies_us, 0.5) as f64;
        p99 = quantile(&mut run.latencies_us, 0.99) as f64;
    }
    drop(server);
    let user_secs = (ticks1.0 - ticks0.0) as f64 / clock_ticks();
    let sys_secs = (ticks1.1 - ticks0.1) as f64 / clock_ticks();
    let per_op = |secs: f64| secs * 1e6 / ops.max(1) as f64;
    let frac = |i: usize, f: fn((u64, u64, u64)) -> u64| {
        let total = (cpu1[i].2 - cpu0[i].2).max(1) as f64;
        (f(cpu1[i]) - f(cpu0[i])) as f64 / total
    };
    Row {
        commit: args.commit.clone(),
        case: case.name.to_string(),
        runtime: runtime.to_string(),
        round,
        ops,
        secs,
        cpu_us_per_op: per_op(user_secs + sys_secs),
        user_us_per_op: per_op(user_secs),
        sys_us_per_op: per_op(sys_secs),
        p50_us: p50,
        p99_us: p99,
        fairness,
        idle0: frac(0, |t| t.0),
        idle1: frac(1, |t| t.0),
        steal: frac(0, |t| t.1).max(frac(1, |t| t.1)),
    }
}

fn main() {
    let args = parse_args();
    pin_to_cpu(1);
    let lua = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("net/pipeline.lua");
    let lua = lua.to_str().unwrap().to_string();
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(!args.append)
        .append(args.append)
        .open(&args.out)
        .unwrap();
    let mut rows: Vec<Row> = Vec::new();
    for case in cases() {
        if let Some(only) = &args.only {
            if !case.name.contains(only.as_str()) {
                continue;
            }
        }
        println!("== {}", case.name);
        for round in 0..args.rounds {
            let n = case.runtimes.len();
            for k in 0..n {
                let runtime = case.runtimes[(k + round) % n];
                if args.runtime.as_deref().is_some_and(|only| only != runtime) {
                    continue;
                }
                let mut row = measure(&args, &case, runtime, round, &lua);
                if row.steal > 0.05 {
                    println!("    steal {:.1}% on {runtime}: measuring the round again", row.steal * 100.0);
                    row = measure(&args, &case, runtime, round, &lua);
                }
                println!(
                    "  round {round} {runtime:9} {:>10.0} ops/s  cpu/op {:>8.3} µs  p50 {:>8.1} µs  p99 {:>8.1} µs  fair {:>5.2}  idle cpu0 {:>4.1}% cpu1 {:>4.1}%  steal {:.1}%",
                    row.ops as f64 / row.secs,
                    row.cpu_us_per_op,
                    row.p50_us,
                    row.p99_us,
                    row.fairness,
                    row.idle0 * 100.0,
                    row.idle1 * 100.0,
                    row.steal * 100.0
                );
                writeln!(out, "{}", row.json()).unwrap();
                rows.push(row);
            }
        }
        summarize(&case, &rows);
    }
}

fn summarize(case: &Case, rows: &[Row]) {
    let of = |rt: &str| rows.iter().filter(|r| r.case == case.name && r.runtime == rt).cloned().collect::<Vec<_>>();
    let ravel = of("ravel");
    println!("  summary {} (medians over rounds; ratios are medians of per-round Ravel/other):", case.name);
    for rt in case.runtimes {
        let r = of(rt);
        println!(
            "    {rt:9} ops/s {:>10.0}  cpu/op {:>8.3} µs  p99 {:>8.1} µs",
            median(r.iter().map(|x| x.ops as f64 / x.secs).collect()),
            median(r.iter().map(|x| x.cpu_us_per_op).collect()),
            median(r.iter().map(|x| x.p99_us).collect()),
        );
    }
    for rt in case.runtimes.iter().filter(|r| **r != "ravel") {
        let other = of(rt);
        let pair = |f: fn(&Row) -> f64| {
            median(
                ravel.iter().filter_map(|a| other.iter().find(|b| b.round == a.round).map(|b| f(a) / f(b))).collect(),
            )
        };
        println!(
            "    ravel/{rt:9} cpu/op {:.3}  ops/s {:.3}  p99 {:.3}",
            pair(|r| r.cpu_us_per_op),
            pair(|r| r.ops as f64 / r.secs),
            pair(|r| r.p99_us)
        );
    }
}
