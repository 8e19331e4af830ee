//! Writes `docs/benchmarks.md` and `docs/benchmarks.svg` from criterion's
//! output (`target/criterion/<group>/<workload>/<runtime>/new/estimates.json`,
//! median point estimate), `target/ravel-bench/run.json` (written by the
//! bench) and `target/ravel-bench/memory.json` (written by the `memory` bin).
//! `bench/report-notes.md`, if present, is appended verbatim (profiles and
//! explanations that must survive regeneration).
//!
//! `cargo run -p ravel-bench --bin report`

use plotters::prelude::*;
use ravel_bench::{workloads, Group, RavelRt, GROUPS};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// One compared workload.
struct Row {
    group: Group,
    name: &'static str,
    about: &'static str,
    target: Option<f64>,
    tokio: Option<f64>,
    ravel: Option<f64>,
}

impl Row {
    fn ratio(&self) -> Option<f64> {
        Some(self.ravel? / self.tokio?)
    }

    fn verdict(&self) -> &'static str {
        match (self.target, self.ratio()) {
            (Some(t), Some(r)) if r <= t => "met",
            (Some(_), Some(_)) => "**not met**",
            (Some(_), None) => "no data",
            (None, _) => "",
        }
    }
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&fs::read_to_string(path).ok()?).ok()
}

/// Every `new/estimates.json` under `dir`, keyed by criterion's full id.
fn collect_medians(dir: &Path, out: &mut BTreeMap<String, f64>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if !p.is_dir() {
            continue;
        }
        if p.file_name().is_some_and(|n| n == "new") {
            let (Some(bench), Some(est)) = (read_json(&p.join("benchmark.json")), read_json(&p.join("estimates.json")))
            else {
                continue;
            };
            if let (Some(id), Some(median)) = (bench["full_id"].as_str(), est["median"]["point_estimate"].as_f64()) {
                out.insert(id.to_string(), median);
            }
        } else {
            collect_medians(&p, out);
        }
    }
}

fn fmt_ns(ns: Option<f64>) -> String {
    match ns {
        None => "—".to_string(),
        Some(ns) if ns >= 1e9 => format!("{:.3} s", ns / 1e9),
        Some(ns) if ns >= 1e6 => format!("{:.3} ms", ns / 1e6),
        Some(ns) if ns >= 1e3 => format!("{:.2} µs", ns / 1e3),
        Some(ns) => format!("{ns:.0} ns"),
    }
}

fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "—".to_string(), |r| format!("{r:.2}"))
}

fn tokio_version(root: &Path) -> String {
    let lock = fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l == "name = \"tokio\"" {
            if let Some(v) = lines.next().and_then(|v| v.strip_prefix("version = ")) {
                return v.trim_matches('"').to_string();
            }
        }
    }
    "unknown".to_string()
}

