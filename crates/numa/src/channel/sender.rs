//! [`NumaSender`]: writes to the shard of the calling thread's node (or of the node it is
//! bound to), or, for a replicated channel, to every shard.
//!
//! The operations are written once in `sender_ops!` and instantiated per mode, with `&self`
//! on multi-producer modes and `&mut self` on single-producer ones, as in core-channels.

use super::stats::NumaStats;
use super::{Shards, Shared, Strategy, wait};
use crate::error::ChannelError;
use nimsync_core_channels::{
    Mode, Mpmc, Mpsc, Permit, Policy, SendError, Sender, Spmc, Spsc, TryReserveError, TrySendError,
};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The sending half of a [`NumaLocalChannel`](crate::NumaLocalChannel) of mode `M`
/// (MPMC by default). Dropping the last sender closes the channel (receivers drain what is
/// buffered, then see `Closed`).
///
/// Multi-producer modes ([`Mpmc`], [`Mpsc`]): `Clone`, sends through `&self`,
/// [`on_node`](Self::on_node) gives another sender bound to a node. Single-producer modes
/// ([`Spsc`], [`Spmc`]): not `Clone`, sends through `&mut self`; [`set_node`](Self::set_node)
/// rebinds the one sender.
///
/// By default a sender follows its thread: every send goes to the shard of the node the
/// thread is on at that moment. A sender bound to a node sends to that node's shard; its
/// sends from a thread on another node count as remote in [`NumaStats`].
///
/// ```
/// use nimsync_numa::{NumaLocalChannel, Topology};
/// let topo = Topology::uniform(2, 2).unwrap();
/// let (tx, rx) = NumaLocalChannel::<&str>::partitioned(&topo, 8).unwrap();
/// let tx1 = tx.on_node(1).unwrap();
/// tx1.try_send("to node 1").unwrap();
/// assert_eq!(tx.stats().nodes[1].sent, 1);
/// assert_eq!(rx.try_recv(), Ok("to node 1"));
/// ```
///
/// The mode is enforced by the types, as in core-channels:
///
/// ```compile_fail
/// let topo = nimsync_numa::Topology::uniform(2, 1).unwrap();
/// let (tx, _rx) = nimsync_numa::NumaLocalChannel::<u8>::spsc(&topo, 4).unwrap();
/// let _second_producer = tx.clone();
/// ```
///
/// ```compile_fail
/// fn send_from_shared(tx: &nimsync_numa::NumaSender<u8, nimsync_numa::Spmc>) {
///     let _ = tx.try_send(1);
/// }
/// ```
pub struct NumaSender<T: Send, M: Mode = Mpmc> {
    /// One core-channels sender per node position.
    shards: Shards<Sender<T, M>>,
    shared: Arc<Shared<T>>,
    /// Bound node position, or `None` to follow the thread.
    node: Option<usize>,
}

