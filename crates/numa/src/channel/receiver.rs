//! [`NumaReceiver`]: takes from its own node's shard first, then from the other shards
//! nearest first; waits on all shards at once.
//!
//! The operations are written once in `receiver_ops!` and instantiated per mode, with
//! `&self` on multi-consumer modes and `&mut self` on single-consumer ones, as in
//! core-channels.

use super::stats::NumaStats;
use super::{Shards, Shared, Strategy};
use crate::error::ChannelError;
use nimsync_core_channels::{
    Mode, Mpmc, Mpsc, Receiver, RecvError, RecvTimeoutError, Select, Spmc, Spsc, TryRecvError,
};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The receiving half of a [`NumaLocalChannel`](crate::NumaLocalChannel) of mode `M` (MPMC
/// by default). Dropping the last receiver closes the channel.
///
/// Multi-consumer modes ([`Mpmc`], [`Spmc`]): `Clone`, receives through `&self`,
/// [`on_node`](Self::on_node) gives another receiver with a given home node. Single-consumer
/// modes ([`Spsc`], [`Mpsc`]): not `Clone`, receives through `&mut self`.
///
/// Its home node is the calling thread's node (or the node set with
/// [`set_node`](Self::set_node) / [`on_node`](Self::on_node)). Partitioned: it takes from the
/// home shard, then from the others by distance, so nothing is stranded on a node without
/// receivers. Replicated: it takes only from the home shard (every node has its own copy).
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
///
/// ```compile_fail
/// let topo = nimsync_numa::Topology::uniform(2, 1).unwrap();
/// let (_tx, rx) = nimsync_numa::NumaLocalChannel::<u8>::mpsc(&topo, 4).unwrap();
/// let _second_consumer = rx.clone();
/// ```
pub struct NumaReceiver<T: Send, M: Mode = Mpmc> {
    /// One core-channels receiver per node position.
    shards: Shards<Receiver<T, M>>,
    shared: Arc<Shared<T>>,
    /// Bound node position, or `None` to follow the thread.
    node: Option<usize>,
    /// Receive arms on every shard (partitioned, more than one shard).
    select: Option<Select>,
}

impl<T: Send + 'static, M: Mode> NumaReceiver<T, M> {
    pub(super) fn new(
        shards: Shards<Receiver<T, M>>,
        shared: Arc<Shared<T>>,
        node: Option<usize>,
    ) -> Self {
        let select = (shards.len() > 1 && shared.clone_value.is_none()).then(|| {
            let mut sel = Select::new();
            for shard in shards.iter() {
                sel.recv(shard);
            }
            sel
        });
        NumaReceiver {
            shards,
            shared,
            node,
            select,
        }
    }

    /// Sets this receiver's home node (an id of the topology), or with `None` lets it follow
    /// its thread again.
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::uniform(2, 1).unwrap();
    /// let (mut tx, mut rx) = nimsync_numa::NumaLocalChannel::<u8>::spsc(&topo, 2).unwrap();
    /// rx.set_node(Some(1)).unwrap();
    /// assert_eq!(rx.node(), Some(1));
    /// tx.set_node(Some(0)).unwrap();
    /// tx.try_send(4).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(4)); // taken from node 0's shard: remote for this receiver
    /// assert_eq!(rx.stats().remote_receives, 1);
    /// ```
    pub fn set_node(&mut self, node: Option<usize>) -> Result<(), ChannelError> {
        self.node = node.map(|id| self.shared.index_of(id)).transpose()?;
        Ok(())
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

    /// Waits until a shard is ready (has a value or is closed); `Err` at `deadline`.
    fn wait_ready(&self, deadline: Option<Instant>) -> Result<(), RecvTimeoutError> {
        if let Some(select) = &self.select {
            match deadline {
                None => {
                    select.ready();
                }
                Some(d) => {
                    select
                        .ready_deadline(d)
                        .map_err(|_| RecvTimeoutError::Timeout)?;
                }
            }
        }
        Ok(())
    }

    /// Closes the channel (every shard); true if this call closed it.
    pub fn close(&self) -> bool {
        self.shards.close_all()
    }

    /// True once the channel is closed.
    pub fn is_closed(&self) -> bool {
        self.shards.all_closed()
    }

    /// Values buffered in all shards.
    pub fn len(&self) -> usize {
        self.shards.total_len()
    }

    /// True when no shard holds a value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Local/remote counters and per-node counts.
    pub fn stats(&self) -> NumaStats {
        NumaStats::collect(&self.shared, &self.shards)
    }
}

/// Consumer operations; `$($m)?` is `mut` on single-consumer modes.
macro_rules! receiver_ops {
    ($mode:ty $(, $m:tt)?) => {
        impl<T: Send + 'static> NumaReceiver<T, $mode> {
            /// Takes a value without waiting: `Empty` if no shard it reads has one, `Closed`
            /// once the channel is closed and drained.
            ///
            /// ```
            /// use nimsync_core_channels::TryRecvError;
            /// let topo = nimsync_numa::Topology::uniform(2, 1).unwrap();
            /// let (tx, rx) = nimsync_numa::NumaLocalChannel::<u8>::partitioned(&topo, 2).unwrap();
            /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            /// drop(tx);
            /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
            /// ```
            #[inline]
            pub fn try_recv(&$($m)? self) -> Result<T, TryRecvError> {
                if self.shards.is_single() {
                    return (&$($m)? self.shards.first).try_recv();
                }
                self.try_recv_sharded()
            }

            /// [`try_recv`](Self::try_recv) with several shards, out of line so the one-node
            /// fast path stays small enough to inline whole.
            #[inline(never)]
            fn try_recv_sharded(&$($m)? self) -> Result<T, TryRecvError> {
                let home = self.home();
                if self.shared.clone_value.is_some() {
                    return self.shards[home].try_recv();
                }
                let shared = &*self.shared;
                let mut closed = 0;
                for (k, &i) in shared.order[home].iter().enumerate() {
                    match self.shards[i].try_recv() {
                        Ok(v) => {
                            if k > 0 {
                                shared.remote_receives.fetch_add(1, Ordering::Relaxed);
                            }
                            return Ok(v);
                        }
                        Err(TryRecvError::Empty) => {}
                        Err(TryRecvError::Closed) => closed += 1,
                    }
                }
                if closed == self.shards.len() {
                    Err(TryRecvError::Closed)
                } else {
                    Err(TryRecvError::Empty)
                }
            }

            /// Takes a value, parking the thread until one arrives on any shard it reads;
            /// `Err` once the channel is closed and drained.
            ///
            /// ```
            /// let topo = nimsync_numa::Topology::uniform(2, 1).unwrap();
            /// let (tx, rx) = nimsync_numa::NumaLocalChannel::<u8>::partitioned(&topo, 2).unwrap();
            /// let rx0 = rx.on_node(0).unwrap();
            /// let t = std::thread::spawn(move || tx.on_node(1).unwrap().send_blocking(9).unwrap());
            /// assert_eq!(rx0.recv_blocking(), Ok(9)); // woken by a send on the other node's shard
            /// t.join().unwrap();
            /// ```
            #[inline]
            pub fn recv_blocking(&$($m)? self) -> Result<T, RecvError> {
                if self.shards.is_single() {
                    return (&$($m)? self.shards.first).recv_blocking();
                }
                self.recv_blocking_sharded()
            }

            /// [`recv_blocking`](Self::recv_blocking) with several shards, out of line.
            #[inline(never)]
            fn recv_blocking_sharded(&$($m)? self) -> Result<T, RecvError> {
                if self.select.is_none() {
                    let home = self.home();
                    return self.shards[home].recv_blocking();
                }
                loop {
                    match self.try_recv() {
                        Ok(v) => return Ok(v),
                        Err(TryRecvError::Closed) => return Err(RecvError),
                        Err(TryRecvError::Empty) => {
                            let _ = self.wait_ready(None);
                        }
                    }
                }
            }

            /// Like [`recv_blocking`](Self::recv_blocking), giving up after `timeout`. A
            /// timeout beyond the clock's range ([`Duration::MAX`]) waits without a deadline,
            /// as core-channels' `recv_timeout` does.
            ///
            /// ```
            /// use nimsync_core_channels::RecvTimeoutError;
            /// use std::time::Duration;
            /// let topo = nimsync_numa::Topology::uniform(2, 1).unwrap();
            /// let (_tx, rx) = nimsync_numa::NumaLocalChannel::<u8>::partitioned(&topo, 2).unwrap();
            /// assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
            /// ```
            pub fn recv_timeout(&$($m)? self, timeout: Duration) -> Result<T, RecvTimeoutError> {
                if self.shards.is_single() {
                    return (&$($m)? self.shards.first).recv_timeout(timeout);
                }
                let Some(deadline) = Instant::now().checked_add(timeout) else {
                    // No instant that far ahead: no deadline at all.
                    return self
                        .recv_blocking_sharded()
                        .map_err(|RecvError| RecvTimeoutError::Closed);
                };
                if self.select.is_none() {
                    let home = self.home();
                    return self.shards[home].recv_deadline(deadline);
                }
                loop {
                    match self.try_recv() {
                        Ok(v) => return Ok(v),
                        Err(TryRecvError::Closed) => return Err(RecvTimeoutError::Closed),
                        Err(TryRecvError::Empty) => self.wait_ready(Some(deadline))?,
                    }
                }
            }

            /// Takes a value asynchronously, waiting on every shard it reads. Cancel-safe:
            /// dropping the future loses no value (waiting takes nothing; the value is taken
            /// with `try_recv`).
            ///
            /// ```
            /// let topo = nimsync_numa::Topology::uniform(2, 1).unwrap();
            /// let (tx, rx) = nimsync_numa::NumaLocalChannel::<u8>::partitioned(&topo, 2).unwrap();
            /// let t = std::thread::spawn(move || tx.on_node(1).unwrap().send_blocking(4).unwrap());
            /// assert_eq!(futures_executor::block_on(rx.on_node(0).unwrap().recv()), Ok(4));
            /// t.join().unwrap();
            /// ```
            pub async fn recv(&$($m)? self) -> Result<T, RecvError> {
                if self.shards.is_single() {
                    return (&$($m)? self.shards.first).recv().await;
                }
                if self.select.is_none() {
                    let home = self.home();
                    return self.shards[home].recv().await;
                }
                loop {
                    match self.try_recv() {
                        Ok(v) => return Ok(v),
                        Err(TryRecvError::Closed) => return Err(RecvError),
                        Err(TryRecvError::Empty) => {
                            if let Some(select) = &self.select {
                                select.ready_async().await;
                            }
                        }
                    }
                }
            }
        }
    };
}

