//! The server soak (issue 14): the echo and HTTP examples' own serving code
//! under sustained load from many clients, a fraction of them hostile
//! (reset mid-request, stall mid-header, open and never send), with
//! `RLIMIT_NOFILE` lowered for part of the run so `accept` hits `EMFILE`.
//! At the end, after the examples' graceful shutdowns and with the runtime
//! still alive: live tasks, open fds and live heap bytes back to their
//! baseline, and every worker still running tasks.
//!
//! Everything runs in one process on 127.0.0.1: the servers on a Ravel
//! runtime, the clients on std threads ([`clients`]). The fd limit is the
//! process's, so in an EMFILE episode the clients' own `connect`s fail too
//! (counted apart as `connect_emfile`); a prober connection made from a
//! socket created before the limit came down is what reaches the servers'
//! accept.
//!
//! The run: a warm-up (the same load, no EMFILE) so lazily allocated
//! runtime structures exist and have grown to the load's size, the
//! servers shut down, the baseline taken; then the measured run, the
//! shutdown, and the end state. The heap check allows [`Config::heap_slack`]
//! for what grows with peak concurrency rather than with the number of
//! connections served: capacities of the runtime's task registry, run
//! queues, timer wheel and reactor slab that a higher peak in the measured
//! run leaves larger (the soak's own counters, allocated after the
//! baseline, are a few hundred bytes of it). The runs so far ended within
//! 1 KiB of the baseline. A leak of 80 bytes per connection outgrows the
//! 64 KiB slack in the short run (about 800 connections), and a leak of
//! 2 bytes per connection outgrows it in a 2-minute run (about 50,000).
//!
//! `cargo run --release -p ravel-bench --bin soak -- --duration 600`; the
//! short version runs in the test suite (`bench/tests/soak_short.rs`).

pub mod clients;
mod episode;
pub mod probe;
mod report;
pub mod servers;
pub mod tally;

pub use episode::Episode;
pub use report::{End, Report};
pub use tally::Tally;

use clients::{Counters, Plan, Proto};
use servers::{ServerCounters, Servers, Which};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A soak's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// How long the measured load runs (at most 10 minutes).
    pub duration: Duration,
    /// Client threads in all (split between the servers with `Both`).
    pub clients: usize,
    /// Which servers run.
    pub server: Which,
    /// The runtime's worker threads.
    pub workers: usize,
    /// Percent of client sessions that are faults.
    pub fault_percent: u64,
    /// The HTTP server's header-read timeout (the example uses 5 s).
    pub header_timeout: Duration,
    /// How long the fd limit stays lowered in each EMFILE episode.
    pub emfile_hold: Duration,
    /// One EMFILE episode per this much run time (at least one).
    pub emfile_every: Duration,
    /// The graceful shutdowns' deadline.
    pub shutdown_deadline: Duration,
    /// The warm-up's length.
    pub warmup: Duration,
    /// Heap bytes the end may be above the baseline (see the module docs).
    pub heap_slack: isize,
}

/// The longest soak [`run`] accepts.
pub const MAX_DURATION: Duration = Duration::from_secs(600);

impl Config {
    /// The full soak: 10 minutes, 64 clients, both servers, an EMFILE
    /// episode a minute.
    pub fn full() -> Config {
        Config {
            duration: MAX_DURATION,
            clients: 64,
            server: Which::Both,
            workers: 2,
            fault_percent: 10,
            header_timeout: Duration::from_secs(2),
            emfile_hold: Duration::from_secs(5),
            emfile_every: Duration::from_secs(60),
            shutdown_deadline: Duration::from_secs(2),
            warmup: Duration::from_secs(5),
            heap_slack: 64 * 1024,
        }
    }

    /// The test suite's version: 4 s of load, 12 clients, one episode.
    pub fn short() -> Config {
        Config {
            duration: Duration::from_secs(4),
            clients: 12,
            header_timeout: Duration::from_millis(500),
            emfile_hold: Duration::from_millis(500),
            shutdown_deadline: Duration::from_millis(500),
            warmup: Duration::from_secs(1),
            ..Config::full()
        }
    }
}

/// Runs the soak. The caller's program must have
/// [`Counting`](crate::counting_alloc::Counting) as its global allocator.
pub fn run(config: &Config) -> Result<Report, String> {
    if config.duration > MAX_DURATION {
        return Err(format!("--duration is at most {} s", MAX_DURATION.as_secs()));
    }
    if !crate::counting_alloc::installed() {
        return Err("the soak needs ravel_bench::counting_alloc::Counting as the global allocator".into());
    }
    let server_counters = Arc::new(ServerCounters::default());
    let hook = server_counters.clone();
    let rt = ravel::Runtime::builder()
        .worker_threads(config.workers)
        .unhandled_error_hook(move |report| hook.on_unhandled(report))
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let handle = rt.handle().clone();
    let config = config.clone();
    let started = Instant::now();
    let report = rt.block_on(async move {
        // Warm-up: the same load, then the servers down, then the baseline.
        phase(&config, config.warmup, server_counters.clone(), false).await?;
        server_counters.clear();
        let baseline = settle(None, &config).await?;

        let phase_out = phase(&config, config.duration, server_counters.clone(), true).await?;
        let end = settle(Some(&baseline), &config).await?;
        let workers = config.workers;
        let live_workers =
            ravel::to_thread(move || Ok(probe::live_workers(&handle, workers, Duration::from_secs(10)))).await?;
        Ok(Report::new(&config, started.elapsed(), phase_out, server_counters, baseline, end, live_workers))
    });
    report.map_err(|e| format!("soak: {e}"))
}

