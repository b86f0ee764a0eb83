//! spawn_many: one task spawns N trivial tasks, then awaits every `JoinHandle`.

use std::time::{Duration, Instant};

use super::{Ex, on_async_executor, on_nimsync, on_tokio};
use crate::harness::{Contender, NS_PER_OP, Params, Workload, ns_per_op};

/// Tasks per repetition (÷2 with `--quick`).
pub const TASKS: u64 = 1_000_000;

/// The workload.
pub fn workload() -> Workload {
    Workload {
        group: "scheduler",
        name: "spawn_many",
        unit: NS_PER_OP,
        higher_is_better: false,
        note: "a task spawns 1M trivial tasks, then awaits each JoinHandle; ns per task \
               (spawn + run + join), 2 workers each",
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

/// The nimsync root task (also used by `hook_overhead`).
pub async fn nimsync_root(n: u64) -> Duration {
    let start = Instant::now();
    let handles: Vec<_> = (0..n)
        .map(|i| nimsync_scheduler::spawn(async move { i }))
        .collect();
    let mut sum = 0;
    for h in handles {
        sum += h.await.expect("task panicked");
    }
    assert_eq!(sum, n * (n - 1) / 2);
    start.elapsed()
}

fn nimsync(p: &Params) -> f64 {
    let n = p.count(TASKS);
    ns_per_op(n, on_nimsync(nimsync_root(n)))
}

fn tokio(p: &Params) -> f64 {
    let n = p.count(TASKS);
    let d = on_tokio(async move {
        let start = Instant::now();
        let handles: Vec<_> = (0..n).map(|i| tokio::spawn(async move { i })).collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.expect("task panicked");
        }
        assert_eq!(sum, n * (n - 1) / 2);
        start.elapsed()
    });
    ns_per_op(n, d)
}

fn async_executor(p: &Params) -> f64 {
    let n = p.count(TASKS);
    let d = on_async_executor(false, move |ex: Ex| async move {
        let start = Instant::now();
        let handles: Vec<_> = (0..n).map(|i| ex.spawn(async move { i })).collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await;
        }
        assert_eq!(sum, n * (n - 1) / 2);
        start.elapsed()
    });
    ns_per_op(n, d)
}
