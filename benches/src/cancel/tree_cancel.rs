//! tree_cancel: cancelling the root of a 10 101-token tree (1 root, 100 children, 10 000
//! grandchildren). Building and dropping the trees is not timed.

use std::time::{Duration, Instant};

use crate::harness::{Contender, NS_PER_OP, Params, Workload};

/// Children of the root, and children of each child.
const FANOUT: usize = 100;

/// The workload.
pub fn workload() -> Workload {
    Workload {
        group: "cancel",
        name: "tree_cancel",
        unit: NS_PER_OP,
        higher_is_better: false,
        note: "cancel() on the root of a 10 101-token tree (1 + 100 + 10 000), every token \
               alive; ns per tree (building and dropping not timed)",
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

/// Trees cancelled per repetition.
fn trees(p: &Params) -> u32 {
    match (p.quick, p.warmup) {
        (_, true) => 2,
        (true, false) => 10,
        (false, false) => 20,
    }
}

fn nimsync(p: &Params) -> f64 {
    let n = trees(p);
    let mut total = Duration::ZERO;
    for _ in 0..n {
        let root = nimsync_cancel::CancelToken::new();
        let mut all = Vec::with_capacity(FANOUT * (FANOUT + 1));
        for _ in 0..FANOUT {
            let c = root.child();
            for _ in 0..FANOUT {
                all.push(c.child());
            }
            all.push(c);
        }
        let start = Instant::now();
        root.cancel();
        total += start.elapsed();
        assert!(all.iter().all(nimsync_cancel::CancelToken::is_cancelled));
    }
    total.as_nanos() as f64 / f64::from(n)
}

fn tokio_util(p: &Params) -> f64 {
    let n = trees(p);
    let mut total = Duration::ZERO;
    for _ in 0..n {
        let root = tokio_util::sync::CancellationToken::new();
        let mut all = Vec::with_capacity(FANOUT * (FANOUT + 1));
        for _ in 0..FANOUT {
            let c = root.child_token();
            for _ in 0..FANOUT {
                all.push(c.child_token());
            }
            all.push(c);
        }
        let start = Instant::now();
        root.cancel();
        total += start.elapsed();
        assert!(
            all.iter()
                .all(tokio_util::sync::CancellationToken::is_cancelled)
        );
    }
    total.as_nanos() as f64 / f64::from(n)
}
