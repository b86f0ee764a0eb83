//! Multi-threaded stress tests for every mode: exactly-once delivery and per-producer order (blocking, async, mixed, batch, and `Overflow` with its spill), close while sending, and drop accounting for every policy.
//!
//! Messages are tagged `producer << 32 | sequence`. Every consumer checks that it sees each
//! producer's sequence numbers in increasing order (the stamped and Lamport rings are FIFO, so
//! this holds for every mode under `Block`), and the per-consumer bitmaps are merged to check
//! that every message arrived exactly once. Small capacities (4, 64) keep producers and
//! consumers waiting on each other.
//!
//! The capacity-64 blocking, mixed and batch tests move 1,000,000 messages (about 0.5–2 s each
//! in debug builds on a loaded 2-core machine). The capacity-4 blocking and async tests park
//! on almost every message, so their 1,000,000-message variants (`*_cap4_1m`, 2–11 s) are
//! `#[ignore]`d and 200,000-message variants run by default:
//! `cargo xtask stress` runs them (CI does), or `cargo test --release -p nimsync-core-channels
//! --test stress -- --ignored`.
//!
//! No test sleeps to synchronise. Waits are bounded only as a failure detector: consumers that
//! time out use `recv_timeout(30 s)`, and a watchdog aborts the process if a test hangs
//! (async waits have no timeout of their own).

use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use futures_executor::block_on;
use nimsync_core_channels::{
    Builder, Policy, RecvTimeoutError, SendError, TryRecvError, TryReserveError,
};

/// Message count of the default capacity-4 tests.
const SMALL: u64 = 200_000;
/// Message count of the capacity-64 tests and of the `#[ignore]`d capacity-4 variants.
const LARGE: u64 = 1_000_000;
/// Upper bound for one receive before the test is declared hung.
const RECV_LIMIT: Duration = Duration::from_secs(30);
/// Upper bound for a whole test before the watchdog aborts the process.
const TEST_LIMIT: Duration = Duration::from_secs(240);

fn tag(producer: usize, seq: u64) -> u64 {
    ((producer as u64) << 32) | seq
}

fn untag(v: u64) -> (usize, u64) {
    ((v >> 32) as usize, v & 0xffff_ffff)
}

