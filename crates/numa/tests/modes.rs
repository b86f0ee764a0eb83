//! NumaLocalChannel in every core-channels mode: exactly-once delivery across shards (values
//! counted; per-producer order where it is promised), replication on the multi-consumer
//! modes, and one node behaving exactly like a plain channel of the same mode.

use nimsync_core_channels::{Builder, Policy, TryRecvError};
use nimsync_numa::{Mode, Mpmc, Mpsc, NumaLocalChannel, Spmc, Spsc, Topology};

fn four_nodes() -> Topology {
    Topology::uniform(4, 1).unwrap()
}

/// Every value 0..total seen exactly once.
fn assert_exactly_once(mut got: Vec<u64>, total: u64) {
    got.sort_unstable();
    assert_eq!(got.len() as u64, total, "count");
    for (i, v) in got.into_iter().enumerate() {
        assert_eq!(v, i as u64, "value {i} missing or duplicated");
    }
}

/// Values of producer `p` are `p * per + i`; each producer's must arrive in order.
fn assert_per_producer_fifo(got: &[u64], per: u64) {
    let mut next = std::collections::HashMap::new();
    for &v in got {
        let (p, i) = (v / per, v % per);
        let expected = next.entry(p).or_insert(0);
        assert_eq!(i, *expected, "producer {p} out of order");
        *expected += 1;
    }
}

