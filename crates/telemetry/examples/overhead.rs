//! Profiling driver for telemetry's per-task overhead: the `nimsync-benches` telemetry
//! workloads (spawn_many, channel) in one mode per process, so `perf record` or
//! `valgrind --tool=callgrind` see a single mode.
//!
//! ```text
//! cargo run --release -p nimsync-telemetry --example overhead -- MODE WORKLOAD [N] [REPS]
//!   MODE: off | metrics | metrics-idle | trace1 | trace100     WORKLOAD: spawn | channel
//! ```
//!
//! Prints the median ns per task (spawn) or per message (channel).

use nimsync_scheduler::{Runtime, spawn};
use nimsync_telemetry::{ChannelSample, Metrics, Telemetry, Tracing, end_span, start_span};
use std::time::{Duration, Instant};

#[derive(Clone, Copy)]
enum Mode {
    Off,
    Metrics(Duration),
    Trace(f64),
}

fn setup(mode: Mode) -> (Runtime, Option<Telemetry>) {
    let builder = Runtime::builder().workers(2);
    match mode {
        Mode::Off => (builder.build().expect("runtime"), None),
        Mode::Metrics(interval) => {
            let t = Telemetry::builder()
                .metrics(Metrics::prometheus().global(false).interval(interval))
                .build()
                .expect("telemetry");
            let rt = t.instrument(builder).build().expect("runtime");
            t.watch_runtime("bench", rt.handle().clone());
            (rt, Some(t))
        }
        Mode::Trace(ratio) => {
            let t = Telemetry::builder()
                .tracing(Tracing::ratio(ratio))
                .build()
                .expect("telemetry");
            let rt = t.instrument(builder).build().expect("runtime");
            (rt, Some(t))
        }
    }
}

fn spawn_many(n: u64, mode: Mode) -> Duration {
    let (rt, telemetry) = setup(mode);
    let d = rt
        .block_on(rt.spawn(async move {
            let start = Instant::now();
            start_span("bench");
            let handles: Vec<_> = (0..n)
                .map(|i| {
                    spawn(async move {
                        start_span("task");
                        end_span();
                        i
                    })
                })
                .collect();
            let mut sum = 0;
            for h in handles {
                sum += h.await.expect("task panicked");
            }
            end_span();
            assert_eq!(sum, n * (n - 1) / 2);
            start.elapsed()
        }))
        .expect("root task");
    drop(rt);
    drop(telemetry);
    d
}

fn channel(n: u64, mode: Mode) -> Duration {
    let (rt, telemetry) = setup(mode);
    let (tx, rx) = nimsync_core_channels::mpmc::<u64>(1024);
    if let Some(t) = &telemetry {
        let probe = tx.clone();
        t.watch_channel("bench", move || ChannelSample {
            stats: probe.stats(),
            len: probe.len(),
        });
    }
    let d = rt
        .block_on(rt.spawn(async move {
            let start = Instant::now();
            start_span("bench");
            let producer = spawn(async move {
                for i in 0..n {
                    tx.send(i).await.expect("receiver alive");
                }
            });
            let mut sum = 0u64;
            for _ in 0..n {
                sum = sum.wrapping_add(rx.recv().await.expect("sender alive"));
            }
            producer.await.expect("producer");
            end_span();
            assert_eq!(sum, n * (n - 1) / 2);
            start.elapsed()
        }))
        .expect("root task");
    drop(rt);
    drop(telemetry);
    d
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: overhead off|metrics|metrics-idle|trace1|trace100 spawn|channel [N] [REPS]";
    let mode = match args.first().map(String::as_str) {
        Some("off") => Mode::Off,
        Some("metrics") => Mode::Metrics(Duration::from_millis(10)),
        // The sampler never ticks during a run: what remains is set-up and an idle thread.
        Some("metrics-idle") => Mode::Metrics(Duration::from_secs(3600)),
        Some("trace1") => Mode::Trace(0.01),
        Some("trace100") => Mode::Trace(1.0),
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    let spawn_workload = match args.get(1).map(String::as_str) {
        Some("spawn") => true,
        Some("channel") => false,
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    let parse = |i: usize, default: u64| {
        args.get(i)
            .map(|s| s.parse::<u64>().unwrap_or_else(|_| panic!("{usage}")))
            .unwrap_or(default)
    };
    let n = parse(2, if spawn_workload { 100_000 } else { 1_000_000 });
    let reps = parse(3, 5).max(1);
    let mut ns: Vec<f64> = (0..reps)
        .map(|_| {
            let d = if spawn_workload {
                spawn_many(n, mode)
            } else {
                channel(n, mode)
            };
            d.as_nanos() as f64 / n as f64
        })
        .collect();
    ns.sort_by(f64::total_cmp);
    println!("{:.1}", ns[ns.len() / 2]);
}
