//! timers: 1000 tasks each hold N/1000 sleeps at once (in a `FuturesUnordered`), with short
//! staggered durations (1–5 ms), and wait for all of them: every sleep is registered, fires
//! and wakes its task. Each runtime's own timer: nimsync's `sleep`, `tokio::time::sleep`, and
//! async-io's `Timer` for async-executor (its worker threads then block in `async_io::block_on`,
//! which drives async-io's timers, as smol does).

use std::future::Future;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::{Ex, on_async_executor, on_nimsync, on_tokio};
use crate::harness::{Contender, NS_PER_OP, Params, Workload, ns_per_op};

/// Tasks.
const TASKS: u64 = 1000;
/// Timers per repetition, over all tasks (÷2 with `--quick`).
const TIMERS: u64 = 1_000_000;

/// The workload.
pub fn workload() -> Workload {
    Workload {
        group: "scheduler",
        name: "timers",
        unit: NS_PER_OP,
        higher_is_better: false,
        note: "1000 tasks x 1000 concurrent sleeps of 1-5 ms (staggered), all awaited; ns per \
               timer, wall time incl. the <= 5 ms wait (async-executor: async-io Timer)",
        contenders: vec![
            Contender {
                name: "nimsync",
                run: nimsync,
            },
            Contender {
                name: "tokio",
                run: tokio,
            },
            Contender {
                name: "async-executor",
                run: async_executor,
            },
        ],
    }
}

/// Duration of sleep `j` of task `t`: 1 ms plus a stagger below 4 ms.
fn dur(t: u64, j: u64) -> Duration {
    Duration::from_micros(1000 + (t * 7919 + j * 104_729) % 4000)
}

/// Body of one task: `k` sleeps made by `sleep`, awaited together.
async fn many<S: Future>(t: u64, k: u64, sleep: impl Fn(Duration) -> S) {
    let mut all: FuturesUnordered<S> = (0..k).map(|j| sleep(dur(t, j))).collect();
    let mut fired = 0;
    while all.next().await.is_some() {
        fired += 1;
    }
    assert_eq!(fired, k);
}

fn per_task(p: &Params) -> u64 {
    p.count(TIMERS) / TASKS
}

fn nimsync(p: &Params) -> f64 {
    let k = per_task(p);
    let d = on_nimsync(async move {
        let start = Instant::now();
        let hs: Vec<_> = (0..TASKS)
            .map(|t| nimsync_scheduler::spawn(many(t, k, nimsync_scheduler::sleep)))
            .collect();
        for h in hs {
            h.await.expect("task panicked");
        }
        start.elapsed()
    });
    ns_per_op(k * TASKS, d)
}

fn tokio(p: &Params) -> f64 {
    let k = per_task(p);
    let d = on_tokio(async move {
        let start = Instant::now();
        let hs: Vec<_> = (0..TASKS)
            .map(|t| tokio::spawn(many(t, k, tokio::time::sleep)))
            .collect();
        for h in hs {
            h.await.expect("task panicked");
        }
        start.elapsed()
    });
    ns_per_op(k * TASKS, d)
}

fn async_executor(p: &Params) -> f64 {
    let k = per_task(p);
    let d = on_async_executor(true, move |ex: Ex| async move {
        let start = Instant::now();
        let hs: Vec<_> = (0..TASKS)
            .map(|t| ex.spawn(many(t, k, async_io::Timer::after)))
            .collect();
        for h in hs {
            h.await;
        }
        start.elapsed()
    });
    ns_per_op(k * TASKS, d)
}
