//! Channel workloads: nimsync's channels against rtrb, crossbeam, flume, kanal, async-channel,
//! tokio and std, one module per workload group.

use std::ops::Range;
use std::sync::OnceLock;
use std::time::Instant;

use crate::harness::{Workload, mmsg_per_s};

pub mod asynch;
pub mod batch;
pub mod mpmc;
pub mod mpsc;
pub mod pingpong;
pub mod same_thread;
pub mod spmc;
pub mod spsc;

/// Capacity of every bounded channel in the throughput workloads.
pub const CAP: usize = 1024;

/// Every channel workload, in run order.
pub fn workloads() -> Vec<Workload> {
    vec![
        spsc::workload(),
        same_thread::spsc_workload(),
        same_thread::mpmc_workload(),
        mpsc::workload(),
        spmc::workload(),
        mpmc::workload(),
        asynch::spsc_workload(),
        asynch::mpsc_workload(),
        pingpong::workload(),
        batch::workload(),
    ]
}

/// A thread body: producers return 0, consumers return the sum of the values they received.
pub type Job<'a> = Box<dyn FnOnce() -> u64 + Send + 'a>;

/// Boxes a thread body.
pub fn job<'a>(f: impl FnOnce() -> u64 + Send + 'a) -> Job<'a> {
    Box::new(f)
}

/// Sum of `0..n`, what the consumers of `n` messages must add up to.
pub fn expected_sum(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// The `k`-th of `parts` contiguous slices of `0..n` (producer `k`'s values).
pub fn part(n: u64, k: u64, parts: u64) -> Range<u64> {
    (n * k / parts)..(n * (k + 1) / parts)
}

/// Runs every job on its own thread, timing from the first spawn to the last join, checks that
/// the consumers received exactly the values `0..n` (by sum) and returns M msg/s.
pub fn run_threads(n: u64, jobs: Vec<Job<'_>>) -> f64 {
    let start = Instant::now();
    let sum: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = jobs.into_iter().map(|j| s.spawn(j)).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("benchmark thread panicked"))
            .sum()
    });
    let elapsed = start.elapsed();
    assert_eq!(sum, expected_sum(n), "messages lost or duplicated");
    mmsg_per_s(n, elapsed)
}

/// The shared async executor: a tokio multi-thread runtime with 2 workers.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .expect("tokio runtime")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_range() {
        let n = 1001;
        let total: u64 = (0..3).map(|k| part(n, k, 3).sum::<u64>()).sum();
        assert_eq!(total, expected_sum(n));
        assert_eq!(part(n, 0, 3).start, 0);
        assert_eq!(part(n, 2, 3).end, n);
    }
}
