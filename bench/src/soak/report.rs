//! The soak's readings and its report: a text summary, a JSON line, and
//! the list of end conditions that failed.

use super::clients::Counters;
use super::servers::ServerCounters;
use super::tally::Tally;
use super::{Config, Episode, PhaseOut};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// One reading of what must return to baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct End {
    /// Live tasks (`ravel::all_tasks()`, the soak's own task included).
    pub tasks: usize,
    /// Open file descriptors.
    pub fds: usize,
    /// Live heap bytes (the counting allocator).
    pub heap: isize,
}

impl End {
    /// Reads the three, from inside the soak's task.
    pub fn read() -> std::io::Result<End> {
        let tasks = ravel::all_tasks().len();
        let fds = super::probe::open_fds()?;
        Ok(End { tasks, fds, heap: crate::counting_alloc::live() })
    }
}

/// What a soak did and how it ended.
pub struct Report {
    config: Config,
    /// Wall time of the whole soak (warm-up and shutdowns included).
    pub wall: Duration,
    /// Client-side counts of the echo server's clients.
    pub echo: Arc<Counters>,
    /// Client-side counts of the HTTP server's clients.
    pub http: Arc<Counters>,
    /// Server-side counts.
    pub servers: Arc<ServerCounters>,
    /// The EMFILE episodes.
    pub episodes: Vec<Episode>,
    /// How the graceful shutdowns ended.
    pub shutdowns: super::servers::Shutdowns,
    /// Before the measured run (after the warm-up).
    pub baseline: End,
    /// After the shutdown.
    pub end: End,
    /// Workers seen running tasks at the end.
    pub live_workers: usize,
}

impl Report {
    pub(super) fn new(
        config: &Config,
        wall: Duration,
        phase: PhaseOut,
        servers: Arc<ServerCounters>,
        baseline: End,
        end: End,
        live_workers: usize,
    ) -> Report {
        Report {
            config: config.clone(),
            wall,
            echo: phase.echo,
            http: phase.http,
            servers,
            episodes: phase.episodes,
            shutdowns: phase.shutdowns,
            baseline,
            end,
            live_workers,
        }
    }

    /// The client sides that ran, by server name.
    fn sides(&self) -> Vec<(&'static str, &Counters)> {
        let mut sides = Vec::new();
        if self.config.server.echo() {
            sides.push(("echo", &*self.echo));
        }
        if self.config.server.http() {
            sides.push(("http", &*self.http));
        }
        sides
    }

