//! Worker placement for the scheduler from a [`Topology`]: which CPU each worker is pinned to
//! and how far apart two workers are (the scheduler's thieves try nearer victims first).
//!
//! Worker distance = 2 × the SLIT distance between the workers' nodes, plus 1 when their CPUs
//! do not share an L3 cache: same L3 < same node < nearer node < farther node (saturating at
//! `u32::MAX`, so node distances above 2^31 − 1 all rank as farthest). It implements
//! [`nimsync_scheduler::Placement`]; pinning happens only with `Builder::pin_cores(true)`
//! (through `core_affinity`).

use crate::topology::Topology;
use nimsync_scheduler::Placement;
use std::collections::HashMap;

/// How workers are spread over the nodes.
///
/// ```
/// use nimsync_numa::{NumaPlacement, PlacementPolicy, Topology};
/// let topo = Topology::uniform(2, 4).unwrap(); // node 0: CPUs 0-3, node 1: CPUs 4-7
/// let cpus = |p| -> Vec<usize> {
///     let pl = NumaPlacement::new(&topo, p);
///     (0..4).map(|w| pl.cpu_for_worker(w, 4)).collect()
/// };
/// assert_eq!(cpus(PlacementPolicy::Compact), [0, 1, 2, 3]);
/// assert_eq!(cpus(PlacementPolicy::Spread), [0, 4, 1, 5]);
/// assert_eq!(cpus(PlacementPolicy::PerNode), [0, 1, 4, 5]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlacementPolicy {
    /// Fill a node before the next (node by node in id order, a core's PUs together): workers
    /// share caches and memory; best when they talk to each other a lot.
    Compact,
    /// Round robin across nodes (worker `i` on node `i mod nodes`), and across cores before
    /// SMT siblings within a node: most memory bandwidth and cache per worker.
    Spread,
    /// The workers split into one contiguous, equal group per node (workers `0..n/k` on the
    /// first node, and so on), cores before SMT siblings within a node; with the distance
    /// order, a worker steals within its node first, then from the nearest nodes.
    PerNode,
}

/// A [`Placement`] computed from a topology and a [`PlacementPolicy`].
///
/// ```
/// use nimsync_numa::{NumaPlacement, Topology};
/// use nimsync_scheduler::Runtime;
/// let topo = Topology::detect().unwrap();
/// let rt = Runtime::builder()
///     .workers(2)
///     .placement(NumaPlacement::per_node(&topo))
///     .pin_cores(true)
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(async { 6 * 7 }), 42);
/// ```
#[derive(Debug, Clone)]
pub struct NumaPlacement {
    policy: PlacementPolicy,
    topology: Topology,
    /// Every CPU, node by node, a core's PUs together.
    compact_order: Vec<usize>,
    /// Per node (by position): its CPUs, first PU of every core, then second PUs, ...
    spread_orders: Vec<Vec<usize>>,
    /// CPU → (node position, L3 group position or `usize::MAX`).
    cpu_info: HashMap<usize, (usize, usize)>,
}

impl NumaPlacement {
    /// A placement of `policy` on `topology` (copied).
    pub fn new(topology: &Topology, policy: PlacementPolicy) -> Self {
        let mut compact_order = Vec::new();
        let mut spread_orders = Vec::new();
        let mut cpu_info = HashMap::new();
        for (i, node) in topology.nodes().iter().enumerate() {
            let cores: Vec<&Vec<usize>> = topology
                .cores()
                .iter()
                .filter(|c| node.cpus().binary_search(&c[0]).is_ok())
                .collect();
            compact_order.extend(cores.iter().flat_map(|c| c.iter().copied()));
            let widest = cores.iter().map(|c| c.len()).max().unwrap_or(0);
            spread_orders.push(
                (0..widest)
                    .flat_map(|k| cores.iter().filter_map(move |c| c.get(k).copied()))
                    .collect(),
            );
            for &cpu in node.cpus() {
                let l3 = topology.l3_group_of(cpu).unwrap_or(usize::MAX);
                cpu_info.insert(cpu, (i, l3));
            }
        }
        NumaPlacement {
            policy,
            topology: topology.clone(),
            compact_order,
            spread_orders,
            cpu_info,
        }
    }

    /// [`PlacementPolicy::Compact`] on `topology`.
    ///
    /// ```
    /// let p = nimsync_numa::NumaPlacement::compact(&nimsync_numa::Topology::uniform(2, 2).unwrap());
    /// assert_eq!(p.node_for_worker(1, 4), 0);
    /// ```
    pub fn compact(topology: &Topology) -> Self {
        Self::new(topology, PlacementPolicy::Compact)
    }

