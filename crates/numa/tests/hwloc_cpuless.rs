//! The hwloc backend on machines with CPU-less NUMA nodes (HBM or MCDRAM in flat mode, CXL
//! memory expanders), from synthetic topologies loaded through `HWLOC_XMLFILE`. hwloc gives
//! such a node the cpuset of the object it hangs from, shared with the DDR node next to it;
//! `detect_hwloc` must give each CPU to one node and leave the CPU-less ones out, as sysfs
//! (where their `cpulist` is empty) does. Run with `--features hwloc`.
//!
//! One test in this binary: it sets an environment variable.
#![cfg(feature = "hwloc")]

use hwlocality::object::distance::{AddDistancesFlags, DistancesKind};
use hwlocality::object::types::ObjectType;
use hwlocality::topology::export::xml::XMLExportFlags;
use nimsync_numa::{Topology, TopologyError};

/// A synthetic hwloc topology with a distance matrix over its NUMA nodes, as XML.
fn synthetic_xml(description: &str, distances: Vec<u64>) -> String {
    let mut hw = hwlocality::Topology::builder()
        .from_synthetic(description)
        .unwrap()
        .build()
        .unwrap();
    hw.edit(|ed| {
        ed.add_distances(
            None,
            DistancesKind::FROM_USER | DistancesKind::MEANS_LATENCY,
            AddDistancesFlags::empty(),
            |t| {
                let nodes: Vec<_> = t
                    .objects_with_type(ObjectType::NUMANode)
                    .map(Some)
                    .collect();
                (nodes, distances)
            },
        )
        .unwrap()
    });
    hw.export_xml(XMLExportFlags::empty())
        .unwrap()
        .as_str()
        .to_owned()
}

/// `detect_hwloc` on that XML.
fn detect_from(xml: &str, tag: &str) -> Result<Topology, TopologyError> {
    let path = std::env::temp_dir().join(format!("nimsync-numa-{tag}-{}.xml", std::process::id()));
    std::fs::write(&path, xml).unwrap();
    // SAFETY: the only test of this binary, and nothing else in it reads the environment
    // while this runs.
    unsafe { std::env::set_var("HWLOC_XMLFILE", &path) };
    let got = Topology::detect_hwloc();
    // SAFETY: as above.
    unsafe { std::env::remove_var("HWLOC_XMLFILE") };
    let _ = std::fs::remove_file(&path);
    got
}

/// What sysfs would report on that machine for `nodes` (id, CPUs), restricted like
/// `detect_hwloc` to the CPUs this process may use, with `distances` between the kept ones.
fn expected(
    nodes: &[(usize, Vec<usize>)],
    distance: impl Fn(usize, usize) -> u32,
) -> Option<Topology> {
    let allowed = Topology::detect().unwrap().cpus();
    let kept: Vec<(usize, Vec<usize>)> = nodes
        .iter()
        .map(|(id, cpus)| {
            (
                *id,
                cpus.iter()
                    .copied()
                    .filter(|c| allowed.contains(c))
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, cpus)| !cpus.is_empty())
        .collect();
    if kept.is_empty() {
        return None;
    }
    let mut b = Topology::builder();
    for (id, cpus) in &kept {
        b = b.node(*id, cpus.clone());
    }
    let matrix = kept
        .iter()
        .map(|(a, _)| kept.iter().map(|(b, _)| distance(*a, *b)).collect())
        .collect();
    Some(b.distances(matrix).build().unwrap())
}

fn check(got: Result<Topology, TopologyError>, want: Option<Topology>, what: &str) {
    match (got, want) {
        (Ok(got), Some(want)) => {
            assert_eq!(
                got.node_count(),
                want.node_count(),
                "{what}:\n{got}\nwant:\n{want}"
            );
            for (g, w) in got.nodes().iter().zip(want.nodes()) {
                assert_eq!((g.id(), g.cpus()), (w.id(), w.cpus()), "{what}:\n{got}");
            }
            assert_eq!(
                got.distance_matrix(),
                want.distance_matrix(),
                "{what}:\n{got}"
            );
        }
        (Err(TopologyError::NoAllowedCpu), None) => {} // none of its CPUs is ours
        (got, want) => panic!("{what}: got {got:?}, want {want:?}"),
    }
}

#[test]
fn cpu_less_numa_nodes_are_left_out_like_sysfs_does() {
    // Two packages, each with a DDR node and a CPU-less one attached (os indexes 0, 1 on
    // package 0 and 2, 3 on package 1), one PU each (CPUs 0 and 1).
    let xml = synthetic_xml(
        "pack:2 [numa(memory=1GB)] [numa(memory=1GB)] core:1 pu:1",
        vec![
            10, 15, 20, 25, //
            15, 10, 25, 30, //
            20, 25, 10, 15, //
            25, 30, 15, 10,
        ],
    );
    let slit = |a: usize, b: usize| {
        [
            [10, 15, 20, 25],
            [15, 10, 25, 30],
            [20, 25, 10, 15],
            [25, 30, 15, 10],
        ][a][b]
    };
    check(
        detect_from(&xml, "hbm"),
        expected(&[(0, vec![0]), (2, vec![1])], slit),
        "the first node of each package takes its CPUs",
    );

    // The memory kind decides before the OS index: node 0 is MCDRAM (hwloc's subtype), so
    // package 0's CPU belongs to node 1, the DDR next to it.
    let marked = xml.replacen(
        "type=\"NUMANode\" os_index=\"0\"",
        "type=\"NUMANode\" os_index=\"0\" subtype=\"MCDRAM\"",
        1,
    );
    assert_ne!(marked, xml, "the XML names NUMA node 0 as expected");
    check(
        detect_from(&marked, "mcdram"),
        expected(&[(1, vec![0]), (2, vec![1])], slit),
        "a node of special memory gives way to the DDR one",
    );

    // The reviewer's machine: one package, DDR + CPU-less HBM: one node holding both CPUs.
    let xml = synthetic_xml(
        "pack:1 [numa(memory=1GB)] [numa(memory=1GB)] core:2 pu:1",
        vec![10, 20, 20, 10],
    );
    check(
        detect_from(&xml, "one-package"),
        expected(&[(0, vec![0, 1])], |a, b| if a == b { 10 } else { 20 }),
        "one package",
    );
}
