//! [`NumaSender`]: writes to the shard of the calling thread's node (or of the node it is
//! bound to), or, for a replicated channel, to every shard.

use super::stats::NumaStats;
use super::{Shared, Strategy, wait};
use crate::error::ChannelError;
use nimsync_core_channels::{Policy, SendError, TryReserveError, TrySendError, mpmc};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The sending half of a [`NumaLocalChannel`](crate::NumaLocalChannel). Cloneable; dropping
/// the last sender closes the channel (receivers drain what is buffered, then see `Closed`).
///
/// By default a sender follows its thread: every send goes to the shard of the node the
/// thread is on at that moment. [`on_node`](Self::on_node) gives a sender bound to one node;
/// its sends from a thread on another node count as remote in [`NumaStats`].
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
pub struct NumaSender<T: Send> {
    shared: Arc<Shared<T>>,
    /// Bound node position, or `None` to follow the thread.
    node: Option<usize>,
}

impl<T: Send + 'static> NumaSender<T> {
    /// Takes over one sender count (the caller has counted it).
    pub(super) fn new(shared: Arc<Shared<T>>, node: Option<usize>) -> Self {
        NumaSender { shared, node }
    }

    /// A new sender of the same channel bound to node `node` (an id of the topology).
    pub fn on_node(&self, node: usize) -> Result<NumaSender<T>, ChannelError> {
        let index = self.shared.index_of(node)?;
        self.shared.add_sender();
        Ok(NumaSender::new(self.shared.clone(), Some(index)))
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
            Some(bound) => {
                let remote =
                    self.shared.shards.len() > 1 && self.shared.nodes.current_index() != bound;
                (bound, remote)
            }
        }
    }

    /// Counts a successful remote send.
    fn count<E>(&self, remote: bool, result: Result<(), E>) -> Result<(), E> {
        if remote && result.is_ok() {
            self.shared.remote_sends.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// Sends without waiting: `Full` if the target shard (for a replicated channel: any
    /// shard) has no room, `Closed` if the channel is closed; the value comes back in both.
    ///
    /// ```
    /// use nimsync_core_channels::TrySendError;
    /// let topo = nimsync_numa::Topology::uniform(1, 1).unwrap();
    /// let (tx, _rx) = nimsync_numa::NumaLocalChannel::<u8>::partitioned(&topo, 1).unwrap();
    /// tx.try_send(1).unwrap();
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let Some(clone) = self.shared.clone_value else {
            let (i, remote) = self.target();
            return self.count(remote, self.shared.shards[i].tx.try_send(value));
        };
        if self.shared.policy != Policy::Block {
            return self.send_to_every_shard(value, clone);
        }
        let mut permits = Vec::with_capacity(self.shared.shards.len());
        for shard in &self.shared.shards {
            match shard.tx.try_reserve() {
                Ok(p) => permits.push(p),
                Err(TryReserveError::Full) => return Err(TrySendError::Full(value)),
                Err(TryReserveError::Closed) => return Err(TrySendError::Closed(value)),
            }
        }
        deliver(permits, value, clone);
        Ok(())
    }

    /// Sends, parking the thread while the target shard is full (for a replicated channel:
    /// until every shard has room). Fails only if the channel is closed.
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::uniform(2, 1).unwrap();
    /// let (tx, rx) = nimsync_numa::NumaLocalChannel::<u32>::replicated(&topo, 1).unwrap();
    /// tx.send_blocking(5).unwrap();
    /// assert_eq!(rx.on_node(1).unwrap().recv_blocking(), Ok(5));
    /// ```
    pub fn send_blocking(&self, value: T) -> Result<(), SendError<T>> {
        match self.shared.clone_value {
            None => {
                let (i, remote) = self.target();
                self.count(remote, self.shared.shards[i].tx.send_blocking(value))
            }
            Some(clone) => wait::block_on(self.send_replicated(value, clone)),
        }
    }

    /// Sends asynchronously, waiting while the target shard is full. Cancel-safe in the
    /// core-channels sense: dropping the future never enqueues the value.
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::uniform(1, 1).unwrap();
    /// let (tx, rx) = nimsync_numa::NumaLocalChannel::<u8>::partitioned(&topo, 1).unwrap();
    /// futures_executor::block_on(async {
    ///     tx.send(3).await.unwrap();
    ///     assert_eq!(rx.recv().await, Ok(3));
    /// });
    /// ```
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        match self.shared.clone_value {
            None => {
                let (i, remote) = self.target();
                let result = self.shared.shards[i].tx.send(value).await;
                self.count(remote, result)
            }
            Some(clone) => self.send_replicated(value, clone).await,
        }
    }

    /// Reserves a slot in every shard (in shard order, so concurrent replicated senders
    /// cannot deadlock), then writes the copies.
    async fn send_replicated(&self, value: T, clone: fn(&T) -> T) -> Result<(), SendError<T>> {
        if self.shared.policy != Policy::Block {
            return self
                .send_to_every_shard(value, clone)
                .map_err(|e| SendError(e.into_inner()));
        }
        let mut permits = Vec::with_capacity(self.shared.shards.len());
        for shard in &self.shared.shards {
            match shard.tx.reserve().await {
                Ok(p) => permits.push(p),
                Err(_) => return Err(SendError(value)),
            }
        }
        deliver(permits, value, clone);
        Ok(())
    }

    /// A replicated send under a non-blocking policy: no shard refuses a value for lack of
    /// room (it drops or spills by its policy), so each copy is a `try_send`.
    fn send_to_every_shard(&self, value: T, clone: fn(&T) -> T) -> Result<(), TrySendError<T>> {
        let shards = &self.shared.shards;
        if self.shared.is_closed() {
            return Err(TrySendError::Closed(value));
        }
        // A topology has at least one node, so there is a last shard.
        let Some((last, rest)) = shards.split_last() else {
            return Err(TrySendError::Closed(value));
        };
        for shard in rest {
            let _ = shard.tx.try_send(clone(&value)); // only `Closed` (a racing close) fails
        }
        last.tx.try_send(value)
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
        self.shared.close()
    }

    /// True once the channel is closed.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
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
        self.shared.len()
    }

    /// True when no shard holds a value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Local/remote counters and per-node counts.
    pub fn stats(&self) -> NumaStats {
        NumaStats::collect(&self.shared)
    }
}

/// Writes one copy into every reserved slot; the original goes into the last one.
fn deliver<T: Send>(mut permits: Vec<mpmc::Permit<'_, T>>, value: T, clone: fn(&T) -> T) {
    let last = permits.pop();
    for p in permits {
        p.send(clone(&value));
    }
    if let Some(p) = last {
        p.send(value);
    }
}

impl<T: Send> Clone for NumaSender<T> {
    fn clone(&self) -> Self {
        self.shared.add_sender();
        NumaSender {
            shared: self.shared.clone(),
            node: self.node,
        }
    }
}

impl<T: Send> Drop for NumaSender<T> {
    fn drop(&mut self) {
        self.shared.remove_sender();
    }
}

impl<T: Send> fmt::Debug for NumaSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NumaSender")
            .field("strategy", &self.shared.strategy())
            .field("node", &self.node.map(|i| self.shared.nodes.id_at(i)))
            .finish_non_exhaustive()
    }
}
