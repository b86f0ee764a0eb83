//! The hwloc backend (feature `hwloc`): the same [`Topology`] through `hwlocality`.
//!
//! hwloc already leaves out the CPUs the process is not allowed to use (cgroup cpusets); the
//! result is further restricted to the process's affinity mask, as the sysfs backend does,
//! and nodes without CPUs are left out likewise, so both backends agree on one machine.
//!
//! A node's CPUs are not its hwloc cpuset: hwloc gives a NUMA node the cpuset of the object
//! it is attached to, so a CPU-less node (HBM or MCDRAM in flat mode, a CXL memory expander)
//! attached next to a DDR node shares that node's CPUs. As in sysfs, where a CPU is in
//! exactly one node's `cpulist`, each PU goes to one node: the nearest ancestor of the PU
//! that has NUMA nodes attached (through memory-side caches too) gives the candidates, and
//! the PU takes the first of normal memory (no hwloc subtype, or `DRAM`; else any), lowest
//! OS index first. A node that gets no PU is left out, as sysfs leaves out an empty
//! `cpulist`.

use crate::affinity::process_allowed_cpus;
use crate::error::TopologyError;
use crate::spec::{LOCAL_DISTANCE, NodeSpec, TopologySpec};
use crate::topology::Topology;
use hwlocality::object::TopologyObject;
use hwlocality::object::attributes::ObjectAttributes;
use hwlocality::object::types::ObjectType;

fn hwloc_error(e: impl std::fmt::Display) -> TopologyError {
    TopologyError::Hwloc(e.to_string())
}

impl Topology {
    /// Detects the machine's topology through hwloc, restricted to the process's CPU affinity
    /// mask (feature `hwloc`).
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::detect_hwloc().expect("hwloc topology");
    /// assert!(topo.node_count() >= 1);
    /// ```
    pub fn detect_hwloc() -> Result<Topology, TopologyError> {
        let hw = hwlocality::Topology::new().map_err(hwloc_error)?;
        let allowed = process_allowed_cpus();
        let cpus_of = |obj: &TopologyObject| -> Vec<usize> {
            obj.cpuset()
                .map(|set| {
                    set.iter_set()
                        .map(usize::from)
                        .filter(|c| allowed.as_ref().is_none_or(|a| a.contains(c)))
                        .collect()
                })
                .unwrap_or_default()
        };
        let numa: Vec<&TopologyObject> = hw.objects_with_type(ObjectType::NUMANode).collect();
        let mut nodes = Vec::with_capacity(numa.len());
        for obj in &numa {
            let id = obj
                .os_index()
                .ok_or_else(|| hwloc_error("a NUMA node has no OS index"))?;
            let memory_bytes = match obj.attributes() {
                Some(ObjectAttributes::NUMANode(a)) => a.local_memory().map(|m| m.get()),
                _ => None,
            };
            nodes.push(NodeSpec {
                id,
                cpus: Vec::new(),
                memory_bytes,
            });
        }
        // Each PU to its one local node (see the module docs).
        for pu in hw.objects_with_type(ObjectType::PU) {
            let cpu = pu
                .os_index()
                .ok_or_else(|| hwloc_error("a PU has no OS index"))?;
            if allowed.as_ref().is_some_and(|a| !a.contains(&cpu)) {
                continue;
            }
            let Some(local) = local_node(pu) else {
                continue; // no memory above it: in no node, as before
            };
            let gp = local.global_persistent_index();
            if let Some(i) = numa.iter().position(|n| n.global_persistent_index() == gp) {
                nodes[i].cpus.push(cpu);
            }
        }
        let keep: Vec<usize> = (0..nodes.len())
            .filter(|&i| !nodes[i].cpus.is_empty())
            .collect();
        if keep.is_empty() {
            return Err(TopologyError::NoAllowedCpu);
        }
        let distances = if keep.len() == 1 {
            vec![vec![LOCAL_DISTANCE]]
        } else {
            let matrices = hw
                .distances_with_type(None, ObjectType::NUMANode)
                .map_err(hwloc_error)?;
            let matrix = matrices
                .first()
                .ok_or_else(|| hwloc_error("no NUMA distance matrix"))?;
            let mut rows = Vec::with_capacity(keep.len());
            for &i in &keep {
                let mut row = Vec::with_capacity(keep.len());
                for &j in &keep {
                    let (d, _) = matrix
                        .object_pair_distance((numa[i], numa[j]))
                        .ok_or_else(|| hwloc_error("a NUMA node is missing from the matrix"))?;
                    row.push(u32::try_from(d).map_err(hwloc_error)?);
                }
                rows.push(row);
            }
            rows
        };
        let groups = |ty: ObjectType| -> Vec<Vec<usize>> {
            hw.objects_with_type(ty)
                .map(cpus_of)
                .filter(|g| !g.is_empty())
                .collect()
        };
        let spec = TopologySpec {
            nodes: keep.iter().map(|&i| nodes[i].clone()).collect(),
            distances: Some(distances),
            cores: Some(groups(ObjectType::Core)),
            l3_groups: Some(groups(ObjectType::L3Cache)),
        };
        Topology::from_spec(spec)
    }
}

/// The NUMA node a PU belongs to: among the NUMA nodes attached to its nearest ancestor that
/// has any, the first of normal memory, lowest OS index first.
fn local_node(pu: &TopologyObject) -> Option<&TopologyObject> {
    pu.ancestors().find_map(|ancestor| {
        let mut attached = Vec::new();
        numa_nodes_attached(ancestor, &mut attached);
        attached
            .into_iter()
            .min_by_key(|n| (!is_normal_memory(n), n.os_index()))
    })
}

/// The NUMA nodes among `obj`'s memory children, through memory-side caches.
fn numa_nodes_attached<'t>(obj: &'t TopologyObject, out: &mut Vec<&'t TopologyObject>) {
    for child in obj.memory_children() {
        if child.object_type() == ObjectType::NUMANode {
            out.push(child);
        } else {
            numa_nodes_attached(child, out);
        }
    }
}

/// Whether a NUMA node is ordinary memory: hwloc gives special kinds a subtype (`MCDRAM`,
/// `HBM`, `NVM`, `SPM`, `GPUMemory`, `CXL-DRAM`, ...), and ordinary DDR none or `DRAM`.
fn is_normal_memory(node: &TopologyObject) -> bool {
    node.subtype()
        .is_none_or(|s| s.to_bytes().eq_ignore_ascii_case(b"DRAM"))
}
