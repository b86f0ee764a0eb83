//! ping_pong: two tasks bounce a message over a pair of async-channel channels (capacity 1),
//! the same channel for every contender, so only the executor differs.

use std::time::{Duration, Instant};

use super::{Ex, on_async_executor, on_nimsync, on_tokio};
use crate::harness::{Contender, NS_PER_OP, Params, Workload, ns_per_op};

/// Round trips per repetition (÷2 with `--quick`).
const ROUNDS: u64 = 500_000;

/// The workload.
pub fn workload() -> Workload {
    Workload {
        group: "scheduler",
        name: "ping_pong",
        unit: NS_PER_OP,
        higher_is_better: false,
        note: "root task <-> echo task over two async-channel bounded(1) channels; \
               ns per round trip",
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

type Tx = async_channel::Sender<u64>;
type Rx = async_channel::Receiver<u64>;

/// The echo task: sends back whatever it receives until the ping channel closes.
async fn echo(ping: Rx, pong: Tx) {
    while let Ok(v) = ping.recv().await {
        if pong.send(v).await.is_err() {
            break;
        }
    }
}

/// The pinging side, run in the root task; `spawn` starts the echo task on the runtime.
async fn pinger(n: u64, spawn: impl FnOnce(Rx, Tx)) -> Duration {
    let (ping_tx, ping_rx) = async_channel::bounded(1);
    let (pong_tx, pong_rx) = async_channel::bounded(1);
    spawn(ping_rx, pong_tx);
    let start = Instant::now();
    for i in 0..n {
        ping_tx.send(i).await.expect("echo task gone");
        assert_eq!(pong_rx.recv().await.expect("echo task gone"), i);
    }
    start.elapsed()
}

fn nimsync(p: &Params) -> f64 {
    let n = p.count(ROUNDS);
    let d = on_nimsync(pinger(n, |rx, tx| {
        drop(nimsync_scheduler::spawn(echo(rx, tx)));
    }));
    ns_per_op(n, d)
}

fn tokio(p: &Params) -> f64 {
    let n = p.count(ROUNDS);
    let d = on_tokio(pinger(n, |rx, tx| {
        drop(tokio::spawn(echo(rx, tx)));
    }));
    ns_per_op(n, d)
}

fn async_executor(p: &Params) -> f64 {
    let n = p.count(ROUNDS);
    let d = on_async_executor(false, move |ex: Ex| {
        pinger(n, move |rx, tx| ex.spawn(echo(rx, tx)).detach())
    });
    ns_per_op(n, d)
}
