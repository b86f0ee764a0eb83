//! [`NumaLocalChannel`]: a channel made of one core-channels MPMC shard per NUMA node (the
//! Node Replication pattern).
//!
//! A sender writes to the shard of the node its thread is on (see `current.rs` for how the
//! node is found); a receiver drains its own node's shard first, then the other shards
//! nearest first (by the distance matrix), so no value is stranded on a node without
//! receivers. Blocking and async receives wait on every shard at once (a core-channels
//! [`Select`](nimsync_core_channels::Select): register on all shards, re-check, sleep), so a
//! value arriving on any shard wakes a waiting receiver. With one node there is one shard
//! and every operation forwards to it: the channel behaves exactly like a plain MPMC channel.
//!
//! Memory: each shard's ring is allocated when the channel is built, on the building thread;
//! the kernel places a page on the node of the thread that first touches it (first touch),
//! and the ring's constructor touches its slots. Build the channel on a thread of the node
//! that will use it most, or, with the `hwloc` feature, ask for
//! `NumaChannelBuilder::bind_memory` to place every shard on its own node.

mod receiver;
mod sender;
mod stats;
mod wait;

pub use receiver::NumaReceiver;
pub use sender::NumaSender;
pub use stats::{NodeStats, NumaStats};

use crate::current::NodeMap;
use crate::error::ChannelError;
use crate::topology::Topology;
use nimsync_core_channels::{Builder, Policy, mpmc};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// How values are distributed over the shards.
///
/// ```
/// use nimsync_numa::{NumaLocalChannel, Strategy, Topology};
/// let topo = Topology::uniform(2, 1).unwrap();
/// let (tx, _rx) = NumaLocalChannel::<u8>::replicated(&topo, 4).unwrap();
/// assert_eq!(tx.strategy(), Strategy::Replicated);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Each value goes to one shard (the sender's node) and is received exactly once, by any
    /// receiver (its own node's receivers first). The default.
    Partitioned,
    /// Each value is copied into every node's shard (`T: Clone`) and received once per node:
    /// a receiver takes only from its own node's shard. For read-mostly data every node
    /// consumes locally; a node without receivers keeps its copies until the channel is
    /// dropped. With the `Block` policy a send reserves room in every shard before writing any
    /// copy, so it is all or nothing; with the other policies no shard refuses a value (each
    /// applies its policy to its copy). A close racing with a send may still drop copies on
    /// some shards.
    Replicated,
}

/// The NUMA-local channel family; its associated functions build a channel and return its
/// two halves.
///
/// ```
/// use nimsync_numa::{NumaLocalChannel, Topology};
/// let topo = Topology::detect().unwrap();
/// let (tx, rx) = NumaLocalChannel::<u64>::partitioned(&topo, 1024).unwrap();
/// let producer = std::thread::spawn(move || {
///     for i in 0..1000 {
///         tx.send_blocking(i).unwrap();
///     }
/// });
/// let sum: u64 = std::iter::from_fn(|| rx.recv_blocking().ok()).sum();
/// producer.join().unwrap();
/// assert_eq!(sum, 499_500);
/// ```
#[derive(Debug)]
pub struct NumaLocalChannel<T> {
    _values: PhantomData<fn() -> T>,
}

impl<T: Send + 'static> NumaLocalChannel<T> {
    /// A [`Partitioned`](Strategy::Partitioned) channel with `capacity` slots per shard.
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::uniform(2, 2).unwrap();
    /// let (tx, rx) = nimsync_numa::NumaLocalChannel::<u8>::partitioned(&topo, 4).unwrap();
    /// tx.on_node(1).unwrap().try_send(7).unwrap();
    /// assert_eq!(rx.on_node(0).unwrap().try_recv(), Ok(7)); // found on the remote shard
    /// ```
    pub fn partitioned(
        topology: &Topology,
        capacity: usize,
    ) -> Result<(NumaSender<T>, NumaReceiver<T>), ChannelError> {
        Self::builder(topology).capacity(capacity).partitioned()
    }

    /// A [`Replicated`](Strategy::Replicated) channel with `capacity` slots per shard.
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::uniform(2, 2).unwrap();
    /// let (tx, rx) = nimsync_numa::NumaLocalChannel::<u8>::replicated(&topo, 4).unwrap();
    /// tx.try_send(7).unwrap();
    /// assert_eq!(rx.on_node(0).unwrap().try_recv(), Ok(7));
    /// assert_eq!(rx.on_node(1).unwrap().try_recv(), Ok(7)); // every node has its copy
    /// ```
    pub fn replicated(
        topology: &Topology,
        capacity: usize,
    ) -> Result<(NumaSender<T>, NumaReceiver<T>), ChannelError>
    where
        T: Clone,
    {
        Self::builder(topology).capacity(capacity).replicated()
    }

    /// A builder (capacity per shard, overflow policy, memory binding).
    ///
    /// ```
    /// use nimsync_core_channels::Policy;
    /// let topo = nimsync_numa::Topology::uniform(1, 2).unwrap();
    /// let (tx, rx) = nimsync_numa::NumaLocalChannel::<u8>::builder(&topo)
    ///     .capacity(2)
    ///     .policy(Policy::DropOldest)
    ///     .partitioned()
    ///     .unwrap();
    /// for i in 0..3 { tx.try_send(i).unwrap(); }
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn builder(topology: &Topology) -> NumaChannelBuilder<T> {
        NumaChannelBuilder {
            topology: topology.clone(),
            capacity: 1024,
            policy: Policy::Block,
            bind_memory: false,
            _values: PhantomData,
        }
    }
}

