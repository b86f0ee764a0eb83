//! Placement policies on fake topologies, victim order by distance, and pinning on this
//! machine.

use nimsync_numa::{NumaPlacement, PlacementPolicy, Topology};
use nimsync_scheduler::{Placement, Runtime};

fn cpus(p: &NumaPlacement, workers: usize) -> Vec<usize> {
    (0..workers).map(|w| p.cpu_for_worker(w, workers)).collect()
}

fn nodes(p: &NumaPlacement, workers: usize) -> Vec<usize> {
    (0..workers)
        .map(|w| p.node_for_worker(w, workers))
        .collect()
}

#[test]
fn two_nodes_by_four_cores() {
    let topo = Topology::uniform(2, 4).unwrap();
    let compact = NumaPlacement::compact(&topo);
    let spread = NumaPlacement::spread(&topo);
    let per_node = NumaPlacement::per_node(&topo);
    assert_eq!(cpus(&compact, 4), [0, 1, 2, 3]);
    assert_eq!(nodes(&compact, 6), [0, 0, 0, 0, 1, 1]);
    assert_eq!(cpus(&spread, 4), [0, 4, 1, 5]);
    assert_eq!(nodes(&spread, 5), [0, 1, 0, 1, 0]);
    assert_eq!(cpus(&per_node, 4), [0, 1, 4, 5]);
    assert_eq!(nodes(&per_node, 6), [0, 0, 0, 1, 1, 1]);
    // Eight workers use every CPU once, whatever the policy.
    for p in [&compact, &spread, &per_node] {
        let mut first8 = cpus(p, 8);
        first8.sort_unstable();
        assert_eq!(first8, (0..8).collect::<Vec<_>>(), "{:?}", p.policy());
        // Twice as many workers as CPUs: every CPU gets exactly two.
        let mut twice = cpus(p, 16);
        twice.sort_unstable();
        let expected: Vec<usize> = (0..8).flat_map(|c| [c, c]).collect();
        assert_eq!(twice, expected, "{:?}", p.policy());
    }
}

#[test]
fn smt_siblings_come_last_except_for_compact() {
    // One node, 4 cores of 2 PUs (siblings i and i+4).
    let topo = Topology::builder()
        .node(0, 0..8)
        .cores((0..4).map(|c| vec![c, c + 4]).collect())
        .build()
        .unwrap();
    assert_eq!(cpus(&NumaPlacement::compact(&topo), 4), [0, 4, 1, 5]);
    assert_eq!(cpus(&NumaPlacement::spread(&topo), 4), [0, 1, 2, 3]);
    assert_eq!(cpus(&NumaPlacement::per_node(&topo), 4), [0, 1, 2, 3]);
}

#[test]
fn victims_are_ordered_by_the_distance_matrix() {
    let topo = Topology::builder()
        .node(0, 0..2)
        .node(1, 2..4)
        .node(2, 4..6)
        .node(3, 6..8)
        .distances(vec![
            vec![10, 16, 22, 30],
            vec![17, 10, 30, 22],
            vec![22, 31, 10, 16],
            vec![32, 22, 16, 10],
        ])
        .build()
        .unwrap();
    let p = NumaPlacement::per_node(&topo);
    let workers = 8;
    for me in 0..workers {
        let my_node = p.node_for_worker(me, workers);
        let mut victims: Vec<usize> = (0..workers).filter(|&w| w != me).collect();
        victims.sort_by_key(|&w| (p.worker_distance(me, w, workers), w));
        let victim_nodes: Vec<usize> = victims
            .iter()
            .map(|&w| p.node_for_worker(w, workers))
            .collect();
        // Own node first (one other worker there), then the nodes by distance, two each.
        let mut expected = vec![my_node];
        for n in topo.nodes_by_distance(my_node).unwrap().into_iter().skip(1) {
            expected.extend([n, n]);
        }
        assert_eq!(victim_nodes, expected, "worker {me}");
    }
    // Asymmetric: from node 0 to node 1 is 16, back is 17.
    assert_eq!(p.worker_distance(0, 2, 8), 2 * 16 + 1);
    assert_eq!(p.worker_distance(2, 0, 8), 2 * 17 + 1);
}

#[test]
fn same_l3_is_nearer_than_same_node() {
    let topo = Topology::builder()
        .node(0, 0..4)
        .l3_groups(vec![vec![0, 1], vec![2, 3]])
        .build()
        .unwrap();
    let p = NumaPlacement::compact(&topo);
    assert!(p.worker_distance(0, 1, 4) < p.worker_distance(0, 2, 4));
    assert_eq!(p.worker_distance(0, 2, 4), p.worker_distance(0, 3, 4));
}

#[test]
fn large_distances_saturate_instead_of_overflowing() {
    // Validation accepts any positive u32 distance; 2 × SLIT + 1 must not overflow.
    let topo = Topology::builder()
        .node(0, [0])
        .node(1, [1])
        .node(2, [2])
        .distance(0, 1, 1_000_000_000)
        .distance(0, 2, 3_000_000_000)
        .distance(1, 2, u32::MAX)
        .build()
        .unwrap();
    let p = NumaPlacement::spread(&topo);
    assert_eq!(p.worker_distance(0, 1, 3), 2_000_000_001);
    assert_eq!(p.worker_distance(0, 2, 3), u32::MAX);
    assert_eq!(p.worker_distance(1, 2, 3), u32::MAX);
    assert_eq!(p.worker_distance(0, 0, 3), 2 * 10);
    assert_eq!(p.distance(2, 0), u32::MAX);
}

#[test]
fn per_node_with_fewer_workers_than_nodes() {
    let topo = Topology::uniform(4, 2).unwrap();
    let p = NumaPlacement::per_node(&topo);
    assert_eq!(nodes(&p, 2), [0, 2]);
    assert_eq!(nodes(&p, 1), [0]);
    assert_eq!(p.core_for_worker(1, 2), Some(4));
}

#[test]
fn pinned_workers_run_on_their_placed_cpus() {
    let topo = Topology::detect().unwrap();
    let workers = topo.cpus().len().min(4);
    for policy in [
        PlacementPolicy::Compact,
        PlacementPolicy::Spread,
        PlacementPolicy::PerNode,
    ] {
        let placement = NumaPlacement::new(&topo, policy);
        let mut expected: Vec<usize> = (0..workers)
            .map(|w| placement.cpu_for_worker(w, workers))
            .collect();
        let (seen_tx, seen_rx) = std::sync::mpsc::channel();
        let seen_tx = std::sync::Mutex::new(seen_tx);
        let rt = Runtime::builder()
            .workers(workers)
            .placement(placement)
            .pin_cores(true)
            .on_thread_start(move || {
                let cpu = nimsync_numa::current_cpu();
                let _ = seen_tx.lock().unwrap().send(cpu);
            })
            .build()
            .unwrap();
        let mut seen: Vec<usize> = (0..workers)
            .map(|_| {
                seen_rx
                    .recv_timeout(std::time::Duration::from_secs(30))
                    .expect("every worker starts")
                    .expect("sched_getcpu works on Linux")
            })
            .collect();
        drop(rt);
        seen.sort_unstable();
        expected.sort_unstable();
        assert_eq!(seen, expected, "{policy:?}");
    }
}
