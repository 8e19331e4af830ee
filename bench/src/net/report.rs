//! The network section of `docs/benchmarks.md`, from `netbench`'s JSON
//! lines (`target/net-results.jsonl`).

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One measured run, as `netbench` wrote it.
#[derive(Debug, Clone)]
pub struct NetRow {
    /// The commit measured (empty in results from before it was recorded).
    pub commit: String,
    /// The case (`hyper_plain_c64`, `echo_c1_64B`, ...).
    pub case: String,
    /// `ravel`, `tokio-mt`, `tokio-ct` or `mio`.
    pub runtime: String,
    /// The round it belongs to (pairs are formed within a round).
    pub round: u64,
    /// Operations per second.
    pub ops_per_s: f64,
    /// Server CPU (user + system) per operation, µs.
    pub cpu_us: f64,
    /// Its user part (the runtime's and the application's code), µs; NaN
    /// in results from before it was recorded.
    pub user_us: f64,
    /// Its system part (the kernel's socket and epoll work), µs.
    pub sys_us: f64,
    /// p99 latency, µs.
    pub p99_us: f64,
    /// Least-served connection's operations over the median connection's
    /// (this crate's clients only; NaN for wrk runs and older results).
    pub fairness: f64,
    /// Idle fraction of CPU 0 (server) and CPU 1 (load).
    pub idle: (f64, f64),
    /// Steal fraction (the larger of the two cores).
    pub steal: f64,
}

/// Parses `netbench`'s output.
pub fn parse(jsonl: &str) -> Vec<NetRow> {
    jsonl
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| NetRow {
            commit: v["commit"].as_str().unwrap_or_default().to_string(),
            case: v["case"].as_str().unwrap_or_default().to_string(),
            runtime: v["runtime"].as_str().unwrap_or_default().to_string(),
            round: v["round"].as_u64().unwrap_or(0),
            ops_per_s: v["ops_per_s"].as_f64().unwrap_or(f64::NAN),
            cpu_us: v["cpu_us_per_op"].as_f64().unwrap_or(f64::NAN),
            user_us: v["user_us_per_op"].as_f64().unwrap_or(f64::NAN),
            sys_us: v["sys_us_per_op"].as_f64().unwrap_or(f64::NAN),
            p99_us: v["p99_us"].as_f64().unwrap_or(f64::NAN),
            fairness: v["fairness"].as_f64().unwrap_or(f64::NAN),
            idle: (v["idle_cpu0"].as_f64().unwrap_or(f64::NAN), v["idle_cpu1"].as_f64().unwrap_or(f64::NAN)),
            steal: v["steal"].as_f64().unwrap_or(f64::NAN),
        })
        .collect()
}

/// The median (NaN for none).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// A compared figure with its target, for the tables and the chart.
#[derive(Debug, Clone)]
pub struct Target {
    /// `case: figure vs runtime`.
    pub label: String,
    /// Median of per-round ratios, oriented so that lower is better for Ravel.
    pub ratio: f64,
    /// The largest ratio that meets the target.
    pub target: f64,
    /// For a CPU/op figure: the ratio Ravel would reach if its user time
    /// were zero (its kernel time alone over the other's total), the floor
    /// no change in the runtime can go under. `None` for other figures.
    pub floor: Option<f64>,
}

fn per_round_ratio(rows: &[NetRow], case: &str, other: &str, f: fn(&NetRow) -> f64) -> f64 {
    per_round(rows, case, other, f, f)
}

/// The median over rounds of `ours(ravel) / theirs(other)`.
fn per_round(rows: &[NetRow], case: &str, other: &str, ours: fn(&NetRow) -> f64, theirs: fn(&NetRow) -> f64) -> f64 {
    let of = |rt: &str| rows.iter().filter(|r| r.case == case && r.runtime == rt).collect::<Vec<_>>();
    let (ravel, them) = (of("ravel"), of(other));
    median(ravel.iter().filter_map(|a| them.iter().find(|b| b.round == a.round).map(|b| ours(a) / theirs(b))).collect())
}

