//! yield_many: 1000 tasks each yield N/1000 times, with each runtime's own `yield_now`.

use std::time::Instant;

use super::{Ex, on_async_executor, on_nimsync, on_tokio};
use crate::harness::{Contender, NS_PER_OP, Params, Workload, ns_per_op};

/// Tasks.
const TASKS: u64 = 1000;
/// Yields per repetition, over all tasks (÷2 with `--quick`).
const YIELDS: u64 = 1_000_000;

/// The workload.
pub fn workload() -> Workload {
    Workload {
        group: "scheduler",
        name: "yield_many",
        unit: NS_PER_OP,
        higher_is_better: false,
        note: "1000 tasks x 1000 yield_now (nimsync / tokio::task / futures-lite for \
               async-executor); ns per yield",
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

fn per_task(p: &Params) -> u64 {
    p.count(YIELDS) / TASKS
}

fn nimsync(p: &Params) -> f64 {
    let k = per_task(p);
    let d = on_nimsync(async move {
        let start = Instant::now();
        let hs: Vec<_> = (0..TASKS)
            .map(|_| {
                nimsync_scheduler::spawn(async move {
                    for _ in 0..k {
                        nimsync_scheduler::yield_now().await;
                    }
                })
            })
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
            .map(|_| {
                tokio::spawn(async move {
                    for _ in 0..k {
                        tokio::task::yield_now().await;
                    }
                })
            })
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
    let d = on_async_executor(false, move |ex: Ex| async move {
        let start = Instant::now();
        let hs: Vec<_> = (0..TASKS)
            .map(|_| {
                ex.spawn(async move {
                    for _ in 0..k {
                        futures_lite::future::yield_now().await;
                    }
                })
            })
            .collect();
        for h in hs {
            h.await;
        }
        start.elapsed()
    });
    ns_per_op(k * TASKS, d)
}
