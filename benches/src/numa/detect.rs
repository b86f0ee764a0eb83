//! The cost of one `Topology::detect()` (sysfs read, affinity mask, validation), next to
//! `std::thread::available_parallelism()` (affinity mask and cgroup quota) as a reference for
//! "asking the OS about CPUs".

use crate::harness::{Contender, NS_PER_OP, Params, Workload, ns_per_op};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Time budget per repetition (÷2 with `--quick`).
const BUDGET: Duration = Duration::from_millis(400);

/// The workload.
pub fn workload() -> Workload {
    Workload {
        group: "numa",
        name: "topology_detect",
        unit: NS_PER_OP,
        higher_is_better: false,
        note: "one Topology::detect() call (sysfs + sched_getaffinity + validation), ns per call",
        contenders: vec![
            Contender {
                name: "nimsync",
                run: detect,
            },
            Contender {
                name: "std",
                run: available_parallelism,
            },
        ],
    }
}

/// Calls `f` until the budget is spent; ns per call.
fn timed(p: &Params, mut f: impl FnMut()) -> f64 {
    let budget = p.budget(BUDGET);
    let start = Instant::now();
    let mut calls = 0u64;
    while calls == 0 || start.elapsed() < budget {
        f();
        calls += 1;
    }
    ns_per_op(calls, start.elapsed())
}

fn detect(p: &Params) -> f64 {
    timed(p, || {
        let topo = nimsync_numa::Topology::detect().expect("topology");
        black_box(topo);
    })
}

fn available_parallelism(p: &Params) -> f64 {
    timed(p, || {
        black_box(std::thread::available_parallelism().expect("parallelism"));
    })
}
