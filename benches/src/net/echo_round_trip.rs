//! echo_round_trip: a client task writes 8 bytes to a loopback TCP echo task and reads them
//! back, one request in flight; ns per round trip. Same sockets (async-net) on both
//! executors, so only the wake-up path differs.

use std::time::{Duration, Instant};

use async_net::{TcpListener, TcpStream};
use futures_lite::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{Contender, NS_PER_OP, Params, Workload, ns_per_op};
use crate::scheduler::{Ex, on_async_executor, on_nimsync};

/// Round trips per repetition (÷2 with `--quick`).
const ROUNDS: u64 = 20_000;

/// The workload.
pub fn workload() -> Workload {
    Workload {
        group: "net",
        name: "tcp_echo_round_trip",
        unit: NS_PER_OP,
        higher_is_better: false,
        note: "async-net loopback TCP (nodelay), client task <-> echo task, 8-byte \
               messages, one in flight; ns per round trip",
        contenders: vec![
            Contender {
                name: "nimsync",
                run: nimsync,
            },
            Contender {
                name: "async-executor",
                run: async_executor,
            },
        ],
    }
}

/// Echoes 8-byte messages until the client closes.
async fn echo(listener: TcpListener) {
    let (mut s, _) = listener.accept().await.expect("accept");
    s.set_nodelay(true).expect("nodelay");
    let mut buf = [0u8; 8];
    while s.read_exact(&mut buf).await.is_ok() {
        if s.write_all(&buf).await.is_err() {
            break;
        }
    }
}

/// The client side; `spawn` starts the echo task on the runtime under test.
async fn client(n: u64, spawn: impl FnOnce(TcpListener)) -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    spawn(listener);
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.set_nodelay(true).expect("nodelay");
    let mut buf = [0u8; 8];
    let start = Instant::now();
    for i in 0..n {
        s.write_all(&i.to_le_bytes()).await.expect("write");
        s.read_exact(&mut buf).await.expect("read");
        assert_eq!(u64::from_le_bytes(buf), i);
    }
    start.elapsed()
}

fn nimsync(p: &Params) -> f64 {
    let n = p.count(ROUNDS);
    let d = on_nimsync(client(n, |l| {
        drop(nimsync_scheduler::spawn(echo(l)));
    }));
    ns_per_op(n, d)
}

fn async_executor(p: &Params) -> f64 {
    let n = p.count(ROUNDS);
    let d = on_async_executor(true, move |ex: Ex| {
        client(n, move |l| ex.spawn(echo(l)).detach())
    });
    ns_per_op(n, d)
}
