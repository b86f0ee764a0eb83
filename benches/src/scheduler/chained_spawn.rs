//! chained_spawn: a task spawns the next (detached), which spawns the next, ... `DEPTH` deep;
//! the last one signals the root, which starts the next chain.

use std::time::Instant;

use super::{Ex, on_async_executor, on_nimsync, on_tokio};
use crate::harness::{Contender, NS_PER_OP, Params, Workload, ns_per_op};

/// Spawns per chain.
const DEPTH: u32 = 1000;
/// Spawns per repetition (÷2 with `--quick`).
const SPAWNS: u64 = 500_000;

/// The workload.
pub fn workload() -> Workload {
    Workload {
        group: "scheduler",
        name: "chained_spawn",
        unit: NS_PER_OP,
        higher_is_better: false,
        note: "each task spawns the next (detached), chains 1000 deep, 500 chains in a row; \
               ns per spawn (the end of a chain is signalled over async-channel)",
        contenders: vec![
            Contender {
                name: "nimsync",
                run: nimsync,
            },
            Contender {
                name: "tokio",
                run: tokio,
            },
            Contender {
                name: "async-executor",
                run: async_executor,
            },
        ],
    }
}

type Done = async_channel::Sender<()>;

fn chains(p: &Params) -> u64 {
    p.count(SPAWNS) / u64::from(DEPTH)
}

fn nimsync_chain(done: Done, n: u32) {
    if n == 0 {
        done.try_send(()).expect("chain end");
    } else {
        drop(nimsync_scheduler::spawn(async move {
            nimsync_chain(done, n - 1)
        }));
    }
}

fn tokio_chain(done: Done, n: u32) {
    if n == 0 {
        done.try_send(()).expect("chain end");
    } else {
        drop(tokio::spawn(async move { tokio_chain(done, n - 1) }));
    }
}

fn ae_chain(ex: Ex, done: Done, n: u32) {
    if n == 0 {
        done.try_send(()).expect("chain end");
    } else {
        let ex2 = ex.clone();
        ex.spawn(async move { ae_chain(ex2, done, n - 1) }).detach();
    }
}

fn nimsync(p: &Params) -> f64 {
    let k = chains(p);
    let d = on_nimsync(async move {
        let (tx, rx) = async_channel::bounded(1);
        let start = Instant::now();
        for _ in 0..k {
            nimsync_chain(tx.clone(), DEPTH);
            rx.recv().await.expect("chain signal");
        }
        start.elapsed()
    });
    ns_per_op(k * u64::from(DEPTH), d)
}

fn tokio(p: &Params) -> f64 {
    let k = chains(p);
    let d = on_tokio(async move {
        let (tx, rx) = async_channel::bounded(1);
        let start = Instant::now();
        for _ in 0..k {
            tokio_chain(tx.clone(), DEPTH);
            rx.recv().await.expect("chain signal");
        }
        start.elapsed()
    });
    ns_per_op(k * u64::from(DEPTH), d)
}

fn async_executor(p: &Params) -> f64 {
    let k = chains(p);
    let d = on_async_executor(false, move |ex: Ex| async move {
        let (tx, rx) = async_channel::bounded(1);
        let start = Instant::now();
        for _ in 0..k {
            ae_chain(ex.clone(), tx.clone(), DEPTH);
            rx.recv().await.expect("chain signal");
        }
        start.elapsed()
    });
    ns_per_op(k * u64::from(DEPTH), d)
}
