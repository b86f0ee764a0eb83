//! Building a [`Topology`] by hand or from detected data: [`TopologySpec`] (plain data),
//! [`TopologyBuilder`] (fluent), [`Topology::uniform`]; all go through one validation.

use crate::error::TopologyError;
use crate::topology::{Node, Topology};

/// Distance of a node to itself when none is given (ACPI SLIT convention).
pub const LOCAL_DISTANCE: u32 = 10;
/// Distance between two different nodes when none is given.
pub const REMOTE_DISTANCE: u32 = 20;

/// One node of a [`TopologySpec`].
///
/// ```
/// let n = nimsync_numa::NodeSpec { id: 0, cpus: vec![0, 1], memory_bytes: Some(1 << 30) };
/// assert_eq!(n.cpus.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeSpec {
    /// The node's id.
    pub id: usize,
    /// Its CPUs (any order; duplicates are ignored).
    pub cpus: Vec<usize>,
    /// Its memory, if known.
    pub memory_bytes: Option<u64>,
}

/// A topology as plain data, validated by [`Topology::from_spec`].
///
/// ```
/// use nimsync_numa::{NodeSpec, Topology, TopologySpec};
/// let spec = TopologySpec {
///     nodes: vec![
///         NodeSpec { id: 0, cpus: vec![0, 1], memory_bytes: None },
///         NodeSpec { id: 1, cpus: vec![2, 3], memory_bytes: None },
///     ],
///     distances: Some(vec![vec![10, 32], vec![21, 10]]), // asymmetric is fine
///     ..TopologySpec::default()
/// };
/// let topo = Topology::from_spec(spec)?;
/// assert_eq!((topo.distance(0, 1)?, topo.distance(1, 0)?), (32, 21));
/// # Ok::<(), nimsync_numa::TopologyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopologySpec {
    /// The nodes.
    pub nodes: Vec<NodeSpec>,
    /// Distance matrix, rows and columns in the order of `nodes`; `None`: 10 local, 20 remote.
    pub distances: Option<Vec<Vec<u32>>>,
    /// Physical cores (lists of PUs); `None`, or CPUs no core lists: one core per CPU.
    pub cores: Option<Vec<Vec<usize>>>,
    /// L3-sharing groups; `None`: one group per node. `Some(vec![])`: unknown.
    pub l3_groups: Option<Vec<Vec<usize>>>,
}

impl Topology {
    /// Validates a spec and builds the topology (see [`Topology`] for the invariants).
    ///
    /// ```
    /// use nimsync_numa::{NodeSpec, Topology, TopologyError, TopologySpec};
    /// let spec = TopologySpec {
    ///     nodes: vec![NodeSpec { id: 0, cpus: vec![0], memory_bytes: None }],
    ///     distances: Some(vec![vec![10, 20]]),
    ///     ..TopologySpec::default()
    /// };
    /// assert_eq!(
    ///     Topology::from_spec(spec).unwrap_err(),
    ///     TopologyError::DistanceMatrixSize { nodes: 1, entries: 2 }
    /// );
    /// ```
    pub fn from_spec(spec: TopologySpec) -> Result<Topology, TopologyError> {
        validate(spec)
    }

    /// A fluent builder for fake (or hand-written) topologies.
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::builder().node(0, 0..4).build().unwrap();
    /// assert_eq!(topo.cpus(), vec![0, 1, 2, 3]);
    /// ```
    pub fn builder() -> TopologyBuilder {
        TopologyBuilder::default()
    }

    /// `nodes` nodes of `cpus_per_node` CPUs each, numbered consecutively (node 0 has CPUs
    /// `0..cpus_per_node`), distances 10 local / 20 remote, one core per CPU, one L3 per node.
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::uniform(2, 4).unwrap();
    /// assert_eq!(topo.node(1).unwrap().cpus(), &[4, 5, 6, 7]);
    /// assert!(nimsync_numa::Topology::uniform(2, 0).is_err());
    /// ```
    pub fn uniform(nodes: usize, cpus_per_node: usize) -> Result<Topology, TopologyError> {
        let mut b = Topology::builder();
        for n in 0..nodes {
            b = b.node(n, n * cpus_per_node..(n + 1) * cpus_per_node);
        }
        b.build()
    }
}

