//! Same-thread `try_send` + `try_recv` pairs: the cost of one uncontended round through the
//! queue, for SPSC and MPMC channels. One pair counts as one message.

use std::hint::black_box;
use std::time::Instant;

use super::{CAP, expected_sum};
use crate::harness::{Contender, MMSG_PER_S, Params, Workload, mmsg_per_s};

/// Pairs per repetition (÷2 with `--quick`).
const PAIRS: u64 = 20_000_000;

/// SPSC pairs.
pub fn spsc_workload() -> Workload {
    Workload {
        group: "channels",
        name: "same_thread_spsc_try_pair",
        unit: MMSG_PER_S,
        higher_is_better: true,
        note: "one thread: try_send(i) then try_recv(), u64, cap 1024; SPSC where the crate has it",
        contenders: vec![
            Contender {
                name: "nimsync",
                run: nimsync_spsc,
            },
            Contender {
                name: "rtrb",
                run: rtrb,
            },
            Contender {
                name: "crossbeam-queue",
                run: array_queue,
            },
            Contender {
                name: "crossbeam-channel",
                run: crossbeam,
            },
            Contender {
                name: "flume",
                run: flume,
            },
            Contender {
                name: "kanal",
                run: kanal,
            },
            Contender {
                name: "crossfire",
                run: crossfire_spsc,
            },
            Contender {
                name: "nexus-queue",
                run: nexus,
            },
            Contender {
                name: "std",
                run: std_sync,
            },
        ],
    }
}

/// MPMC pairs.
pub fn mpmc_workload() -> Workload {
    Workload {
        group: "channels",
        name: "same_thread_mpmc_try_pair",
        unit: MMSG_PER_S,
        higher_is_better: true,
        note: "one thread: try_send(i) then try_recv(), u64, cap 1024; MPMC channels/queues only",
        contenders: vec![
            Contender {
                name: "nimsync",
                run: nimsync_mpmc,
            },
            Contender {
                name: "crossbeam-queue",
                run: array_queue,
            },
            Contender {
                name: "crossbeam-channel",
                run: crossbeam,
            },
            Contender {
                name: "flume",
                run: flume,
            },
            Contender {
                name: "kanal",
                run: kanal,
            },
            Contender {
                name: "crossfire",
                run: crossfire_mpmc,
            },
            Contender {
                name: "async-channel",
                run: async_channel,
            },
        ],
    }
}

/// Runs `n` pairs of `pair(i) -> received`, checks the sum, returns M pairs/s.
#[inline(always)]
fn pairs(p: &Params, mut pair: impl FnMut(u64) -> u64) -> f64 {
    let n = p.count(PAIRS);
    let start = Instant::now();
    let mut sum = 0u64;
    for i in 0..n {
        sum += pair(black_box(i));
    }
    let elapsed = start.elapsed();
    assert_eq!(black_box(sum), expected_sum(n));
    mmsg_per_s(n, elapsed)
}

fn nimsync_spsc(p: &Params) -> f64 {
    let (mut tx, mut rx) = nimsync_core_channels::spsc::<u64>(CAP);
    pairs(p, |i| {
        assert!(tx.try_send(i).is_ok());
        rx.try_recv().unwrap_or_else(|_| panic!("empty"))
    })
}

fn nimsync_mpmc(p: &Params) -> f64 {
    let (tx, rx) = nimsync_core_channels::mpmc::<u64>(CAP);
    pairs(p, |i| {
        assert!(tx.try_send(i).is_ok());
        rx.try_recv().unwrap_or_else(|_| panic!("empty"))
    })
}

fn rtrb(p: &Params) -> f64 {
    let (mut tx, mut rx) = rtrb::RingBuffer::<u64>::new(CAP);
    pairs(p, |i| {
        tx.push(i).unwrap();
        rx.pop().unwrap()
    })
}

fn array_queue(p: &Params) -> f64 {
    let q = crossbeam_queue::ArrayQueue::<u64>::new(CAP);
    pairs(p, |i| {
        q.push(i).unwrap();
        q.pop().unwrap()
    })
}

fn crossbeam(p: &Params) -> f64 {
    let (tx, rx) = crossbeam_channel::bounded::<u64>(CAP);
    pairs(p, |i| {
        tx.try_send(i).unwrap();
        rx.try_recv().unwrap()
    })
}

fn flume(p: &Params) -> f64 {
    let (tx, rx) = flume::bounded::<u64>(CAP);
    pairs(p, |i| {
        tx.try_send(i).unwrap();
        rx.try_recv().unwrap()
    })
}

fn kanal(p: &Params) -> f64 {
    let (tx, rx) = kanal::bounded::<u64>(CAP);
    pairs(p, |i| {
        assert!(tx.try_send(i).unwrap());
        rx.try_recv().unwrap().unwrap()
    })
}

fn async_channel(p: &Params) -> f64 {
    let (tx, rx) = async_channel::bounded::<u64>(CAP);
    pairs(p, |i| {
        tx.try_send(i).unwrap();
        rx.try_recv().unwrap()
    })
}

fn std_sync(p: &Params) -> f64 {
    let (tx, rx) = std::sync::mpsc::sync_channel::<u64>(CAP);
    pairs(p, |i| {
        tx.try_send(i).unwrap();
        rx.try_recv().unwrap()
    })
}

fn crossfire_spsc(p: &Params) -> f64 {
    let (tx, rx) = crossfire::spsc::bounded_blocking::<u64>(CAP);
    pairs(p, |i| {
        tx.try_send(i).unwrap();
        rx.try_recv().unwrap()
    })
}

fn crossfire_mpmc(p: &Params) -> f64 {
    let (tx, rx) = crossfire::mpmc::bounded_blocking::<u64>(CAP);
    pairs(p, |i| {
        tx.try_send(i).unwrap();
        rx.try_recv().unwrap()
    })
}

fn nexus(p: &Params) -> f64 {
    let (tx, rx) = nexus_queue::spsc::ring_buffer::<u64>(CAP);
    pairs(p, |i| {
        assert!(tx.push(i).is_ok());
        rx.pop().expect("empty")
    })
}
