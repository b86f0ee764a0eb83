//! Memory binding of a shard to its node (feature `hwloc`): the building thread's memory
//! policy is bound to the node (hwloc `set_membind`, `THREAD`, policy `Bind`) while the
//! shard's ring is allocated and initialised, then the previous policy is restored. The
//! ring's constructor writes every slot's stamp, so its pages are faulted in, and placed,
//! under the bound policy.

use crate::error::{ChannelError, TopologyError};
use crate::topology::Topology;
use hwlocality::memory::binding::{MemoryBindingFlags, MemoryBindingPolicy};
use hwlocality::memory::nodeset::NodeSet;

fn binding_error(e: impl std::fmt::Display) -> ChannelError {
    ChannelError::MemoryBinding(e.to_string())
}

/// Runs `make` with the calling thread's memory bound to node `node` of `topology`.
pub(crate) fn with_memory_on_node<R>(
    topology: &Topology,
    node: usize,
    make: impl FnOnce() -> R,
) -> Result<R, ChannelError> {
    topology
        .node(node)
        .map_err(|e: TopologyError| binding_error(e))?;
    let hw = hwlocality::Topology::new().map_err(binding_error)?;
    let flags = MemoryBindingFlags::THREAD;
    let (previous, previous_policy) = hw.memory_binding::<NodeSet>(flags).map_err(binding_error)?;
    let mut target = NodeSet::new();
    target.set(node);
    hw.bind_memory(
        &target,
        MemoryBindingPolicy::Bind,
        flags | MemoryBindingFlags::STRICT,
    )
    .map_err(binding_error)?;
    let out = make();
    // No policy reported: the thread had none of its own, i.e. the default (first touch).
    let policy = previous_policy.unwrap_or(MemoryBindingPolicy::FirstTouch);
    let restore = hw.bind_memory(&previous, policy, flags);
    restore.map_err(binding_error)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread_binding() -> (NodeSet, Option<MemoryBindingPolicy>) {
        let hw = hwlocality::Topology::new().unwrap();
        hw.memory_binding::<NodeSet>(MemoryBindingFlags::THREAD)
            .unwrap()
    }

    #[test]
    fn binds_while_building_then_restores() {
        let topo = Topology::detect_hwloc().unwrap();
        let node = topo.nodes()[0].id();
        let before = thread_binding();
        let inside = with_memory_on_node(&topo, node, thread_binding).unwrap();
        let mut expected = NodeSet::new();
        expected.set(node);
        assert_eq!(inside, (expected, Some(MemoryBindingPolicy::Bind)));
        assert_eq!(thread_binding(), before);
    }

    #[test]
    fn unknown_node_is_an_error() {
        let topo = Topology::detect_hwloc().unwrap();
        let err = with_memory_on_node(&topo, 999, || ()).unwrap_err();
        assert!(matches!(err, ChannelError::MemoryBinding(_)), "{err}");
    }
}
