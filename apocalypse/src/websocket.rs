//! WebSocket flood on loopback: a client floods sequence-numbered binary messages over
//! async-tungstenite on `nimsync::net` sockets; the server task forwards each sequence number
//! through a bounded channel, a forwarder task passes it on to a counting actor (bounded
//! mailbox). Only 127.0.0.1, a fixed message count and a time limit (a flood still running
//! at the limit is dropped and the scenario fails).
//!
//! Three floods run:
//! 1. a warm-up of 10 000 messages on a runtime of its own, which builds the lazily-created
//!    process-global state (async-io's reactor and its thread, kept for the process's life);
//!    the bytes live after its runtime shut down are the baseline of the leak check;
//! 2. the full flood (`N`), timed: messages/s, and its peak live bytes, which must not grow
//!    over the second half (memory does not grow with the message count). Not a separate
//!    smaller flood for comparison: the buffers reach their largest size at no fixed point
//!    (a flood of `N / 10` peaked anywhere from 170 KB below the full flood's to level with
//!    it in repeated runs), while halfway through `N` they have always got there;
//! 3. a held flood of [`HELD_MESSAGES`] messages of [`HELD_PAYLOAD`] bytes, 64 MiB in all:
//!    more than loopback socket buffers take (Linux grows them up to the maxima in
//!    `net.ipv4.tcp_rmem` and `tcp_wmem`, 32 and 4 MiB here, which would swallow millions of
//!    8-byte messages). The forwarder stops taking from the channel after [`HOLD_AT`]
//!    messages until the client has stopped making progress. Then the channel, the server's
//!    socket reads, the kernel's socket buffers and the client's sink fill up in turn; the
//!    client's `feed` must block (backpressure reaches the sender through the socket), and
//!    the live bytes must stay within the same bound as an unhindered flood.
//!
//! The other two share a second runtime; after it shut down, the live bytes must be back at
//! the baseline exactly. Every flood checks that each message arrived exactly once, in
//! order. Memory is the counting allocator's live bytes: growth over the bytes live when the
//! flood started, its peak tracked by the allocator itself (so no sample is missed).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::Message;
use async_tungstenite::{accept_async, client_async};
use futures_util::{SinkExt, StreamExt};
use nimsync::net::{TcpListener, TcpStream};
use nimsync_actors::{Actor, ActorRef, Context, Reply, spawn_actor};
use nimsync_core_channels::mpsc;
use nimsync_scheduler::Runtime;

use crate::alloc;
use crate::config::Config;
use crate::progress::Progress;
use crate::scenario::Outcome;

/// Capacity of the server's reader → forwarder channel.
const CHANNEL_CAPACITY: usize = 1024;

/// Peak live-byte growth allowed during any flood, whatever its length: tungstenite's read
/// and write buffers on both ends (128 KiB each by default), the channel, the mailbox, the
/// handshake, with room to spare. Unbounded buffering of a million messages would not fit.
const MEMORY_BOUND: usize = 4 << 20;

/// How much the full flood's peak may rise over its second half.
const FLAT_SLACK: usize = 64 << 10;

/// Payload bytes of each held-flood message (sequence number first, then zeros).
pub const HELD_PAYLOAD: usize = 1024;

/// Messages in the held flood (64 MiB of payload).
pub const HELD_MESSAGES: u64 = 65_536;

/// Messages the held flood's forwarder passes on before it holds.
pub const HOLD_AT: u64 = 4096;

/// The client counts as stalled when its sent count has not moved for this long.
const STALL_WINDOW: Duration = Duration::from_millis(100);

/// Longest hold, stalled or not.
const MAX_HOLD: Duration = Duration::from_secs(3);

/// Messages in the warm-up flood.
const WARM_UP: u64 = 10_000;

/// Progress is advanced once per this many messages sent.
const PROGRESS_BATCH: u64 = 8192;

/// What the counting actor saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Tally {
    /// Messages counted.
    received: u64,
    /// Messages whose sequence number was not the one expected next.
    misordered: u64,
    /// Sequence number expected next.
    next: u64,
}

/// Counts sequence numbers and checks their order (one connection, one forwarder and a FIFO
/// mailbox: the order must be the sending order). Constant memory, so the count does not
/// weigh on the memory checks.
struct Counter {
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
            Msg::Seen(seq) => {
                let t = &mut self.tally;
                t.received += 1;
                if seq != t.next {
                    t.misordered += 1;
                }
                t.next = seq.wrapping_add(1);
            }
            Msg::Report(reply) => {
                reply.send(self.tally);
            }
        }
    }
}