/// Fluent construction of a [`Topology`]; errors surface in [`build`](Self::build).
///
/// ```
/// use nimsync_numa::{Topology, TopologyError};
/// let err = Topology::builder().node(0, [0]).distance(0, 3, 20).build().unwrap_err();
/// assert_eq!(err, TopologyError::UnknownNode { node: 3 });
/// ```
#[derive(Debug, Clone, Default)]
pub struct TopologyBuilder {
    spec: TopologySpec,
    distance_overrides: Vec<(usize, usize, u32)>,
}

impl TopologyBuilder {
    /// Adds node `id` with `cpus`.
    pub fn node(mut self, id: usize, cpus: impl IntoIterator<Item = usize>) -> Self {
        self.spec.nodes.push(NodeSpec {
            id,
            cpus: cpus.into_iter().collect(),
            memory_bytes: None,
        });
        self
    }

    /// Adds node `id` with `cpus` and `memory_bytes` of memory.
    ///
    /// ```
    /// let t = nimsync_numa::Topology::builder().node_with_memory(0, [0], 1 << 30).build().unwrap();
    /// assert_eq!(t.nodes()[0].memory_bytes(), Some(1 << 30));
    /// ```
    pub fn node_with_memory(
        mut self,
        id: usize,
        cpus: impl IntoIterator<Item = usize>,
        memory_bytes: u64,
    ) -> Self {
        self.spec.nodes.push(NodeSpec {
            id,
            cpus: cpus.into_iter().collect(),
            memory_bytes: Some(memory_bytes),
        });
        self
    }

    /// Sets the distance between nodes `a` and `b`, both ways.
    pub fn distance(self, a: usize, b: usize, distance: u32) -> Self {
        self.distance_one_way(a, b, distance)
            .distance_one_way(b, a, distance)
    }

    /// Sets the distance from `from` to `to` only (asymmetric distances).
    ///
    /// ```
    /// let t = nimsync_numa::Topology::builder()
    ///     .node(0, [0]).node(1, [1]).distance_one_way(0, 1, 40).build().unwrap();
    /// assert_eq!((t.distance(0, 1).unwrap(), t.distance(1, 0).unwrap()), (40, 20));
    /// ```
    pub fn distance_one_way(mut self, from: usize, to: usize, distance: u32) -> Self {
        self.distance_overrides.push((from, to, distance));
        self
    }

    /// Sets the whole distance matrix (rows in the order the nodes were added).
    pub fn distances(mut self, matrix: Vec<Vec<u32>>) -> Self {
        self.spec.distances = Some(matrix);
        self
    }

    /// Sets the physical cores (each a list of PUs).
    pub fn cores(mut self, cores: Vec<Vec<usize>>) -> Self {
        self.spec.cores = Some(cores);
        self
    }

    /// Sets the L3-sharing groups.
    ///
    /// ```
    /// let t = nimsync_numa::Topology::builder()
    ///     .node(0, 0..4).l3_groups(vec![vec![0, 1], vec![2, 3]]).build().unwrap();
    /// assert_eq!(t.l3_group_of(3), Some(1));
    /// ```
    pub fn l3_groups(mut self, groups: Vec<Vec<usize>>) -> Self {
        self.spec.l3_groups = Some(groups);
        self
    }

    /// Validates and builds.
    pub fn build(self) -> Result<Topology, TopologyError> {
        let TopologyBuilder {
            mut spec,
            distance_overrides,
        } = self;
        if !distance_overrides.is_empty() {
            let n = spec.nodes.len();
            let mut matrix = spec
                .distances
                .take()
                .unwrap_or_else(|| default_distances(n));
            let pos = |id: usize| {
                spec.nodes
                    .iter()
                    .position(|s| s.id == id)
                    .ok_or(TopologyError::UnknownNode { node: id })
            };
            for (from, to, d) in distance_overrides {
                let (i, j) = (pos(from)?, pos(to)?);
                if let Some(cell) = matrix.get_mut(i).and_then(|row| row.get_mut(j)) {
                    *cell = d;
                }
            }
            spec.distances = Some(matrix);
        }
        validate(spec)
    }
}

