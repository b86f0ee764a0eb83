//! The hwloc backend (feature `hwloc`): it must agree with the sysfs backend on this machine,
//! and shard memory binding must work or fail clearly.
#![cfg(feature = "hwloc")]

use nimsync_numa::{NumaLocalChannel, Topology};

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

#[test]
fn bound_shards_carry_values() {
    let topo = Topology::detect_hwloc().unwrap();
    let (tx, rx) = NumaLocalChannel::<u64>::builder(&topo)
        .capacity(4096)
        .bind_memory(true)
        .partitioned()
        .unwrap();
    for i in 0..1000 {
        tx.try_send(i).unwrap();
    }
    let got: Vec<u64> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    assert_eq!(got, (0..1000).collect::<Vec<_>>());
}
