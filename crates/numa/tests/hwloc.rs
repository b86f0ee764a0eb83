//! The hwloc backend (feature `hwloc`): it must agree with the sysfs backend on this machine,
//! and shard memory binding must work or fail clearly.
#![cfg(feature = "hwloc")]

use nimsync_numa::{ChannelError, Mpmc, Mpsc, NumaLocalChannel, Spmc, Spsc, Topology};

#[test]
fn hwloc_and_sysfs_agree_on_this_machine() {
    // A VM may hot-plug memory between the two reads: compare again before failing.
    let mut last = None;
    for _ in 0..3 {
        let sysfs = Topology::detect().unwrap();
        let hwloc = Topology::detect_hwloc().unwrap();
        if hwloc == sysfs {
            return;
        }
        last = Some((hwloc, sysfs));
    }
    let (hwloc, sysfs) = last.unwrap();
    assert_eq!(hwloc, sysfs, "hwloc:\n{hwloc}\nsysfs:\n{sysfs}");
}

/// Binding must succeed on this machine (it did in CI and here); a refusal is a
/// `MemoryBinding` error naming the node, never a silent success.
macro_rules! bound_shards_carry_values {
    ($name:ident, $mode:ty) => {
        #[test]
        fn $name() {
            let topo = Topology::detect_hwloc().unwrap();
            #[allow(unused_mut)]
            let (mut tx, mut rx) = NumaLocalChannel::<u64>::builder(&topo)
                .mode::<$mode>()
                .capacity(4096)
                .bind_memory(true)
                .partitioned()
                .unwrap_or_else(|e| panic!("binding failed on this machine: {e}"));
            for i in 0..1000 {
                tx.try_send(i).unwrap();
            }
            let got: Vec<u64> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
            assert_eq!(got, (0..1000).collect::<Vec<_>>());
        }
    };
}

bound_shards_carry_values!(bound_spsc_shards_carry_values, Spsc);
bound_shards_carry_values!(bound_mpsc_shards_carry_values, Mpsc);
bound_shards_carry_values!(bound_spmc_shards_carry_values, Spmc);
bound_shards_carry_values!(bound_mpmc_shards_carry_values, Mpmc);

#[test]
fn binding_errors_are_typed() {
    // A fake topology naming a node this machine lacks: hwloc refuses, and the error says
    // which node.
    let bad = Topology::builder()
        .node(0, [0])
        .node(57, [1])
        .distances(vec![vec![10, 20], vec![20, 10]])
        .build()
        .unwrap();
    let err = NumaLocalChannel::<u8>::builder(&bad)
        .bind_memory(true)
        .partitioned()
        .unwrap_err();
    assert!(
        matches!(err, ChannelError::MemoryBinding { node: Some(57), .. }),
        "{err}"
    );
    assert!(err.to_string().contains("NUMA node 57"), "{err}");
}
