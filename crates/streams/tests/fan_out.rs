//! `fan_out` and `broadcast` across threads: every item delivered exactly once (fan-out) or
//! to everyone (broadcast), and the broadcast buffer never exceeds its capacity.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_core::Stream;
use futures_executor::block_on;
use nimsync_streams::{StreamExt, iter};

#[test]
fn fan_out_delivers_every_item_exactly_once_across_threads() {
    const N: u64 = 50_000;
    let consumers = iter(0..N).fan_out(3);
    let handles: Vec<_> = consumers
        .into_iter()
        .map(|c| std::thread::spawn(move || block_on(c.collect_vec())))
        .collect();
    let mut all: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..N).collect::<Vec<_>>());
}

#[test]
fn fan_out_over_a_channel_wakes_waiting_consumers() {
    let (tx, rx) = nimsync_core_channels::mpmc::<u32>(4);
    let consumers = rx.fan_out(2);
    let handles: Vec<_> = consumers
        .into_iter()
        .map(|c| std::thread::spawn(move || block_on(c.collect_vec()).len()))
        .collect();
    for i in 0..1000 {
        tx.send_blocking(i).unwrap();
    }
    drop(tx);
    let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(total, 1000);
}

#[test]
fn broadcast_gives_everyone_everything_and_stays_within_capacity() {
    const N: u32 = 20_000;
    const CAP: usize = 8;
    let peak = Arc::new(AtomicUsize::new(0));
    let subs = iter(0..N).broadcast(3, CAP);
    let handles: Vec<_> = subs
        .into_iter()
        .enumerate()
        .map(|(k, mut s)| {
            let peak = peak.clone();
            std::thread::spawn(move || {
                block_on(async {
                    let mut got = Vec::new();
                    while let Some(x) = s.next().await {
                        peak.fetch_max(s.buffered_len(), Ordering::Relaxed);
                        if k == 0 && x % 64 == 0 {
                            std::thread::yield_now(); // a slower consumer
                        }
                        got.push(x);
                    }
                    got
                })
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), (0..N).collect::<Vec<_>>());
    }
    let peak = peak.load(Ordering::Relaxed);
    assert!(peak <= CAP, "buffer held {peak} > {CAP}");
}

#[test]
fn broadcast_slowest_consumer_sets_the_pace() {
    let pulled = Arc::new(AtomicUsize::new(0));
    let p = pulled.clone();
    let source = iter(0..100u32).map(move |x| {
        p.fetch_add(1, Ordering::SeqCst);
        x
    });
    let mut subs = source.broadcast(2, 4);
    let (_slow, mut fast) = (subs.remove(0), subs.remove(0));
    block_on(async {
        for i in 0..4 {
            assert_eq!(fast.next().await, Some(i));
        }
    });
    // The slow consumer has read nothing: the fast one cannot get a fifth item.
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let fifth = std::pin::Pin::new(&mut fast).poll_next(&mut cx);
    assert!(fifth.is_pending());
    assert_eq!(pulled.load(Ordering::SeqCst), 4);
    // Dropping the slow consumer frees the fast one.
    drop(_slow);
    assert_eq!(block_on(fast.next()), Some(4));
}
