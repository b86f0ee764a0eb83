//! Memory binding of a shard's slot array to its node (feature `hwloc`), in two steps:
//!
//! 1. **Build under a bound thread policy.** The ring is allocated and initialised while the
//!    building thread's memory policy is bound to the node (hwloc `set_membind`, `THREAD`,
//!    `Bind`, strict), then the previous policy is restored. The stamped rings write every
//!    slot's stamp in their constructor, so the pages that faults bring in then land on the
//!    node.
//! 2. **Bind the area.** The range core-channels reports through
//!    [`slot_memory`](nimsync_core_channels::Sender::slot_memory) is bound to the node
//!    (hwloc `set_area_membind`, i.e. `mbind`, policy `Bind`). Every page faulted in later
//!    (the SPSC ring's slots are first written by the producer, wherever it runs) is
//!    allocated on the node, whichever thread touches it.
//!
//! Limit: pages the allocator hands back already resident (heap reuse, typically the first
//! and last page of a small ring, which it shares with other data) keep their place. hwloc's
//! `MIGRATE` flag would move them, but hwlocality rejects it for area binding, and this crate
//! has no `unsafe` to call hwloc directly.

use crate::error::ChannelError;
use hwlocality::memory::binding::{MemoryBindingFlags, MemoryBindingPolicy};
use hwlocality::memory::nodeset::NodeSet;
use nimsync_core_channels::SlotMemory;

/// One hwloc topology, loaded once per channel build, binding shard memory to nodes.
pub(crate) struct AreaBinder {
    hw: hwlocality::Topology,
}

fn error(node: usize, what: &str, e: impl std::fmt::Display) -> ChannelError {
    ChannelError::MemoryBinding {
        node: Some(node),
        message: format!("{what}: {e}"),
    }
}

fn node_set(node: usize) -> NodeSet {
    let mut set = NodeSet::new();
    set.set(node);
    set
}

impl AreaBinder {
    /// Loads hwloc's view of the machine.
    pub(crate) fn new() -> Result<Self, ChannelError> {
        let hw = hwlocality::Topology::new().map_err(|e| ChannelError::MemoryBinding {
            node: None,
            message: format!("cannot load the hwloc topology: {e}"),
        })?;
        Ok(AreaBinder { hw })
    }

    /// Runs `make` with the calling thread's memory bound to NUMA node `node` (an OS node
    /// id), then restores the thread's previous policy.
    pub(crate) fn build_on<R>(
        &self,
        node: usize,
        make: impl FnOnce() -> R,
    ) -> Result<R, ChannelError> {
        let flags = MemoryBindingFlags::THREAD;
        let (previous, previous_policy) = self
            .hw
            .memory_binding::<NodeSet>(flags)
            .map_err(|e| error(node, "cannot read the thread's memory policy", e))?;
        self.hw
            .bind_memory(
                &node_set(node),
                MemoryBindingPolicy::Bind,
                flags | MemoryBindingFlags::STRICT,
            )
            .map_err(|e| error(node, "cannot bind the building thread's memory", e))?;
        let out = make();
        // No policy reported: the thread had none of its own, i.e. the default (first touch).
        let policy = previous_policy.unwrap_or(MemoryBindingPolicy::FirstTouch);
        self.hw
            .bind_memory(&previous, policy, flags)
            .map_err(|e| error(node, "cannot restore the thread's memory policy", e))?;
        Ok(out)
    }

    /// Binds `area` to NUMA node `node` (an OS node id).
    pub(crate) fn bind(&self, area: &SlotMemory, node: usize) -> Result<(), ChannelError> {
        self.hw
            .bind_memory_area(
                area,
                &node_set(node),
                MemoryBindingPolicy::Bind,
                MemoryBindingFlags::empty(),
            )
            .map_err(|e| error(node, "cannot bind the slot array", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Topology;

    fn thread_binding(hw: &hwlocality::Topology) -> (NodeSet, Option<MemoryBindingPolicy>) {
        hw.memory_binding::<NodeSet>(MemoryBindingFlags::THREAD)
            .unwrap()
    }

    #[test]
    fn binds_a_slot_array_to_its_node() {
        let topo = Topology::detect_hwloc().unwrap();
        let node = topo.nodes()[0].id();
        let binder = AreaBinder::new().unwrap();
        let (tx, _rx) = nimsync_core_channels::mpmc::<u64>(1 << 14); // 256 KiB: many pages
        binder.bind(tx.slot_memory(), node).unwrap();
        let bound = binder
            .hw
            .area_memory_binding::<_, NodeSet>(tx.slot_memory(), MemoryBindingFlags::empty())
            .unwrap();
        assert_eq!(bound, (node_set(node), Some(MemoryBindingPolicy::Bind)));
    }

    #[test]
    fn builds_under_a_bound_thread_policy_then_restores_it() {
        let topo = Topology::detect_hwloc().unwrap();
        let node = topo.nodes()[0].id();
        let binder = AreaBinder::new().unwrap();
        let before = thread_binding(&binder.hw);
        let inside = binder
            .build_on(node, || thread_binding(&binder.hw))
            .unwrap();
        assert_eq!(inside, (node_set(node), Some(MemoryBindingPolicy::Bind)));
        assert_eq!(thread_binding(&binder.hw), before);
    }

    #[test]
    fn a_node_the_machine_lacks_is_a_typed_error() {
        let binder = AreaBinder::new().unwrap();
        let (tx, _rx) = nimsync_core_channels::mpmc::<u64>(1024);
        let err = binder.bind(tx.slot_memory(), 999).unwrap_err();
        assert!(
            matches!(
                err,
                ChannelError::MemoryBinding {
                    node: Some(999),
                    ..
                }
            ),
            "{err}"
        );
        let err = binder.build_on(999, || ()).unwrap_err();
        assert!(
            matches!(
                err,
                ChannelError::MemoryBinding {
                    node: Some(999),
                    ..
                }
            ),
            "{err}"
        );
    }
}
