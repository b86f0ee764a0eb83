//! websocket_flood: a client floods sequence-numbered 8-byte binary WebSocket messages over
//! loopback TCP (nodelay); the server task forwards each sequence number through a bounded
//! channel (capacity [`CAPACITY`]) to a consumer task, which checks that they arrive in order
//! and counts them. Timed from the first send to the last message counted; million messages
//! per second. 1 000 000 messages per repetition, 200 000 with `--quick`.
//!
//! The same program twice, as each stack is written: nimsync's runtime with async-net sockets,
//! async-tungstenite and a nimsync MPSC channel, against tokio with its own sockets,
//! tokio-tungstenite and `tokio::sync::mpsc`. Both WebSocket crates wrap the same tungstenite
//! (one version in the lock file), so the framing code is identical; the runtime, the reactor
//! and the channel differ. (The `websocket_flood` example and the apocalypse `websocket`
//! scenario run the same flood with an actor behind the channel and check more.)

use std::future::ready;
use std::time::Instant;

use async_tungstenite::tungstenite::{Error as WsError, Message};
use futures_util::{Sink, SinkExt, Stream, StreamExt};

use crate::harness::{Contender, MMSG_PER_S, Params, Workload, mmsg_per_s};
use crate::scheduler::{on_nimsync, on_tokio_io};

/// Capacity of the server's channel (the same on both sides).
const CAPACITY: usize = 1024;

/// The workload.
pub fn workload() -> Workload {
    Workload {
        group: "net",
        name: "websocket_flood",
        unit: MMSG_PER_S,
        higher_is_better: true,
        note: "loopback WebSocket, one client floods 8-byte binary messages, the server \
               forwards them through a bounded channel (1024) to a counting task; nimsync = \
               async-net + async-tungstenite on nimsync, tokio = tokio-tungstenite on tokio \
               (same tungstenite); 1M messages (200k --quick)",
        contenders: vec![
            Contender {
                name: "nimsync",
                run: nimsync,
            },
            Contender {
                name: "tokio",
                run: tokio,
            },
        ],
    }
}

/// Messages per repetition: the 1 000 000 (200 000 with `--quick`, a tenth of that
/// for the warm-up).
fn messages(p: &Params) -> u64 {
    let n = if p.quick { 200_000 } else { 1_000_000 };
    if p.warmup { n / 10 } else { n }
}

/// Sends `n` messages carrying 0..n, then closes. `feed` queues without flushing and waits
/// (flushing) only when the sink's buffer is full and the socket takes no more.
async fn flood<S>(ws: &mut S, n: u64)
where
    S: Sink<Message, Error = WsError> + Unpin,
{
    for i in 0..n {
        ws.feed(Message::binary(i.to_le_bytes().to_vec()))
            .await
            .expect("send");
    }
    ws.close().await.expect("close");
}

/// The sequence numbers of the binary frames until the close frame. The server awaits the
/// channel's `send` for each before polling for the next, so while the channel is full the
/// socket is not read.
fn sequence_numbers<S>(ws: S) -> impl Stream<Item = u64> + Unpin
where
    S: Stream<Item = Result<Message, WsError>> + Unpin,
{
    ws.map(|msg| msg.expect("server read"))
        .take_while(|msg| ready(!matches!(msg, Message::Close(_))))
        .filter_map(|msg| {
            ready(match msg {
                Message::Binary(b) => Some(u64::from_le_bytes(
                    b[..].try_into().expect("an 8-byte message"),
                )),
                _ => None,
            })
        })
}

/// The consumer's check: `seq` is the one expected next.
fn count(next: &mut u64, seq: u64) {
    assert_eq!(seq, *next, "message out of order or lost");
    *next += 1;
}

fn nimsync(p: &Params) -> f64 {
    use async_net::{TcpListener, TcpStream};
    let n = messages(p);
    let d = on_nimsync(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, mut rx) = nimsync_core_channels::mpsc::<u64>(CAPACITY);
        let server = nimsync_scheduler::spawn(async move {
            let (s, _) = listener.accept().await.expect("accept");
            s.set_nodelay(true).expect("nodelay");
            let ws = async_tungstenite::accept_async(s).await.expect("handshake");
            let mut seqs = sequence_numbers(ws);
            while let Some(seq) = seqs.next().await {
                tx.send(seq).await.expect("consumer gone");
            }
        });
        let consumer = nimsync_scheduler::spawn(async move {
            let mut next = 0;
            while let Ok(seq) = rx.recv().await {
                count(&mut next, seq);
            }
            next
        });
        let s = TcpStream::connect(addr).await.expect("connect");
        s.set_nodelay(true).expect("nodelay");
        let (mut ws, _) = async_tungstenite::client_async(format!("ws://{addr}/"), s)
            .await
            .expect("client handshake");
        let start = Instant::now();
        flood(&mut ws, n).await;
        server.await.expect("server task");
        assert_eq!(consumer.await.expect("consumer task"), n);
        start.elapsed()
    });
    mmsg_per_s(n, d)
}

fn tokio(p: &Params) -> f64 {
    use tokio::net::{TcpListener, TcpStream};
    let n = messages(p);
    let d = on_tokio_io(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(CAPACITY);
        let server = tokio::spawn(async move {
            let (s, _) = listener.accept().await.expect("accept");
            s.set_nodelay(true).expect("nodelay");
            let ws = tokio_tungstenite::accept_async(s).await.expect("handshake");
            let mut seqs = sequence_numbers(ws);
            while let Some(seq) = seqs.next().await {
                tx.send(seq).await.expect("consumer gone");
            }
        });
        let consumer = tokio::spawn(async move {
            let mut next = 0;
            while let Some(seq) = rx.recv().await {
                count(&mut next, seq);
            }
            next
        });
        let s = TcpStream::connect(addr).await.expect("connect");
        s.set_nodelay(true).expect("nodelay");
        let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/"), s)
            .await
            .expect("client handshake");
        let start = Instant::now();
        flood(&mut ws, n).await;
        server.await.expect("server task");
        assert_eq!(consumer.await.expect("consumer task"), n);
        start.elapsed()
    });
    mmsg_per_s(n, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both contenders deliver every message in order (the warm-up size of `--quick`).
    #[test]
    fn both_contenders_count_every_message() {
        let p = Params {
            quick: true,
            warmup: true,
        };
        assert_eq!(messages(&p), 20_000);
        assert!(nimsync(&p) > 0.0);
        assert!(tokio(&p) > 0.0);
    }
}
