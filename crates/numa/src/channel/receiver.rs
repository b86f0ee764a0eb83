//! [`NumaReceiver`]: takes from its own node's shard first, then from the other shards
//! nearest first; waits on all shards at once.

use super::stats::NumaStats;
use super::{Shared, Strategy};
use crate::error::ChannelError;
use nimsync_core_channels::{RecvError, RecvTimeoutError, Select, TryRecvError};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The receiving half of a [`NumaLocalChannel`](crate::NumaLocalChannel). Cloneable;
/// dropping the last receiver closes the channel.
///
/// Its home node is the calling thread's node (or the node it is bound to with
/// [`on_node`](Self::on_node)). Partitioned: it takes from the home shard, then from the
/// others by distance, so nothing is stranded on a node without receivers. Replicated: it
/// takes only from the home shard (every node has its own copy).
///
/// ```
/// use nimsync_numa::{NumaLocalChannel, Topology};
/// let topo = Topology::uniform(2, 1).unwrap();
/// let (tx, rx) = NumaLocalChannel::<u32>::partitioned(&topo, 4).unwrap();
/// let rx0 = rx.on_node(0).unwrap();
/// tx.on_node(0).unwrap().try_send(1).unwrap();
/// tx.on_node(1).unwrap().try_send(2).unwrap();
/// assert_eq!(rx0.try_recv(), Ok(1)); // local first
/// assert_eq!(rx0.try_recv(), Ok(2)); // then remote
/// let stats = rx0.stats();
/// assert_eq!((stats.local_receives, stats.remote_receives), (1, 1));
/// ```
pub struct NumaReceiver<T: Send> {
    shared: Arc<Shared<T>>,
    /// Bound node position, or `None` to follow the thread.
    node: Option<usize>,
    /// Receive arms on every shard (partitioned, more than one shard).
    select: Option<Select>,
}

