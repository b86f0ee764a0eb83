//! Which node the calling thread is on, as a channel sees it.
//!
//! Resolution order, at every operation (so a migrating thread follows its CPU):
//! 1. the thread's node hint, set with [`set_thread_node`] (for example by a worker-start
//!    hook, or in tests with fake topologies), if the channel's topology has that node;
//! 2. the node of the CPU the thread runs on ([`current_cpu`](crate::current_cpu), i.e.
//!    `sched_getcpu`): workers pinned by [`NumaPlacement`](crate::NumaPlacement) always
//!    resolve to their own node;
//! 3. otherwise (a CPU the topology does not list, e.g. with a fake topology, or no
//!    `sched_getcpu`): the topology's first node.

use crate::affinity::current_cpu;
use crate::topology::Topology;
use std::cell::Cell;

thread_local! {
    static NODE_HINT: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Sets (or clears, with `None`) the calling thread's node hint, which channels use instead of
/// the CPU the thread runs on; returns the previous hint.
///
/// ```
/// use nimsync_numa::{set_thread_node, thread_node};
/// assert_eq!(set_thread_node(Some(1)), None);
/// assert_eq!(thread_node(), Some(1));
/// assert_eq!(set_thread_node(None), Some(1));
/// ```
pub fn set_thread_node(node: Option<usize>) -> Option<usize> {
    NODE_HINT.with(|h| h.replace(node))
}

/// The calling thread's node hint (see [`set_thread_node`]).
///
/// ```
/// assert_eq!(nimsync_numa::thread_node(), None);
/// ```
pub fn thread_node() -> Option<usize> {
    NODE_HINT.with(Cell::get)
}

/// CPUs at or above this id are not in the CPU → node table.
const MAX_TABLE_CPUS: usize = 1 << 16;

/// Maps the calling thread to a shard (node position) of one topology.
#[derive(Debug, Clone)]
pub(crate) struct NodeMap {
    /// CPU → node position; `u16::MAX` for CPUs the topology does not list.
    cpu_to_index: Vec<u16>,
    /// Node id per position.
    ids: Vec<usize>,
}

impl NodeMap {
    pub(crate) fn new(topology: &Topology) -> Self {
        // Real CPU numbers are small (the kernel's limit is 8192); a fake topology's larger
        // ids stay out of the table and resolve like unknown CPUs.
        let max_cpu = topology
            .cpus()
            .into_iter()
            .filter(|&c| c < MAX_TABLE_CPUS)
            .max()
            .unwrap_or(0);
        let mut cpu_to_index = vec![u16::MAX; max_cpu + 1];
        for (i, node) in topology.nodes().iter().enumerate() {
            for &cpu in node.cpus().iter().filter(|&&c| c < MAX_TABLE_CPUS) {
                cpu_to_index[cpu] = u16::try_from(i).unwrap_or(u16::MAX);
            }
        }
        NodeMap {
            cpu_to_index,
            ids: topology.nodes().iter().map(|n| n.id()).collect(),
        }
    }

    /// Position of node `id`, if the topology has it.
    pub(crate) fn index_of(&self, id: usize) -> Option<usize> {
        self.ids.iter().position(|&n| n == id)
    }

    /// Node id at position `index`.
    pub(crate) fn id_at(&self, index: usize) -> usize {
        self.ids[index]
    }

    /// The calling thread's node position (see the module docs).
    #[inline]
    pub(crate) fn current_index(&self) -> usize {
        if self.ids.len() == 1 {
            return 0;
        }
        if let Some(i) = thread_node().and_then(|id| self.index_of(id)) {
            return i;
        }
        match current_cpu().and_then(|cpu| self.cpu_to_index.get(cpu)) {
            Some(&i) if i != u16::MAX => usize::from(i),
            _ => 0,
        }
    }
}
