//! NUMA workloads: `NumaLocalChannel` (MPMC, SPSC, MPSC) against a plain nimsync channel of
//! the same mode and crossbeam-channel, and the cost of `Topology::detect()`.
//!
//! On a one-node machine the NUMA channel has one shard and forwards every call to it, so the
//! expected ratio against the plain channel is 1.0 (parity). The fake two-node workload puts
//! two shards on a machine without NUMA: it measures what the shard machinery costs, not what
//! NUMA locality gains (that needs a multi-node machine).

use crate::harness::Workload;

pub mod channel;
pub mod detect;

/// Every NUMA workload, in run order.
pub fn workloads() -> Vec<Workload> {
    vec![
        channel::detected_workload(),
        channel::two_fake_nodes_workload(),
        channel::spsc_workload(),
        channel::mpsc_workload(),
        detect::workload(),
    ]
}
