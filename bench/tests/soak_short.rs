//! The soak's short version (`ravel_bench::soak::Config::short`): both
//! examples' servers, 12 loopback clients with resets, stalls and silent
//! connections, one EMFILE episode, about 10 s of wall time. Asserts the
//! end state only (never a rate): requests served, every fault exercised,
//! accept saw EMFILE and the servers served again, and live tasks, open
//! fds and heap back to baseline with every worker still running tasks.
//!
//! Its own `main` (no libtest harness): the counting allocator then sees
//! only the soak (no output capture buffers growing), and the lowered fd
//! limit cannot meet another test's fds.

use ravel_bench::counting_alloc::Counting;
use ravel_bench::soak::servers::echo;
use ravel_bench::soak::{self, Config, Tally};

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    let report = soak::run(&Config::short()).unwrap();
    print!("{}", report.summary());
    assert_eq!(report.failures(), Vec::<String>::new());
    // The conditions `failures` checks, the key ones spelled out.
    assert_eq!(report.end.tasks, report.baseline.tasks);
    assert_eq!(report.end.fds, report.baseline.fds);
    assert!(report.live_workers == 2);
    for counters in [&report.echo, &report.http] {
        assert!(counters.get("requests") > 0);
        for fault in ["resets", "stalls", "idles"] {
            assert!(counters.get(fault) > 0, "{fault}");
        }
        assert_eq!(counters.get("bad_responses"), 0);
    }
    // The HTTP server closed every stalled and every silent client itself.
    assert_eq!(report.http.get("stalls_closed_by_server"), report.http.get("stalls"));
    assert_eq!(report.http.get("idles_closed_by_server"), report.http.get("idles"));
    // The echo holdouts stayed open past the deadline: the abort path ran.
    assert_eq!(report.shutdowns.echo, Some(echo::Shutdown::Aborted));
    assert!(!report.episodes.is_empty());
    for ep in &report.episodes {
        assert_eq!((ep.echo_saw_emfile, ep.http_saw_emfile), (Some(true), Some(true)));
        assert!(ep.served_while_lowered && ep.recovered);
    }
    println!("soak_short: ok");
}
