//! NumaLocalChannel: exactly-once delivery across shards (blocking and async), no lost
//! wake-up when a value lands on a remote shard, nothing stranded, replication, stats, and
//! plain-channel behaviour on one node.

use nimsync_core_channels::{TryRecvError, TrySendError, mpmc};
use nimsync_numa::{NumaLocalChannel, Strategy, Topology, set_thread_node};
use std::sync::{Arc, Barrier};
use std::time::Duration;

/// Long enough that only a lost wake-up (a bug) reaches it.
const HANG: Duration = Duration::from_secs(20);

fn four_nodes() -> Topology {
    Topology::builder()
        .node(0, 0..2)
        .node(1, 2..4)
        .node(2, 4..6)
        .node(3, 6..8)
        .distances(vec![
            vec![10, 16, 22, 30],
            vec![17, 10, 30, 22],
            vec![22, 31, 10, 16],
            vec![32, 22, 16, 10],
        ])
        .build()
        .unwrap()
}

/// Every value 0..total seen exactly once.
fn assert_exactly_once(mut got: Vec<u64>, total: u64) {
    got.sort_unstable();
    assert_eq!(got.len() as u64, total, "count");
    for (i, v) in got.into_iter().enumerate() {
        assert_eq!(v, i as u64, "value {i} missing or duplicated");
    }
}

