//! WebSocket flood on loopback, all on nimsync: a client floods N binary messages (default
//! 1 000 000; `cargo run --release -p nimsync --example websocket_flood -- 200000`) over
//! async-tungstenite on `nimsync::net` sockets; the server forwards each sequence number
//! through a bounded channel to a counting actor (whose mailbox is bounded too), so a slow
//! consumer pushes back through the socket instead of buffering. Checks that every message
//! arrived exactly once and prints messages per second.

use async_tungstenite::tungstenite::Message;
use async_tungstenite::{accept_async, client_async};
use futures_util::{SinkExt, StreamExt};
use nimsync::actors::{Actor, Context, Reply, spawn_actor};
use nimsync::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// What the counting actor saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Distinct sequence numbers received.
    pub distinct: u64,
    /// Sequence numbers received more than once.
    pub duplicates: u64,
    /// Sequence numbers outside `0..n`.
    pub out_of_range: u64,
}

/// Counts sequence numbers in a bitset.
struct Counter {
    seen: Vec<u64>,
    n: u64,
    tally: Tally,
}

enum Msg {
    Seen(u64),
    Report(Reply<Tally>),
}

impl Actor for Counter {
    type Msg = Msg;
    async fn handle(&mut self, msg: Msg, _ctx: &mut Context<Self>) {
        match msg {
            Msg::Seen(i) if i >= self.n => self.tally.out_of_range += 1,
            Msg::Seen(i) => {
                let (word, bit) = ((i / 64) as usize, 1u64 << (i % 64));
                if self.seen[word] & bit != 0 {
                    self.tally.duplicates += 1;
                } else {
                    self.seen[word] |= bit;
                    self.tally.distinct += 1;
                }
            }
            Msg::Report(reply) => {
                reply.send(self.tally.clone());
            }
        }
    }
}

/// Runs one flood of `n` messages; returns the tally and the client's send-to-counted time.
pub async fn flood(n: u64) -> (Tally, Duration) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let counter = spawn_actor(Counter {
        seen: vec![0; n.div_ceil(64) as usize],
        n,
        tally: Tally {
            distinct: 0,
            duplicates: 0,
            out_of_range: 0,
        },
    });
    let (tx, mut rx) = nimsync::channels::mpsc::<u64>(1024);

    let server = nimsync::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        stream.set_nodelay(true).expect("nodelay");
        let mut ws = accept_async(stream).await.expect("websocket handshake");
        while let Some(msg) = ws.next().await {
            match msg.expect("websocket read") {
                Message::Binary(b) => {
                    let seq = u64::from_le_bytes(b[..8].try_into().expect("8-byte message"));
                    tx.send(seq).await.expect("forwarder gone");
                }
                Message::Close(_) => break,
                _ => {}
            }
        }
    });
    let counter_ref = counter.clone();
    let forwarder = nimsync::spawn(async move {
        while let Ok(seq) = rx.recv().await {
            counter_ref
                .tell(Msg::Seen(seq))
                .await
                .expect("counter gone");
        }
    });

    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (mut ws, _) = client_async(format!("ws://{addr}/flood"), stream)
        .await
        .expect("client handshake");
    let start = Instant::now();
    for i in 0..n {
        // `feed` queues without flushing; the sink flushes when its buffer fills.
        ws.feed(Message::binary(i.to_le_bytes().to_vec()))
            .await
            .expect("send");
    }
    ws.close(None).await.expect("close");
    server.await.expect("server task");
    forwarder.await.expect("forwarder task");
    let tally = counter.ask(Msg::Report).await.expect("report");
    let elapsed = start.elapsed();
    counter.stop_and_wait().await;
    (tally, elapsed)
}

#[allow(dead_code)] // the test includes this file as a module
fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let rt = nimsync::scheduler::Runtime::builder()
        .workers(2)
        .build()
        .expect("runtime");
    let (tally, elapsed) = rt.block_on(flood(n));
    println!(
        "{n} messages in {elapsed:?}: {:.0} msg/s; {tally:?}",
        n as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(
        tally,
        Tally {
            distinct: n,
            duplicates: 0,
            out_of_range: 0
        },
        "every message exactly once"
    );
}