/// Ravel's kernel time over `other`'s total CPU: the CPU/op ratio with
/// Ravel's user time at zero (`None` without the split).
fn floor(rows: &[NetRow], case: &str, other: &str) -> Option<f64> {
    let f = per_round(rows, case, other, |r| r.sys_us, |r| r.cpu_us);
    f.is_finite().then_some(f)
}

/// The targets of the network issue, evaluated on `rows`.
pub fn targets(rows: &[NetRow]) -> Vec<Target> {
    let mut cases: Vec<String> = rows.iter().map(|r| r.case.clone()).collect();
    cases.dedup();
    let mut seen = std::collections::HashSet::new();
    cases.retain(|c| seen.insert(c.clone()));
    let has = |case: &str, rt: &str| rows.iter().any(|r| r.case == case && r.runtime == rt);
    let mut out = Vec::new();
    for case in &cases {
        if !has(case, "ravel") {
            continue;
        }
        let cpu = |r: &NetRow| r.cpu_us;
        if has(case, "tokio-mt") {
            out.push(Target {
                label: format!("{case}: CPU/op vs tokio-mt(1)"),
                ratio: per_round_ratio(rows, case, "tokio-mt", cpu),
                target: 0.90,
                floor: floor(rows, case, "tokio-mt"),
            });
        }
        if has(case, "tokio-ct") {
            out.push(Target {
                label: format!("{case}: CPU/op vs tokio-ct"),
                ratio: per_round_ratio(rows, case, "tokio-ct", cpu),
                target: 1.00,
                floor: floor(rows, case, "tokio-ct"),
            });
        }
        if case.starts_with("minimal") && has(case, "mio") {
            out.push(Target {
                label: format!("{case}: CPU/op vs raw mio"),
                ratio: per_round_ratio(rows, case, "mio", cpu),
                target: 1.15,
                floor: floor(rows, case, "mio"),
            });
        }
        if case.starts_with("hyper_pipelined") && has(case, "tokio-mt") {
            // req/s ≥ 1.10×: as a lower-is-better ratio, Tokio/Ravel ≤ 1/1.10.
            out.push(Target {
                label: format!("{case}: req/s vs tokio-mt(1) (inverted)"),
                ratio: 1.0 / per_round_ratio(rows, case, "tokio-mt", |r| r.ops_per_s),
                target: 1.0 / 1.10,
                floor: None,
            });
        }
        if (case.starts_with("echo") || case.starts_with("churn")) && has(case, "tokio-mt") {
            out.push(Target {
                label: format!("{case}: time/op vs tokio-mt(1)"),
                ratio: 1.0 / per_round_ratio(rows, case, "tokio-mt", |r| r.ops_per_s),
                target: 1.00,
                floor: None,
            });
        }
        if has(case, "tokio-mt") {
            out.push(Target {
                label: format!("{case}: p99 vs tokio-mt(1)"),
                ratio: per_round_ratio(rows, case, "tokio-mt", |r| r.p99_us),
                target: 1.00,
                floor: None,
            });
        }
    }
    out
}