/// Aborts the process if dropped later than `limit` after creation (a hung test would
/// otherwise hang the whole run).
struct Watchdog {
    done: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Watchdog {
    fn new(name: &'static str) -> Self {
        let done = Arc::new((Mutex::new(false), Condvar::new()));
        let d = done.clone();
        let thread = thread::spawn(move || {
            let (lock, cv) = &*d;
            let guard = lock.lock().unwrap();
            let (guard, _) = cv
                .wait_timeout_while(guard, TEST_LIMIT, |done| !*done)
                .unwrap();
            if !*guard {
                eprintln!("watchdog: `{name}` still running after {TEST_LIMIT:?}; aborting");
                std::process::abort();
            }
        });
        Self {
            done,
            thread: Some(thread),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        *self.done.0.lock().unwrap() = true;
        self.done.1.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What one consumer saw: per-producer bitmaps and the last sequence per producer.
struct Track {
    seen: Vec<Vec<u64>>,
    last: Vec<Option<u64>>,
    count: u64,
}

impl Track {
    fn new(producers: usize, per_producer: u64) -> Self {
        Self {
            seen: vec![vec![0; per_producer.div_ceil(64) as usize]; producers],
            last: vec![None; producers],
            count: 0,
        }
    }

    fn see(&mut self, v: u64) {
        let (p, s) = untag(v);
        assert!(p < self.seen.len(), "unknown producer in {v:#x}");
        assert!(
            (s as usize) < self.seen[p].len() * 64,
            "sequence out of range in {v:#x}"
        );
        if let Some(last) = self.last[p] {
            assert!(
                s > last,
                "producer {p}: sequence {s} after {last} (order broken or duplicate)"
            );
        }
        self.last[p] = Some(s);
        let (w, b) = ((s / 64) as usize, s % 64);
        assert_eq!(self.seen[p][w] & (1 << b), 0, "duplicate {v:#x}");
        self.seen[p][w] |= 1 << b;
        self.count += 1;
    }
}

/// Merges the consumers' tracks; each producer `p` must have delivered exactly sequences
/// `0..expected[p]`, each to exactly one consumer.
fn check_exactly_once(tracks: &[Track], expected: &[u64]) {
    for (p, &n) in expected.iter().enumerate() {
        let words = tracks[0].seen[p].len();
        for w in 0..words {
            let mut union = 0u64;
            for t in tracks {
                let bits = t.seen[p][w];
                assert_eq!(
                    union & bits,
                    0,
                    "producer {p}: a message reached two consumers"
                );
                union |= bits;
            }
            let lo = w as u64 * 64;
            let want = if n >= lo + 64 {
                u64::MAX
            } else if n <= lo {
                0
            } else {
                (1u64 << (n - lo)) - 1
            };
            assert_eq!(
                union,
                want,
                "producer {p}: messages {lo}..{} wrong (missing or extra)",
                lo + 64
            );
        }
    }
    let total: u64 = tracks.iter().map(|t| t.count).sum();
    assert_eq!(total, expected.iter().sum::<u64>());
}

/// Runs one producer thread per sender and one consumer thread per receiver; producers send
/// `per_producer` tagged messages each (through `produce(tx, id, per_producer)`), consumers
/// report every value through the sink until the channel is closed and drained (dropping
/// the last sender closes it).
fn stress<S: Send, R: Send>(
    name: &'static str,
    senders: Vec<S>,
    receivers: Vec<R>,
    per_producer: u64,
    produce: impl Fn(S, usize, u64) + Sync,
    consume: impl Fn(R, usize, &mut dyn FnMut(u64)) + Sync,
) {
    let _watchdog = Watchdog::new(name);
    let start = Instant::now();
    let producers = senders.len();
    let (produce, consume) = (&produce, &consume);
    let tracks: Vec<Track> = thread::scope(|s| {
        for (id, tx) in senders.into_iter().enumerate() {
            s.spawn(move || produce(tx, id, per_producer));
        }
        let consumers: Vec<_> = receivers
            .into_iter()
            .enumerate()
            .map(|(id, rx)| {
                s.spawn(move || {
                    let mut track = Track::new(producers, per_producer);
                    consume(rx, id, &mut |v| track.see(v));
                    track
                })
            })
            .collect();
        consumers.into_iter().map(|h| h.join().unwrap()).collect()
    });
    check_exactly_once(&tracks, &vec![per_producer; producers]);
    eprintln!(
        "{name}: {} messages, {producers} producer(s) → {} consumer(s) in {:?}",
        per_producer * producers as u64,
        tracks.len(),
        start.elapsed()
    );
}

/// A value that records its own drop in a ledger, to catch leaks and double drops.
struct Tracked {
    id: usize,
    ledger: Arc<Ledger>,
}

struct Ledger {
    created: AtomicUsize,
    drops: Vec<AtomicU8>,
}

impl Ledger {
    fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            created: AtomicUsize::new(0),
            drops: (0..max).map(|_| AtomicU8::new(0)).collect(),
        })
    }

    fn make(self: &Arc<Self>) -> Tracked {
        let id = self.created.fetch_add(1, Ordering::Relaxed);
        assert!(id < self.drops.len(), "ledger too small");
        Tracked {
            id,
            ledger: self.clone(),
        }
    }

    /// Every value ever made was dropped exactly once.
    fn check(&self) {
        let created = self.created.load(Ordering::SeqCst);
        assert!(created > 0);
        for (id, d) in self.drops[..created].iter().enumerate() {
            match d.load(Ordering::SeqCst) {
                1 => {}
                0 => panic!("value {id} of {created} leaked (never dropped)"),
                n => panic!("value {id} of {created} dropped {n} times"),
            }
        }
        assert!(
            self.drops[created..]
                .iter()
                .all(|d| d.load(Ordering::SeqCst) == 0)
        );
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.ledger.drops[self.id].fetch_add(1, Ordering::SeqCst);
    }
}

const POLICIES: [Policy; 4] = [
    Policy::Block,
    Policy::DropNewest,
    Policy::DropOldest,
    Policy::Overflow,
];

/// Clones a handle into `n` handles (`multi`), or keeps the single one (`single`, n = 1).
macro_rules! fan {
    (multi, $h:expr, $n:expr) => {{
        let first = $h;
        let mut all = Vec::with_capacity($n);
        for _ in 1..$n {
            all.push(first.clone());
        }
        all.push(first);
        all
    }};
    (single, $h:expr, $n:expr) => {{
        assert_eq!($n, 1);
        vec![$h]
    }};
}

/// The tests of one mode. The bodies are textually identical for every mode: method calls
/// resolve to `&self` or `&mut self` as the mode's handle requires (hence `unused_mut`).
macro_rules! mode_tests {
    ($mode:ident, producers: $p:expr, $ptx:ident, consumers: $c:expr, $crx:ident) => {
        #[allow(unused_mut)]
        mod $mode {
            use super::*;

            type Tx<T> = nimsync_core_channels::$mode::Sender<T>;
            type Rx<T> = nimsync_core_channels::$mode::Receiver<T>;

            const P: usize = $p;
            const C: usize = $c;

            fn channel<T: Send>(cap: usize, policy: Policy) -> (Vec<Tx<T>>, Vec<Rx<T>>) {
                let (tx, rx) = Builder::new(cap).policy(policy).$mode::<T>().unwrap();
                (fan!($ptx, tx, P), fan!($crx, rx, C))
            }

            fn produce_blocking(mut tx: Tx<u64>, id: usize, n: u64) {
                for s in 0..n {
                    tx.send_blocking(tag(id, s)).unwrap();
                }
            }

            fn produce_async(mut tx: Tx<u64>, id: usize, n: u64) {
                block_on(async {
                    for s in 0..n {
                        tx.send(tag(id, s)).await.unwrap();
                    }
                });
            }

            fn produce_batch(mut tx: Tx<u64>, id: usize, n: u64) {
                // Uneven chunks, so batches straddle the ring's wrap-around.
                let mut s = 0;
                let mut k = 1;
                while s < n {
                    let end = (s + k).min(n);
                    tx.send_batch_blocking((s..end).map(|s| tag(id, s)))
                        .unwrap();
                    s = end;
                    k = k % 97 + 13;
                }
            }

            fn consume_blocking(mut rx: Rx<u64>, _: usize, sink: &mut dyn FnMut(u64)) {
                while let Ok(v) = rx.recv_blocking() {
                    sink(v);
                }
            }

            fn consume_timeout(mut rx: Rx<u64>, _: usize, sink: &mut dyn FnMut(u64)) {
                loop {
                    match rx.recv_timeout(RECV_LIMIT) {
                        Ok(v) => sink(v),
                        Err(RecvTimeoutError::Closed) => break,
                        Err(RecvTimeoutError::Timeout) => panic!("no message for {RECV_LIMIT:?}"),
                    }
                }
            }

            fn consume_async(mut rx: Rx<u64>, _: usize, sink: &mut dyn FnMut(u64)) {
                block_on(async {
                    while let Ok(v) = rx.recv().await {
                        sink(v);
                    }
                });
            }

            fn consume_batch(mut rx: Rx<u64>, id: usize, sink: &mut dyn FnMut(u64)) {
                let mut buf = Vec::with_capacity(64);
                let max = 7 + id * 20; // consumers with different appetites
                while rx.recv_batch_blocking(&mut buf, max).is_ok() {
                    assert!(!buf.is_empty() && buf.len() <= max);
                    for v in buf.drain(..) {
                        sink(v);
                    }
                }
            }

            fn consume_async_batch(mut rx: Rx<u64>, _: usize, sink: &mut dyn FnMut(u64)) {
                let mut buf = Vec::with_capacity(32);
                block_on(async {
                    while rx.recv_batch(&mut buf, 32).await.is_ok() {
                        for v in buf.drain(..) {
                            sink(v);
                        }
                    }
                });
            }

            fn blocking(total: u64, cap: usize) {
                let (txs, rxs) = channel(cap, Policy::Block);
                let name = concat!(stringify!($mode), "::blocking");
                stress(
                    name,
                    txs,
                    rxs,
                    total / P as u64,
                    produce_blocking,
                    consume_blocking,
                );
            }

            fn blocking_timeout(total: u64, cap: usize) {
                let (txs, rxs) = channel(cap, Policy::Block);
                let name = concat!(stringify!($mode), "::blocking_timeout");
                stress(
                    name,
                    txs,
                    rxs,
                    total / P as u64,
                    produce_blocking,
                    consume_timeout,
                );
            }

            fn asynchronous(total: u64, cap: usize) {
                let (txs, rxs) = channel(cap, Policy::Block);
                let name = concat!(stringify!($mode), "::async");
                stress(
                    name,
                    txs,
                    rxs,
                    total / P as u64,
                    produce_async,
                    consume_async,
                );
            }

            /// Async and blocking producers and consumers on one channel (SPSC: an async
            /// producer and a blocking consumer).
            fn mixed(total: u64, cap: usize) {
                let (txs, rxs) = channel(cap, Policy::Block);
                let name = concat!(stringify!($mode), "::mixed");
                stress(
                    name,
                    txs,
                    rxs,
                    total / P as u64,
                    |tx, id, n| {
                        if id % 2 == 0 {
                            produce_async(tx, id, n)
                        } else {
                            produce_blocking(tx, id, n)
                        }
                    },
                    |rx, id, sink| {
                        if id % 2 == 0 {
                            consume_blocking(rx, id, sink)
                        } else {
                            consume_async(rx, id, sink)
                        }
                    },
                );
            }

            fn batch(total: u64, cap: usize) {
                let (txs, rxs) = channel(cap, Policy::Block);
                let name = concat!(stringify!($mode), "::batch");
                stress(
                    name,
                    txs,
                    rxs,
                    total / P as u64,
                    produce_batch,
                    |rx, id, sink| {
                        if id % 2 == 0 {
                            consume_batch(rx, id, sink)
                        } else {
                            consume_async_batch(rx, id, sink)
                        }
                    },
                );
            }

            /// `Overflow` producers never wait: single sends, permits (a permit that loses
            /// the race for the last slot spills) and batches, in sequence order; they only
            /// hold back while more than two values are buffered.
            fn produce_overflow(mut tx: Tx<u64>, id: usize, n: u64) {
                let mut s = 0;
                while s < n {
                    // Keep near the consumers (flow control, not a sleep): the ring is often
                    // empty when a value is sent, so sends race receives into and out of the
                    // spill instead of queueing behind a long one.
                    while tx.len() > 2 {
                        thread::yield_now();
                    }
                    match s % 11 {
                        0 => {
                            let reserved = match tx.try_reserve() {
                                Ok(p) => {
                                    p.send(tag(id, s));
                                    true
                                }
                                Err(_) => false,
                            };
                            if !reserved {
                                tx.try_send(tag(id, s)).unwrap();
                            }
                            s += 1;
                        }
                        5 => {
                            // Under `Overflow` a batch takes every value.
                            let end = (s + 5).min(n);
                            let mut batch: Vec<u64> = (s..end).map(|s| tag(id, s)).collect();
                            assert_eq!(tx.try_send_batch(&mut batch), Ok((end - s) as usize));
                            assert!(batch.is_empty());
                            s = end;
                        }
                        8 => {
                            // And a waiting batch send never waits.
                            let end = (s + 3).min(n);
                            tx.send_batch_blocking((s..end).map(|s| tag(id, s)))
                                .unwrap();
                            s = end;
                        }
                        _ => {
                            tx.try_send(tag(id, s)).unwrap();
                            s += 1;
                        }
                    }
                }
            }

            /// Receives with `try_recv` in a loop (no parking): the receive that races a
            /// producer's spill most often.
            fn consume_try(mut rx: Rx<u64>, _: usize, sink: &mut dyn FnMut(u64)) {
                loop {
                    match rx.try_recv() {
                        Ok(v) => sink(v),
                        Err(TryRecvError::Empty) => thread::yield_now(),
                        Err(TryRecvError::Closed) => break,
                    }
                }
            }

            /// `Overflow` at capacity 1: values move between the ring and the spill all the
            /// time, and every consumer must still see each producer's values in order
            /// (`Track::see`), exactly once.
            fn overflow_order(total: u64) {
                let (txs, rxs) = channel(1, Policy::Overflow);
                let name = concat!(stringify!($mode), "::overflow_order");
                stress(
                    name,
                    txs,
                    rxs,
                    total / P as u64,
                    produce_overflow,
                    |rx, id, sink| match id % 3 {
                        0 => consume_try(rx, id, sink),
                        1 => consume_blocking(rx, id, sink),
                        _ => consume_batch(rx, id, sink),
                    },
                );
            }

            #[test]
            fn overflow_order_cap1() {
                overflow_order(SMALL);
            }

            #[test]
            #[ignore = "long; run by cargo xtask stress"]
            fn overflow_order_cap1_1m() {
                overflow_order(LARGE);
            }

            #[test]
            fn blocking_cap4() {
                blocking(SMALL, 4);
            }

            #[test]
            fn blocking_timeout_cap64_1m() {
                blocking_timeout(LARGE, 64);
            }

            #[test]
            fn async_cap4() {
                asynchronous(SMALL, 4);
            }

            #[test]
            fn mixed_cap64_1m() {
                mixed(LARGE, 64);
            }

            #[test]
            fn batch_cap64_1m() {
                batch(LARGE, 64);
            }

            #[test]
            #[ignore = "long; run by cargo xtask stress"]
            fn blocking_cap4_1m() {
                blocking(LARGE, 4);
            }

            #[test]
            #[ignore = "long; run by cargo xtask stress"]
            fn async_cap4_1m() {
                asynchronous(LARGE, 4);
            }

            /// Producers keep sending while a consumer closes the channel a quarter of the way in: every
            /// value is either received exactly once or handed back in a `SendError`, and
            /// each producer's accepted values are exactly a prefix of its sequence.
            fn close_while_sending(batched: bool) {
                let _watchdog = Watchdog::new(concat!(stringify!($mode), "::close_while_sending"));
                const PER_PRODUCER: u64 = 50_000;
                let close_after = PER_PRODUCER * P as u64 / 4;
                let (txs, rxs) = channel::<u64>(8, Policy::Block);
                let received_so_far = AtomicU64::new(0);
                let received_so_far = &received_so_far;
                let (outcomes, tracks): (Vec<(u64, u64)>, Vec<Track>) = thread::scope(|s| {
                    let producers: Vec<_> = txs
                        .into_iter()
                        .enumerate()
                        .map(|(id, mut tx)| {
                            s.spawn(move || {
                                // Returns (accepted, handed back).
                                let mut next = 0;
                                let mut k = 1;
                                while next < PER_PRODUCER {
                                    if !batched {
                                        match tx.send_blocking(tag(id, next)) {
                                            Ok(()) => next += 1,
                                            Err(SendError(v)) => {
                                                assert_eq!(v, tag(id, next));
                                                return (next, 1);
                                            }
                                        }
                                    } else {
                                        let end = (next + k).min(PER_PRODUCER);
                                        k = k % 29 + 3;
                                        let values = (next..end).map(|s| tag(id, s));
                                        match tx.send_batch_blocking(values) {
                                            Ok(()) => next = end,
                                            Err(SendError(back)) => {
                                                // The values not sent are the chunk's tail.
                                                let sent = end - back.len() as u64;
                                                let want: Vec<u64> =
                                                    (sent..end).map(|s| tag(id, s)).collect();
                                                assert_eq!(back, want);
                                                return (sent, back.len() as u64);
                                            }
                                        }
                                    }
                                }
                                (next, 0)
                            })
                        })
                        .collect();
                    let consumers: Vec<_> = rxs
                        .into_iter()
                        .map(|mut rx| {
                            s.spawn(move || {
                                let mut track = Track::new(P, PER_PRODUCER);
                                loop {
                                    match rx.recv_timeout(RECV_LIMIT) {
                                        Ok(v) => {
                                            track.see(v);
                                            // Exactly one consumer sees the total hit the mark.
                                            if received_so_far.fetch_add(1, Ordering::Relaxed) + 1
                                                == close_after
                                            {
                                                assert!(rx.close());
                                            }
                                        }
                                        Err(RecvTimeoutError::Closed) => break,
                                        Err(RecvTimeoutError::Timeout) => {
                                            panic!("no message for {RECV_LIMIT:?}")
                                        }
                                    }
                                }
                                assert!(rx.is_closed() && rx.is_empty());
                                track
                            })
                        })
                        .collect();
                    (
                        producers.into_iter().map(|h| h.join().unwrap()).collect(),
                        consumers.into_iter().map(|h| h.join().unwrap()).collect(),
                    )
                });
                let accepted: Vec<u64> = outcomes.iter().map(|o| o.0).collect();
                let handed_back: u64 = outcomes.iter().map(|o| o.1).sum();
                let received: u64 = tracks.iter().map(|t| t.count).sum();
                let attempted: u64 = accepted.iter().sum::<u64>() + handed_back;
                check_exactly_once(&tracks, &accepted);
                assert_eq!(received + handed_back, attempted);
                assert!(received >= close_after);
                assert!(
                    handed_back > 0,
                    "the close came after every send: {accepted:?}"
                );
            }

            #[test]
            fn close_while_sending_single() {
                close_while_sending(false);
            }

            #[test]
            fn close_while_sending_batched() {
                close_while_sending(true);
            }

            /// Single-threaded: overfill, receive some, send through permits (one after the
            /// close), batch, close, fail a send; then drop every handle. Every value is
            /// dropped exactly once whatever the policy (evicted, discarded, returned in an
            /// error, received, or still buffered when the channel is freed).
            #[test]
            fn drop_accounting_every_policy() {
                for policy in POLICIES {
                    for cap in [1, 4] {
                        let ledger = Ledger::new(1_000);
                        {
                            let (mut txs, mut rxs) = channel::<Tracked>(cap, policy);
                            let mut tx = txs.pop().unwrap();
                            let mut rx = rxs.pop().unwrap();
                            for _ in 0..3 * cap {
                                let _ = tx.try_send(ledger.make());
                            }
                            drop(rx.try_recv());
                            let mut items: Vec<Tracked> = (0..5).map(|_| ledger.make()).collect();
                            let _ = tx.try_send_batch(&mut items);
                            drop(items);
                            let mut out = Vec::new();
                            let _ = rx.try_recv_batch(&mut out, 2);
                            drop(out);
                            if let Ok(p) = tx.try_reserve() {
                                p.send(ledger.make());
                            }
                            while rx.len() + 1 > rx.capacity() {
                                drop(rx.try_recv().unwrap());
                            }
                            let p = tx.try_reserve().unwrap();
                            drop(p);
                            for _ in 0..2 * cap {
                                let _ = tx.try_send(ledger.make());
                            }
                            drop(rx.try_recv());
                            match tx.try_reserve() {
                                Ok(p) => {
                                    assert!(rx.close());
                                    p.send(ledger.make()); // after the close: dropped
                                }
                                Err(_) => assert!(rx.close()),
                            }
                            assert!(tx.try_send(ledger.make()).unwrap_err().is_closed());
                            let mut items: Vec<Tracked> = (0..3).map(|_| ledger.make()).collect();
                            assert!(tx.try_send_batch(&mut items).is_err());
                            assert_eq!(items.len(), 3);
                            drop(items);
                            drop((txs, rxs));
                            // `tx` and `rx` (and the values still buffered) go here.
                        }
                        ledger.check();
                    }
                }
            }

            /// Multi-threaded: producers send `Tracked` values (some through permits) under
            /// every policy while consumers receive a while and then drop their handles,
            /// closing the channel under the producers' feet.
            #[test]
            fn drop_accounting_threads_every_policy() {
                let _watchdog = Watchdog::new(concat!(stringify!($mode), "::drop_accounting"));
                const PER_PRODUCER: usize = 5_000;
                for policy in POLICIES {
                    let ledger = Ledger::new(PER_PRODUCER * P + 16);
                    let (txs, rxs) = channel::<Tracked>(4, policy);
                    thread::scope(|s| {
                        for mut tx in txs {
                            let ledger = &ledger;
                            s.spawn(move || {
                                for i in 0..PER_PRODUCER {
                                    let v = ledger.make();
                                    if i % 5 == 0 {
                                        let closed = match tx.try_reserve() {
                                            Ok(p) => {
                                                p.send(v);
                                                continue;
                                            }
                                            Err(e) => e == TryReserveError::Closed,
                                        };
                                        if closed {
                                            break;
                                        }
                                    }
                                    if tx.send_blocking(v).is_err() {
                                        break;
                                    }
                                }
                            });
                        }
                        for (id, mut rx) in rxs.into_iter().enumerate() {
                            s.spawn(move || {
                                let quota = 1_000 + 500 * id;
                                for _ in 0..quota {
                                    match rx.recv_timeout(RECV_LIMIT) {
                                        Ok(v) => drop(v),
                                        Err(RecvTimeoutError::Closed) => break,
                                        Err(RecvTimeoutError::Timeout) => {
                                            panic!("no message for {RECV_LIMIT:?}")
                                        }
                                    }
                                }
                                // Dropping the last receiver closes the channel.
                            });
                        }
                    });
                    // Every handle is gone: the channel and its buffered values are freed.
                    ledger.check();
                }
            }
        }
    };
}

mode_tests!(spsc, producers: 1, single, consumers: 1, single);
mode_tests!(mpsc, producers: 3, multi, consumers: 1, single);
mode_tests!(spmc, producers: 1, single, consumers: 3, multi);
mode_tests!(mpmc, producers: 3, multi, consumers: 3, multi);
