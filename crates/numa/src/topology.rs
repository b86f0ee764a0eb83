//! [`Topology`]: NUMA nodes with their CPUs and memory, the node-distance matrix, physical
//! cores and L3-sharing groups. Built by detection (`detect.rs`) or by hand (`spec.rs`); always
//! validated, so every method can rely on its invariants.

use crate::cpu_list::format_cpu_list;
use crate::error::TopologyError;
use std::fmt;

/// One NUMA node: its OS id, its CPUs (PUs, OS numbering, sorted) and its memory size.
///
/// ```
/// let topo = nimsync_numa::Topology::uniform(2, 4).unwrap();
/// let node = &topo.nodes()[1];
/// assert_eq!((node.id(), node.cpus()), (1, &[4, 5, 6, 7][..]));
/// assert_eq!(node.memory_bytes(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub(crate) id: usize,
    pub(crate) cpus: Vec<usize>,
    pub(crate) memory_bytes: Option<u64>,
}

impl Node {
    /// The node's OS id (`N` in `/sys/devices/system/node/nodeN`).
    pub fn id(&self) -> usize {
        self.id
    }

    /// The node's CPUs, as numbered by the OS, sorted; never empty.
    pub fn cpus(&self) -> &[usize] {
        &self.cpus
    }

    /// The node's memory in bytes, where known.
    pub fn memory_bytes(&self) -> Option<u64> {
        self.memory_bytes
    }
}

/// The machine's NUMA layout as nimsync sees it.
///
/// Invariants (checked when it is built): at least one node; node ids unique; every node has
/// at least one CPU and no CPU is in two nodes; the distance matrix is `nodes × nodes`, positive,
/// with every node strictly nearer to itself than to any other node (distances may be
/// asymmetric, as ACPI SLIT allows); every CPU is in exactly one core, a core lies in one node;
/// L3 groups do not overlap. Nodes are sorted by id.
///
/// ```
/// use nimsync_numa::Topology;
/// let topo = Topology::builder()
///     .node(0, [0, 1, 2, 3])
///     .node(1, [4, 5, 6, 7])
///     .distance(0, 1, 21)
///     .build()?;
/// assert_eq!(topo.node_count(), 2);
/// assert_eq!(topo.distance(1, 0)?, 21);
/// assert_eq!(topo.node_of_cpu(5), Some(1));
/// assert_eq!(topo.nodes_by_distance(1)?, vec![1, 0]);
/// # Ok::<(), nimsync_numa::TopologyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    pub(crate) nodes: Vec<Node>,
    /// Row-major, indexed by node position (not id).
    pub(crate) distances: Vec<u32>,
    pub(crate) cores: Vec<Vec<usize>>,
    pub(crate) l3_groups: Vec<Vec<usize>>,
}

impl Topology {
    /// The nodes, sorted by id.
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::uniform(3, 1).unwrap();
    /// let ids: Vec<usize> = topo.nodes().iter().map(|n| n.id()).collect();
    /// assert_eq!(ids, [0, 1, 2]);
    /// ```
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Number of nodes (at least 1).
    ///
    /// ```
    /// assert_eq!(nimsync_numa::Topology::uniform(4, 2).unwrap().node_count(), 4);
    /// ```
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The node with OS id `id`.
    ///
    /// ```
    /// use nimsync_numa::{Topology, TopologyError};
    /// let topo = Topology::uniform(2, 2).unwrap();
    /// assert_eq!(topo.node(1).unwrap().cpus(), &[2, 3]);
    /// assert_eq!(topo.node(9).unwrap_err(), TopologyError::UnknownNode { node: 9 });
    /// ```
    pub fn node(&self, id: usize) -> Result<&Node, TopologyError> {
        self.index_of(id).map(|i| &self.nodes[i])
    }

    /// Position of node `id` in [`nodes`](Self::nodes).
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::builder().node(4, [0]).node(2, [1]).build().unwrap();
    /// assert_eq!(topo.index_of(4), Ok(1));
    /// ```
    pub fn index_of(&self, id: usize) -> Result<usize, TopologyError> {
        self.nodes
            .iter()
            .position(|n| n.id == id)
            .ok_or(TopologyError::UnknownNode { node: id })
    }

    /// Distance from node `from` to node `to` (ACPI SLIT scale: 10 = local).
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::uniform(2, 1).unwrap();
    /// assert_eq!((topo.distance(0, 0).unwrap(), topo.distance(0, 1).unwrap()), (10, 20));
    /// assert!(topo.distance(0, 5).is_err());
    /// ```
    pub fn distance(&self, from: usize, to: usize) -> Result<u32, TopologyError> {
        let (i, j) = (self.index_of(from)?, self.index_of(to)?);
        Ok(self.distance_by_index(i, j))
    }

    /// Distance between node positions (internal: indices are valid by construction).
    pub(crate) fn distance_by_index(&self, i: usize, j: usize) -> u32 {
        self.distances[i * self.nodes.len() + j]
    }