    /// The end conditions that failed (empty: the soak passed).
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        let (b, e) = (self.baseline, self.end);
        if e.tasks != b.tasks {
            out.push(format!("live tasks {} at the end, {} at the baseline", e.tasks, b.tasks));
        }
        if e.fds != b.fds {
            out.push(format!("open fds {} at the end, {} at the baseline", e.fds, b.fds));
        }
        if e.heap - b.heap > self.config.heap_slack {
            out.push(format!("heap {} B above the baseline (slack {} B)", e.heap - b.heap, self.config.heap_slack));
        }
        if self.live_workers != self.config.workers {
            out.push(format!("{} of {} workers ran tasks at the end", self.live_workers, self.config.workers));
        }
        for (side, counters) in self.sides() {
            let v = |n| counters.get(n);
            if v("requests") == 0 {
                out.push(format!("{side}: no request served"));
            }
            for fault in ["resets", "stalls", "idles"] {
                if v(fault) == 0 {
                    out.push(format!("{side}: no {fault} exercised"));
                }
            }
            for bad in ["timeouts", "io_errors", "bad_responses", "connect_other"] {
                if v(bad) > 0 {
                    out.push(format!("{side}: {} {bad} in correct sessions", v(bad)));
                }
            }
            if side == "http" && v("stalls_left_open") > 0 {
                out.push(format!("http: {} stalled clients not closed by the header timeout", v("stalls_left_open")));
            }
            if side == "http" && v("idles_closed_by_server") < v("idles") {
                out.push(format!(
                    "http: {} of {} silent clients not closed by the header timeout",
                    v("idles") - v("idles_closed_by_server"),
                    v("idles")
                ));
            }
        }
        let unexpected = self.servers.get("unexpected");
        if unexpected > 0 {
            out.push(format!("{unexpected} unexpected errors reached the unhandled-error hook"));
        }
        if self.episodes.is_empty() {
            out.push("no EMFILE episode ran".into());
        }
        for (i, ep) in self.episodes.iter().enumerate() {
            if ep.echo_saw_emfile == Some(false) || ep.http_saw_emfile == Some(false) {
                out.push(format!("EMFILE episode {i}: a server's accept did not report EMFILE: {ep:?}"));
            }
            if !ep.served_while_lowered {
                out.push(format!("EMFILE episode {i}: an open connection was not served while the limit was lowered"));
            }
            if !ep.recovered {
                out.push(format!("EMFILE episode {i}: a server did not serve again after the limit was restored"));
            }
        }
        out
    }

    /// The summary, as text.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let c = &self.config;
        s += &format!(
            "soak: {:?} server(s), {} clients, {} workers, {:.0} s of load ({:.1} s wall), {}% fault sessions\n",
            c.server,
            c.clients,
            c.workers,
            c.duration.as_secs_f64(),
            self.wall.as_secs_f64(),
            c.fault_percent
        );
        for (side, counters) in self.sides() {
            s += &format!("  {side} clients:");
            for (n, v) in counters.named() {
                s += &format!(" {n}={v}");
            }
            s += "\n";
        }
        s += "  servers:";
        for (n, v) in self.servers.named() {
            s += &format!(" {n}={v}");
        }
        s += "\n";
        for (i, ep) in self.episodes.iter().enumerate() {
            s += &format!(
                "  EMFILE episode {i}: echo saw {:?}, http saw {:?}, {} client connects failed, open connections served {}, lowered {:.2} s, recovered {} in {:.2} s\n",
                ep.echo_saw_emfile,
                ep.http_saw_emfile,
                ep.client_connect_emfile,
                ep.served_while_lowered,
                ep.lowered_for.as_secs_f64(),
                ep.recovered,
                ep.recovery.as_secs_f64()
            );
        }
        s += &format!("  shutdowns: echo {:?}, http {:?}\n", self.shutdowns.echo, self.shutdowns.http);
        let (b, e) = (self.baseline, self.end);
        s += &format!(
            "  end: tasks {} (baseline {}), fds {} (baseline {}), heap {:+} B vs baseline (slack {} B), workers {}/{}\n",
            e.tasks,
            b.tasks,
            e.fds,
            b.fds,
            e.heap - b.heap,
            c.heap_slack,
            self.live_workers,
            c.workers
        );
        let failures = self.failures();
        if failures.is_empty() {
            s += "  PASS: everything back to baseline, no worker lost\n";
        }
        for f in failures {
            s += &format!("  FAIL: {f}\n");
        }
        s
    }

    /// The report as one JSON object.
    pub fn json(&self) -> Value {
        let c = &self.config;
        let counts = |named: Vec<(&'static str, u64)>| -> Value {
            named.into_iter().map(|(n, v)| (n.to_string(), json!(v))).collect::<serde_json::Map<_, _>>().into()
        };
        let mut clients = serde_json::Map::new();
        for (side, counters) in self.sides() {
            clients.insert(side.to_string(), counts(counters.named()));
        }
        json!({
            "server": format!("{:?}", c.server),
            "clients": c.clients,
            "workers": c.workers,
            "duration_s": c.duration.as_secs_f64(),
            "wall_s": self.wall.as_secs_f64(),
            "fault_percent": c.fault_percent,
            "client_side": clients,
            "server_side": counts(self.servers.named()),
            "emfile_episodes": self.episodes.iter().map(|ep| json!({
                "echo_saw_emfile": ep.echo_saw_emfile,
                "http_saw_emfile": ep.http_saw_emfile,
                "client_connect_emfile": ep.client_connect_emfile,
                "served_while_lowered": ep.served_while_lowered,
                "lowered_s": ep.lowered_for.as_secs_f64(),
                "recovered": ep.recovered,
                "recovery_s": ep.recovery.as_secs_f64(),
            })).collect::<Vec<_>>(),
            "shutdowns": { "echo": format!("{:?}", self.shutdowns.echo), "http": format!("{:?}", self.shutdowns.http) },
            "baseline": { "tasks": self.baseline.tasks, "fds": self.baseline.fds, "heap": self.baseline.heap },
            "end": { "tasks": self.end.tasks, "fds": self.end.fds, "heap": self.end.heap },
            "heap_slack": c.heap_slack,
            "live_workers": self.live_workers,
            "failures": self.failures(),
        })
    }
}
