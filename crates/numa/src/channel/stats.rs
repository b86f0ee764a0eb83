//! [`NumaStats`]: local vs remote operations of a NUMA-local channel, and per-node counts.
//!
//! Cheap: the hot paths count nothing extra. Per-node counts come from the shards' own
//! counters; only remote operations (a bound sender used from another node, a receiver
//! taking from a shard that is not its home) touch a shared counter.

use super::{ShardHandle, Shards, Shared};

/// Counters of one node's shard.
///
/// ```
/// let topo = nimsync_numa::Topology::uniform(2, 1).unwrap();
/// let (tx, _rx) = nimsync_numa::NumaLocalChannel::<u8>::partitioned(&topo, 2).unwrap();
/// tx.on_node(1).unwrap().try_send(1).unwrap();
/// let node1 = &tx.stats().nodes[1];
/// assert_eq!((node1.node, node1.sent, node1.len), (1, 1, 1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeStats {
    /// The node id.
    pub node: usize,
    /// Values accepted by this node's shard (for a replicated channel: copies).
    pub sent: u64,
    /// Values taken from it.
    pub received: u64,
    /// Values dropped by its overflow policy.
    pub dropped: u64,
    /// Values buffered now.
    pub len: usize,
}

/// Local vs remote sends and receives of one channel.
///
/// A send is remote when a sender bound to a node ([`on_node`](crate::NumaSender::on_node))
/// sends from a thread on another node; a following sender's sends are local by
/// construction. A receive is remote when a receiver takes from a shard other than its
/// home node's. Replicated channels count copies as sends and never have remote operations.
///
/// ```
/// let topo = nimsync_numa::Topology::uniform(1, 1).unwrap();
/// let (tx, rx) = nimsync_numa::NumaLocalChannel::<u8>::partitioned(&topo, 2).unwrap();
/// tx.try_send(1).unwrap();
/// rx.try_recv().unwrap();
/// let s = rx.stats();
/// assert_eq!((s.local_sends, s.remote_sends, s.local_receives, s.remote_receives), (1, 0, 1, 0));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumaStats {
    /// Sends into the sending thread's own node's shard.
    pub local_sends: u64,
    /// Sends into another node's shard.
    pub remote_sends: u64,
    /// Receives from the receiver's home shard.
    pub local_receives: u64,
    /// Receives from another node's shard.
    pub remote_receives: u64,
    /// Per node, in node-id order.
    pub nodes: Vec<NodeStats>,
}

impl NumaStats {
    pub(crate) fn collect<T, S: ShardHandle>(shared: &Shared<T>, shards: &Shards<S>) -> NumaStats {
        use std::sync::atomic::Ordering::Relaxed;
        let nodes: Vec<NodeStats> = shards
            .iter()
            .enumerate()
            .map(|(i, shard)| {
                let s = shard.stats();
                NodeStats {
                    node: shared.nodes.id_at(i),
                    sent: s.sent,
                    received: s.received,
                    dropped: s.dropped,
                    len: shard.len(),
                }
            })
            .collect();
        let sent: u64 = nodes.iter().map(|n| n.sent).sum();
        let received: u64 = nodes.iter().map(|n| n.received).sum();
        let remote_sends = shared.remote_sends.load(Relaxed).min(sent);
        let remote_receives = shared.remote_receives.load(Relaxed).min(received);
        NumaStats {
            local_sends: sent - remote_sends,
            remote_sends,
            local_receives: received - remote_receives,
            remote_receives,
            nodes,
        }
    }
}
