//! Task-group workloads: nimsync-group against tokio's `JoinSet`, and against a plain nimsync
//! spawn (the group's own overhead).

use crate::harness::Workload;

pub mod spawn_join;

/// Every task-group workload, in run order.
pub fn workloads() -> Vec<Workload> {
    vec![spawn_join::workload()]
}
