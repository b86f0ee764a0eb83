//! `NumaLocalChannel` (contender "nimsync") against the plain nimsync channel of the same mode
//! and crossbeam-channel, u64, 1024 slots per shard, blocking API: MPMC 2 -> 2 on the detected
//! topology and on two fake nodes, and SPSC 1 -> 1 and MPSC 2 -> 1 on the detected topology
//! (one node here: parity expected).

use crate::channels::{CAP, job, part, run_threads};
use crate::harness::{Contender, MMSG_PER_S, Params, Workload};
use nimsync_core_channels::{mpsc, spsc};
use nimsync_numa::{NumaLocalChannel, Topology};

/// Messages per repetition over both producers (÷2 with `--quick`).
const MSGS: u64 = 10_000_000;

/// On the detected topology (one shard per node of this machine).
pub fn detected_workload() -> Workload {
    Workload {
        group: "numa",
        name: "mpmc_2to2_detected",
        unit: MMSG_PER_S,
        higher_is_better: true,
        note: "NumaLocalChannel on the detected topology (1 node here: parity expected) vs plain \
               MPMC; 2 producers -> 2 consumers, u64, cap 1024 per shard, blocking",
        contenders: vec![
            Contender {
                name: "nimsync",
                run: numa_detected,
            },
            Contender {
                name: "nimsync-mpmc",
                run: plain_mpmc,
            },
            Contender {
                name: "crossbeam-channel",
                run: crossbeam,
            },
        ],
    }
}

/// On a fake two-node topology: producers and consumers bound one per node.
pub fn two_fake_nodes_workload() -> Workload {
    Workload {
        group: "numa",
        name: "mpmc_2to2_two_fake_nodes",
        unit: MMSG_PER_S,
        higher_is_better: true,
        note: "NumaLocalChannel with 2 shards on a 1-node machine (cost of sharding, no NUMA \
               gain possible); producer k and consumer k bound to node k; cap 1024 per shard",
        contenders: vec![
            Contender {
                name: "nimsync",
                run: numa_two_fake_nodes,
            },
            Contender {
                name: "nimsync-mpmc",
                run: plain_mpmc,
            },
            Contender {
                name: "crossbeam-channel",
                run: crossbeam,
            },
        ],
    }
}

/// The machine's topology, detected once per process (in the warm-up run), so the timed
/// repetitions of the NUMA contenders do no sysfs reads or allocations the plain channels do
/// not do (a `detect()` before each run measurably changed the SPSC figures through the heap
/// state alone: with the same call added to the plain SPSC contender, the ratio went from
/// 0.92 to 1.0).
fn detected() -> &'static Topology {
    static TOPOLOGY: std::sync::OnceLock<Topology> = std::sync::OnceLock::new();
    TOPOLOGY.get_or_init(|| Topology::detect().expect("topology"))
}

fn numa_detected(p: &Params) -> f64 {
    numa_run(p, detected(), false)
}

fn numa_two_fake_nodes(p: &Params) -> f64 {
    let topo = Topology::uniform(2, 1).expect("fake topology");
    numa_run(p, &topo, true)
}

/// Two producers and two consumers; with `bind`, producer/consumer `k` belong to node `k`.
fn numa_run(p: &Params, topo: &Topology, bind: bool) -> f64 {
    let n = p.count(MSGS);
    let (tx, rx) = NumaLocalChannel::<u64>::partitioned(topo, CAP).expect("channel");
    let mut jobs = Vec::new();
    for k in 0..2u64 {
        let tx = if bind {
            tx.on_node(k as usize).expect("node")
        } else {
            tx.clone()
        };
        jobs.push(job(move || {
            for i in part(n, k, 2) {
                assert!(tx.send_blocking(i).is_ok());
            }
            0
        }));
    }
    for k in 0..2usize {
        let rx = if bind {
            rx.on_node(k).expect("node")
        } else {
            rx.clone()
        };
        jobs.push(job(move || {
            let mut sum = 0;
            while let Ok(v) = rx.recv_blocking() {
                sum += v;
            }
            sum
        }));
    }
    drop((tx, rx));
    run_threads(n, jobs)
}

fn plain_mpmc(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (tx, rx) = nimsync_core_channels::mpmc::<u64>(CAP);
    let mut jobs = Vec::new();
    for k in 0..2 {
        let tx = tx.clone();
        jobs.push(job(move || {
            for i in part(n, k, 2) {
                assert!(tx.send_blocking(i).is_ok());
            }
            0
        }));
    }
    for _ in 0..2 {
        let rx = rx.clone();
        jobs.push(job(move || {
            let mut sum = 0;
            while let Ok(v) = rx.recv_blocking() {
                sum += v;
            }
            sum
        }));
    }
    drop((tx, rx));
    run_threads(n, jobs)
}