/// Configures a [`NumaLocalChannel`] (see [`NumaLocalChannel::builder`]).
#[derive(Debug, Clone)]
pub struct NumaChannelBuilder<T> {
    topology: Topology,
    capacity: usize,
    policy: Policy,
    #[cfg_attr(not(feature = "hwloc"), allow(dead_code))]
    bind_memory: bool,
    _values: PhantomData<fn() -> T>,
}

impl<T: Send + 'static> NumaChannelBuilder<T> {
    /// Slots per shard (default 1024; rounded up to a power of two like every core channel).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// What a send does when its shard is full (default [`Policy::Block`]).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Allocates each shard with the building thread's memory bound to the shard's node
    /// (hwloc, `set_membind` for the thread with the `Bind` policy, restored afterwards), so
    /// the ring's pages land on that node. Building fails with
    /// [`ChannelError::MemoryBinding`] if hwloc cannot bind.
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::detect_hwloc().unwrap();
    /// let built = nimsync_numa::NumaLocalChannel::<u8>::builder(&topo).bind_memory(true).partitioned();
    /// match built {
    ///     Ok((tx, rx)) => { tx.try_send(1).unwrap(); assert_eq!(rx.try_recv(), Ok(1)); }
    ///     Err(e) => assert!(matches!(e, nimsync_numa::ChannelError::MemoryBinding(_)), "{e}"),
    /// }
    /// ```
    #[cfg(feature = "hwloc")]
    pub fn bind_memory(mut self, bind: bool) -> Self {
        self.bind_memory = bind;
        self
    }

    /// Builds a [`Partitioned`](Strategy::Partitioned) channel.
    pub fn partitioned(self) -> Result<(NumaSender<T>, NumaReceiver<T>), ChannelError> {
        self.build(None)
    }

    /// Builds a [`Replicated`](Strategy::Replicated) channel.
    pub fn replicated(self) -> Result<(NumaSender<T>, NumaReceiver<T>), ChannelError>
    where
        T: Clone,
    {
        self.build(Some(T::clone))
    }

    fn build(
        self,
        clone_value: Option<fn(&T) -> T>,
    ) -> Result<(NumaSender<T>, NumaReceiver<T>), ChannelError> {
        let topology = &self.topology;
        let mut shards = Vec::with_capacity(topology.node_count());
        for node in topology.nodes() {
            let make = || Builder::new(self.capacity).policy(self.policy).mpmc::<T>();
            #[cfg(feature = "hwloc")]
            let built = if self.bind_memory {
                crate::membind::with_memory_on_node(topology, node.id(), make)?
            } else {
                make()
            };
            #[cfg(not(feature = "hwloc"))]
            let built = {
                let _ = node; // placed by first touch (see the module docs)
                make()
            };
            let (tx, rx) = built?;
            shards.push(Shard { tx, rx });
        }
        let order = (0..topology.node_count())
            .map(|i| topology.indices_by_distance(i))
            .collect();
        let shared = std::sync::Arc::new(Shared {
            shards,
            order,
            nodes: NodeMap::new(topology),
            policy: self.policy,
            clone_value,
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            remote_sends: AtomicU64::new(0),
            remote_receives: AtomicU64::new(0),
        });
        Ok((
            NumaSender::new(shared.clone(), None),
            NumaReceiver::new(shared, None),
        ))
    }
}

/// One node's ring.
pub(crate) struct Shard<T: Send> {
    pub(crate) tx: mpmc::Sender<T>,
    pub(crate) rx: mpmc::Receiver<T>,
}

/// State shared by every handle of one channel.
pub(crate) struct Shared<T: Send> {
    /// By node position.
    pub(crate) shards: Vec<Shard<T>>,
    /// Per node position: node positions by distance, itself first.
    pub(crate) order: Vec<Vec<usize>>,
    pub(crate) nodes: NodeMap,
    /// The shards' overflow policy.
    pub(crate) policy: Policy,
    /// `Some` for [`Strategy::Replicated`].
    pub(crate) clone_value: Option<fn(&T) -> T>,
    senders: AtomicUsize,
    receivers: AtomicUsize,
    pub(crate) remote_sends: AtomicU64,
    pub(crate) remote_receives: AtomicU64,
}

impl<T: Send> Shared<T> {
    pub(crate) fn strategy(&self) -> Strategy {
        if self.clone_value.is_some() {
            Strategy::Replicated
        } else {
            Strategy::Partitioned
        }
    }

    /// Closes every shard; true if this call closed at least one.
    pub(crate) fn close(&self) -> bool {
        let mut any = false;
        for shard in &self.shards {
            any |= shard.tx.close();
        }
        any
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.shards.iter().all(|s| s.tx.is_closed())
    }

    pub(crate) fn add_sender(&self) {
        self.senders.fetch_add(1, Ordering::Relaxed);
    }

    /// Drops a sender; the last one closes the channel (receivers drain, then `Closed`).
    pub(crate) fn remove_sender(&self) {
        if self.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.close();
        }
    }

    pub(crate) fn add_receiver(&self) {
        self.receivers.fetch_add(1, Ordering::Relaxed);
    }

    /// Drops a receiver; the last one closes the channel (senders fail).
    pub(crate) fn remove_receiver(&self) {
        if self.receivers.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.close();
        }
    }

    /// Position of node `id`, or the error for a node this channel does not have.
    pub(crate) fn index_of(&self, id: usize) -> Result<usize, ChannelError> {
        self.nodes
            .index_of(id)
            .ok_or(ChannelError::UnknownNode { node: id })
    }

    /// Values buffered in every shard.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.tx.len()).sum()
    }
}
