//! The sysfs backend against captured trees (tests/data) and broken ones made on the fly.

use nimsync_numa::{SysfsReader, Topology, TopologyError};
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn one_node_machine() {
    let topo = SysfsReader::new(data("one-node")).read().unwrap();
    assert_eq!(topo.node_count(), 1);
    let node = topo.node(0).unwrap();
    assert_eq!(node.cpus(), &[0, 1]);
    assert_eq!(node.memory_bytes(), Some(5_596_960 * 1024));
    assert_eq!(topo.distance_matrix(), vec![vec![10]]);
    assert_eq!(topo.cores(), &[vec![0], vec![1]]);
    assert_eq!(topo.l3_groups(), &[vec![0, 1]]);
}

#[test]
fn two_node_machine_drops_the_memory_only_node() {
    let topo = SysfsReader::new(data("two-node")).read().unwrap();
    let ids: Vec<usize> = topo.nodes().iter().map(|n| n.id()).collect();
    assert_eq!(ids, [0, 1]);
    assert_eq!(topo.node(0).unwrap().cpus(), &[0, 1, 2, 3, 8, 9, 10, 11]);
    assert_eq!(topo.node(1).unwrap().cpus(), &[4, 5, 6, 7, 12, 13, 14, 15]);
    assert_eq!(
        topo.node(1).unwrap().memory_bytes(),
        Some(65_536_000 * 1024)
    );
    assert_eq!(topo.distance_matrix(), vec![vec![10, 21], vec![21, 10]]);
    let expected_cores: Vec<Vec<usize>> = (0..8).map(|c| vec![c, c + 8]).collect();
    assert_eq!(topo.cores(), expected_cores.as_slice());
    assert_eq!(
        topo.l3_groups(),
        &[
            vec![0, 1, 2, 3, 8, 9, 10, 11],
            vec![4, 5, 6, 7, 12, 13, 14, 15]
        ]
    );
    assert_eq!(topo.node_of_cpu(13), Some(1));
    assert_eq!(
        topo.node(2).unwrap_err(),
        TopologyError::UnknownNode { node: 2 }
    );
}

#[test]
fn affinity_mask_restricts_everything() {
    let topo = SysfsReader::new(data("two-node"))
        .allowed_cpus(vec![0, 1, 8])
        .read()
        .unwrap();
    assert_eq!(topo.node_count(), 1);
    assert_eq!(topo.cores(), &[vec![0, 8], vec![1]]);
    assert_eq!(topo.l3_groups(), &[vec![0, 1, 8]]);

    let topo = SysfsReader::new(data("two-node"))
        .allowed_cpus(vec![0, 4, 99])
        .read()
        .unwrap();
    assert_eq!(topo.cpus(), vec![0, 4]);
    assert_eq!(topo.distance(1, 0).unwrap(), 21);

    let none = SysfsReader::new(data("two-node"))
        .allowed_cpus(vec![64])
        .read();
    assert_eq!(none.unwrap_err(), TopologyError::NoAllowedCpu);
}

/// A scratch copy of a captured tree, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn copy_of(name: &str, tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "nimsync-numa-{}-{}-{tag}",
            name,
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        copy_dir(&data(name), &dir);
        Scratch(dir)
    }
    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.0.join(rel), text).unwrap();
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn broken_trees_give_clear_errors() {
    let t = Scratch::copy_of("two-node", "distance");
    t.write("devices/system/node/node1/distance", "21 ten 28\n");
    match SysfsReader::new(&t.0).read() {
        Err(TopologyError::Parse { path, content }) => {
            assert!(path.ends_with("node1/distance"), "{path:?}");
            assert_eq!(content, "21 ten 28");
        }
        other => panic!("expected a parse error, got {other:?}"),
    }

    let t = Scratch::copy_of("two-node", "short-row");
    t.write("devices/system/node/node0/distance", "10 21\n");
    assert!(matches!(
        SysfsReader::new(&t.0).read(),
        Err(TopologyError::Parse { .. })
    ));

    let t = Scratch::copy_of("two-node", "asymmetric-bad");
    // Node 0 nearer to node 1 than to itself: the validation refuses it.
    t.write("devices/system/node/node0/distance", "30 21 17\n");
    assert!(matches!(
        SysfsReader::new(&t.0).read(),
        Err(TopologyError::InvalidDistance { from: 0, .. })
    ));

    let t = Scratch::copy_of("one-node", "missing");
    std::fs::remove_file(t.0.join("devices/system/node/node0/cpulist")).unwrap();
    match SysfsReader::new(&t.0).read() {
        Err(e @ TopologyError::Io { .. }) => assert!(e.to_string().contains("cpulist"), "{e}"),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn kernel_without_numa_is_one_node() {
    let t = Scratch::copy_of("two-node", "no-numa");
    std::fs::remove_dir_all(t.0.join("devices/system/node")).unwrap();
    let topo = SysfsReader::new(&t.0).read().unwrap();
    assert_eq!(topo.node_count(), 1);
    assert_eq!(topo.cpus(), (0..16).collect::<Vec<_>>());
    assert_eq!(topo.distance_matrix(), vec![vec![10]]);
}

#[test]
fn detect_on_this_machine_honours_the_affinity_mask() {
    let topo = Topology::detect().unwrap();
    let allowed = nimsync_numa::process_allowed_cpus().unwrap();
    assert!(topo.cpus().iter().all(|c| allowed.contains(c)));
    assert!(!topo.cpus().is_empty());
    // Every detected CPU is in exactly one core, and the summary names every node.
    let in_cores: usize = topo.cores().iter().map(Vec::len).sum();
    assert_eq!(in_cores, topo.cpus().len());
    let text = topo.to_string();
    for node in topo.nodes() {
        assert!(text.contains(&format!("node {}:", node.id())), "{text}");
    }
}
