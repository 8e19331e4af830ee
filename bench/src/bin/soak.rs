//! The server soak (issue 14): the echo and HTTP examples' serving code
//! under load from many loopback clients, some of them hostile, with
//! `RLIMIT_NOFILE` lowered for part of the run; at the end live tasks,
//! open fds and heap back to baseline and no worker lost. See
//! `ravel_bench::soak` for what it does and checks.
//!
//! ```text
//! cargo run --release -p ravel-bench --bin soak -- [--duration SECS] [--clients N] [--server echo|http|both] [--workers N] [--emfile-hold SECS] [--short]
//! ```
//!
//! Defaults: 600 s (the maximum; the run stops by itself), 64 clients,
//! both servers, 2 workers. `--short` is the test suite's version (4 s,
//! 12 clients). Prints a summary, appends one JSON line to
//! `target/soak-results.jsonl`, and exits 1 if an end condition failed.
//! `bench/soak/run.sh` runs the 10-minute soak.

use ravel_bench::counting_alloc::Counting;
use ravel_bench::soak::{self, servers::Which, Config};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

#[global_allocator]
static GLOBAL: Counting = Counting;

fn parse() -> Result<Config, String> {
    let mut config = Config::full();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--short" => config = Config::short(),
            "--duration" => {
                let secs: f64 = value()?.parse().map_err(|e| format!("--duration: {e}"))?;
                config.duration = Duration::try_from_secs_f64(secs).map_err(|e| format!("--duration: {e}"))?;
            }
            "--emfile-hold" => {
                let secs: f64 = value()?.parse().map_err(|e| format!("--emfile-hold: {e}"))?;
                config.emfile_hold = Duration::try_from_secs_f64(secs).map_err(|e| format!("--emfile-hold: {e}"))?;
            }
            "--clients" => config.clients = value()?.parse().map_err(|e| format!("--clients: {e}"))?,
            "--workers" => config.workers = value()?.parse().map_err(|e| format!("--workers: {e}"))?,
            "--server" => {
                config.server = match value()?.as_str() {
                    "echo" => Which::Echo,
                    "http" => Which::Http,
                    "both" => Which::Both,
                    other => return Err(format!("--server: echo, http or both, not {other}")),
                }
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if config.clients == 0 || config.workers == 0 {
        return Err("--clients and --workers must be at least 1".into());
    }
    Ok(config)
}

fn results_file() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("soak-results.jsonl")
}

fn main() {
    let config = match parse() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("soak: {e}");
            std::process::exit(2);
        }
    };
    let report = match soak::run(&config) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    print!("{}", report.summary());
    let path = results_file();
    let line = report.json().to_string();
    let written = std::fs::create_dir_all(path.parent().unwrap())
        .and_then(|_| std::fs::OpenOptions::new().create(true).append(true).open(&path))
        .and_then(|mut f| writeln!(f, "{line}"));
    match written {
        Ok(()) => println!("  appended to {}", path.display()),
        Err(e) => eprintln!("soak: cannot append to {}: {e}", path.display()),
    }
    if !report.failures().is_empty() {
        std::process::exit(1);
    }
}