/// The markdown section.
pub fn section(rows: &[NetRow]) -> String {
    let mut md = String::new();
    let mut cases: Vec<String> = Vec::new();
    for r in rows {
        if !cases.contains(&r.case) {
            cases.push(r.case.clone());
        }
    }
    let mut commits: Vec<&str> = rows.iter().map(|r| r.commit.as_str()).filter(|c| !c.is_empty()).collect();
    commits.sort_unstable();
    commits.dedup();
    if !commits.is_empty() {
        let _ = writeln!(
            md,
            "Measured at commit {}.\n",
            commits.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
        );
    }
    let targets = targets(rows);
    let met = targets.iter().filter(|t| t.ratio <= t.target).count();
    let _ = writeln!(md, "### Targets\n");
    let unreachable = targets.iter().filter(|t| t.ratio > t.target && t.floor.is_some_and(|f| f > t.target)).count();
    let _ = writeln!(md, "{met} of {} met. Ratios are medians of per-round Ravel/other ratios (lower is better for Ravel; req/s and time-per-op rows are inverted to read the same way). *Floor*, for CPU/op: Ravel's kernel time alone over the other server's total CPU, the ratio Ravel would reach if its own user-space time were zero. Where the floor is above the target ({unreachable} of the misses), no change to the runtime can meet it: the rest is the kernel's work for the same syscalls (see \"Where the time goes\").\n", targets.len());
    let _ = writeln!(md, "| figure | ratio | target | floor | |\n|---|---:|---:|---:|---|");
    for t in &targets {
        let verdict = match (t.ratio <= t.target, t.floor) {
            (true, _) => "met",
            (false, Some(f)) if f > t.target => "**not met** (floor above target)",
            (false, _) => "**not met**",
        };
        let floor = t.floor.map(|f| format!("{f:.3}")).unwrap_or_default();
        let _ = writeln!(md, "| {} | {:.3} | ≤ {:.3} | {floor} | {verdict} |", t.label, t.ratio, t.target);
    }
    let _ = writeln!(md);
    let _ = writeln!(md, "### Per case (medians over rounds)\n");
    let _ = writeln!(
        md,
        "| case | runtime | ops/s | server CPU/op | p99 | fairness | idle CPU0 (server) | idle CPU1 (load) | max steal |\n|---|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for case in &cases {
        let mut by_rt: BTreeMap<&str, Vec<&NetRow>> = BTreeMap::new();
        for r in rows.iter().filter(|r| &r.case == case) {
            by_rt.entry(r.runtime.as_str()).or_default().push(r);
        }
        for (rt, rs) in by_rt {
            let m = |f: fn(&NetRow) -> f64| median(rs.iter().map(|r| f(r)).collect());
            let _ = writeln!(
                md,
                "| `{case}` | {rt} | {:.0} | {:.3} µs | {:.0} µs | {} | {:.1} % | {:.1} % | {:.1} % |",
                m(|r| r.ops_per_s),
                m(|r| r.cpu_us),
                m(|r| r.p99_us),
                Some(m(|r| r.fairness)).filter(|f| f.is_finite()).map(|f| format!("{f:.2}")).unwrap_or_default(),
                m(|r| r.idle.0) * 100.0,
                m(|r| r.idle.1) * 100.0,
                rs.iter().map(|r| r.steal).fold(0.0, f64::max) * 100.0
            );
        }
    }
    let _ = writeln!(md);
    let _ = writeln!(md, "### Where the time goes: server CPU per operation, user and kernel (medians over rounds)\n");
    let _ = writeln!(md, "User time is the runtime's and the server code's; kernel time is the socket and epoll work of the syscalls, which `bench/net/syscalls.sh` counts per operation and which are the same on every runtime. *User over mio* is the user time per operation above raw mio's, what the runtime adds over a hand-written event loop.\n");
    let _ = writeln!(
        md,
        "| case | runtime | user/op | kernel/op | kernel share | user over mio |\n|---|---|---:|---:|---:|---:|"
    );
    for case in &cases {
        let of =
            |rt: &str| median(rows.iter().filter(|r| &r.case == case && r.runtime == rt).map(|r| r.user_us).collect());
        let mio_user = of("mio");
        let mut by_rt: BTreeMap<&str, Vec<&NetRow>> = BTreeMap::new();
        for r in rows.iter().filter(|r| &r.case == case) {
            by_rt.entry(r.runtime.as_str()).or_default().push(r);
        }
        for (rt, rs) in by_rt {
            let m = |f: fn(&NetRow) -> f64| median(rs.iter().map(|r| f(r)).collect());
            let (user, sys) = (m(|r| r.user_us), m(|r| r.sys_us));
            if !user.is_finite() {
                continue;
            }
            let over = if mio_user.is_finite() && rt != "mio" {
                format!("{:+.3} µs", user - mio_user)
            } else {
                String::new()
            };
            let _ = writeln!(
                md,
                "| `{case}` | {rt} | {user:.3} µs | {sys:.3} µs | {:.0} % | {over} |",
                100.0 * sys / (user + sys)
            );
        }
    }
    let _ = writeln!(md);
    md
}