fn stress(async_receivers: bool, per_producer: u64) {
    let topo = four_nodes();
    let (tx, rx) = NumaLocalChannel::<u64>::partitioned(&topo, 64).unwrap();
    // Producers on nodes 0..4, receivers on nodes 0 and 3 only: shards 1 and 2 have no
    // local receiver, so their values must be fetched remotely.
    let producers: Vec<_> = (0..4u64)
        .map(|p| {
            let tx = tx.on_node(p as usize).unwrap();
            std::thread::spawn(move || {
                for i in 0..per_producer {
                    tx.send_blocking(p * per_producer + i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let receivers: Vec<_> = [0usize, 3, 0]
        .into_iter()
        .map(|node| {
            let rx = rx.on_node(node).unwrap();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                if async_receivers {
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
    for p in producers {
        p.join().unwrap();
    }
    let all: Vec<u64> = receivers
        .into_iter()
        .flat_map(|r| r.join().unwrap())
        .collect();
    assert_exactly_once(all, 4 * per_producer);
    let stats = rx.stats();
    assert_eq!(
        stats.local_receives + stats.remote_receives,
        4 * per_producer
    );
    assert!(stats.remote_receives >= 2 * per_producer, "{stats:?}");
    assert!(
        stats
            .nodes
            .iter()
            .all(|n| n.sent == per_producer && n.len == 0)
    );
}

#[test]
fn exactly_once_across_shards_blocking() {
    stress(false, 20_000);
}

#[test]
fn exactly_once_across_shards_async() {
    stress(true, 20_000);
}

#[test]
#[ignore = "soak: a few million values across four shards (run with --ignored --release)"]
fn soak_exactly_once_across_shards() {
    for round in 0..10 {
        stress(round % 2 == 1, 250_000);
    }
}

/// A receiver waiting with its own shard empty must wake for a value sent to another
/// node's shard, every time.
fn ping_remote_shard(async_receiver: bool) {
    let topo = Topology::uniform(2, 1).unwrap();
    let (tx, rx) = NumaLocalChannel::<u32>::partitioned(&topo, 4).unwrap();
    let tx1 = tx.on_node(1).unwrap();
    drop(tx);
    let rx0 = rx.on_node(0).unwrap();
    drop(rx);
    let (ack_tx, ack_rx) = std::sync::mpsc::channel();
    let receiver = std::thread::spawn(move || {
        loop {
            let got = if async_receiver {
                futures_executor::block_on(rx0.recv())
            } else {
                rx0.recv_blocking()
            };
            match got {
                Ok(v) => ack_tx.send(v).unwrap(),
                Err(_) => return,
            }
        }
    });
    for i in 0..2_000 {
        tx1.send_blocking(i).unwrap();
        let got = ack_rx
            .recv_timeout(HANG)
            .expect("receiver missed a wake-up");
        assert_eq!(got, i);
    }
    drop(tx1);
    receiver.join().unwrap();
}

#[test]
fn no_lost_wake_up_on_a_remote_shard_blocking() {
    ping_remote_shard(false);
}

#[test]
fn no_lost_wake_up_on_a_remote_shard_async() {
    ping_remote_shard(true);
}

#[test]
fn two_waiting_receivers_both_wake() {
    // Two receivers of node 0 park; two values arrive on node 1's shard: both must wake.
    let topo = Topology::uniform(2, 1).unwrap();
    let (tx, rx) = NumaLocalChannel::<u32>::partitioned(&topo, 4).unwrap();
    let barrier = Arc::new(Barrier::new(3));
    let receivers: Vec<_> = (0..2)
        .map(|_| {
            let rx = rx.on_node(0).unwrap();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                rx.recv_timeout(HANG)
            })
        })
        .collect();
    barrier.wait();
    let tx1 = tx.on_node(1).unwrap();
    tx1.send_blocking(1).unwrap();
    tx1.send_blocking(2).unwrap();
    let mut got: Vec<u32> = receivers
        .into_iter()
        .map(|r| r.join().unwrap().expect("both receivers wake"))
        .collect();
    got.sort_unstable();
    assert_eq!(got, [1, 2]);
}

#[test]
fn nothing_is_stranded_and_close_drains_every_shard() {
    let topo = four_nodes();
    let (tx, rx) = NumaLocalChannel::<u64>::partitioned(&topo, 8).unwrap();
    for node in 0..4 {
        let t = tx.on_node(node).unwrap();
        for i in 0..3 {
            t.try_send(node as u64 * 10 + i).unwrap();
        }
    }
    drop(tx); // the last sender: closed, but everything buffered is still delivered
    let rx0 = rx.on_node(0).unwrap();
    let mut got = Vec::new();
    while let Ok(v) = rx0.recv_blocking() {
        got.push(v);
    }
    // Own node first, then node 1 (16), node 2 (22), node 3 (30); FIFO within a shard.
    assert_eq!(got, [0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32]);
    assert_eq!(rx0.try_recv(), Err(TryRecvError::Closed));
    // From node 3 the order of remote shards follows node 3's row.
    assert_eq!(topo.nodes_by_distance(3).unwrap(), [3, 2, 1, 0]);
}

#[test]
fn dropping_every_receiver_closes_for_senders() {
    let topo = Topology::uniform(2, 1).unwrap();
    let (tx, rx) = NumaLocalChannel::<u8>::partitioned(&topo, 2).unwrap();
    let rx2 = rx.clone();
    drop(rx);
    assert!(!tx.is_closed());
    drop(rx2);
    assert!(tx.is_closed());
    assert_eq!(tx.try_send(1), Err(TrySendError::Closed(1)));
    assert!(tx.send_blocking(2).is_err());
}

#[test]
fn replicated_delivers_once_per_node_all_or_nothing() {
    let topo = Topology::uniform(3, 1).unwrap();
    let (tx, rx) = NumaLocalChannel::<String>::replicated(&topo, 2).unwrap();
    assert_eq!(rx.strategy(), Strategy::Replicated);
    tx.try_send("a".into()).unwrap();
    tx.try_send("b".into()).unwrap();
    // Node 2's copy of "a" is taken: nodes 0 and 1 are still full.
    let rx2 = rx.on_node(2).unwrap();
    assert_eq!(rx2.try_recv().unwrap(), "a");
    // All or nothing: no shard gets "c" while any is full.
    assert_eq!(tx.try_send("c".into()), Err(TrySendError::Full("c".into())));
    assert_eq!(tx.len(), 5);
    for node in 0..2 {
        let r = rx.on_node(node).unwrap();
        assert_eq!(r.try_recv().unwrap(), "a");
        assert_eq!(r.try_recv().unwrap(), "b");
        assert_eq!(r.try_recv(), Err(TryRecvError::Empty)); // never another node's copy
    }
    assert_eq!(rx2.try_recv().unwrap(), "b");
    let stats = tx.stats();
    assert_eq!((stats.local_sends, stats.remote_sends), (6, 0));
}

#[test]
fn replicated_applies_the_overflow_policy_per_shard() {
    use nimsync_core_channels::Policy;
    let topo = Topology::uniform(2, 1).unwrap();
    let (tx, rx) = NumaLocalChannel::<u32>::builder(&topo)
        .capacity(1)
        .policy(Policy::DropOldest)
        .replicated()
        .unwrap();
    for v in 0..3 {
        tx.try_send(v).unwrap(); // never full: each shard evicts its oldest copy
    }
    futures_executor::block_on(tx.send(3)).unwrap();
    tx.send_blocking(4).unwrap();
    for node in 0..2 {
        let r = rx.on_node(node).unwrap();
        assert_eq!(r.try_recv(), Ok(4));
        assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    }
    assert!(tx.stats().nodes.iter().all(|n| n.dropped == 4));
    tx.close();
    assert_eq!(tx.try_send(9), Err(TrySendError::Closed(9)));
}

#[test]
fn replicated_blocking_send_waits_for_every_shard() {
    let topo = Topology::uniform(2, 1).unwrap();
    let (tx, rx) = NumaLocalChannel::<u32>::replicated(&topo, 1).unwrap();
    tx.send_blocking(1).unwrap();
    let rx1 = rx.on_node(1).unwrap();
    let sender = std::thread::spawn(move || tx.send_blocking(2));
    // Node 0 drains first; the send still waits for node 1's slot.
    let rx0 = rx.on_node(0).unwrap();
    assert_eq!(rx0.recv_timeout(HANG), Ok(1));
    assert_eq!(rx1.recv_timeout(HANG), Ok(1));
    assert_eq!(rx0.recv_timeout(HANG), Ok(2));
    assert_eq!(rx1.recv_timeout(HANG), Ok(2));
    sender.join().unwrap().unwrap();
}

/// Replicated + `Block` stops when one node's shard stays full: that is the documented
/// contract (every node needs a draining receiver), and the sender names the node.
#[test]
fn replicated_block_needs_a_draining_receiver_on_every_node() {
    use nimsync_core_channels::Policy;
    let topo = Topology::uniform(2, 1).unwrap();
    let (tx, rx) = NumaLocalChannel::<u32>::replicated(&topo, 2).unwrap();
    let rx0 = rx.on_node(0).unwrap();
    drop(rx); // nobody has node 1 as home any more
    for i in 0..2 {
        tx.try_send(i).unwrap();
        assert_eq!(rx0.try_recv(), Ok(i));
    }
    // Node 1's shard is full: every send is refused, and the sender names the node.
    assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    assert_eq!(tx.full_nodes(), vec![1]);
    // A receiver on node 1 drains it: sends flow again.
    let rx1 = rx0.on_node(1).unwrap();
    assert_eq!((rx1.try_recv(), rx1.try_recv()), (Ok(0), Ok(1)));
    assert!(tx.full_nodes().is_empty());
    tx.try_send(2).unwrap();
    assert_eq!((rx0.try_recv(), rx1.try_recv()), (Ok(2), Ok(2)));

    // A non-`Block` policy never stops on an unread node.
    let (tx, rx) = NumaLocalChannel::<u32>::builder(&topo)
        .capacity(2)
        .policy(Policy::DropOldest)
        .replicated()
        .unwrap();
    let rx0 = rx.on_node(0).unwrap();
    drop(rx);
    for i in 0..10 {
        tx.try_send(i).unwrap();
        assert_eq!(rx0.try_recv(), Ok(i));
    }
    assert_eq!(tx.full_nodes(), vec![1]);
    assert_eq!(tx.stats().nodes[1].dropped, 8);
}

#[test]
fn stats_count_remote_operations() {
    let topo = Topology::uniform(2, 1).unwrap();
    let (tx, rx) = NumaLocalChannel::<u8>::partitioned(&topo, 8).unwrap();
    // This thread claims node 0: a sender bound to node 1 is remote from here.
    let previous = set_thread_node(Some(0));
    let tx1 = tx.on_node(1).unwrap();
    tx1.try_send(1).unwrap();
    tx.try_send(2).unwrap(); // follows the thread: node 0, local
    let rx0 = rx.on_node(0).unwrap();
    assert_eq!(rx0.try_recv(), Ok(2)); // local
    assert_eq!(rx0.try_recv(), Ok(1)); // remote
    set_thread_node(previous);
    let s = rx.stats();
    assert_eq!(
        (
            s.local_sends,
            s.remote_sends,
            s.local_receives,
            s.remote_receives
        ),
        (1, 1, 1, 1)
    );
    assert_eq!((s.nodes[0].sent, s.nodes[1].sent), (1, 1));
}

#[test]
fn the_thread_hint_picks_the_shard() {
    // Node 0 holds every CPU of this machine, node 1 a CPU that does not exist.
    let real = Topology::detect().unwrap().cpus();
    let topo = Topology::builder()
        .node(0, real)
        .node(1, [4096])
        .build()
        .unwrap();
    let (tx, rx) = NumaLocalChannel::<u8>::partitioned(&topo, 8).unwrap();
    let previous = set_thread_node(Some(1));
    tx.try_send(7).unwrap();
    // A hint naming a node this topology lacks is not used: the CPU decides.
    set_thread_node(Some(42));
    tx.try_send(8).unwrap();
    set_thread_node(previous);
    let sent: Vec<u64> = rx.stats().nodes.iter().map(|n| n.sent).collect();
    assert_eq!(sent, [1, 1]);
}

#[test]
fn following_sender_uses_the_node_of_its_cpu() {
    let topo = Topology::detect().unwrap();
    let (tx, rx) = NumaLocalChannel::<u8>::partitioned(&topo, 8).unwrap();
    let before = nimsync_numa::current_cpu().and_then(|c| topo.node_of_cpu(c));
    tx.try_send(1).unwrap();
    let after = nimsync_numa::current_cpu().and_then(|c| topo.node_of_cpu(c));
    if before == after
        && let Some(node) = before
    {
        let i = topo.index_of(node).unwrap();
        assert_eq!(rx.stats().nodes[i].sent, 1);
    }
    assert_eq!(rx.try_recv(), Ok(1));
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

#[test]
fn one_node_behaves_like_a_plain_channel() {
    let topo = Topology::uniform(1, 2).unwrap();
    for seed in 0..20 {
        let mut rng = Lcg(seed);
        let capacity = 1 + (rng.next() % 8) as usize;
        let (ntx, nrx) = NumaLocalChannel::<u64>::partitioned(&topo, capacity).unwrap();
        let (ptx, prx) = mpmc::<u64>(capacity);
        for step in 0..400u64 {
            match rng.next() % 10 {
                0..=4 => assert_eq!(ntx.try_send(step), ptx.try_send(step), "seed {seed}"),
                5..=8 => assert_eq!(nrx.try_recv(), prx.try_recv(), "seed {seed}"),
                _ if step % 97 == 0 => assert_eq!(ntx.close(), ptx.close(), "seed {seed}"),
                _ => {}
            }
            assert_eq!(ntx.len(), ptx.len());
            assert_eq!(ntx.is_closed(), ptx.is_closed());
        }
        let s = nrx.stats();
        assert_eq!(s.nodes[0].sent, ptx.stats().sent);
        assert_eq!(s.local_receives, prx.stats().received);
        assert_eq!((s.remote_sends, s.remote_receives), (0, 0));
    }
}

#[test]
fn futures_are_send() {
    fn assert_send<F: Send>(_: &F) {}
    let topo = Topology::uniform(2, 1).unwrap();
    let (tx, rx) = NumaLocalChannel::<u8>::partitioned(&topo, 2).unwrap();
    let send = tx.send(1);
    assert_send(&send);
    futures_executor::block_on(send).unwrap();
    let recv = rx.recv();
    assert_send(&recv);
    assert_eq!(futures_executor::block_on(recv), Ok(1));
}

#[test]
fn huge_fake_cpu_ids_are_fine() {
    let topo = Topology::builder()
        .node(0, [1 << 40])
        .node(1, [(1 << 40) + 1])
        .build()
        .unwrap();
    let (tx, rx) = NumaLocalChannel::<u8>::partitioned(&topo, 2).unwrap();
    tx.try_send(1).unwrap(); // this thread's CPU is unknown here: the first node
    assert_eq!(rx.stats().nodes[0].sent, 1);
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn unknown_nodes_are_errors() {
    let topo = Topology::uniform(2, 1).unwrap();
    let (tx, rx) = NumaLocalChannel::<u8>::partitioned(&topo, 2).unwrap();
    assert!(tx.on_node(2).is_err());
    let err = rx.on_node(5).unwrap_err();
    assert_eq!(
        err.to_string(),
        "there is no NUMA node 5 in this channel's topology"
    );
    assert!(NumaLocalChannel::<u8>::partitioned(&topo, 0).is_err());
}

#[test]
fn recv_timeout_beyond_the_clock_waits_without_a_deadline() {
    use nimsync_core_channels::RecvTimeoutError;
    let one = Topology::uniform(1, 1).unwrap();
    let two = Topology::uniform(2, 1).unwrap();
    // One node: forwarded to the plain channel.
    let (tx, rx) = NumaLocalChannel::<u8>::partitioned(&one, 4).unwrap();
    tx.try_send(1).unwrap();
    assert_eq!(rx.recv_timeout(Duration::MAX), Ok(1));
    // Several nodes: the select over every shard, woken by a send from another thread.
    let (tx, rx) = NumaLocalChannel::<u8>::partitioned(&two, 4).unwrap();
    let rx0 = rx.on_node(0).unwrap();
    let t = std::thread::spawn(move || tx.on_node(1).unwrap().send_blocking(2).unwrap());
    assert_eq!(rx0.recv_timeout(Duration::MAX), Ok(2));
    t.join().unwrap();
    assert_eq!(
        rx0.recv_timeout(Duration::MAX),
        Err(RecvTimeoutError::Closed)
    );
    // Replicated: the home shard only.
    let (tx, rx) = NumaLocalChannel::<u8>::replicated(&two, 4).unwrap();
    tx.try_send(3).unwrap();
    assert_eq!(rx.on_node(1).unwrap().recv_timeout(Duration::MAX), Ok(3));
    // A single-consumer mode (`&mut self`).
    let (tx, mut rx) = NumaLocalChannel::<u8>::mpsc(&two, 4).unwrap();
    tx.on_node(1).unwrap().try_send(4).unwrap();
    assert_eq!(rx.recv_timeout(Duration::MAX), Ok(4));
}
