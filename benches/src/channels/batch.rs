//! Batch send/recv across two threads, u64, capacity 1024, batches of 64: nimsync's batch API
//! against each peer's best equivalent (rtrb slices, kanal `drain_into`, flume `drain`, a
//! `recv` + `try_iter` drain elsewhere; one-by-one sends where a peer has no batch send).

use std::sync::Arc;

use crossbeam_utils::Backoff;

use super::{CAP, job, run_threads};
use crate::harness::{Contender, MMSG_PER_S, Params, Workload};

/// Messages per repetition (÷2 with `--quick`).
const MSGS: u64 = 10_000_000;
/// Messages per batch.
const BATCH: u64 = 64;

/// The workload.
pub fn workload() -> Workload {
    Workload {
        group: "channels",
        name: "batch_spsc_u64_x64",
        unit: MMSG_PER_S,
        higher_is_better: true,
        note: "1 producer thread -> 1 consumer thread, batches of 64 u64, cap 1024; nimsync \
               send_batch_blocking/recv_batch_blocking; rtrb push/pop_partial_slice (spin then yield); \
               kanal drain_into, flume drain, crossbeam/std recv+try_iter (one-by-one sends)",
        contenders: vec![
            Contender {
                name: "nimsync",
                run: nimsync,
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
                name: "std",
                run: std_sync,
            },
        ],
    }
}

/// Batch boundaries: `0..n` in steps of [`BATCH`].
fn batches(n: u64) -> impl Iterator<Item = std::ops::Range<u64>> {
    (0..n.div_ceil(BATCH)).map(move |b| b * BATCH..((b + 1) * BATCH).min(n))
}

fn nimsync(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (mut tx, mut rx) = nimsync_core_channels::spsc::<u64>(CAP);
    run_threads(
        n,
        vec![
            job(move || {
                for b in batches(n) {
                    assert!(tx.send_batch_blocking(b).is_ok());
                }
                0
            }),
            job(move || {
                let mut buf = Vec::with_capacity(BATCH as usize);
                let mut sum = 0;
                while rx.recv_batch_blocking(&mut buf, BATCH as usize).is_ok() {
                    sum += buf.iter().sum::<u64>();
                    buf.clear();
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
                let mut buf = [0u64; BATCH as usize];
                for b in batches(n) {
                    let len = (b.end - b.start) as usize;
                    for (slot, v) in buf.iter_mut().zip(b) {
                        *slot = v;
                    }
                    let mut rest = &buf[..len];
                    let backoff = Backoff::new();
                    while !rest.is_empty() {
                        let (pushed, remainder) = tx.push_partial_slice(rest);
                        if pushed.is_empty() {
                            backoff.snooze();
                        }
                        rest = remainder;
                    }
                }
                0
            }),
            job(move || {
                let mut buf = [0u64; BATCH as usize];
                let (mut sum, mut got) = (0, 0);
                let backoff = Backoff::new();
                while got < n {
                    let (popped, _) = rx.pop_partial_slice(&mut buf);
                    if popped.is_empty() {
                        backoff.snooze();
                    } else {
                        backoff.reset();
                    }
                    got += popped.len() as u64;
                    sum += popped.iter().sum::<u64>();
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
            job(move || {
                let mut sum = 0;
                while let Ok(v) = rx.recv() {
                    sum += v + rx.try_iter().take(BATCH as usize - 1).sum::<u64>();
                }
                sum
            }),
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
            job(move || {
                let mut sum = 0;
                while let Ok(v) = rx.recv() {
                    sum += v + rx.drain().sum::<u64>();
                }
                sum
            }),
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
                let mut buf = Vec::with_capacity(CAP);
                let mut sum = 0;
                loop {
                    match rx.drain_into(&mut buf) {
                        Ok(0) => match rx.recv() {
                            Ok(v) => sum += v,
                            Err(_) => break,
                        },
                        Ok(_) => {
                            sum += buf.iter().sum::<u64>();
                            buf.clear();
                        }
                        Err(_) => break,
                    }
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
            job(move || {
                let mut sum = 0;
                while let Ok(v) = rx.recv() {
                    sum += v + rx.try_iter().take(BATCH as usize - 1).sum::<u64>();
                }
                sum
            }),
        ],
    )
}