impl<T: Send + 'static, M: Mode> NumaSender<T, M> {
    pub(super) fn new(
        shards: Shards<Sender<T, M>>,
        shared: Arc<Shared<T>>,
        node: Option<usize>,
    ) -> Self {
        NumaSender {
            shards,
            shared,
            node,
        }
    }

    /// Binds this sender to node `node` (an id of the topology), or with `None` lets it
    /// follow its thread again.
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::uniform(2, 1).unwrap();
    /// let (mut tx, mut rx) = nimsync_numa::NumaLocalChannel::<u8>::spsc(&topo, 2).unwrap();
    /// tx.set_node(Some(1)).unwrap();
    /// tx.try_send(3).unwrap();
    /// assert_eq!(tx.stats().nodes[1].sent, 1);
    /// assert!(tx.set_node(Some(9)).is_err());
    /// assert_eq!(rx.try_recv(), Ok(3));
    /// ```
    pub fn set_node(&mut self, node: Option<usize>) -> Result<(), ChannelError> {
        self.node = node.map(|id| self.shared.index_of(id)).transpose()?;
        Ok(())
    }

    /// The node this sender is bound to, or `None` if it follows its thread.
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::uniform(2, 1).unwrap();
    /// let (tx, _rx) = nimsync_numa::NumaLocalChannel::<u8>::partitioned(&topo, 2).unwrap();
    /// assert_eq!((tx.node(), tx.on_node(1).unwrap().node()), (None, Some(1)));
    /// ```
    pub fn node(&self) -> Option<usize> {
        self.node.map(|i| self.shared.nodes.id_at(i))
    }

    /// The channel's strategy.
    pub fn strategy(&self) -> Strategy {
        self.shared.strategy()
    }

    /// The shard (node position) a partitioned send goes to now, and whether that is remote.
    #[inline]
    fn target(&self) -> (usize, bool) {
        match self.node {
            None => (self.shared.nodes.current_index(), false),
            Some(bound) => (bound, self.shared.nodes.current_index() != bound),
        }
    }

    /// Counts a successful remote send.
    fn count<E>(&self, remote: bool, result: Result<(), E>) -> Result<(), E> {
        if remote && result.is_ok() {
            self.shared.remote_sends.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// Closes the channel (every shard); true if this call closed it.
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::uniform(2, 1).unwrap();
    /// let (tx, rx) = nimsync_numa::NumaLocalChannel::<u8>::partitioned(&topo, 2).unwrap();
    /// assert!(tx.close());
    /// assert!(tx.is_closed() && tx.try_send(1).is_err());
    /// assert!(rx.recv_blocking().is_err());
    /// ```
    pub fn close(&self) -> bool {
        self.shards.close_all()
    }

    /// True once the channel is closed.
    pub fn is_closed(&self) -> bool {
        self.shards.all_closed()
    }

    /// Values buffered in all shards.
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::uniform(2, 1).unwrap();
    /// let (tx, _rx) = nimsync_numa::NumaLocalChannel::<u8>::replicated(&topo, 2).unwrap();
    /// tx.try_send(1).unwrap();
    /// assert_eq!(tx.len(), 2); // one copy per node
    /// ```
    pub fn len(&self) -> usize {
        self.shards.total_len()
    }

    /// True when no shard holds a value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The nodes whose shard is full right now (a snapshot), in node order. When a send is
    /// refused with `Full` these are the nodes holding it up; for a replicated channel under
    /// `Block`, a node listed here again and again has no receiver draining it (see
    /// [`Strategy::Replicated`]).
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::uniform(2, 1).unwrap();
    /// let (tx, _rx) = nimsync_numa::NumaLocalChannel::<u8>::partitioned(&topo, 1).unwrap();
    /// assert!(tx.full_nodes().is_empty());
    /// tx.on_node(1).unwrap().try_send(1).unwrap();
    /// assert_eq!(tx.full_nodes(), vec![1]);
    /// ```
    pub fn full_nodes(&self) -> Vec<usize> {
        self.shards
            .iter()
            .enumerate()
            .filter(|(_, shard)| shard.is_full())
            .map(|(i, _)| self.shared.nodes.id_at(i))
            .collect()
    }

    /// Local/remote counters and per-node counts.
    pub fn stats(&self) -> NumaStats {
        NumaStats::collect(&self.shared, &self.shards)
    }
}

/// Producer operations; `$($m)?` is `mut` on single-producer modes, `$iter` the matching
/// shard iterator (`iter` / `iter_mut`).
macro_rules! sender_ops {
    ($mode:ty, $iter:ident $(, $m:tt)?) => {
        impl<T: Send + 'static> NumaSender<T, $mode> {
            /// Sends without waiting: `Full` if the target shard (for a replicated channel:
            /// any shard) has no room, `Closed` if the channel is closed; the value comes back
            /// in both. After `Full`, [`full_nodes`](NumaSender::full_nodes) says which node's
            /// shard is full (a replicated channel needs a draining receiver on every node:
            /// see [`Strategy::Replicated`]).
            ///
            /// ```
            /// use nimsync_core_channels::TrySendError;
            /// let topo = nimsync_numa::Topology::uniform(1, 1).unwrap();
            /// let (tx, _rx) = nimsync_numa::NumaLocalChannel::<u8>::partitioned(&topo, 1).unwrap();
            /// tx.try_send(1).unwrap();
            /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
            /// ```
            #[inline]
            pub fn try_send(&$($m)? self, value: T) -> Result<(), TrySendError<T>> {
                if self.shards.is_single() {
                    return (&$($m)? self.shards.first).try_send(value);
                }
                self.try_send_sharded(value)
            }

            /// [`try_send`](Self::try_send) with several shards, out of line so the one-node
            /// fast path stays small enough to inline whole.
            #[inline(never)]
            fn try_send_sharded(&$($m)? self, value: T) -> Result<(), TrySendError<T>> {
                let Some(clone) = self.shared.clone_value else {
                    let (i, remote) = self.target();
                    let result = self.shards[i].try_send(value);
                    return self.count(remote, result);
                };
                if self.shared.policy != Policy::Block {
                    return self.send_to_every_shard(value, clone);
                }
                let mut permits = Vec::with_capacity(self.shards.len());
                for shard in self.shards.$iter() {
                    match shard.try_reserve() {
                        Ok(p) => permits.push(p),
                        Err(TryReserveError::Full) => return Err(TrySendError::Full(value)),
                        Err(TryReserveError::Closed) => return Err(TrySendError::Closed(value)),
                    }
                }
                deliver(permits, value, clone);
                Ok(())
            }

            /// Sends, parking the thread while the target shard is full (for a replicated
            /// channel: until every shard has room). Fails only if the channel is closed.
            ///
            /// ```
            /// let topo = nimsync_numa::Topology::uniform(2, 1).unwrap();
            /// let (tx, rx) = nimsync_numa::NumaLocalChannel::<u32>::replicated(&topo, 1).unwrap();
            /// tx.send_blocking(5).unwrap();
            /// assert_eq!(rx.on_node(1).unwrap().recv_blocking(), Ok(5));
            /// ```
            #[inline]
            pub fn send_blocking(&$($m)? self, value: T) -> Result<(), SendError<T>> {
                if self.shards.is_single() {
                    return (&$($m)? self.shards.first).send_blocking(value);
                }
                self.send_blocking_sharded(value)
            }

            /// [`send_blocking`](Self::send_blocking) with several shards, out of line.
            #[inline(never)]
            fn send_blocking_sharded(&$($m)? self, value: T) -> Result<(), SendError<T>> {
                match self.shared.clone_value {
                    None => {
                        let (i, remote) = self.target();
                        let result = self.shards[i].send_blocking(value);
                        self.count(remote, result)
                    }
                    Some(clone) => wait::block_on(self.send_replicated(value, clone)),
                }
            }

            /// Sends asynchronously, waiting while the target shard is full. Cancel-safe in
            /// the core-channels sense: dropping the future never enqueues the value.
            ///
            /// ```
            /// let topo = nimsync_numa::Topology::uniform(1, 1).unwrap();
            /// let (tx, rx) = nimsync_numa::NumaLocalChannel::<u8>::partitioned(&topo, 1).unwrap();
            /// futures_executor::block_on(async {
            ///     tx.send(3).await.unwrap();
            ///     assert_eq!(rx.recv().await, Ok(3));
            /// });
            /// ```
            pub async fn send(&$($m)? self, value: T) -> Result<(), SendError<T>> {
                if self.shards.is_single() {
                    return (&$($m)? self.shards.first).send(value).await;
                }
                match self.shared.clone_value {
                    None => {
                        let (i, remote) = self.target();
                        let result = self.shards[i].send(value).await;
                        self.count(remote, result)
                    }
                    Some(clone) => self.send_replicated(value, clone).await,
                }
            }

            /// Reserves a slot in every shard (in shard order, so concurrent replicated
            /// senders cannot deadlock), then writes the copies.
            async fn send_replicated(
                &$($m)? self,
                value: T,
                clone: fn(&T) -> T,
            ) -> Result<(), SendError<T>> {
                if self.shared.policy != Policy::Block {
                    return self
                        .send_to_every_shard(value, clone)
                        .map_err(|e| SendError(e.into_inner()));
                }
                let mut permits = Vec::with_capacity(self.shards.len());
                for shard in self.shards.$iter() {
                    match shard.reserve().await {
                        Ok(p) => permits.push(p),
                        Err(_) => return Err(SendError(value)),
                    }
                }
                deliver(permits, value, clone);
                Ok(())
            }

            /// A replicated send under a non-blocking policy: no shard refuses a value for
            /// lack of room (it drops or spills by its policy), so each copy is a `try_send`.
            fn send_to_every_shard(
                &$($m)? self,
                value: T,
                clone: fn(&T) -> T,
            ) -> Result<(), TrySendError<T>> {
                if self.is_closed() {
                    return Err(TrySendError::Closed(value));
                }
                let last = self.shards.len() - 1;
                for i in 0..last {
                    let _ = self.shards[i].try_send(clone(&value)); // only `Closed` (a racing close) fails
                }
                self.shards[last].try_send(value)
            }
        }
    };
}