fn default_distances(n: usize) -> Vec<Vec<u32>> {
    (0..n)
        .map(|i| {
            (0..n)
                .map(|j| {
                    if i == j {
                        LOCAL_DISTANCE
                    } else {
                        REMOTE_DISTANCE
                    }
                })
                .collect()
        })
        .collect()
}

fn validate(spec: TopologySpec) -> Result<Topology, TopologyError> {
    let n = spec.nodes.len();
    if n == 0 {
        return Err(TopologyError::NoNodes);
    }
    // Nodes: unique ids, non-empty disjoint CPU sets.
    let mut owner: std::collections::BTreeMap<usize, usize> = Default::default();
    for (k, node) in spec.nodes.iter().enumerate() {
        if spec.nodes[..k].iter().any(|m| m.id == node.id) {
            return Err(TopologyError::DuplicateNode { node: node.id });
        }
        if node.cpus.is_empty() {
            return Err(TopologyError::EmptyCpuSet { node: node.id });
        }
        for &cpu in &node.cpus {
            if let Some(&first) = owner.get(&cpu)
                && first != node.id
            {
                return Err(TopologyError::CpuInTwoNodes {
                    cpu,
                    first,
                    second: node.id,
                });
            }
            owner.insert(cpu, node.id);
        }
    }
    // Distances: n × n, positive, each node strictly nearest to itself.
    let matrix = spec.distances.unwrap_or_else(|| default_distances(n));
    let entries: usize = matrix.iter().map(Vec::len).sum();
    if matrix.len() != n || matrix.iter().any(|row| row.len() != n) {
        return Err(TopologyError::DistanceMatrixSize { nodes: n, entries });
    }
    for i in 0..n {
        for j in 0..n {
            let d = matrix[i][j];
            let bad = d == 0 || (i != j && (d <= matrix[i][i] || d <= matrix[j][j]));
            if bad {
                return Err(TopologyError::InvalidDistance {
                    from: spec.nodes[i].id,
                    to: spec.nodes[j].id,
                    distance: d,
                });
            }
        }
    }
    // Sort nodes by id, permuting the matrix with them.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| spec.nodes[i].id);
    let nodes: Vec<Node> = order
        .iter()
        .map(|&i| {
            let s = &spec.nodes[i];
            let mut cpus = s.cpus.clone();
            cpus.sort_unstable();
            cpus.dedup();
            Node {
                id: s.id,
                cpus,
                memory_bytes: s.memory_bytes,
            }
        })
        .collect();
    let distances: Vec<u32> = order
        .iter()
        .flat_map(|&i| order.iter().map(move |&j| (i, j)))
        .map(|(i, j)| matrix[i][j])
        .collect();
    // Cores: known CPUs, disjoint, one node each; unlisted CPUs become one-PU cores.
    let cores = normalise_groups(spec.cores.unwrap_or_default(), &owner, true)?;
    let mut covered: std::collections::BTreeSet<usize> = cores.iter().flatten().copied().collect();
    let mut cores = cores;
    for &cpu in owner.keys() {
        if covered.insert(cpu) {
            cores.push(vec![cpu]);
        }
    }
    cores.sort();
    // L3 groups: known CPUs, disjoint (they may span nodes: sub-NUMA clustering).
    let l3_groups = match spec.l3_groups {
        Some(groups) => normalise_groups(groups, &owner, false)?,
        None => nodes.iter().map(|n| n.cpus.clone()).collect(),
    };
    Ok(Topology {
        nodes,
        distances,
        cores,
        l3_groups,
    })
}

