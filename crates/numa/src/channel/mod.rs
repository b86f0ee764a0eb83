//! [`NumaLocalChannel`]: a channel made of one core-channels shard per NUMA node (the Node
//! Replication pattern), in any core-channels [mode](nimsync_core_channels::Mode).
//!
//! A sender writes to the shard of the node its thread is on (see `current.rs` for how the
//! node is found); a receiver drains its own node's shard first, then the other shards
//! nearest first (by the distance matrix), so no value is stranded on a node without
//! receivers. Blocking and async receives wait on every shard at once (a core-channels
//! [`Select`](nimsync_core_channels::Select): register on all shards, re-check, sleep), so a
//! value arriving on any shard wakes a waiting receiver.
//!
//! # One generic core, four modes
//! A handle owns one core-channels handle per shard (`Shards<Sender<T, M>>` /
//! `Shards<Receiver<T, M>>`: the first inline, the others boxed) plus an `Arc` of the channel-wide routing data (node map,
//! distance order, strategy, remote counters). The mode `M` is a type parameter, exactly as in
//! core-channels: a single side ([`Spsc`](nimsync_core_channels::Spsc)'s two sides, an
//! [`Mpsc`](nimsync_core_channels::Mpsc) receiver, an [`Spmc`](nimsync_core_channels::Spmc)
//! sender) is not `Clone` and moves values through `&mut self`, so it owns its shards'
//! single-side handles exclusively and the shards' own rules make it sound. Cloning a
//! multi-side handle clones its shard handles, so each shard closes when its last sender (or
//! receiver) goes, like a plain channel, without any counting of our own.
//!
//! # One node
//! With one shard every operation checks that the handle holds a single shard and forwards
//! to that shard's core-channels handle, held inline: no node lookup, no counter, no select,
//! no extra pointer hop (the several-shard paths are out of line, so the fast path inlines
//! whole). The channel then behaves exactly like a plain channel of the same mode (tested
//! per mode), at the cost of one branch per operation.
//!
//! # Memory
//! Each shard's slot array is allocated when the channel is built, on the building thread.
//! Without the `hwloc` feature its pages are placed by the kernel's default policy, first
//! touch: a page lands on the node of the thread that first writes it. The stamped rings
//! (every mode except SPSC under `Block`/`DropNewest`/`Overflow`) write every slot's stamp in
//! their constructor, so their pages land on the building thread's node; the SPSC ring's
//! slots are not written until used, so its pages land where the producer first writes them
//! (the sender's node, for a following sender). To place everything by first touch, build the
//! channel on a thread of the node that uses it most. With the `hwloc` feature,
//! `NumaChannelBuilder::bind_memory` builds each shard under a thread memory policy bound to
//! its node and then binds its slot array
//! ([`slot_memory`](nimsync_core_channels::Sender::slot_memory)) to the node with hwloc area
//! binding (`Bind` policy; see `membind.rs` for what that covers).

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
use nimsync_core_channels::{Builder, Mode, Mpmc, Mpsc, Policy, Receiver, Sender, Spmc, Spsc};
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

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
    /// receiver (its own node's receivers first). The default, and the only strategy of the
    /// single-consumer modes.
    Partitioned,
    /// Each value is copied into every node's shard (`T: Clone`) and received once per node:
    /// a receiver takes only from its own node's shard. For read-mostly data every node
    /// consumes locally; a node without receivers keeps its copies until the channel is
    /// dropped. Only the multi-consumer modes (SPMC, MPMC) offer it: "once per node" needs a
    /// receiver per node, and a single-consumer channel has one receiver in all. With the
    /// `Block` policy a send reserves room in every shard before writing any copy, so it is
    /// all or nothing; with the other policies no shard refuses a value (each applies its
    /// policy to its copy). A close racing with a send may still drop copies on some shards.
    ///
    /// **Every node needs a draining receiver under `Block`.** A send needs room on every
    /// shard, so a single node whose shard stays full (no receiver has that node as home,
    /// or its receivers stopped) stops every replicated send once its `capacity` is used
    /// up: `try_send` returns `Full` ([`NumaSender::full_nodes`] names the node),
    /// `send` and `send_blocking` wait until that shard is drained. Give every node of the
    /// topology a receiver that keeps receiving (bound with
    /// [`on_node`](NumaReceiver::on_node), or following a thread that runs there), build
    /// the channel on the topology of the nodes that consume, or pick a non-`Block` policy
    /// (`DropOldest` keeps the newest copies on an unread node and never stops a send). The
    /// channel cannot skip a node by itself: a receiver that follows its thread can move to
    /// any node at any time, so no shard is ever known to be unread.
    ///
    /// ```
    /// use nimsync_core_channels::TrySendError;
    /// let topo = nimsync_numa::Topology::uniform(2, 1).unwrap();
    /// let (tx, rx) = nimsync_numa::NumaLocalChannel::<u8>::replicated(&topo, 1).unwrap();
    /// let rx0 = rx.on_node(0).unwrap();
    /// tx.try_send(1).unwrap();
    /// assert_eq!(rx0.try_recv(), Ok(1)); // node 0 drains; nobody reads node 1
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// assert_eq!(tx.full_nodes(), vec![1]); // the node holding every send up
    /// ```
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
    /// A [`Partitioned`](Strategy::Partitioned) MPMC channel with `capacity` slots per shard.
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

    /// A [`Replicated`](Strategy::Replicated) MPMC channel with `capacity` slots per shard.
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

    /// A partitioned channel of mode `M` ([`Spsc`], [`Mpsc`], [`Spmc`] or [`Mpmc`]) with
    /// `capacity` slots per shard.
    ///
    /// ```
    /// use nimsync_numa::{NumaLocalChannel, Spsc, Topology};
    /// let topo = Topology::uniform(2, 1).unwrap();
    /// let (mut tx, mut rx) = NumaLocalChannel::<u8>::with_mode::<Spsc>(&topo, 4).unwrap();
    /// tx.try_send(1).unwrap(); // single sides move values through `&mut self`
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn with_mode<M: Mode>(
        topology: &Topology,
        capacity: usize,
    ) -> Result<(NumaSender<T, M>, NumaReceiver<T, M>), ChannelError> {
        Self::builder(topology)
            .mode::<M>()
            .capacity(capacity)
            .partitioned()
    }

    /// A partitioned single-producer single-consumer channel (see [`with_mode`](Self::with_mode)).
    ///
    /// One producer and one consumer for the whole channel, one SPSC ring per node. The
    /// producer writes to its current node's ring; the consumer drains its own node's ring
    /// first, then the others. FIFO holds while the producer stays on one node (a bound
    /// producer always does); across a move to another node, values on different rings may
    /// be received out of order. On one node it is a plain SPSC channel.
    #[allow(clippy::type_complexity)]
    pub fn spsc(
        topology: &Topology,
        capacity: usize,
    ) -> Result<(NumaSender<T, Spsc>, NumaReceiver<T, Spsc>), ChannelError> {
        Self::with_mode::<Spsc>(topology, capacity)
    }

    /// A partitioned multi-producer single-consumer channel (see [`with_mode`](Self::with_mode)).
    ///
    /// Each producer writes to its node's ring; the one consumer drains its own node first,
    /// then the others by distance. FIFO per producer holds while that producer stays on one
    /// node.
    #[allow(clippy::type_complexity)]
    pub fn mpsc(
        topology: &Topology,
        capacity: usize,
    ) -> Result<(NumaSender<T, Mpsc>, NumaReceiver<T, Mpsc>), ChannelError> {
        Self::with_mode::<Mpsc>(topology, capacity)
    }

    /// A partitioned single-producer multi-consumer channel (see [`with_mode`](Self::with_mode)).
    #[allow(clippy::type_complexity)]
    pub fn spmc(
        topology: &Topology,
        capacity: usize,
    ) -> Result<(NumaSender<T, Spmc>, NumaReceiver<T, Spmc>), ChannelError> {
        Self::with_mode::<Spmc>(topology, capacity)
    }

    /// A builder (mode, capacity per shard, overflow policy, memory binding).
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
    pub fn builder(topology: &Topology) -> NumaChannelBuilder<T, Mpmc> {
        NumaChannelBuilder {
            topology: topology.clone(),
            capacity: 1024,
            policy: Policy::Block,
            bind_memory: false,
            _values: PhantomData,
        }
    }
}

