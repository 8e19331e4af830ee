//! Ravel vs Tokio, one criterion run: ids `<group>/<workload>/{tokio,ravel}`.
//!
//! * `cargo bench -p ravel-bench` — the full suite (about 10 minutes on 2 cores).
//! * `RAVEL_BENCH_QUICK=1 cargo bench -p ravel-bench` — every workload briefly
//!   (about a minute; well under 3); every iteration's result is asserted in both modes.
//! * Criterion filters work as usual: `cargo bench -p ravel-bench -- w2/`.
//!
//! Then `cargo run -p ravel-bench --bin memory` and
//! `cargo run -p ravel-bench --bin report` write `docs/benchmarks.md`.

use criterion::{BenchmarkId, Criterion, SamplingMode};
use ravel_bench::{workloads, Group, Prepared, RavelRt, Rt, Sizes, TokioRt, Workload, GROUPS};
use std::time::Duration;

fn bench_one<R: Rt>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    g: &Group,
    rt: &R,
    wl: &Workload<R>,
) {
    let expected = (wl.expected)(&Sizes::FULL);
    // Prepared lazily: criterion calls the routine once per sample, and not
    // at all when a filter excludes the id.
    let mut prepared: Option<Prepared<'_>> = None;
    let name = format!("{}/{}/{}", g.name, wl.name, R::NAME);
    group.bench_function(BenchmarkId::new(wl.name, R::NAME), |b| {
        let p = prepared.get_or_insert_with(|| (wl.prepare)(rt, Sizes::FULL));
        if wl.custom_timed {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let out = p.run();
                    assert_eq!(out.value, expected, "{name}: wrong result");
                    total += out.timed.expect("custom-timed workload reports its phase");
                }
                total
            });
        } else {
            b.iter(|| {
                let out = p.run();
                assert_eq!(out.value, expected, "{name}: wrong result");
            });
        }
    });
    // Dropping tears down background tasks before the next workload.
    drop(prepared);
}

fn main() {
    let quick = ravel_bench::quick_mode();
    let mut c = if quick {
        Criterion::default()
            .warm_up_time(Duration::from_millis(100))
            .measurement_time(Duration::from_millis(300))
            .sample_size(10)
            .nresamples(5_000)
    } else {
        Criterion::default()
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(2))
            .sample_size(20)
    }
    .configure_from_args();
    ravel_bench::record_run(quick).expect("write target/ravel-bench/run.json");

    for g in GROUPS {
        // Both runtimes built once per group, outside every measured loop,
        // with the same explicit worker count.
        let tokio = TokioRt::build(g.workers, g.eager);
        let ravel = RavelRt::build(g.workers, g.eager);
        let tw: Vec<_> = workloads::<TokioRt>().into_iter().filter(|w| w.class == g.class).collect();
        let rw: Vec<_> = workloads::<RavelRt>().into_iter().filter(|w| w.class == g.class).collect();
        let mut group = c.benchmark_group(g.name);
        if quick {
            group.sampling_mode(SamplingMode::Flat);
        }
        for (t, r) in tw.iter().zip(&rw) {
            assert_eq!(t.name, r.name);
            bench_one(&mut group, g, &tokio, t);
            bench_one(&mut group, g, &ravel, r);
        }
        group.finish();
    }
    c.final_summary();
}
