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

/// Environment variable: when set (to anything), a no-op set of actor message hooks is
/// installed before the workloads run, to measure what an installed hook costs per message
/// (compare a run with it against one without).
pub const NOOP_HOOKS_ENV: &str = "NIMSYNC_BENCH_NOOP_MESSAGE_HOOKS";

/// Message hooks that capture nothing (the cost of the hook calls alone).
struct NoopHooks;

impl nimsync_actors::MessageHooks for NoopHooks {
    fn on_send(&self, _: &nimsync_actors::MessageInfo) -> Option<nimsync_actors::MessageContext> {
        None
    }
    fn on_handle_start(
        &self,
        _: &nimsync_actors::MessageInfo,
        sent: Option<nimsync_actors::MessageContext>,
    ) -> Option<nimsync_actors::MessageContext> {
        sent
    }
    fn on_handle_end(
        &self,
        _: &nimsync_actors::MessageInfo,
        _: Option<nimsync_actors::MessageContext>,
        _: nimsync_actors::HandleOutcome,
    ) {
    }
}

/// Every actor workload, in run order.
pub fn workloads() -> Vec<Workload> {
    if std::env::var_os(NOOP_HOOKS_ENV).is_some() {
        static NOOP: NoopHooks = NoopHooks;
        let _ = nimsync_actors::set_message_hooks(&NOOP);
    }
    vec![tell::workload(), ask::workload(), restart::workload()]
}
