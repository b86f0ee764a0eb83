//! Stream workloads: nimsync-streams' inline stages against the same pipeline built with
//! futures-util's `StreamExt`, both driven on the calling thread by one executor.

use crate::harness::Workload;

pub mod pipeline;

/// Every stream workload, in run order.
pub fn workloads() -> Vec<Workload> {
    vec![pipeline::workload()]
}