fn mpsc_many_bound_producers_one_receiver(async_receiver: bool) {
    const PER: u64 = 20_000;
    let (tx, mut rx) = NumaLocalChannel::<u64>::mpsc(&four_nodes(), 64).unwrap();
    // The one receiver lives on node 0: shards 1..4 are drained remotely.
    rx.set_node(Some(0)).unwrap();
    let producers: Vec<_> = (0..4u64)
        .map(|p| {
            let tx = tx.on_node(p as usize).unwrap();
            std::thread::spawn(move || {
                for i in 0..PER {
                    tx.send_blocking(p * PER + i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let mut got = Vec::new();
    if async_receiver {
        futures_executor::block_on(async {
            while let Ok(v) = rx.recv().await {
                got.push(v);
            }
        });
    } else {
        while let Ok(v) = rx.recv_blocking() {
            got.push(v);
        }
    }
    for p in producers {
        p.join().unwrap();
    }
    assert_per_producer_fifo(&got, PER); // bound producers: FIFO per producer
    assert_exactly_once(got, 4 * PER);
    let s = rx.stats();
    assert_eq!((s.local_receives, s.remote_receives), (PER, 3 * PER));
}

#[test]
fn mpsc_exactly_once_and_fifo_per_bound_producer_blocking() {
    mpsc_many_bound_producers_one_receiver(false);
}

#[test]
fn mpsc_exactly_once_and_fifo_per_bound_producer_async() {
    mpsc_many_bound_producers_one_receiver(true);
}

#[test]
fn spmc_one_moving_producer_many_receivers() {
    const TOTAL: u64 = 60_000;
    let (mut tx, rx) = NumaLocalChannel::<u64>::spmc(&four_nodes(), 64).unwrap();
    let receivers: Vec<_> = [0usize, 3, 0]
        .into_iter()
        .enumerate()
        .map(|(k, node)| {
            let rx = rx.on_node(node).unwrap();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                if k == 1 {
                    futures_executor::block_on(async {
                        while let Ok(v) = rx.recv().await {
                            got.push(v);
                        }
                    });
                } else {
                    while let Ok(v) = rx.recv_blocking() {
                        got.push(v);
                    }
                }
                got
            })
        })
        .collect();
    drop(rx);
    // The single producer moves over every node (shards 1 and 2 have no local receiver).
    for i in 0..TOTAL {
        if i % 97 == 0 {
            tx.set_node(Some((i / 97 % 4) as usize)).unwrap();
        }
        tx.send_blocking(i).unwrap();
    }
    let stats = tx.stats();
    drop(tx);
    let all: Vec<u64> = receivers
        .into_iter()
        .flat_map(|r| r.join().unwrap())
        .collect();
    assert_exactly_once(all, TOTAL);
    assert!(stats.nodes.iter().all(|n| n.sent > 0), "{stats:?}");
}

#[test]
fn spsc_exactly_once_with_a_moving_producer() {
    const TOTAL: u64 = 60_000;
    let (mut tx, mut rx) = NumaLocalChannel::<u64>::spsc(&four_nodes(), 32).unwrap();
    rx.set_node(Some(3)).unwrap();
    let producer = std::thread::spawn(move || {
        for i in 0..TOTAL {
            if i % 101 == 0 {
                tx.set_node(Some((i / 101 % 4) as usize)).unwrap();
            }
            futures_executor::block_on(tx.send(i)).unwrap();
        }
    });
    let got: Vec<u64> = std::iter::from_fn(|| rx.recv_blocking().ok()).collect();
    producer.join().unwrap();
    assert_exactly_once(got, TOTAL);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn spsc_keeps_fifo_while_the_producer_stays_on_one_node() {
    const TOTAL: u64 = 50_000;
    let (mut tx, mut rx) = NumaLocalChannel::<u64>::spsc(&four_nodes(), 16).unwrap();
    tx.set_node(Some(2)).unwrap();
    rx.set_node(Some(0)).unwrap(); // every receive is remote
    let producer = std::thread::spawn(move || {
        for i in 0..TOTAL {
            tx.send_blocking(i).unwrap();
        }
    });
    let got: Vec<u64> = std::iter::from_fn(|| rx.recv_blocking().ok()).collect();
    producer.join().unwrap();
    assert_eq!(got, (0..TOTAL).collect::<Vec<_>>());
    assert_eq!(rx.stats().remote_receives, TOTAL);
}

#[test]
fn spmc_replicated_delivers_once_per_node() {
    let topo = Topology::uniform(3, 1).unwrap();
    let (mut tx, rx) = NumaLocalChannel::<u32>::builder(&topo)
        .mode::<Spmc>()
        .capacity(4)
        .replicated()
        .unwrap();
    let receivers: Vec<_> = (0..3)
        .map(|node| {
            let rx = rx.on_node(node).unwrap();
            std::thread::spawn(move || std::iter::from_fn(|| rx.recv_blocking().ok()).collect())
        })
        .collect();
    drop(rx);
    for i in 0..10_000 {
        tx.send_blocking(i).unwrap();
    }
    drop(tx);
    for r in receivers {
        let got: Vec<u32> = r.join().unwrap();
        assert_eq!(got, (0..10_000).collect::<Vec<_>>());
    }
}

/// A tiny deterministic generator (no dependency).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

/// Random operations on a one-node NUMA channel and a plain channel of the same mode give the
/// same results, lengths, closed states and counters.
macro_rules! one_node_like_plain {
    ($name:ident, $mode:ty) => {
        #[test]
        fn $name() {
            let topo = Topology::uniform(1, 2).unwrap();
            for seed in 0..24u64 {
                let mut rng = Lcg(seed);
                let capacity = 1 + (rng.next() % 8) as usize;
                let policy = [
                    Policy::Block,
                    Policy::DropNewest,
                    Policy::DropOldest,
                    Policy::Overflow,
                ][(seed % 4) as usize];
                #[allow(unused_mut)]
                let (mut ntx, mut nrx) = NumaLocalChannel::<u64>::builder(&topo)
                    .mode::<$mode>()
                    .capacity(capacity)
                    .policy(policy)
                    .partitioned()
                    .unwrap();
                #[allow(unused_mut)]
                let (mut ptx, mut prx) = Builder::new(capacity)
                    .policy(policy)
                    .build::<u64, $mode>()
                    .unwrap();
                let ctx = format!("{} seed {seed} {policy:?}", <$mode as Mode>::NAME);
                for step in 0..400u64 {
                    match rng.next() % 10 {
                        0..=4 => assert_eq!(ntx.try_send(step), ptx.try_send(step), "{ctx}"),
                        5..=7 => assert_eq!(nrx.try_recv(), prx.try_recv(), "{ctx}"),
                        8 => assert_eq!(
                            nrx.recv_timeout(std::time::Duration::ZERO),
                            prx.recv_timeout(std::time::Duration::ZERO),
                            "{ctx}"
                        ),
                        _ if step % 97 == 0 => assert_eq!(ntx.close(), ptx.close(), "{ctx}"),
                        _ => {}
                    }
                    assert_eq!(ntx.len(), ptx.len(), "{ctx}");
                    assert_eq!(ntx.is_closed(), ptx.is_closed(), "{ctx}");
                }
                let s = nrx.stats();
                let p = prx.stats();
                assert_eq!(
                    (s.nodes[0].sent, s.nodes[0].received, s.nodes[0].dropped),
                    (p.sent, p.received, p.dropped),
                    "{ctx}"
                );
                assert_eq!((s.remote_sends, s.remote_receives), (0, 0));
                drop((ntx, ptx));
                assert_eq!(nrx.try_recv().is_err(), prx.try_recv().is_err(), "{ctx}");
            }
        }
    };
}

one_node_like_plain!(one_node_spsc_is_a_plain_spsc_channel, Spsc);
one_node_like_plain!(one_node_mpsc_is_a_plain_mpsc_channel, Mpsc);
one_node_like_plain!(one_node_spmc_is_a_plain_spmc_channel, Spmc);
one_node_like_plain!(one_node_mpmc_is_a_plain_mpmc_channel, Mpmc);

#[test]
fn handles_report_their_mode_and_are_send() {
    fn assert_send<X: Send>(_: &X) {}
    fn assert_sync<X: Sync>(_: &X) {}
    let topo = four_nodes();
    let (tx, rx) = NumaLocalChannel::<u8>::spsc(&topo, 2).unwrap();
    assert_send(&tx);
    assert_send(&rx);
    assert!(format!("{tx:?}").contains("spsc"));
    let (tx, rx) = NumaLocalChannel::<u8>::with_mode::<Mpmc>(&topo, 2).unwrap();
    assert_sync(&tx);
    assert_sync(&rx);
    assert!(format!("{rx:?}").contains("mpmc"));
}
