//! Ping-pong round-trip latency between two threads over a pair of channels, blocking API
//! (rtrb: spin-then-yield with crossbeam's `Backoff`, as it has no blocking side). One round trip = one op.

use std::time::{Duration, Instant};

use crossbeam_utils::Backoff;

use crate::harness::{Contender, NS_PER_OP, Params, Workload, ns_per_op};

/// Capacity of both channels (one message is in flight at a time).
const CAP: usize = 16;
/// At most this many round trips per repetition (÷2 with `--quick`)...
const MAX_ROUNDS: u64 = 200_000;
/// ...and at most about this long (÷2 with `--quick`): parking peers take ~40 µs a round trip.
const BUDGET: Duration = Duration::from_millis(800);

/// The workload.
pub fn workload() -> Workload {
    Workload {
        group: "channels",
        name: "pingpong_rtt_blocking",
        unit: NS_PER_OP,
        higher_is_better: false,
        note: "round trip main -> echo thread -> main over two channels, blocking send/recv \
               (rtrb: spin then yield); up to 200k rounds or 0.8 s",
        contenders: vec![
            Contender {
                name: "nimsync",
                run: nimsync,
            },
            Contender {
                name: "rtrb",
                run: rtrb,
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

/// Calls `round(i)` (one round trip that must echo `i`) until the round or time budget is
/// spent, returns ns per round trip.
#[inline(always)]
fn drive(p: &Params, mut round: impl FnMut(u64) -> u64) -> f64 {
    let max = p.count(MAX_ROUNDS);
    let budget = p.budget(BUDGET);
    let start = Instant::now();
    let mut i = 0;
    while i < max {
        assert_eq!(round(i), i, "echo mismatch");
        i += 1;
        if i % 128 == 0 && start.elapsed() > budget {
            break;
        }
    }
    ns_per_op(i, start.elapsed())
}

fn nimsync(p: &Params) -> f64 {
    let (mut ping_tx, mut ping_rx) = nimsync_core_channels::spsc::<u64>(CAP);
    let (mut pong_tx, mut pong_rx) = nimsync_core_channels::spsc::<u64>(CAP);
    std::thread::scope(|s| {
        s.spawn(move || {
            while let Ok(v) = ping_rx.recv_blocking() {
                if pong_tx.send_blocking(v).is_err() {
                    break;
                }
            }
        });
        let ns = drive(p, |i| {
            assert!(ping_tx.send_blocking(i).is_ok());
            pong_rx
                .recv_blocking()
                .unwrap_or_else(|_| panic!("echo thread gone"))
        });
        drop(ping_tx);
        ns
    })
}

fn rtrb(p: &Params) -> f64 {
    let (mut ping_tx, mut ping_rx) = rtrb::RingBuffer::<u64>::new(CAP);
    let (mut pong_tx, mut pong_rx) = rtrb::RingBuffer::<u64>::new(CAP);
    std::thread::scope(|s| {
        s.spawn(move || {
            let backoff = Backoff::new();
            loop {
                match ping_rx.pop() {
                    Ok(v) => {
                        pong_tx.push(v).unwrap();
                        backoff.reset();
                    }
                    Err(_) if ping_rx.is_abandoned() => break,
                    Err(_) => backoff.snooze(),
                }
            }
        });
        let ns = drive(p, |i| {
            ping_tx.push(i).unwrap();
            let backoff = Backoff::new();
            loop {
                match pong_rx.pop() {
                    Ok(v) => break v,
                    Err(_) => backoff.snooze(),
                }
            }
        });
        drop(ping_tx);
        ns
    })
}

fn crossbeam(p: &Params) -> f64 {
    let (ping_tx, ping_rx) = crossbeam_channel::bounded::<u64>(CAP);
    let (pong_tx, pong_rx) = crossbeam_channel::bounded::<u64>(CAP);
    std::thread::scope(|s| {
        s.spawn(move || {
            for v in ping_rx {
                pong_tx.send(v).unwrap();
            }
        });
        let ns = drive(p, |i| {
            ping_tx.send(i).unwrap();
            pong_rx.recv().unwrap()
        });
        drop(ping_tx);
        ns
    })
}

fn flume(p: &Params) -> f64 {
    let (ping_tx, ping_rx) = flume::bounded::<u64>(CAP);
    let (pong_tx, pong_rx) = flume::bounded::<u64>(CAP);
    std::thread::scope(|s| {
        s.spawn(move || {
            for v in ping_rx {
                pong_tx.send(v).unwrap();
            }
        });
        let ns = drive(p, |i| {
            ping_tx.send(i).unwrap();
            pong_rx.recv().unwrap()
        });
        drop(ping_tx);
        ns
    })
}

fn kanal(p: &Params) -> f64 {
    let (ping_tx, ping_rx) = kanal::bounded::<u64>(CAP);
    let (pong_tx, pong_rx) = kanal::bounded::<u64>(CAP);
    std::thread::scope(|s| {
        s.spawn(move || {
            while let Ok(v) = ping_rx.recv() {
                pong_tx.send(v).unwrap();
            }
        });
        let ns = drive(p, |i| {
            ping_tx.send(i).unwrap();
            pong_rx.recv().unwrap()
        });
        drop(ping_tx);
        ns
    })
}

fn std_sync(p: &Params) -> f64 {
    let (ping_tx, ping_rx) = std::sync::mpsc::sync_channel::<u64>(CAP);
    let (pong_tx, pong_rx) = std::sync::mpsc::sync_channel::<u64>(CAP);
    std::thread::scope(|s| {
        s.spawn(move || {
            for v in ping_rx {
                pong_tx.send(v).unwrap();
            }
        });
        let ns = drive(p, |i| {
            ping_tx.send(i).unwrap();
            pong_rx.recv().unwrap()
        });
        drop(ping_tx);
        ns
    })
}

fn crossfire(p: &Params) -> f64 {
    let (ping_tx, ping_rx) = crossfire::spsc::bounded_blocking::<u64>(CAP);
    let (pong_tx, pong_rx) = crossfire::spsc::bounded_blocking::<u64>(CAP);
    std::thread::scope(|s| {
        s.spawn(move || {
            while let Ok(v) = ping_rx.recv() {
                pong_tx.send(v).unwrap();
            }
        });
        let ns = drive(p, |i| {
            ping_tx.send(i).unwrap();
            pong_rx.recv().unwrap()
        });
        drop(ping_tx);
        ns
    })
}