/// What a load phase hands back.
pub(crate) struct PhaseOut {
    pub(crate) echo: Arc<Counters>,
    pub(crate) http: Arc<Counters>,
    pub(crate) episodes: Vec<Episode>,
    pub(crate) shutdowns: servers::Shutdowns,
}

/// Servers up, clients for `duration` (with EMFILE episodes if `emfile`),
/// clients joined, idle holdouts opened, servers shut down gracefully.
async fn phase(
    config: &Config,
    duration: Duration,
    server_counters: Arc<ServerCounters>,
    emfile: bool,
) -> ravel::Result<PhaseOut> {
    let servers = Servers::start(config.server, config.header_timeout, server_counters.clone()).await?;
    // Every fd number below this is held by a long-lived fd.
    let fd_floor = probe::lowest_free_fd()?;
    let stop = Arc::new(AtomicBool::new(false));
    let (echo, http) = (Arc::new(Counters::default()), Arc::new(Counters::default()));
    let mut plans = Vec::new();
    let both = config.server == Which::Both;
    let per_server = if both { config.clients.div_ceil(2) } else { config.clients };
    for (addr, proto, counters) in [(servers.echo_addr, Proto::Echo, &echo), (servers.http_addr, Proto::Http, &http)] {
        let Some(addr) = addr else { continue };
        let plan = Plan {
            addr,
            proto,
            fault_percent: config.fault_percent,
            // HTTP: well past the header timeout, so the server's timeout
            // decides. Echo has no timeout: the client ends the silence.
            hold: match proto {
                Proto::Http => config.header_timeout + Duration::from_secs(2),
                Proto::Echo => config.header_timeout,
            },
            io_timeout: Duration::from_secs(30),
            stop: stop.clone(),
        };
        plans.push((plan, counters.clone()));
    }
    let mut threads = Vec::new();
    for (plan, counters) in &plans {
        for id in 0..per_server as u64 {
            let (plan, counters) = (plan.clone(), counters.clone());
            threads.push(
                std::thread::Builder::new()
                    .name(format!("soak client {id}"))
                    .spawn(move || clients::client(id, &plan, &counters))?,
            );
        }
    }
    let start = Instant::now();
    let mut episodes = Vec::new();
    if emfile {
        let count = (duration.as_secs_f64() / config.emfile_every.as_secs_f64()).floor().max(1.0) as u32;
        for k in 0..count {
            // Episode k in the middle of its slice of the run.
            let at = duration.mul_f64((2 * k + 1) as f64 / (2 * count) as f64);
            ravel::sleep(at.saturating_sub(start.elapsed())).await?;
            episodes
                .push(episode::run(&servers, &server_counters, [&echo, &http], fd_floor, config.emfile_hold).await?);
        }
    }
    ravel::sleep(duration.saturating_sub(start.elapsed())).await?;
    stop.store(true, Relaxed);
    ravel::to_thread(move || {
        for t in threads {
            t.join().map_err(|_| ravel::Error::msg("a soak client panicked"))?;
        }
        Ok(())
    })
    .await?;
    // Two open connections per server over the shutdown, each answered
    // once first (so accepted): idle echo connections make the echo
    // shutdown take its deadline path (abort); idle keep-alive HTTP
    // connections are closed by hyper's graceful shutdown.
    let mut holdouts = Vec::new();
    for (addr, proto) in [(servers.echo_addr, Proto::Echo), (servers.http_addr, Proto::Http)] {
        let Some(addr) = addr else { continue };
        for _ in 0..2 {
            holdouts.push(
                ravel::to_thread(move || {
                    let stream = std::net::TcpStream::connect(addr)?;
                    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
                    match clients::answers_on(&stream, proto) {
                        true => Ok(stream),
                        false => Err(ravel::Error::msg(format!("{proto:?} server did not answer a holdout"))),
                    }
                })
                .await?,
            );
        }
    }
    let shutdowns = servers.shutdown(config.shutdown_deadline).await?;
    drop(holdouts);
    Ok(PhaseOut { echo, http, episodes, shutdowns })
}

/// Waits (at most 10 s) for the process to settle: with `baseline`, until
/// tasks and fds are back to it and the heap is within the slack; without,
/// until two readings 50 ms apart agree on tasks and fds. Returns the last
/// reading.
async fn settle(baseline: Option<&End>, config: &Config) -> ravel::Result<End> {
    let give_up = Instant::now() + Duration::from_secs(10);
    let mut last = End::read()?;
    loop {
        // A bounded wait for an end state, read again every 50 ms.
        ravel::sleep(Duration::from_millis(50)).await?;
        let now = End::read()?;
        let done = match baseline {
            Some(b) => now.tasks <= b.tasks && now.fds <= b.fds && now.heap - b.heap <= config.heap_slack,
            None => now.tasks == last.tasks && now.fds == last.fds,
        };
        last = now;
        if done || Instant::now() > give_up {
            return Ok(last);
        }
    }
}