sender_ops!(Mpmc, iter);
sender_ops!(Mpsc, iter);
sender_ops!(Spmc, iter_mut, mut);
sender_ops!(Spsc, iter_mut, mut);

/// Writes one copy into every reserved slot; the original goes into the last one.
fn deliver<T: Send, M: Mode>(mut permits: Vec<Permit<'_, T, M>>, value: T, clone: fn(&T) -> T) {
    let last = permits.pop();
    for p in permits {
        p.send(clone(&value));
    }
    if let Some(p) = last {
        p.send(value);
    }
}

/// Cloning and binding new senders, for the multi-producer modes.
macro_rules! multi_producer {
    ($mode:ty) => {
        impl<T: Send + 'static> NumaSender<T, $mode> {
            /// A new sender of the same channel bound to node `node` (an id of the topology).
            ///
            /// ```
            /// let topo = nimsync_numa::Topology::uniform(2, 1).unwrap();
            /// let (tx, _rx) = nimsync_numa::NumaLocalChannel::<u8>::partitioned(&topo, 2).unwrap();
            /// assert_eq!(tx.on_node(1).unwrap().node(), Some(1));
            /// assert!(tx.on_node(2).is_err());
            /// ```
            pub fn on_node(&self, node: usize) -> Result<Self, ChannelError> {
                let index = self.shared.index_of(node)?;
                let mut tx = self.clone();
                tx.node = Some(index);
                Ok(tx)
            }
        }

        impl<T: Send + 'static> Clone for NumaSender<T, $mode> {
            fn clone(&self) -> Self {
                NumaSender {
                    shards: self.shards.clone(),
                    shared: self.shared.clone(),
                    node: self.node,
                }
            }
        }
    };
}

multi_producer!(Mpmc);
multi_producer!(Mpsc);

impl<T: Send, M: Mode> fmt::Debug for NumaSender<T, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NumaSender")
            .field("mode", &M::NAME)
            .field("strategy", &self.shared.strategy())
            .field("node", &self.node.map(|i| self.shared.nodes.id_at(i)))
            .finish_non_exhaustive()
    }
}
