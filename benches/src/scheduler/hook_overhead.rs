//! hook_overhead: nimsync's spawn_many with no-op `on_spawn` / `before_poll` / `after_poll`
//! hooks installed ("nimsync") against the same runtime without hooks ("nimsync-no-hooks").
//! tokio's task hooks are unstable (`tokio_unstable`), so there is no peer; the ratio column
//! is no-hook time / hook time (1.00× = free).

use super::spawn_many::{TASKS, nimsync_root};
use super::{WORKERS, on_nimsync, on_nimsync_rt};
use crate::harness::{Contender, NS_PER_OP, Params, Workload, ns_per_op};

/// The workload.
pub fn workload() -> Workload {
    Workload {
        group: "scheduler",
        name: "hook_overhead",
        unit: NS_PER_OP,
        higher_is_better: false,
        note: "spawn_many (1M tasks) with no-op on_spawn/before_poll/after_poll hooks \
               (nimsync) vs none (nimsync-no-hooks); ns per task; ratio = no-hook / hook",
        contenders: vec![
            Contender {
                name: "nimsync",
                run: hooked,
            },
            Contender {
                name: "nimsync-no-hooks",
                run: plain,
            },
        ],
    }
}

fn hooked(p: &Params) -> f64 {
    let n = p.count(TASKS);
    let rt = nimsync_scheduler::Runtime::builder()
        .workers(WORKERS)
        .on_spawn(|info| {
            std::hint::black_box(info);
        })
        .before_poll(|info| {
            std::hint::black_box(info);
        })
        .after_poll(|info| {
            std::hint::black_box(info);
        })
        .build()
        .expect("nimsync runtime");
    ns_per_op(n, on_nimsync_rt(&rt, nimsync_root(n)))
}

fn plain(p: &Params) -> f64 {
    let n = p.count(TASKS);
    ns_per_op(n, on_nimsync(nimsync_root(n)))
}
