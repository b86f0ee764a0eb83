//! SPSC u64 across two threads, capacity 1024: blocking send/recv where the channel has it,
//! a try loop that spins then yields (crossbeam's `Backoff`) where it has not (rtrb, ArrayQueue,
//! nexus-queue).

use std::sync::Arc;

use crossbeam_utils::Backoff;

use super::{CAP, job, run_threads};
use crate::harness::{Contender, MMSG_PER_S, Params, Workload};

/// Messages per repetition (÷2 with `--quick`).
const MSGS: u64 = 10_000_000;

/// The workload.
pub fn workload() -> Workload {
    Workload {
        group: "channels",
        name: "spsc_u64_cap1024",
        unit: MMSG_PER_S,
        higher_is_better: true,
        note: "1 producer thread -> 1 consumer thread, u64, cap 1024; blocking send/recv \
               (nimsync-try, rtrb, ArrayQueue, nexus-queue: try loop, spin then yield)",
        contenders: vec![
            Contender {
                name: "nimsync",
                run: nimsync,
            },
            Contender {
                name: "nimsync-try",
                run: nimsync_try,
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
                run: crossfire,
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

fn nimsync(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (mut tx, mut rx) = nimsync_core_channels::spsc::<u64>(CAP);
    run_threads(
        n,
        vec![
            job(move || {
                for i in 0..n {
                    assert!(tx.send_blocking(i).is_ok());
                }
                0
            }),
            job(move || {
                let mut sum = 0;
                while let Ok(v) = rx.recv_blocking() {
                    sum += v;
                }
                sum
            }),
        ],
    )
}

/// nimsync through the same try loop as rtrb (spin then yield, never park): the like-for-like
/// comparison with the ring buffers that have no blocking side.
fn nimsync_try(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (mut tx, mut rx) = nimsync_core_channels::spsc::<u64>(CAP);
    run_threads(
        n,
        vec![
            job(move || {
                for i in 0..n {
                    let mut v = i;
                    let backoff = Backoff::new();
                    while let Err(e) = tx.try_send(v) {
                        v = e.into_inner();
                        backoff.snooze();
                    }
                }
                0
            }),
            job(move || {
                let (mut sum, mut got) = (0, 0);
                let backoff = Backoff::new();
                while got < n {
                    match rx.try_recv() {
                        Ok(v) => {
                            sum += v;
                            got += 1;
                            backoff.reset();
                        }
                        Err(_) => backoff.snooze(),
                    }
                }
                sum
            }),
        ],
    )
}

fn rtrb(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (mut tx, mut rx) = rtrb::RingBuffer::<u64>::new(CAP);
    run_threads(
        n,
        vec![
            job(move || {
                for i in 0..n {
                    let backoff = Backoff::new();
                    while tx.push(i).is_err() {
                        backoff.snooze();
                    }
                }
                0
            }),
            job(move || {
                let (mut sum, mut got) = (0, 0);
                let backoff = Backoff::new();
                while got < n {
                    match rx.pop() {
                        Ok(v) => {
                            sum += v;
                            got += 1;
                            backoff.reset();
                        }
                        Err(_) => backoff.snooze(),
                    }
                }
                sum
            }),
        ],
    )
}

fn array_queue(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let q = Arc::new(crossbeam_queue::ArrayQueue::<u64>::new(CAP));
    let q2 = q.clone();
    run_threads(
        n,
        vec![
            job(move || {
                for i in 0..n {
                    let mut v = i;
                    let backoff = Backoff::new();
                    while let Err(back) = q.push(v) {
                        v = back;
                        backoff.snooze();
                    }
                }
                0
            }),
            job(move || {
                let (mut sum, mut got) = (0, 0);
                let backoff = Backoff::new();
                while got < n {
                    match q2.pop() {
                        Some(v) => {
                            sum += v;
                            got += 1;
                            backoff.reset();
                        }
                        None => backoff.snooze(),
                    }
                }
                sum
            }),
        ],
    )
}

fn crossbeam(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (tx, rx) = crossbeam_channel::bounded::<u64>(CAP);
    run_threads(
        n,
        vec![
            job(move || {
                for i in 0..n {
                    tx.send(i).unwrap();
                }
                0
            }),
            job(move || rx.iter().sum()),
        ],
    )
}

fn flume(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (tx, rx) = flume::bounded::<u64>(CAP);
    run_threads(
        n,
        vec![
            job(move || {
                for i in 0..n {
                    tx.send(i).unwrap();
                }
                0
            }),
            job(move || rx.iter().sum()),
        ],
    )
}

fn kanal(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (tx, rx) = kanal::bounded::<u64>(CAP);
    run_threads(
        n,
        vec![
            job(move || {
                for i in 0..n {
                    tx.send(i).unwrap();
                }
                0
            }),
            job(move || {
                let mut sum = 0;
                while let Ok(v) = rx.recv() {
                    sum += v;
                }
                sum
            }),
        ],
    )
}

fn std_sync(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (tx, rx) = std::sync::mpsc::sync_channel::<u64>(CAP);
    run_threads(
        n,
        vec![
            job(move || {
                for i in 0..n {
                    tx.send(i).unwrap();
                }
                0
            }),
            job(move || rx.iter().sum()),
        ],
    )
}

fn crossfire(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (tx, rx) = crossfire::spsc::bounded_blocking::<u64>(CAP);
    run_threads(
        n,
        vec![
            job(move || {
                for i in 0..n {
                    tx.send(i).unwrap();
                }
                0
            }),
            job(move || {
                let mut sum = 0;
                while let Ok(v) = rx.recv() {
                    sum += v;
                }
                sum
            }),
        ],
    )
}

fn nexus(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (tx, rx) = nexus_queue::spsc::ring_buffer::<u64>(CAP);
    run_threads(
        n,
        vec![
            job(move || {
                for i in 0..n {
                    let mut v = i;
                    let backoff = Backoff::new();
                    while let Err(full) = tx.push(v) {
                        v = full.0;
                        backoff.snooze();
                    }
                }
                0
            }),
            job(move || {
                let (mut sum, mut got) = (0, 0);
                let backoff = Backoff::new();
                while got < n {
                    match rx.pop() {
                        Some(v) => {
                            sum += v;
                            got += 1;
                            backoff.reset();
                        }
                        None => backoff.snooze(),
                    }
                }
                sum
            }),
        ],
    )
}
