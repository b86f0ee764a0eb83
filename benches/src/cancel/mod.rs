//! Cancellation workloads: nimsync-cancel against tokio-util's `CancellationToken` and
//! `tokio::time::timeout`.

use crate::harness::Workload;

pub mod is_cancelled;
pub mod timeout;
pub mod tree_cancel;

/// Every cancellation workload, in run order.
pub fn workloads() -> Vec<Workload> {
    vec![
        is_cancelled::workload(),
        tree_cancel::workload(),
        timeout::workload(),
    ]
}