/// What the held flood observed while the forwarder held.
#[derive(Clone, Copy, Debug)]
struct Hold {
    /// Whether the client stopped making progress (as opposed to sending everything, or the
    /// hold timing out).
    stalled: bool,
    /// Messages the client's sink had accepted when the hold ended.
    sent: u64,
    /// How long the forwarder held.
    held: Duration,
    /// Live-byte growth over the flood's start when the hold ended.
    live_growth: usize,
}

/// One flood's result.
#[derive(Debug)]
struct Flood {
    n: u64,
    tally: Tally,
    /// First send to last message counted.
    elapsed: Duration,
    /// Peak live-byte growth over the bytes live at the start.
    peak_growth: usize,
    /// The same peak when the client had sent a quarter and half of the messages.
    peak_at: [usize; 2],
    hold: Option<Hold>,
}

impl Flood {
    fn exactly_once_in_order(&self) -> bool {
        self.tally.received == self.n && self.tally.misordered == 0
    }

    fn rate(&self) -> f64 {
        self.n as f64 / self.elapsed.as_secs_f64()
    }
}

/// Receives frames and forwards the sequence numbers into the channel; the `send` waits while
/// the channel is full, so the socket is not read meanwhile.
async fn serve(listener: TcpListener, tx: mpsc::Sender<u64>) -> Result<(), String> {
    let (stream, _) = listener
        .accept()
        .await
        .map_err(|e| format!("accept: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("nodelay: {e}"))?;
    let mut ws = accept_async(stream)
        .await
        .map_err(|e| format!("server handshake: {e}"))?;
    while let Some(msg) = ws.next().await {
        match msg.map_err(|e| format!("server read: {e}"))? {
            Message::Binary(b) => {
                let bytes: [u8; 8] = b
                    .get(..8)
                    .and_then(|s| s.try_into().ok())
                    .ok_or_else(|| format!("a {}-byte message (expected 8 or more)", b.len()))?;
                tx.send(u64::from_le_bytes(bytes))
                    .await
                    .map_err(|_| "the forwarder is gone".to_string())?;
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    Ok(())
}

/// Passes sequence numbers from the channel to the counter; with `hold_at`, stops taking
/// from the channel after that many until the client stalls (see [`Hold`]).
async fn forward(
    mut rx: mpsc::Receiver<u64>,
    counter: ActorRef<Counter>,
    hold_at: Option<u64>,
    sent: Arc<AtomicU64>,
    n: u64,
    baseline: usize,
) -> Result<Option<Hold>, String> {
    let mut forwarded = 0u64;
    let mut hold = None;
    while let Ok(seq) = rx.recv().await {
        counter
            .tell(Msg::Seen(seq))
            .await
            .map_err(|_| "the counter stopped".to_string())?;
        forwarded += 1;
        if hold_at == Some(forwarded) {
            hold = Some(hold_until_stalled(&sent, n, baseline).await);
        }
    }
    Ok(hold)
}

/// Waits until the client's sent count stays put for [`STALL_WINDOW`] (or reaches `n`, or
/// [`MAX_HOLD`] passes). A measurement window, not synchronisation: a client merely
/// descheduled for the window only shortens the hold.
async fn hold_until_stalled(sent: &AtomicU64, n: u64, baseline: usize) -> Hold {
    let started = Instant::now();
    let mut last = sent.load(Ordering::Relaxed);
    let mut still_since = Instant::now();
    let stalled = loop {
        nimsync_scheduler::sleep(Duration::from_millis(10)).await;
        let now = sent.load(Ordering::Relaxed);
        if now == n || started.elapsed() >= MAX_HOLD {
            break false;
        }
        if now != last {
            last = now;
            still_since = Instant::now();
        } else if still_since.elapsed() >= STALL_WINDOW {
            break true;
        }
    };
    Hold {
        stalled,
        sent: sent.load(Ordering::Relaxed),
        held: started.elapsed(),
        live_growth: alloc::live_bytes().saturating_sub(baseline),
    }
}

/// Runs one flood of `n` messages of `payload` bytes (at least 8) on the current runtime.
async fn flood(
    n: u64,
    payload: usize,
    hold_at: Option<u64>,
    progress: &Progress,
) -> Result<Flood, String> {
    let baseline = alloc::live_bytes();
    alloc::reset_peak();
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bind: {e}"))?;
    let addr = listener.local_addr().map_err(|e| format!("addr: {e}"))?;
    let counter = spawn_actor(Counter {
        tally: Tally::default(),
    });
    let (tx, rx) = mpsc::<u64>(CHANNEL_CAPACITY);
    let sent = Arc::new(AtomicU64::new(0));
    let server = nimsync_scheduler::spawn(serve(listener, tx));
    let forwarder = nimsync_scheduler::spawn(forward(
        rx,
        counter.clone(),
        hold_at,
        Arc::clone(&sent),
        n,
        baseline,
    ));

    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("nodelay: {e}"))?;
    let (mut ws, _) = client_async(format!("ws://{addr}/flood"), stream)
        .await
        .map_err(|e| format!("client handshake: {e}"))?;
    let start = Instant::now();
    let mut peak_at = [0; 2];
    for i in 0..n {
        // `feed` queues without flushing; it waits (flushing) once the sink's buffer is full
        // and the socket does not take more.
        let mut bytes = vec![0u8; payload];
        bytes[..8].copy_from_slice(&i.to_le_bytes());
        ws.feed(Message::binary(bytes))
            .await
            .map_err(|e| format!("client send #{i}: {e}"))?;
        sent.store(i + 1, Ordering::Relaxed);
        if i + 1 == n / 4 {
            peak_at[0] = alloc::peak_bytes().saturating_sub(baseline);
        } else if i + 1 == n / 2 {
            peak_at[1] = alloc::peak_bytes().saturating_sub(baseline);
        }
        if (i + 1) % PROGRESS_BATCH == 0 {
            progress.advance(PROGRESS_BATCH);
        }
    }
    progress.advance(n % PROGRESS_BATCH);
    ws.close(None)
        .await
        .map_err(|e| format!("client close: {e}"))?;
    server.await.map_err(|e| format!("server task: {e}"))??;
    let hold = forwarder
        .await
        .map_err(|e| format!("forwarder task: {e}"))??;
    let tally = counter
        .ask(Msg::Report)
        .await
        .map_err(|e| format!("counter report: {e}"))?;
    let elapsed = start.elapsed();
    counter.stop_and_wait().await;
    drop(ws);
    Ok(Flood {
        n,
        tally,
        elapsed,
        peak_growth: alloc::peak_bytes().saturating_sub(baseline),
        peak_at,
        hold,
    })
}

/// The measured floods, in order: full, held.
async fn floods(n: u64, progress: &Progress) -> Result<[Flood; 2], String> {
    let full = flood(n, 8, None, progress).await?;
    let held = flood(HELD_MESSAGES, HELD_PAYLOAD, Some(HOLD_AT), progress).await?;
    Ok([full, held])
}

/// Runs `fut` on a fresh runtime within `limit`; the runtime is shut down before returning.
fn on_runtime<T>(
    cfg: &Config,
    limit: Duration,
    fut: impl Future<Output = Result<T, String>>,
) -> Result<T, String> {
    let rt = Runtime::builder()
        .workers(cfg.workers)
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let result = rt.block_on(async {
        match nimsync_cancel::timeout(limit, fut).await {
            Ok(r) => r,
            Err(_) => Err(format!("not finished within {limit:?}")),
        }
    });
    drop(rt);
    result
}

/// The WebSocket scenario.
pub fn run(cfg: &Config, progress: &Arc<Progress>) -> Outcome {
    let mut out = Outcome::new("websocket");
    let started = Instant::now();
    let n = cfg.websocket_messages();
    let limit = cfg.websocket_time_limit();
    progress.begin("websocket", WARM_UP + n + HELD_MESSAGES);
    let at_start = alloc::live_bytes();
    // The warm-up on a runtime of its own: what stays allocated after it is process-global
    // state built on first use (async-io's reactor), the baseline of the leak check.
    let warm = on_runtime(cfg, limit, flood(WARM_UP, 8, None, progress));
    crate::leak::collect_epoch_garbage();
    let baseline = alloc::live_bytes();
    let measured = warm.and_then(|warm| {
        let left = limit.saturating_sub(started.elapsed());
        on_runtime(cfg, left, floods(n, progress)).map(|[a, b]| [warm, a, b])
    });
    crate::leak::collect_epoch_garbage();
    let after = alloc::live_bytes();
    out.elapsed = started.elapsed();
    let [warm, full, held] = match measured {
        Ok(f) => f,
        Err(e) => {
            out.check("the floods ran to the end within the time limit", false, e);
            return out;
        }
    };
    out.check(
        "the floods ran to the end within the time limit",
        true,
        format!(
            "{:.1} s of {} s",
            out.elapsed.as_secs_f64(),
            limit.as_secs()
        ),
    );
    let floods = [&warm, &full, &held];
    out.check(
        "every message arrived exactly once, in order",
        floods.iter().all(|f| f.exactly_once_in_order()),
        floods
            .iter()
            .map(|f| {
                format!(
                    "{} sent, {} counted, {} out of order",
                    f.n, f.tally.received, f.tally.misordered
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
    );
    out.check(
        "memory flat: the second half of the full flood raises peak live bytes by <= 64 KiB",
        full.peak_growth <= full.peak_at[1] + FLAT_SLACK,
        format!(
            "+{} bytes after {} messages, +{} after {}, +{} after {n}",
            full.peak_at[0],
            n / 4,
            full.peak_at[1],
            n / 2,
            full.peak_growth
        ),
    );
    let worst = floods.iter().map(|f| f.peak_growth).max().unwrap_or(0);
    out.check(
        "memory bounded: peak live bytes of every flood (the held one too) within +4 MiB",
        worst <= MEMORY_BOUND,
        format!("worst +{worst} bytes (held flood +{})", held.peak_growth),
    );
    match held.hold {
        Some(h) => out.check(
            "backpressure reaches the client: with the consumer held, its sends stopped",
            h.stalled,
            format!(
                "held after {HOLD_AT} of {} {HELD_PAYLOAD}-byte messages; the client {} at {} \
                 sent ({} KiB in flight: channel, mailbox, socket buffers), {:.0?} held, \
                 live +{} bytes",
                held.n,
                if h.stalled {
                    "stalled"
                } else {
                    "did NOT stall"
                },
                h.sent,
                (h.sent.saturating_sub(HOLD_AT) * HELD_PAYLOAD as u64) >> 10,
                h.held,
                h.live_growth
            ),
        ),
        None => out.check(
            "backpressure reaches the client: with the consumer held, its sends stopped",
            false,
            "the forwarder never held",
        ),
    }
    out.figure("messages: full / held flood", format!("{n} / {}", held.n));
    out.figure("messages/s (full flood)", format!("{:.0}", full.rate()));
    out.figure(
        "full flood time",
        format!("{:.2} s", full.elapsed.as_secs_f64()),
    );
    out.figure(
        "peak live-byte growth: full / held",
        format!("{} / {}", full.peak_growth, held.peak_growth),
    );
    out.check(
        "0 bytes outstanding after the floods' runtime shut down",
        after == baseline,
        format!("{baseline} bytes before, {after} after"),
    );
    out.figure(
        "bytes kept by the warm-up flood (async-io's reactor, built on first use)",
        baseline as i64 - at_start as i64,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_test_runtime<T>(fut: impl Future<Output = Result<T, String>>) -> T {
        let _exclusive = alloc::COUNTING_TESTS
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let cfg = Config::parse(["--workers".to_string(), "2".to_string()]).expect("config");
        on_runtime(&cfg, Duration::from_secs(30), fut).expect("flood")
    }

    /// A progress record without its drawing thread.
    fn quiet_progress() -> Arc<Progress> {
        let (progress, drawer) = Progress::start();
        progress.stop();
        if let Some(d) = drawer {
            d.join().expect("progress thread");
        }
        progress
    }

    #[test]
    fn the_counter_flags_gaps_and_repeats() {
        let tally = on_test_runtime(async {
            let counter = spawn_actor(Counter {
                tally: Tally::default(),
            });
            for seq in [0, 1, 3, 3, 4] {
                counter.tell(Msg::Seen(seq)).await.map_err(|_| "tell")?;
            }
            let tally = counter.ask(Msg::Report).await.map_err(|e| e.to_string());
            counter.stop_and_wait().await;
            tally
        });
        // 3 after 1 (a gap) and the second 3 (a repeat) are out of order; 4 after 3 is not.
        assert_eq!(
            tally,
            Tally {
                received: 5,
                misordered: 2,
                next: 5
            }
        );
    }

    #[test]
    fn a_small_flood_arrives_exactly_once_in_order() {
        let progress = quiet_progress();
        let f = on_test_runtime(flood(2_000, 8, None, &progress));
        assert_eq!(f.tally.received, 2_000);
        assert!(f.exactly_once_in_order(), "{f:?}");
        assert!(f.hold.is_none());
    }

    #[test]
    fn a_held_flood_loses_nothing() {
        // Small enough for the socket buffers: the hold ends when everything is sent.
        let progress = quiet_progress();
        let f = on_test_runtime(flood(2_000, 64, Some(100), &progress));
        assert!(f.exactly_once_in_order(), "{f:?}");
        let hold = f.hold.expect("the forwarder held");
        assert!(hold.sent >= 100);
    }
}