impl<T: Send + 'static> NumaReceiver<T> {
    /// Takes over one receiver count (the caller has counted it).
    pub(super) fn new(shared: Arc<Shared<T>>, node: Option<usize>) -> Self {
        let select = (shared.shards.len() > 1 && shared.clone_value.is_none()).then(|| {
            let mut sel = Select::new();
            for shard in &shared.shards {
                sel.recv(&shard.rx);
            }
            sel
        });
        NumaReceiver {
            shared,
            node,
            select,
        }
    }

    /// A new receiver of the same channel whose home is node `node` (an id of the topology).
    pub fn on_node(&self, node: usize) -> Result<NumaReceiver<T>, ChannelError> {
        let index = self.shared.index_of(node)?;
        self.shared.add_receiver();
        Ok(NumaReceiver::new(self.shared.clone(), Some(index)))
    }

    /// The node this receiver is bound to, or `None` if it follows its thread.
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::uniform(2, 1).unwrap();
    /// let (_tx, rx) = nimsync_numa::NumaLocalChannel::<u8>::partitioned(&topo, 2).unwrap();
    /// assert_eq!(rx.on_node(1).unwrap().node(), Some(1));
    /// ```
    pub fn node(&self) -> Option<usize> {
        self.node.map(|i| self.shared.nodes.id_at(i))
    }

    /// The channel's strategy.
    pub fn strategy(&self) -> Strategy {
        self.shared.strategy()
    }

    #[inline]
    fn home(&self) -> usize {
        self.node
            .unwrap_or_else(|| self.shared.nodes.current_index())
    }

    /// Takes a value without waiting: `Empty` if no shard it reads has one, `Closed` once the
    /// channel is closed and drained.
    ///
    /// ```
    /// use nimsync_core_channels::TryRecvError;
    /// let topo = nimsync_numa::Topology::uniform(2, 1).unwrap();
    /// let (tx, rx) = nimsync_numa::NumaLocalChannel::<u8>::partitioned(&topo, 2).unwrap();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let shards = &self.shared.shards;
        let home = self.home();
        if shards.len() == 1 || self.shared.clone_value.is_some() {
            return shards[home].rx.try_recv();
        }
        let mut closed = 0;
        for (k, &i) in self.shared.order[home].iter().enumerate() {
            match shards[i].rx.try_recv() {
                Ok(v) => {
                    if k > 0 {
                        self.shared.remote_receives.fetch_add(1, Ordering::Relaxed);
                    }
                    return Ok(v);
                }
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Closed) => closed += 1,
            }
        }
        if closed == shards.len() {
            Err(TryRecvError::Closed)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// Takes a value, parking the thread until one arrives on any shard it reads; `Err` once
    /// the channel is closed and drained.
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::uniform(2, 1).unwrap();
    /// let (tx, rx) = nimsync_numa::NumaLocalChannel::<u8>::partitioned(&topo, 2).unwrap();
    /// let rx0 = rx.on_node(0).unwrap();
    /// let t = std::thread::spawn(move || tx.on_node(1).unwrap().send_blocking(9).unwrap());
    /// assert_eq!(rx0.recv_blocking(), Ok(9)); // woken by a send on the other node's shard
    /// t.join().unwrap();
    /// ```
    pub fn recv_blocking(&self) -> Result<T, RecvError> {
        let Some(select) = &self.select else {
            return self.shared.shards[self.home()].rx.recv_blocking();
        };
        loop {
            match self.try_recv() {
                Ok(v) => return Ok(v),
                Err(TryRecvError::Closed) => return Err(RecvError),
                Err(TryRecvError::Empty) => {
                    select.ready();
                }
            }
        }
    }

    /// Like [`recv_blocking`](Self::recv_blocking), giving up after `timeout`.
    ///
    /// ```
    /// use nimsync_core_channels::RecvTimeoutError;
    /// use std::time::Duration;
    /// let topo = nimsync_numa::Topology::uniform(2, 1).unwrap();
    /// let (_tx, rx) = nimsync_numa::NumaLocalChannel::<u8>::partitioned(&topo, 2).unwrap();
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        let deadline = Instant::now() + timeout;
        let Some(select) = &self.select else {
            return self.shared.shards[self.home()].rx.recv_deadline(deadline);
        };
        loop {
            match self.try_recv() {
                Ok(v) => return Ok(v),
                Err(TryRecvError::Closed) => return Err(RecvTimeoutError::Closed),
                Err(TryRecvError::Empty) => {
                    select
                        .ready_deadline(deadline)
                        .map_err(|_| RecvTimeoutError::Timeout)?;
                }
            }
        }
    }

    /// Takes a value asynchronously, waiting on every shard it reads. Cancel-safe: dropping
    /// the future loses no value (waiting takes nothing; the value is taken with `try_recv`).
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::uniform(2, 1).unwrap();
    /// let (tx, rx) = nimsync_numa::NumaLocalChannel::<u8>::partitioned(&topo, 2).unwrap();
    /// let t = std::thread::spawn(move || tx.on_node(1).unwrap().send_blocking(4).unwrap());
    /// assert_eq!(futures_executor::block_on(rx.on_node(0).unwrap().recv()), Ok(4));
    /// t.join().unwrap();
    /// ```
    pub async fn recv(&self) -> Result<T, RecvError> {
        let Some(select) = &self.select else {
            return self.shared.shards[self.home()].rx.recv().await;
        };
        loop {
            match self.try_recv() {
                Ok(v) => return Ok(v),
                Err(TryRecvError::Closed) => return Err(RecvError),
                Err(TryRecvError::Empty) => {
                    select.ready_async().await;
                }
            }
        }
    }

    /// Closes the channel (every shard); true if this call closed it.
    pub fn close(&self) -> bool {
        self.shared.close()
    }

    /// True once the channel is closed.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Values buffered in all shards.
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

impl<T: Send + 'static> Clone for NumaReceiver<T> {
    fn clone(&self) -> Self {
        self.shared.add_receiver();
        NumaReceiver::new(self.shared.clone(), self.node)
    }
}

impl<T: Send> Drop for NumaReceiver<T> {
    fn drop(&mut self) {
        self.shared.remove_receiver();
    }
}

impl<T: Send> fmt::Debug for NumaReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NumaReceiver")
            .field("strategy", &self.shared.strategy())
            .field("node", &self.node.map(|i| self.shared.nodes.id_at(i)))
            .finish_non_exhaustive()
    }
}