/// Configures a [`NumaLocalChannel`] of mode `M` (see [`NumaLocalChannel::builder`]; MPMC
/// unless [`mode`](Self::mode) says otherwise).
#[derive(Debug, Clone)]
pub struct NumaChannelBuilder<T, M: Mode = Mpmc> {
    topology: Topology,
    capacity: usize,
    policy: Policy,
    #[cfg_attr(not(feature = "hwloc"), allow(dead_code))]
    bind_memory: bool,
    _values: PhantomData<fn() -> (T, M)>,
}

impl<T: Send + 'static, M: Mode> NumaChannelBuilder<T, M> {
    /// The mode of the shards: [`Spsc`], [`Mpsc`], [`Spmc`] or [`Mpmc`] (the default).
    ///
    /// ```
    /// use nimsync_numa::{Mpsc, NumaLocalChannel, Topology};
    /// let topo = Topology::uniform(2, 1).unwrap();
    /// let (tx, mut rx) = NumaLocalChannel::<u8>::builder(&topo).mode::<Mpsc>().partitioned().unwrap();
    /// let tx1 = tx.on_node(1).unwrap(); // senders clone, the receiver does not
    /// tx1.try_send(5).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(5));
    /// ```
    pub fn mode<N: Mode>(self) -> NumaChannelBuilder<T, N> {
        NumaChannelBuilder {
            topology: self.topology,
            capacity: self.capacity,
            policy: self.policy,
            bind_memory: self.bind_memory,
            _values: PhantomData,
        }
    }

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

    /// Places each shard's slot array on the shard's node: the shard is built with the
    /// building thread's memory bound to the node (so the pages its constructor touches land
    /// there), then its slot array ([`slot_memory`](nimsync_core_channels::Sender::slot_memory))
    /// is bound to the node with hwloc area binding (`Bind` policy), so every page faulted in
    /// later lands there too, whichever thread touches it. Values in flight then live on the
    /// node whose receivers read them first. The kernel binds whole pages, so a small ring's
    /// first and last page, shared with neighbouring heap data, are bound too; pages the
    /// allocator reuses already resident keep their place (hwlocality offers no `MIGRATE`
    /// for areas). Building fails with [`ChannelError::MemoryBinding`] (naming the node and
    /// hwloc's reason) if either step fails; nothing is silently left unbound.
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::detect_hwloc().unwrap();
    /// let built = nimsync_numa::NumaLocalChannel::<u8>::builder(&topo).bind_memory(true).partitioned();
    /// match built {
    ///     Ok((tx, rx)) => { tx.try_send(1).unwrap(); assert_eq!(rx.try_recv(), Ok(1)); }
    ///     Err(e) => assert!(matches!(e, nimsync_numa::ChannelError::MemoryBinding { .. }), "{e}"),
    /// }
    /// ```
    #[cfg(feature = "hwloc")]
    pub fn bind_memory(mut self, bind: bool) -> Self {
        self.bind_memory = bind;
        self
    }

    /// Builds a [`Partitioned`](Strategy::Partitioned) channel.
    #[allow(clippy::type_complexity)]
    pub fn partitioned(self) -> Result<(NumaSender<T, M>, NumaReceiver<T, M>), ChannelError> {
        self.build(None)
    }

    #[allow(clippy::type_complexity)]
    fn build(
        self,
        clone_value: Option<fn(&T) -> T>,
    ) -> Result<(NumaSender<T, M>, NumaReceiver<T, M>), ChannelError> {
        let topology = &self.topology;
        #[cfg(feature = "hwloc")]
        let binder = if self.bind_memory {
            Some(crate::membind::AreaBinder::new()?)
        } else {
            None
        };
        let mut senders = Vec::with_capacity(topology.node_count());
        let mut receivers = Vec::with_capacity(topology.node_count());
        for node in topology.nodes() {
            let make = || {
                Builder::new(self.capacity)
                    .policy(self.policy)
                    .build::<T, M>()
            };
            #[cfg(feature = "hwloc")]
            let (tx, rx) = match &binder {
                Some(binder) => {
                    let (tx, rx) = binder.build_on(node.id(), make)??;
                    binder.bind(tx.slot_memory(), node.id())?;
                    (tx, rx)
                }
                None => make()?,
            };
            #[cfg(not(feature = "hwloc"))]
            let (tx, rx) = {
                let _ = node; // placed by first touch (see the module docs)
                make()?
            };
            senders.push(tx);
            receivers.push(rx);
        }
        let order = (0..topology.node_count())
            .map(|i| topology.indices_by_distance(i))
            .collect();
        let shared = Arc::new(Shared {
            order,
            nodes: NodeMap::new(topology),
            policy: self.policy,
            clone_value,
            remote_sends: AtomicU64::new(0),
            remote_receives: AtomicU64::new(0),
        });
        Ok((
            NumaSender::new(Shards::new(senders), shared.clone(), None),
            NumaReceiver::new(Shards::new(receivers), shared, None),
        ))
    }
}

