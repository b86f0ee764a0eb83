//! Telemetry overhead: spawn_many and channel throughput on a nimsync runtime with telemetry
//! off ("nimsync-off") against the same workload with one telemetry mode on ("nimsync"):
//!
//! * `metrics`: a Prometheus recorder whose sampler publishes the runtime's and the channel's
//!   metrics every 10 ms (100× the default rate, so its cost shows);
//! * `trace1` / `trace100`: tracing installed on the runtime (context hooks), sampling 1 % /
//!   100 % of new traces (parent-based; in-memory exporter). The root task opens a span
//!   before spawning, so every child starts inside it (propagation), and each spawned task
//!   opens and ends one span of its own — the same calls run with telemetry off, where they
//!   are no-ops. At 1 % the single root trace of a repetition is almost always dropped, so
//!   `trace1` measures hooks + propagation + unsampled spans; `trace100` records every span.
//! * `plain_trace1`: as `trace1`, but the spawned tasks open no span of their own: the cost of
//!   the hooks and the propagation alone (the root's span is still current at every spawn).
//!
//! The ratio column is off / on for time (ns per task) and on / off for throughput: 1.00× =
//! free. Targets (DESIGN §4): metrics ≤ 2 % slowdown, tracing at 1 % ≤ 5 %.

use std::time::{Duration, Instant};

use nimsync_scheduler::{Runtime, spawn};
use nimsync_telemetry::{ChannelSample, Metrics, Telemetry, Tracing, end_span, start_span};

use crate::harness::{Contender, MMSG_PER_S, NS_PER_OP, Params, Workload, mmsg_per_s, ns_per_op};

/// Worker threads (the machine's 2 cores).
const WORKERS: usize = 2;
/// Tasks per spawn_many repetition (÷2 with `--quick`).
const TASKS: u64 = 200_000;
/// Messages per channel repetition (÷2 with `--quick`).
const MESSAGES: u64 = 2_000_000;

/// A telemetry mode under test.
#[derive(Clone, Copy)]
enum Mode {
    Off,
    Metrics,
    Trace(f64),
}

/// Every telemetry workload, in run order.
pub fn workloads() -> Vec<Workload> {
    vec![
        spawn_workload(
            "spawn_many_metrics",
            "metrics sampler every 10 ms",
            spawn_metrics,
        ),
        spawn_workload(
            "spawn_many_trace1",
            "a span per task, 1 % of traces sampled",
            spawn_trace1,
        ),
        spawn_workload(
            "spawn_many_trace100",
            "a span per task, all sampled",
            spawn_trace100,
        ),
        Workload {
            group: "telemetry",
            name: "spawn_many_plain_trace1",
            unit: NS_PER_OP,
            higher_is_better: false,
            note: "a task spawns 200k tasks that open no span of their own and joins them; ns per \
                   task; telemetry on (tracing hooks, the root's trace sampled at 1 %: \
                   propagation alone) vs off",
            contenders: vec![
                Contender {
                    name: "nimsync",
                    run: spawn_plain_trace1,
                },
                Contender {
                    name: "nimsync-off",
                    run: spawn_plain_off,
                },
            ],
        },
        channel_workload(
            "channel_metrics",
            "metrics sampler every 10 ms",
            chan_metrics,
        ),
        channel_workload(
            "channel_trace1",
            "tracing hooks, tasks in a trace sampled at 1 %",
            chan_trace1,
        ),
        channel_workload(
            "channel_trace100",
            "tracing hooks, tasks in a sampled trace",
            chan_trace100,
        ),
    ]
}

fn spawn_workload(name: &'static str, note: &'static str, on: fn(&Params) -> f64) -> Workload {
    Workload {
        group: "telemetry",
        name,
        unit: NS_PER_OP,
        higher_is_better: false,
        note: leak_note(
            "a task spawns 200k tasks (each opens and ends a span) and joins them; ns per task;",
            note,
        ),
        contenders: vec![
            Contender {
                name: "nimsync",
                run: on,
            },
            Contender {
                name: "nimsync-off",
                run: spawn_off,
            },
        ],
    }
}

fn channel_workload(name: &'static str, note: &'static str, on: fn(&Params) -> f64) -> Workload {
    Workload {
        group: "telemetry",
        name,
        unit: MMSG_PER_S,
        higher_is_better: true,
        note: leak_note(
            "2M u64 through an async MPMC channel (cap 1024), task to task;",
            note,
        ),
        contenders: vec![
            Contender {
                name: "nimsync",
                run: on,
            },
            Contender {
                name: "nimsync-off",
                run: chan_off,
            },
        ],
    }
}

/// Workload notes are `&'static str`; the handful built here live for the whole run.
fn leak_note(what: &str, mode: &str) -> &'static str {
    Box::leak(format!("{what} telemetry on ({mode}) vs off").into_boxed_str())
}

/// Builds the runtime (and the telemetry that must outlive the run) for `mode`.
fn setup(mode: Mode) -> (Runtime, Option<Telemetry>) {
    let builder = Runtime::builder().workers(WORKERS);
    match mode {
        Mode::Off => (builder.build().expect("runtime"), None),
        Mode::Metrics => {
            let t = Telemetry::builder()
                .metrics(
                    Metrics::prometheus()
                        .global(false)
                        .interval(Duration::from_millis(10)),
                )
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

/// Whether each spawned task opens and ends a span of its own.
#[derive(Clone, Copy)]
enum TaskSpans {
    Each,
    None,
}

async fn spawn_root(n: u64, spans: TaskSpans) -> Duration {
    let start = Instant::now();
    start_span("bench");
    let handles: Vec<_> = (0..n)
        .map(|i| {
            spawn(async move {
                if let TaskSpans::Each = spans {
                    start_span("task");
                    end_span();
                }
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
}

fn spawn_many(p: &Params, mode: Mode, spans: TaskSpans) -> f64 {
    let n = p.count(TASKS);
    let (rt, telemetry) = setup(mode);
    let d = rt
        .block_on(rt.spawn(spawn_root(n, spans)))
        .expect("root task");
    drop(rt);
    drop(telemetry);
    ns_per_op(n, d)
}

fn channel(p: &Params, mode: Mode) -> f64 {
    let n = p.count(MESSAGES);
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
    mmsg_per_s(n, d)
}

fn spawn_off(p: &Params) -> f64 {
    spawn_many(p, Mode::Off, TaskSpans::Each)
}
fn spawn_metrics(p: &Params) -> f64 {
    spawn_many(p, Mode::Metrics, TaskSpans::Each)
}
fn spawn_trace1(p: &Params) -> f64 {
    spawn_many(p, Mode::Trace(0.01), TaskSpans::Each)
}
fn spawn_trace100(p: &Params) -> f64 {
    spawn_many(p, Mode::Trace(1.0), TaskSpans::Each)
}
fn spawn_plain_off(p: &Params) -> f64 {
    spawn_many(p, Mode::Off, TaskSpans::None)
}
fn spawn_plain_trace1(p: &Params) -> f64 {
    spawn_many(p, Mode::Trace(0.01), TaskSpans::None)
}
fn chan_off(p: &Params) -> f64 {
    channel(p, Mode::Off)
}
fn chan_metrics(p: &Params) -> f64 {
    channel(p, Mode::Metrics)
}
fn chan_trace1(p: &Params) -> f64 {
    channel(p, Mode::Trace(0.01))
}
fn chan_trace100(p: &Params) -> f64 {
    channel(p, Mode::Trace(1.0))
}
