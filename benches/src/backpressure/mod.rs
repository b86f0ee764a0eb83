//! Backpressure workloads: the cost of admitting and releasing one request through a
//! concurrency limiter — nimsync's `ConcurrencyLimiter` (fixed and adaptive) against
//! tower's `ConcurrencyLimit` middleware and a bare tokio `Semaphore` (what tower uses
//! inside).

use crate::harness::Workload;

pub mod limiter;

/// Every backpressure workload, in run order.
pub fn workloads() -> Vec<Workload> {
    vec![limiter::uncontended(), limiter::contended()]
}
