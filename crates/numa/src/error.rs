//! Errors: an invalid or unreadable topology ([`TopologyError`]) and a channel that cannot be
//! built or bound ([`ChannelError`]).

use std::fmt;
use std::path::PathBuf;

/// Why a topology could not be built, validated or detected.
///
/// ```
/// use nimsync_numa::{Topology, TopologyError};
/// let err = Topology::builder().node(0, []).build().unwrap_err();
/// assert_eq!(err, TopologyError::EmptyCpuSet { node: 0 });
/// assert_eq!(err.to_string(), "NUMA node 0 has no CPU");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TopologyError {
    /// The topology has no node at all.
    NoNodes,
    /// Two nodes have the same id.
    DuplicateNode {
        /// The repeated id.
        node: usize,
    },
    /// A node id that the topology does not have.
    UnknownNode {
        /// The id asked for.
        node: usize,
    },
    /// A node lists no CPU.
    EmptyCpuSet {
        /// The node.
        node: usize,
    },
    /// A CPU is listed by two nodes.
    CpuInTwoNodes {
        /// The CPU.
        cpu: usize,
        /// The first node listing it.
        first: usize,
        /// The second node listing it.
        second: usize,
    },
    /// A core or L3 group names a CPU no node has, or is empty.
    UnknownCpu {
        /// The CPU (`usize::MAX` for an empty group).
        cpu: usize,
    },
    /// A CPU belongs to two cores, or to two L3 groups.
    OverlappingGroups {
        /// The CPU.
        cpu: usize,
    },
    /// A core or L3 group spans two nodes.
    GroupSpansNodes {
        /// The group's first CPU.
        cpu: usize,
    },
    /// The distance matrix is not `nodes × nodes`.
    DistanceMatrixSize {
        /// Number of nodes.
        nodes: usize,
        /// Number of entries found (rows × columns, or the length of a flat list).
        entries: usize,
    },
    /// A distance is 0, or a node is not strictly nearer to itself than to another node.
    InvalidDistance {
        /// From this node id.
        from: usize,
        /// To this node id.
        to: usize,
        /// The distance found.
        distance: u32,
    },
    /// A system file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error, as text (so the error stays `Clone + Eq`).
        message: String,
    },
    /// A system file has unexpected contents.
    Parse {
        /// The file.
        path: PathBuf,
        /// What was found.
        content: String,
    },
    /// The process may run on no CPU that the topology lists.
    NoAllowedCpu,
    /// hwloc reported an error (feature `hwloc`).
    Hwloc(String),
}

impl fmt::Display for TopologyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoNodes => f.write_str("a topology needs at least one NUMA node"),
            Self::DuplicateNode { node } => write!(f, "NUMA node {node} is defined twice"),
            Self::UnknownNode { node } => write!(f, "there is no NUMA node {node}"),
            Self::EmptyCpuSet { node } => write!(f, "NUMA node {node} has no CPU"),
            Self::CpuInTwoNodes { cpu, first, second } => {
                write!(f, "CPU {cpu} is listed by NUMA nodes {first} and {second}")
            }
            Self::UnknownCpu { cpu } if *cpu == usize::MAX => {
                f.write_str("a core or L3 group lists no CPU")
            }
            Self::UnknownCpu { cpu } => {
                write!(f, "CPU {cpu} is in a core or L3 group but in no NUMA node")
            }
            Self::OverlappingGroups { cpu } => {
                write!(f, "CPU {cpu} belongs to two cores or two L3 groups")
            }
            Self::GroupSpansNodes { cpu } => write!(
                f,
                "the core or L3 group starting at CPU {cpu} spans several NUMA nodes"
            ),
            Self::DistanceMatrixSize { nodes, entries } => write!(
                f,
                "the distance matrix of {nodes} nodes needs {} entries, found {entries}",
                nodes * nodes
            ),
            Self::InvalidDistance { from, to, distance } => write!(
                f,
                "invalid distance {distance} from node {from} to node {to}: distances must be \
                 positive and a node must be strictly nearer to itself than to any other node"
            ),
            Self::Io { path, message } => write!(f, "cannot read {}: {message}", path.display()),
            Self::Parse { path, content } => {
                write!(f, "unexpected contents in {}: {content:?}", path.display())
            }
            Self::NoAllowedCpu => {
                f.write_str("the process's CPU affinity mask contains no CPU of the topology")
            }
            Self::Hwloc(m) => write!(f, "hwloc: {m}"),
        }
    }
}

impl std::error::Error for TopologyError {}

/// Why a [`NumaLocalChannel`](crate::NumaLocalChannel) could not be built or a handle bound.
///
/// ```
/// use nimsync_numa::{ChannelError, NumaLocalChannel, Topology};
/// let topo = Topology::uniform(2, 2).unwrap();
/// let (tx, _rx) = NumaLocalChannel::<u8>::partitioned(&topo, 8).unwrap();
/// assert!(matches!(tx.on_node(7), Err(ChannelError::UnknownNode { node: 7 })));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChannelError {
    /// The shard capacity is invalid (see `nimsync_core_channels::Builder`).
    Build(nimsync_core_channels::BuildError),
    /// The node id is not in the channel's topology.
    UnknownNode {
        /// The id asked for.
        node: usize,
    },
    /// Binding a shard's slot array to its node failed (feature `hwloc`): hwloc could not be
    /// loaded (`node` is `None`) or the kernel refused to bind or migrate the pages.
    MemoryBinding {
        /// The node the shard belongs to, if binding got that far.
        node: Option<usize>,
        /// hwloc's reason.
        message: String,
    },
}

impl fmt::Display for ChannelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Build(e) => write!(f, "cannot build a shard: {e}"),
            Self::UnknownNode { node } => {
                write!(f, "there is no NUMA node {node} in this channel's topology")
            }
            Self::MemoryBinding {
                node: Some(node),
                message,
            } => write!(
                f,
                "cannot bind a shard's memory to NUMA node {node}: {message}"
            ),
            Self::MemoryBinding {
                node: None,
                message,
            } => write!(f, "cannot bind a shard's memory: {message}"),
        }
    }
}

impl std::error::Error for ChannelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Build(e) => Some(e),
            _ => None,
        }
    }
}

impl From<nimsync_core_channels::BuildError> for ChannelError {
    fn from(e: nimsync_core_channels::BuildError) -> Self {
        Self::Build(e)
    }
}