receiver_ops!(Mpmc);
receiver_ops!(Spmc);
receiver_ops!(Mpsc, mut);
receiver_ops!(Spsc, mut);

/// Cloning and new receivers with a home node, for the multi-consumer modes.
macro_rules! multi_consumer {
    ($mode:ty) => {
        impl<T: Send + 'static> NumaReceiver<T, $mode> {
            /// A new receiver of the same channel whose home is node `node` (an id of the
            /// topology).
            pub fn on_node(&self, node: usize) -> Result<Self, ChannelError> {
                let index = self.shared.index_of(node)?;
                let mut rx = self.clone();
                rx.node = Some(index);
                Ok(rx)
            }
        }

        impl<T: Send + 'static> Clone for NumaReceiver<T, $mode> {
            fn clone(&self) -> Self {
                NumaReceiver::new(self.shards.clone(), self.shared.clone(), self.node)
            }
        }
    };
}

multi_consumer!(Mpmc);
multi_consumer!(Spmc);

impl<T: Send, M: Mode> fmt::Debug for NumaReceiver<T, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NumaReceiver")
            .field("mode", &M::NAME)
            .field("strategy", &self.shared.strategy())
            .field("node", &self.node.map(|i| self.shared.nodes.id_at(i)))
            .finish_non_exhaustive()
    }
}