    /// [`PlacementPolicy::Spread`] on `topology`.
    ///
    /// ```
    /// let p = nimsync_numa::NumaPlacement::spread(&nimsync_numa::Topology::uniform(2, 2).unwrap());
    /// assert_eq!(p.node_for_worker(1, 4), 1);
    /// ```
    pub fn spread(topology: &Topology) -> Self {
        Self::new(topology, PlacementPolicy::Spread)
    }

    /// [`PlacementPolicy::PerNode`] on `topology`.
    ///
    /// ```
    /// let p = nimsync_numa::NumaPlacement::per_node(&nimsync_numa::Topology::uniform(2, 2).unwrap());
    /// assert_eq!(p.node_for_worker(2, 4), 1);
    /// ```
    pub fn per_node(topology: &Topology) -> Self {
        Self::new(topology, PlacementPolicy::PerNode)
    }

    /// The policy.
    ///
    /// ```
    /// use nimsync_numa::{NumaPlacement, PlacementPolicy, Topology};
    /// let p = NumaPlacement::spread(&Topology::uniform(1, 1).unwrap());
    /// assert_eq!(p.policy(), PlacementPolicy::Spread);
    /// ```
    pub fn policy(&self) -> PlacementPolicy {
        self.policy
    }

    /// The CPU for worker `worker` of `workers` (workers beyond the CPU count wrap around).
    ///
    /// ```
    /// let p = nimsync_numa::NumaPlacement::compact(&nimsync_numa::Topology::uniform(1, 2).unwrap());
    /// assert_eq!([p.cpu_for_worker(0, 3), p.cpu_for_worker(2, 3)], [0, 0]);
    /// ```
    pub fn cpu_for_worker(&self, worker: usize, workers: usize) -> usize {
        let workers = workers.max(1);
        let worker = worker % workers;
        match self.policy {
            PlacementPolicy::Compact => self.compact_order[worker % self.compact_order.len()],
            PlacementPolicy::Spread => {
                let k = self.spread_orders.len();
                let order = &self.spread_orders[worker % k];
                order[(worker / k) % order.len()]
            }
            PlacementPolicy::PerNode => {
                let k = self.spread_orders.len();
                let group = worker * k / workers;
                let start = (group * workers).div_ceil(k);
                let order = &self.spread_orders[group];
                order[(worker - start) % order.len()]
            }
        }
    }

    /// The node (id) of worker `worker` of `workers`.
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::uniform(2, 2).unwrap();
    /// let p = nimsync_numa::NumaPlacement::spread(&topo);
    /// assert_eq!((p.node_for_worker(0, 2), p.node_for_worker(1, 2)), (0, 1));
    /// ```
    pub fn node_for_worker(&self, worker: usize, workers: usize) -> usize {
        let (node, _) = self.info(self.cpu_for_worker(worker, workers));
        self.topology.nodes()[node].id()
    }

    fn info(&self, cpu: usize) -> (usize, usize) {
        // Every CPU a worker can get comes from the topology.
        self.cpu_info.get(&cpu).copied().unwrap_or((0, usize::MAX))
    }

    /// Distance between two CPUs of the topology (see the module docs).
    fn cpu_distance(&self, from: usize, to: usize) -> u32 {
        let (a, a_l3) = self.info(from);
        let (b, b_l3) = self.info(to);
        let shared_l3 = a_l3 != usize::MAX && a_l3 == b_l3;
        // In u64, saturated: a topology may carry any positive u32 distance.
        let d = 2 * u64::from(self.topology.distance_by_index(a, b)) + u64::from(!shared_l3);
        u32::try_from(d).unwrap_or(u32::MAX)
    }
}

impl Placement for NumaPlacement {
    fn core_for_worker(&self, worker: usize, workers: usize) -> Option<usize> {
        Some(self.cpu_for_worker(worker, workers))
    }

    /// Without the worker count: as if the runtime had `max(from, to) + 1` workers. The
    /// scheduler calls [`worker_distance`](Placement::worker_distance) instead.
    fn distance(&self, from: usize, to: usize) -> u32 {
        self.worker_distance(from, to, from.max(to) + 1)
    }

    fn worker_distance(&self, from: usize, to: usize, workers: usize) -> u32 {
        self.cpu_distance(
            self.cpu_for_worker(from, workers),
            self.cpu_for_worker(to, workers),
        )
    }
}
