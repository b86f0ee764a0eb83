//! The hwloc backend (feature `hwloc`): the same [`Topology`] through `hwlocality`.
//!
//! hwloc already leaves out the CPUs the process is not allowed to use (cgroup cpusets); the
//! result is further restricted to the process's affinity mask, as the sysfs backend does,
//! and nodes without CPUs are left out likewise, so both backends agree on one machine.

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
                cpus: cpus_of(obj),
                memory_bytes,
            });
        }
        let keep: Vec<usize> = (0..nodes.len())
            .filter(|&i| !nodes[i].cpus.is_empty())
            .collect();
        if keep.is_empty() {
            return Err(TopologyError::NoAllowedCpu);
        }
        let distances = if numa.len() == 1 {
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