/// Sorts, dedups and checks CPU groups (cores or L3 groups).
fn normalise_groups(
    groups: Vec<Vec<usize>>,
    owner: &std::collections::BTreeMap<usize, usize>,
    single_node: bool,
) -> Result<Vec<Vec<usize>>, TopologyError> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::with_capacity(groups.len());
    for mut g in groups {
        g.sort_unstable();
        g.dedup();
        let Some(&first) = g.first() else {
            return Err(TopologyError::UnknownCpu { cpu: usize::MAX });
        };
        let mut node = None;
        for &cpu in &g {
            let Some(&n) = owner.get(&cpu) else {
                return Err(TopologyError::UnknownCpu { cpu });
            };
            if !seen.insert(cpu) {
                return Err(TopologyError::OverlappingGroups { cpu });
            }
            if single_node && node.is_some_and(|m| m != n) {
                return Err(TopologyError::GroupSpansNodes { cpu: first });
            }
            node = Some(n);
        }
        out.push(g);
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_nodes() -> TopologyBuilder {
        Topology::builder().node(0, [0, 1]).node(1, [2, 3])
    }

    #[test]
    fn rejects_bad_input() {
        use TopologyError::*;
        let cases: Vec<(TopologyBuilder, TopologyError)> = vec![
            (Topology::builder(), NoNodes),
            (two_nodes().node(1, [9]), DuplicateNode { node: 1 }),
            (two_nodes().node(2, []), EmptyCpuSet { node: 2 }),
            (
                two_nodes().node(2, [3]),
                CpuInTwoNodes {
                    cpu: 3,
                    first: 1,
                    second: 2,
                },
            ),
            (two_nodes().distance(0, 7, 30), UnknownNode { node: 7 }),
            (
                two_nodes().distance(0, 1, 0),
                InvalidDistance {
                    from: 0,
                    to: 1,
                    distance: 0,
                },
            ),
            (
                two_nodes().distance(0, 1, 10),
                InvalidDistance {
                    from: 0,
                    to: 1,
                    distance: 10,
                },
            ),
            (
                // Node 1 is nearer to node 0 than to itself.
                two_nodes().distance_one_way(1, 1, 40).distance(0, 1, 30),
                InvalidDistance {
                    from: 0,
                    to: 1,
                    distance: 30,
                },
            ),
            (
                two_nodes().distances(vec![vec![10, 20], vec![20]]),
                DistanceMatrixSize {
                    nodes: 2,
                    entries: 3,
                },
            ),
            (two_nodes().cores(vec![vec![0, 9]]), UnknownCpu { cpu: 9 }),
            (
                two_nodes().cores(vec![vec![]]),
                UnknownCpu { cpu: usize::MAX },
            ),
            (
                two_nodes().cores(vec![vec![0, 1], vec![1]]),
                OverlappingGroups { cpu: 1 },
            ),
            (
                two_nodes().cores(vec![vec![1, 2]]),
                GroupSpansNodes { cpu: 1 },
            ),
            (
                two_nodes().l3_groups(vec![vec![0, 1], vec![1, 2]]),
                OverlappingGroups { cpu: 1 },
            ),
        ];
        for (builder, expected) in cases {
            let got = builder.clone().build();
            assert_eq!(got, Err(expected.clone()), "{builder:?}");
            assert!(!expected.to_string().is_empty());
        }
    }

    #[test]
    fn sorts_nodes_and_permutes_distances() {
        let topo = Topology::builder()
            .node(5, [10, 11])
            .node(1, [0])
            .distances(vec![vec![10, 30], vec![25, 10]])
            .build()
            .unwrap();
        assert_eq!(topo.nodes()[0].id(), 1);
        assert_eq!(topo.distance(5, 1).unwrap(), 30);
        assert_eq!(topo.distance(1, 5).unwrap(), 25);
        assert_eq!(topo.distance_matrix(), vec![vec![10, 25], vec![30, 10]]);
    }

    #[test]
    fn fills_missing_cores_and_defaults_l3() {
        let topo = Topology::builder()
            .node(0, [0, 1, 2])
            .cores(vec![vec![2, 0]])
            .build()
            .unwrap();
        assert_eq!(topo.cores(), &[vec![0, 2], vec![1]]);
        assert_eq!(topo.l3_groups(), &[vec![0, 1, 2]]);
    }

    #[test]
    fn four_nodes_with_asymmetric_distances() {
        let m = vec![
            vec![10, 16, 22, 30],
            vec![17, 10, 30, 22],
            vec![22, 31, 10, 16],
            vec![32, 22, 16, 10],
        ];
        let topo = Topology::builder()
            .node(0, 0..2)
            .node(1, 2..4)
            .node(2, 4..6)
            .node(3, 6..8)
            .distances(m.clone())
            .build()
            .unwrap();
        assert_eq!(topo.distance_matrix(), m);
        assert_eq!(topo.nodes_by_distance(0).unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(topo.nodes_by_distance(3).unwrap(), vec![3, 2, 1, 0]);
        assert_eq!(topo.nodes_by_distance(1).unwrap(), vec![1, 0, 3, 2]);
    }
}
