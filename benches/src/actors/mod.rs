//! Actor workloads: nimsync-actors against ractor and kameo (tokio runtimes) and a raw tokio
//! mpsc + oneshot baseline, every contender on a runtime with the same number of workers
//! ([`WORKERS`](crate::scheduler::WORKERS)); plus nimsync-supervision's restart latency.
//!
//! Mailboxes: nimsync bounded 1024 (`Block`), kameo bounded 1024, tokio mpsc bounded 1024;
//! ractor's mailbox is unbounded (it has no bounded option).

use crate::harness::Workload;

pub mod ask;
pub mod peers;
pub mod restart;
pub mod tell;

/// Mailbox capacity of every bounded contender.
pub const MAILBOX: usize = 1024;

/// Every actor workload, in run order.
pub fn workloads() -> Vec<Workload> {
    vec![tell::workload(), ask::workload(), restart::workload()]
}