fn crossbeam(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (tx, rx) = crossbeam_channel::bounded::<u64>(CAP);
    let mut jobs = Vec::new();
    for k in 0..2 {
        let tx = tx.clone();
        jobs.push(job(move || {
            for i in part(n, k, 2) {
                tx.send(i).unwrap();
            }
            0
        }));
    }
    for _ in 0..2 {
        let rx = rx.clone();
        jobs.push(job(move || rx.iter().sum()));
    }
    drop((tx, rx));
    run_threads(n, jobs)
}

/// SPSC 1 -> 1 on the detected topology.
pub fn spsc_workload() -> Workload {
    Workload {
        group: "numa",
        name: "spsc_1to1_detected",
        unit: MMSG_PER_S,
        higher_is_better: true,
        note: "NumaLocalChannel SPSC on the detected topology (1 node here: parity expected) vs \
               plain SPSC; u64, cap 1024 per shard, blocking",
        contenders: vec![
            Contender {
                name: "nimsync",
                run: numa_spsc,
            },
            Contender {
                name: "nimsync-spsc",
                run: plain_spsc,
            },
            Contender {
                name: "crossbeam-channel",
                run: crossbeam_1to1,
            },
        ],
    }
}

/// MPSC 2 -> 1 on the detected topology.
pub fn mpsc_workload() -> Workload {
    Workload {
        group: "numa",
        name: "mpsc_2to1_detected",
        unit: MMSG_PER_S,
        higher_is_better: true,
        note: "NumaLocalChannel MPSC on the detected topology (1 node here: parity expected) vs \
               plain MPSC; 2 producers -> 1 consumer, u64, cap 1024 per shard, blocking",
        contenders: vec![
            Contender {
                name: "nimsync",
                run: numa_mpsc,
            },
            Contender {
                name: "nimsync-mpsc",
                run: plain_mpsc,
            },
        ],
    }
}

fn numa_spsc(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (mut tx, mut rx) = NumaLocalChannel::<u64>::spsc(detected(), CAP).expect("channel");
    let producer = job(move || {
        for i in 0..n {
            assert!(tx.send_blocking(i).is_ok());
        }
        0
    });
    let consumer = job(move || {
        let mut sum = 0;
        while let Ok(v) = rx.recv_blocking() {
            sum += v;
        }
        sum
    });
    run_threads(n, vec![producer, consumer])
}

fn plain_spsc(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (mut tx, mut rx) = spsc::<u64>(CAP);
    let producer = job(move || {
        for i in 0..n {
            assert!(tx.send_blocking(i).is_ok());
        }
        0
    });
    let consumer = job(move || {
        let mut sum = 0;
        while let Ok(v) = rx.recv_blocking() {
            sum += v;
        }
        sum
    });
    run_threads(n, vec![producer, consumer])
}

fn crossbeam_1to1(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (tx, rx) = crossbeam_channel::bounded::<u64>(CAP);
    let producer = job(move || {
        for i in 0..n {
            tx.send(i).unwrap();
        }
        0
    });
    let consumer = job(move || rx.iter().sum());
    run_threads(n, vec![producer, consumer])
}

fn numa_mpsc(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (tx, mut rx) = NumaLocalChannel::<u64>::mpsc(detected(), CAP).expect("channel");
    let mut jobs = Vec::new();
    for k in 0..2 {
        let tx = tx.clone();
        jobs.push(job(move || {
            for i in part(n, k, 2) {
                assert!(tx.send_blocking(i).is_ok());
            }
            0
        }));
    }
    drop(tx);
    jobs.push(job(move || {
        let mut sum = 0;
        while let Ok(v) = rx.recv_blocking() {
            sum += v;
        }
        sum
    }));
    run_threads(n, jobs)
}

fn plain_mpsc(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (tx, mut rx) = mpsc::<u64>(CAP);
    let mut jobs = Vec::new();
    for k in 0..2 {
        let tx = tx.clone();
        jobs.push(job(move || {
            for i in part(n, k, 2) {
                assert!(tx.send_blocking(i).is_ok());
            }
            0
        }));
    }
    drop(tx);
    jobs.push(job(move || {
        let mut sum = 0;
        while let Ok(v) = rx.recv_blocking() {
            sum += v;
        }
        sum
    }));
    run_threads(n, jobs)
}
