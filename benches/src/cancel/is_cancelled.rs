//! is_cancelled: the cost of checking a (live) child token, the hot check inside loops.

use std::hint::black_box;
use std::time::Instant;

use crate::harness::{Contender, NS_PER_OP, Params, Workload, ns_per_op};

/// Checks per repetition (÷2 with `--quick`).
pub const CHECKS: u64 = 200_000_000;

/// The workload.
pub fn workload() -> Workload {
    Workload {
        group: "cancel",
        name: "is_cancelled",
        unit: NS_PER_OP,
        higher_is_better: false,
        note: "is_cancelled() on a live child token in a loop (token re-read through \
               black_box each time); ns per check",
        contenders: vec![
            Contender {
                name: "nimsync",
                run: nimsync,
            },
            Contender {
                name: "tokio-util",
                run: tokio_util,
            },
        ],
    }
}

fn nimsync(p: &Params) -> f64 {
    let n = p.count(CHECKS);
    let root = nimsync_cancel::CancelToken::new();
    let child = root.child();
    let start = Instant::now();
    let mut hits = 0u64;
    for _ in 0..n {
        hits += u64::from(black_box(&child).is_cancelled());
    }
    let d = start.elapsed();
    assert_eq!(hits, 0);
    ns_per_op(n, d)
}

fn tokio_util(p: &Params) -> f64 {
    let n = p.count(CHECKS);
    let root = tokio_util::sync::CancellationToken::new();
    let child = root.child_token();
    let start = Instant::now();
    let mut hits = 0u64;
    for _ in 0..n {
        hits += u64::from(black_box(&child).is_cancelled());
    }
    let d = start.elapsed();
    assert_eq!(hits, 0);
    ns_per_op(n, d)
}
