//! timeout: the overhead of wrapping a future that is ready at once in a 1 s timeout, inside
//! a task (so each runtime's timer is available).

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::harness::{Contender, NS_PER_OP, Params, Workload, ns_per_op};
use crate::scheduler::{on_nimsync, on_tokio};

/// Timeouts per repetition (÷2 with `--quick`).
pub const OPS: u64 = 1_000_000;

/// The workload.
pub fn workload() -> Workload {
    Workload {
        group: "cancel",
        name: "timeout",
        unit: NS_PER_OP,
        higher_is_better: false,
        note: "timeout(1 s, ready future).await in a loop inside a task (2 workers); ns per \
               timeout (create, poll, drop)",
        contenders: vec![
            Contender {
                name: "nimsync",
                run: nimsync,
            },
            Contender {
                name: "tokio",
                run: tokio,
            },
        ],
    }
}

fn nimsync(p: &Params) -> f64 {
    let n = p.count(OPS);
    let d = on_nimsync(async move {
        let start = Instant::now();
        let mut sum = 0u64;
        for i in 0..n {
            let fut = async move { black_box(i) };
            sum += nimsync_cancel::timeout(Duration::from_secs(1), fut)
                .await
                .expect("no timeout");
        }
        assert_eq!(sum, n * (n - 1) / 2);
        start.elapsed()
    });
    ns_per_op(n, d)
}

fn tokio(p: &Params) -> f64 {
    let n = p.count(OPS);
    let d = on_tokio(async move {
        let start = Instant::now();
        let mut sum = 0u64;
        for i in 0..n {
            let fut = async move { black_box(i) };
            sum += tokio::time::timeout(Duration::from_secs(1), fut)
                .await
                .expect("no timeout");
        }
        assert_eq!(sum, n * (n - 1) / 2);
        start.elapsed()
    });
    ns_per_op(n, d)
}