fn command_output(cmd: &str, args: &[&str], dir: &Path) -> Option<String> {
    let out = std::process::Command::new(cmd).args(args).current_dir(dir).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn oversubscribed(group: &Group, cores: usize) -> bool {
    group.workers > cores
}

/// One bar of the chart: a label, a lower-is-better ratio, its target.
struct Bar {
    label: String,
    ratio: f64,
    target: f64,
}

fn draw_chart(rows: &[Bar], path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let n = rows.len() as i32;
    let height = 90 + 17 * rows.len() as u32;
    let root = SVGBackend::new(path, (1100, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let ratios: Vec<f64> = rows.iter().map(|r| r.ratio).filter(|r| r.is_finite()).collect();
    let lo = ratios.iter().copied().fold(1.0f64, f64::min).min(0.5) * 0.8;
    let hi = ratios.iter().copied().fold(1.0f64, f64::max).max(2.0) * 1.25;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Ravel / Tokio: scheduler median time, and network CPU per request, req/s and latency (log scale; < 1 = Ravel better)",
            ("sans-serif", 15),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(470)
        .build_cartesian_2d((lo..hi).log_scale(), (0..n).into_segmented())?;
    let labels: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows.len())
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) if (0..n).contains(i) => labels[(n - 1 - i) as usize].clone(),
            _ => String::new(),
        })
        .x_desc("ratio Ravel/other (lower is better)")
        .x_label_formatter(&|x| format!("{x:.2}"))
        .label_style(("sans-serif", 12))
        .draw()?;
    chart.draw_series(rows.iter().enumerate().filter_map(|(i, r)| {
        let ratio = r.ratio;
        if !ratio.is_finite() {
            return None;
        }
        let color = if ratio <= r.target { RGBColor(46, 139, 87) } else { RGBColor(205, 62, 62) };
        // Row 0 at the top.
        let i = n - 1 - i as i32;
        let mut bar =
            Rectangle::new([(lo, SegmentValue::Exact(i)), (ratio, SegmentValue::Exact(i + 1))], color.filled());
        bar.set_margin(2, 2, 0, 0);
        Some(bar)
    }))?;
    chart.draw_series(LineSeries::new(
        [(1.0, SegmentValue::Exact(0)), (1.0, SegmentValue::Exact(n))],
        BLACK.stroke_width(2),
    ))?;
    root.present()?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize()?;
    let target = ravel_bench::target_dir();
    let mut medians = BTreeMap::new();
    collect_medians(&target.join("criterion"), &mut medians);
    if medians.is_empty() {
        return Err(format!(
            "no criterion results under {}: run `cargo bench -p ravel-bench` first",
            target.join("criterion").display()
        )
        .into());
    }
    let run = read_json(&target.join("ravel-bench/run.json"));
    let memory = read_json(&target.join("ravel-bench/memory.json"));
    let (cores, cpu) = ravel_bench::machine();
    let quick = run.as_ref().and_then(|r| r["quick"].as_bool()).unwrap_or(false);

    let wls = workloads::<RavelRt>();
    let mut rows = Vec::new();
    for g in GROUPS {
        for wl in wls.iter().filter(|w| w.class == g.class) {
            let id = |rt: &str| format!("{}/{}/{}", g.name, wl.name, rt);
            rows.push(Row {
                group: *g,
                name: wl.name,
                about: wl.about,
                target: if g.workers == 2 { wl.target } else { None },
                tokio: medians.get(&id("tokio")).copied(),
                ravel: medians.get(&id("ravel")).copied(),
            });
        }
    }

    // benches/fs_process.rs: the same id scheme, its own groups.
    for &(name, workers) in ravel_bench::FS_PROCESS_GROUPS {
        for &(wl, about) in ravel_bench::FS_PROCESS_WORKLOADS {
            let id = |rt: &str| format!("{name}/{wl}/{rt}");
            rows.push(Row {
                group: Group { name, class: ravel_bench::Class::Scheduler, workers, eager: false },
                name: wl,
                about,
                target: if workers == 2 { Some(1.0) } else { None },
                tokio: medians.get(&id("tokio")).copied(),
                ravel: medians.get(&id("ravel")).copied(),
            });
        }
    }
    let is_fs_process = |r: &Row| ravel_bench::FS_PROCESS_GROUPS.iter().any(|(n, _)| *n == r.group.name);

    let docs = root.join("docs");
    fs::create_dir_all(&docs)?;
    let net = fs::read_to_string(target.join("net-results.jsonl")).ok().map(|s| ravel_bench::net::report::parse(&s));
    let mut bars: Vec<Bar> = rows
        .iter()
        .filter_map(|r| {
            Some(Bar {
                label: format!("{}/{}", r.group.name, r.name),
                ratio: r.ratio()?,
                target: r.target.unwrap_or(1.0),
            })
        })
        .collect();
    if let Some(net) = &net {
        bars.extend(ravel_bench::net::report::targets(net).into_iter().map(|t| Bar {
            label: format!("net/{}", t.label),
            ratio: t.ratio,
            target: t.target,
        }));
    }
    draw_chart(&bars, &docs.join("benchmarks.svg"))?;

    let mut md = String::new();
    writeln!(md, "# Ravel vs Tokio benchmarks\n")?;
    writeln!(md, "<!-- Generated by `cargo run -p ravel-bench --bin report`; do not edit by hand. -->\n")?;
    if quick {
        writeln!(
            md,
            "> **Quick-mode numbers** (`RAVEL_BENCH_QUICK=1`: ~10 short samples per workload). They prove the \
             harness runs end to end; they are not the measurement. Regenerate after a full `cargo bench -p ravel-bench`.\n"
        )?;
    }
    let date = run.as_ref().and_then(|r| r["date"].as_str()).unwrap_or("unknown").to_string();
    let args = run
        .as_ref()
        .and_then(|r| r["args"].as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    writeln!(md, "## Setup\n")?;
    writeln!(md, "- Machine: {cores} logical cores, {cpu}")?;
    writeln!(md, "- Benchmarks run: {date}; report generated: {}", ravel_bench::utc_now())?;
    // The commit the last criterion invocation measured (recorded by it;
    // older run.json files have none), and the one this report is made at.
    let measured = run.as_ref().and_then(|r| r["commit"].as_str()).unwrap_or("not recorded").to_string();
    let head = command_output("git", &["rev-parse", "--short", "HEAD"], &root).unwrap_or_else(|| "unknown".into());
    writeln!(
        md,
        "- Tokio {}, criterion 0.8; the last criterion invocation measured Ravel at commit `{measured}`; report generated at `{head}`",
        tokio_version(&root)
    )?;
    if let Some(v) = command_output("rustc", &["--version"], &root) {
        writeln!(md, "- {v}")?;
    }
    writeln!(
        md,
        "- Criterion bench arguments of that invocation: `{args}` (criterion keeps each benchmark's latest \
         measurement, so a partial invocation replaces only the benchmarks it matched; the notes name the \
         full run's commit)"
    )?;
    writeln!(md, "\nReproduce (from the workspace root):\n")?;
    writeln!(md, "```sh")?;
    writeln!(md, "cargo bench -p ravel-bench                         # full suite (~10 min on 2 cores)")?;
    writeln!(md, "RAVEL_BENCH_QUICK=1 cargo bench -p ravel-bench     # every workload briefly, results asserted")?;
    writeln!(md, "cargo run --release -p ravel-bench --bin memory    # memory per idle task")?;
    writeln!(md, "cargo run -p ravel-bench --bin report              # this file and benchmarks.svg")?;
    writeln!(md, "```\n")?;
    writeln!(
        md,
        "One criterion run holds both runtimes: ids `<group>/<workload>/tokio` and `<group>/<workload>/ravel`. \
         Each workload is written once against an adapter trait (`bench/src/lib.rs`); completion is signalled \
         with `std::sync::mpsc`/atomics and channels are `futures-channel`, so only the scheduler differs. \
         Runtimes are built once per group, outside the measured loops, with the same explicit worker count. \
         Every iteration's result is asserted. Medians of criterion's estimates; ratio = Ravel / Tokio \
         (lower is better).\n"
    )?;
    writeln!(md, "**`block_on` differs.** Tokio's multi-thread `block_on` runs the future on the calling thread, which is not a worker: its spawns go through the global inject queue. Ravel's `block_on` runs the future *as a task on a worker*: its spawns are worker-local (and eager when eager start is on). Workloads named `*_in_task` run the same body inside a task spawned from `block_on`, so both runtimes spawn from a worker. `ping_pong` and `chained_spawn` already spawn a single task from `block_on` and do all their work inside it, as in Tokio's suite.\n")?;
    writeln!(md, "Tokio's `busy1`/`busy2` background load is relative to the worker count (2×workers yield+stall loops; `workers` stall chains): the `w4` group has Tokio 1.54's exact parameters (8 and 4).\n")?;
    writeln!(md, "![ratios](benchmarks.svg)\n")?;

    // Targets summary.
    let unmet: Vec<&Row> = rows.iter().filter(|r| r.verdict() == "**not met**").collect();
    let met = rows.iter().filter(|r| r.verdict() == "met").count();
    writeln!(md, "## Targets (2 workers)\n")?;
    writeln!(
        md,
        "Median ratio Ravel/Tokio at 2 workers: ≤ 1.00 on every mirrored workload, timers, cancellation, \
         TaskGroup vs JoinSet and to_thread vs spawn_blocking; ≤ 0.50 on the eager set's ready-future spawns, \
         round trip and the 0.9 / 0.99 cache mixes. Applied to both the `block_on` and the `_in_task` variant.\n"
    )?;
    writeln!(md, "{met} met, {} not met{}.\n", unmet.len(), if quick { " (quick-mode numbers)" } else { "" })?;
    if !unmet.is_empty() {
        writeln!(md, "| workload | ratio | target |\n|---|---:|---:|")?;
        for r in &unmet {
            writeln!(
                md,
                "| {}/{} | {} | ≤ {:.2} |",
                r.group.name,
                r.name,
                fmt_ratio(r.ratio()),
                r.target.unwrap_or(1.0)
            )?;
        }
        writeln!(md)?;
    }

    for g in GROUPS {
        let over = oversubscribed(g, cores);
        let eager = if g.eager { ", Ravel with `eager_tasks(true)`, Tokio unchanged" } else { "" };
        writeln!(
            md,
            "## `{}`: {} worker{}{}{}\n",
            g.name,
            g.workers,
            if g.workers == 1 { "" } else { "s" },
            eager,
            if over { " — **oversubscribed** (more workers than cores)" } else { "" }
        )?;
        writeln!(md, "| workload | workers | Tokio median | Ravel median | Ravel/Tokio | target | |")?;
        writeln!(md, "|---|---:|---:|---:|---:|---:|---|")?;
        for r in rows.iter().filter(|r| r.group.name == g.name) {
            writeln!(
                md,
                "| `{}` | {} | {} | {} | {} | {} | {} |",
                r.name,
                g.workers,
                fmt_ns(r.tokio),
                fmt_ns(r.ravel),
                fmt_ratio(r.ratio()),
                r.target.map_or_else(String::new, |t| format!("≤ {t:.2}")),
                r.verdict()
            )?;
        }
        writeln!(md)?;
    }

    writeln!(md, "## Files and subprocesses (`benches/fs_process.rs`)\n")?;
    writeln!(md, "Run with `cargo bench -p ravel-bench --bench fs_process`; both sides run inside a spawned task.\n")?;
    writeln!(md, "| group | workload | workers | Tokio median | Ravel median | Ravel/Tokio | target | |")?;
    writeln!(md, "|---|---|---:|---:|---:|---:|---:|---|")?;
    for r in rows.iter().filter(|r| is_fs_process(r)) {
        writeln!(
            md,
            "| `{}` | `{}` | {} | {} | {} | {} | {} | {} |",
            r.group.name,
            r.name,
            r.group.workers,
            fmt_ns(r.tokio),
            fmt_ns(r.ravel),
            fmt_ratio(r.ratio()),
            r.target.map_or_else(String::new, |t| format!("≤ {t:.2}")),
            r.verdict()
        )?;
    }
    writeln!(md)?;

    writeln!(md, "## Memory per idle task\n")?;
    match &memory {
        None => writeln!(md, "Not measured yet: run `cargo run --release -p ravel-bench --bin memory`.\n")?,
        Some(m) => {
            writeln!(
                md,
                "{} tasks spawned from inside the runtime ({} workers, handles dropped), each parked on a 1 h sleep; \
                 growth of live heap bytes (counting global allocator) divided by the task count. *Cold*: first \
                 batch on a fresh runtime (includes one-time growth of queues and timer structures); *warm*: a \
                 second batch on the same runtime. Measured {}.\n",
                m["tasks"],
                m["workers"],
                m["date"].as_str().unwrap_or("?")
            )?;
            writeln!(
                md,
                "| runtime | cold bytes/task | warm bytes/task | warm allocations/task | blocks allocated per task |\n\
                 |---|---:|---:|---:|---|"
            )?;
            let rows = m["rows"].as_array().cloned().unwrap_or_default();
            for r in &rows {
                writeln!(
                    md,
                    "| {} | {:.0} | {:.0} | {:.2} | {} |",
                    r["runtime"].as_str().unwrap_or("?"),
                    r["cold_bytes_per_task"].as_f64().unwrap_or(f64::NAN),
                    r["warm_bytes_per_task"].as_f64().unwrap_or(f64::NAN),
                    r["warm_allocs_per_task"].as_f64().unwrap_or(f64::NAN),
                    r["per_task_allocation_sizes"]
                        .as_array()
                        .map(|a| a.iter().map(|v| format!("{v} B")).collect::<Vec<_>>().join(", "))
                        .unwrap_or_default()
                )?;
            }
            let warm =
                |rt: &str| rows.iter().find(|r| r["runtime"] == rt).and_then(|r| r["warm_bytes_per_task"].as_f64());
            if let (Some(t), Some(r)) = (warm("tokio"), warm("ravel")) {
                writeln!(
                    md,
                    "\nTarget (Ravel ≤ Tokio, warm): {} ({:.0} vs {:.0} bytes).",
                    if r <= t { "met" } else { "**not met**" },
                    r,
                    t
                )?;
            }
            writeln!(md)?;
        }
    }

    writeln!(md, "## Network: servers under a real load generator\n")?;
    match &net {
        None => writeln!(md, "Not measured yet: run `bash bench/net/run.sh` (writes `target/net-results.jsonl`).\n")?,
        Some(net) => {
            writeln!(
                md,
                "`bash bench/net/run.sh` (`netbench`: each case's servers in turn, order rotated every round; server \
                 pinned to CPU 0 with `taskset`, wrk or this crate's mio clients pinned to CPU 1). Ravel runs 1 \
                 worker; Tokio runs `multi_thread(1)` (`tokio-mt`) and `current_thread` (`tokio-ct`); `mio` is the \
                 same minimal responder on raw mio, one thread, no runtime (the ceiling). **Server CPU per \
                 operation** (user+system of the server process over the measured interval, from `/proc/<pid>/stat`, \
                 divided by requests, round trips or connections) is the deciding figure: req/s of a fast server \
                 measures wrk; it is also split into user and kernel time (\"Where the time goes\"). The hyper \
                 servers set `pipeline_flush(true)` on both runtimes (as TechEmpower's hyper entry does): without it \
                 hyper writes every pipelined response with a syscall of its own. Latency: wrk's p99 for plain keep-alive runs; for pipelined runs, p99 per 16-request \
                 batch from `net::client::pipelined` in a second 2 s pass (wrk's own figures apply a per-response \
                 correction to per-batch samples); per round trip for echo; per connection for churn. Idle shows \
                 which side was saturated; a round with steal > 5 % is measured again. *Fairness* (echo and churn, from this \
                 crate's client): the least-served connection's operations over the median connection's, 1.0 when every \
                 connection was served alike.\n"
            )?;
            writeln!(md, "{}", ravel_bench::net::report::section(net))?;
        }
    }

    writeln!(md, "## Workloads\n")?;
    writeln!(md, "| workload | set | what one iteration does |\n|---|---|---|")?;
    let mut seen = std::collections::HashSet::new();
    for r in &rows {
        if is_fs_process(r) {
            if seen.insert((r.group.class, r.name)) {
                writeln!(md, "| `{}` | files and subprocesses (fs_process_w1, fs_process_w2) | {} |", r.name, r.about)?;
            }
            continue;
        }
        if seen.insert((r.group.class, r.name)) {
            let set = match r.group.class {
                ravel_bench::Class::Scheduler => "scheduler (w2, w4)",
                ravel_bench::Class::OneWorker => "1 worker (w1)",
                ravel_bench::Class::Eager => "eager (w2_eager, w4_eager)",
            };
            writeln!(md, "| `{}` | {set} | {} |", r.name, r.about)?;
        }
    }
    writeln!(md)?;

    if let Ok(notes) = fs::read_to_string(root.join("bench/report-notes.md")) {
        writeln!(md, "{}", notes.trim_end())?;
    }

    fs::write(docs.join("benchmarks.md"), md)?;
    println!("wrote {} and {}", docs.join("benchmarks.md").display(), docs.join("benchmarks.svg").display());
    Ok(())
}
