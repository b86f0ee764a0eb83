//! MPSC 2 -> 1, u64, capacity 1024: two producer threads, one consumer thread, blocking API.

use super::{CAP, job, part, run_threads};
use crate::harness::{Contender, MMSG_PER_S, Params, Workload};

/// Messages per repetition over both producers (÷2 with `--quick`).
const MSGS: u64 = 10_000_000;

/// The workload.
pub fn workload() -> Workload {
    Workload {
        group: "channels",
        name: "mpsc_2to1_u64",
        unit: MMSG_PER_S,
        higher_is_better: true,
        note: "2 producer threads -> 1 consumer thread, u64, cap 1024, blocking send/recv",
        contenders: vec![
            Contender {
                name: "nimsync",
                run: nimsync,
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
                name: "std",
                run: std_sync,
            },
        ],
    }
}

fn nimsync(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (tx, mut rx) = nimsync_core_channels::mpsc::<u64>(CAP);
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
    drop(tx);
    jobs.push(job(move || rx.iter().sum()));
    run_threads(n, jobs)
}

fn flume(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (tx, rx) = flume::bounded::<u64>(CAP);
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
    drop(tx);
    jobs.push(job(move || rx.iter().sum()));
    run_threads(n, jobs)
}

fn kanal(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (tx, rx) = kanal::bounded::<u64>(CAP);
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
    drop(tx);
    jobs.push(job(move || {
        let mut sum = 0;
        while let Ok(v) = rx.recv() {
            sum += v;
        }
        sum
    }));
    run_threads(n, jobs)
}

fn std_sync(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (tx, rx) = std::sync::mpsc::sync_channel::<u64>(CAP);
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
    drop(tx);
    jobs.push(job(move || rx.iter().sum()));
    run_threads(n, jobs)
}

fn crossfire(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (tx, rx) = crossfire::mpsc::bounded_blocking::<u64>(CAP);
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
    drop(tx);
    jobs.push(job(move || {
        let mut sum = 0;
        while let Ok(v) = rx.recv() {
            sum += v;
        }
        sum
    }));
    run_threads(n, jobs)
}
