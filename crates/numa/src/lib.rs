//! NUMA awareness for nimsync: the machine's topology, worker placement for the scheduler,
//! and channels that keep traffic on the local node.
//!
//! - [`Topology`]: NUMA nodes (id, CPUs, memory), the node-distance matrix, physical cores
//!   and L3-sharing groups. [`Topology::detect`] reads Linux sysfs (honouring the process's
//!   CPU affinity mask); with the `hwloc` feature `Topology::detect_hwloc` asks hwloc and
//!   returns the same type. [`Topology::builder`] / [`Topology::from_spec`] build fake
//!   topologies for tests; bad input is a [`TopologyError`].
//! - [`NumaPlacement`]: a [`nimsync_scheduler::Placement`] with the policies
//!   [`Compact`](PlacementPolicy::Compact), [`Spread`](PlacementPolicy::Spread) and
//!   [`PerNode`](PlacementPolicy::PerNode); thieves try victims by the distance matrix.
//! - [`NumaLocalChannel`]: one core-channels shard per node, in any mode ([`Spsc`],
//!   [`Mpsc`], [`Spmc`], [`Mpmc`], enforced by the types as in core-channels); senders write
//!   to their node's shard, receivers drain their own node first and then the nearest others;
//!   [`Partitioned`](Strategy::Partitioned) or (multi-consumer modes)
//!   [`Replicated`](Strategy::Replicated); [`NumaStats`] count local and remote operations.
//!   On one node every operation forwards to the single shard: a plain channel of that mode.
//!
//! ```
//! use nimsync_numa::{NumaLocalChannel, NumaPlacement, Topology};
//! use nimsync_scheduler::Runtime;
//!
//! let topo = Topology::detect()?;
//! println!("{topo}"); // e.g. "1 NUMA node(s), 2 core(s), 2 PU(s), 1 L3 group(s) ..."
//!
//! let rt = Runtime::builder()
//!     .workers(2)
//!     .placement(NumaPlacement::per_node(&topo))
//!     .build()?;
//! let (tx, rx) = NumaLocalChannel::<u32>::partitioned(&topo, 256)?;
//! let total = rt.block_on(async move {
//!     let producer = nimsync_scheduler::spawn(async move {
//!         for i in 1..=10 {
//!             tx.send(i).await.unwrap();
//!         }
//!     });
//!     let mut total = 0;
//!     while let Ok(v) = rx.recv().await {
//!         total += v;
//!     }
//!     producer.await.unwrap();
//!     total
//! });
//! assert_eq!(total, 55);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The README's example (kept identical):
//!
//! ```
//! use nimsync_numa::{NumaLocalChannel, NumaPlacement, Topology};
//! use nimsync_scheduler::Runtime;
//!
//! let topo = Topology::detect()?;
//! println!("{topo}");
//! // 1 NUMA node(s), 2 core(s), 2 PU(s), 1 L3 group(s)
//! //   node 0: cpus 0-1, 10.3 GiB
//! //   distances: [10]
//! let rt = Runtime::builder()
//!     .workers(2)
//!     .placement(NumaPlacement::per_node(&topo))
//!     .pin_cores(true)
//!     .build()?;
//! let (tx, rx) = NumaLocalChannel::<u64>::partitioned(&topo, 1024)?;
//! rt.block_on(async { tx.send(7).await })?; // into the shard of this thread's node
//! assert_eq!(rx.recv_blocking()?, 7);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The CPU a thread runs on comes from `sched_getcpu` (through `nix`, so this crate has no
//! `unsafe`); see [`set_thread_node`] to override it per thread.

#![forbid(unsafe_code)]

mod affinity;
mod channel;
mod cpu_list;
mod current;
mod detect;
mod error;
#[cfg(feature = "hwloc")]
mod hwloc;
#[cfg(feature = "hwloc")]
mod membind;
mod placement;
mod spec;
mod sysfs;
mod topology;

pub use affinity::{current_cpu, process_allowed_cpus};
pub use channel::{
    NodeStats, NumaChannelBuilder, NumaLocalChannel, NumaReceiver, NumaSender, NumaStats, Strategy,
};
pub use cpu_list::{format_cpu_list, parse_cpu_list};
pub use current::{set_thread_node, thread_node};
pub use error::{ChannelError, TopologyError};
/// The channel modes, re-exported from core-channels for [`NumaLocalChannel::with_mode`] and
/// [`NumaChannelBuilder::mode`].
pub use nimsync_core_channels::{Mode, Mpmc, Mpsc, Spmc, Spsc};
pub use placement::{NumaPlacement, PlacementPolicy};
pub use spec::{LOCAL_DISTANCE, NodeSpec, REMOTE_DISTANCE, TopologyBuilder, TopologySpec};
pub use sysfs::SysfsReader;
pub use topology::{Node, Topology};