/// [`Replicated`](Strategy::Replicated) needs a receiver per node: multi-consumer modes only.
macro_rules! replicated_builder {
    ($mode:ty) => {
        impl<T: Send + Clone + 'static> NumaChannelBuilder<T, $mode> {
            /// Builds a [`Replicated`](Strategy::Replicated) channel (multi-consumer modes
            /// only: see [`Strategy::Replicated`]).
            #[allow(clippy::type_complexity)]
            pub fn replicated(
                self,
            ) -> Result<(NumaSender<T, $mode>, NumaReceiver<T, $mode>), ChannelError> {
                self.build(Some(T::clone))
            }
        }
    };
}

replicated_builder!(Spmc);
replicated_builder!(Mpmc);

/// Channel-wide routing data, shared by every handle of one channel.
pub(crate) struct Shared<T> {
    /// Per node position: node positions by distance, itself first.
    pub(crate) order: Vec<Vec<usize>>,
    pub(crate) nodes: NodeMap,
    /// The shards' overflow policy.
    pub(crate) policy: Policy,
    /// `Some` for [`Strategy::Replicated`].
    pub(crate) clone_value: Option<fn(&T) -> T>,
    pub(crate) remote_sends: AtomicU64,
    pub(crate) remote_receives: AtomicU64,
}