    /// The distance matrix, one row per node in [`nodes`](Self::nodes) order.
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::uniform(2, 1).unwrap();
    /// assert_eq!(topo.distance_matrix(), vec![vec![10, 20], vec![20, 10]]);
    /// ```
    pub fn distance_matrix(&self) -> Vec<Vec<u32>> {
        self.distances
            .chunks(self.nodes.len())
            .map(<[u32]>::to_vec)
            .collect()
    }

    /// Node ids ordered by distance from `from`: `from` itself first, then nearer nodes
    /// before farther ones (ties by id).
    ///
    /// ```
    /// use nimsync_numa::Topology;
    /// let topo = Topology::builder()
    ///     .node(0, [0]).node(1, [1]).node(2, [2])
    ///     .distance(0, 1, 30).distance(0, 2, 15).distance(1, 2, 20)
    ///     .build().unwrap();
    /// assert_eq!(topo.nodes_by_distance(0).unwrap(), vec![0, 2, 1]);
    /// ```
    pub fn nodes_by_distance(&self, from: usize) -> Result<Vec<usize>, TopologyError> {
        let i = self.index_of(from)?;
        Ok(self
            .indices_by_distance(i)
            .into_iter()
            .map(|j| self.nodes[j].id)
            .collect())
    }

    /// Node positions ordered by distance from position `i` (itself first).
    pub(crate) fn indices_by_distance(&self, i: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.nodes.len()).collect();
        order.sort_by_key(|&j| (j != i, self.distance_by_index(i, j), self.nodes[j].id));
        order
    }

    /// The node (id) that CPU `cpu` belongs to, if the topology lists it.
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::uniform(2, 2).unwrap();
    /// assert_eq!((topo.node_of_cpu(3), topo.node_of_cpu(4)), (Some(1), None));
    /// ```
    pub fn node_of_cpu(&self, cpu: usize) -> Option<usize> {
        self.nodes
            .iter()
            .find(|n| n.cpus.binary_search(&cpu).is_ok())
            .map(|n| n.id)
    }

    /// Every CPU of the topology, sorted.
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::uniform(2, 2).unwrap();
    /// assert_eq!(topo.cpus(), vec![0, 1, 2, 3]);
    /// ```
    pub fn cpus(&self) -> Vec<usize> {
        let mut all: Vec<usize> = self.nodes.iter().flat_map(|n| n.cpus.clone()).collect();
        all.sort_unstable();
        all
    }

    /// Physical cores, each the sorted list of its PUs (hardware threads), sorted by first PU.
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::builder()
    ///     .node(0, [0, 1, 2, 3])
    ///     .cores(vec![vec![0, 2], vec![1, 3]])
    ///     .build().unwrap();
    /// assert_eq!(topo.cores(), &[vec![0, 2], vec![1, 3]]);
    /// ```
    pub fn cores(&self) -> &[Vec<usize>] {
        &self.cores
    }

    /// Groups of CPUs sharing an L3 cache, sorted by first CPU (empty when unknown).
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::uniform(2, 2).unwrap();
    /// assert_eq!(topo.l3_groups(), &[vec![0, 1], vec![2, 3]]); // default: one per node
    /// ```
    pub fn l3_groups(&self) -> &[Vec<usize>] {
        &self.l3_groups
    }

    /// Position in [`l3_groups`](Self::l3_groups) of the group containing `cpu`.
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::uniform(2, 2).unwrap();
    /// assert_eq!(topo.l3_group_of(2), Some(1));
    /// ```
    pub fn l3_group_of(&self, cpu: usize) -> Option<usize> {
        self.l3_groups
            .iter()
            .position(|g| g.binary_search(&cpu).is_ok())
    }
}

impl fmt::Display for Topology {
    /// A short human-readable summary: one line per node, then the distance matrix.
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::uniform(2, 2).unwrap();
    /// let text = topo.to_string();
    /// assert!(text.contains("node 1: cpus 2-3"), "{text}");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} NUMA node(s), {} core(s), {} PU(s), {} L3 group(s)",
            self.nodes.len(),
            self.cores.len(),
            self.nodes.iter().map(|n| n.cpus.len()).sum::<usize>(),
            self.l3_groups.len()
        )?;
        for node in &self.nodes {
            write!(
                f,
                "  node {}: cpus {}",
                node.id,
                format_cpu_list(&node.cpus)
            )?;
            if let Some(bytes) = node.memory_bytes {
                write!(f, ", {:.1} GiB", bytes as f64 / (1u64 << 30) as f64)?;
            }
            writeln!(f)?;
        }
        write!(f, "  distances:")?;
        for row in self.distance_matrix() {
            write!(f, " [")?;
            for (k, d) in row.iter().enumerate() {
                if k > 0 {
                    write!(f, " ")?;
                }
                write!(f, "{d}")?;
            }
            write!(f, "]")?;
        }
        Ok(())
    }
}