impl<T> Shared<T> {
    pub(crate) fn strategy(&self) -> Strategy {
        if self.clone_value.is_some() {
            Strategy::Replicated
        } else {
            Strategy::Partitioned
        }
    }

    /// Position of node `id`, or the error for a node this channel does not have.
    pub(crate) fn index_of(&self, id: usize) -> Result<usize, ChannelError> {
        self.nodes
            .index_of(id)
            .ok_or(ChannelError::UnknownNode { node: id })
    }
}

/// Operations every shard handle (sender or receiver, any mode) offers through `&self`.
pub(crate) trait ShardHandle {
    fn close(&self) -> bool;
    fn is_closed(&self) -> bool;
    fn len(&self) -> usize;
    fn stats(&self) -> nimsync_core_channels::Stats;
}

impl<T: Send, M: Mode> ShardHandle for Sender<T, M> {
    fn close(&self) -> bool {
        Sender::close(self)
    }
    fn is_closed(&self) -> bool {
        Sender::is_closed(self)
    }
    fn len(&self) -> usize {
        Sender::len(self)
    }
    fn stats(&self) -> nimsync_core_channels::Stats {
        Sender::stats(self)
    }
}

impl<T: Send, M: Mode> ShardHandle for Receiver<T, M> {
    fn close(&self) -> bool {
        Receiver::close(self)
    }
    fn is_closed(&self) -> bool {
        Receiver::is_closed(self)
    }
    fn len(&self) -> usize {
        Receiver::len(self)
    }
    fn stats(&self) -> nimsync_core_channels::Stats {
        Receiver::stats(self)
    }
}

/// A handle's shard handles, by node position. The first is held inline, so on a one-node
/// machine a NUMA handle holds its only shard handle directly, like a plain channel's handle
/// (no pointer hop, no small heap block next to unrelated data).
#[derive(Clone)]
pub(crate) struct Shards<H> {
    first: H,
    rest: Box<[H]>,
}

impl<H> Shards<H> {
    /// From the handles in node order (a topology has at least one node).
    pub(crate) fn new(handles: Vec<H>) -> Self {
        let mut handles = handles.into_iter();
        let Some(first) = handles.next() else {
            unreachable!("a Topology has at least one node (checked when it is built)")
        };
        Shards {
            first,
            rest: handles.collect(),
        }
    }

    /// True on a one-node channel: the fast path forwards to the single shard.
    #[inline(always)]
    pub(crate) fn is_single(&self) -> bool {
        self.rest.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.rest.len() + 1
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &H> {
        std::iter::once(&self.first).chain(self.rest.iter())
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut H> {
        std::iter::once(&mut self.first).chain(self.rest.iter_mut())
    }
}

impl<H> std::ops::Index<usize> for Shards<H> {
    type Output = H;
    #[inline]
    fn index(&self, i: usize) -> &H {
        match i.checked_sub(1) {
            None => &self.first,
            Some(j) => &self.rest[j],
        }
    }
}

impl<H> std::ops::IndexMut<usize> for Shards<H> {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut H {
        match i.checked_sub(1) {
            None => &mut self.first,
            Some(j) => &mut self.rest[j],
        }
    }
}

impl<H: ShardHandle> Shards<H> {
    /// Closes every shard; true if this call closed at least one.
    pub(crate) fn close_all(&self) -> bool {
        self.iter().fold(false, |any, s| s.close() | any)
    }

    /// True once every shard is closed.
    pub(crate) fn all_closed(&self) -> bool {
        self.iter().all(ShardHandle::is_closed)
    }

    /// Values buffered in every shard.
    pub(crate) fn total_len(&self) -> usize {
        self.iter().map(ShardHandle::len).sum()
    }
}
