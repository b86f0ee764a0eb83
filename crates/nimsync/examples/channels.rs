//! The channel layer: an SPSC pipeline between two threads, an MPMC work queue shared by
//! async tasks, and `Select` waiting on two channels at once.
//!
//! `cargo run -p nimsync --example channels`

use nimsync::channels::{Select, TryRecvError};
use nimsync::prelude::*;

/// SPSC: one producer thread, one consumer thread, blocking calls, close by dropping.
fn spsc_pipeline() -> u64 {
    let (mut tx, mut rx) = spsc::<u64>(1024);
    let producer = std::thread::spawn(move || {
        for i in 1..=100_000 {
            tx.send_blocking(i).expect("the consumer is alive");
        }
        // Dropping the only sender closes the channel: the consumer drains and stops.
    });
    let mut sum = 0;
    while let Ok(v) = rx.recv_blocking() {
        sum += v;
    }
    producer.join().expect("the producer does not panic");
    sum
}

/// MPMC: three async producers and two async consumers on the runtime's workers.
async fn mpmc_work_queue() -> (usize, u64) {
    let (tx, rx) = mpmc::<u64>(64);
    let producers: Vec<_> = (0..3u64)
        .map(|p| {
            let tx = tx.clone();
            spawn(async move {
                for i in 0..1_000 {
                    tx.send(p * 1_000 + i).await.expect("a consumer is alive");
                }
            })
        })
        .collect();
    drop(tx);
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let rx = rx.clone();
            spawn(async move {
                let (mut count, mut sum) = (0usize, 0u64);
                while let Ok(v) = rx.recv().await {
                    count += 1;
                    sum += v;
                }
                (count, sum)
            })
        })
        .collect();
    for p in producers {
        p.await.expect("the producer does not panic");
    }
    let (mut count, mut sum) = (0, 0);
    for c in consumers {
        let (n, s) = c.await.expect("the consumer does not panic");
        count += n;
        sum += s;
    }
    (count, sum)
}

/// Select: wait on a data channel and a control channel, whichever is ready first.
fn select_two_channels() -> Vec<String> {
    let (data_tx, data_rx) = mpmc::<u32>(8);
    let (mut stop_tx, mut stop_rx) = spsc::<()>(1);
    let sender = std::thread::spawn(move || {
        for i in 0..5 {
            data_tx.send_blocking(i).expect("the receiver is alive");
        }
        stop_tx.send_blocking(()).expect("the receiver is alive");
    });
    let mut log = Vec::new();
    let mut select = Select::new();
    let data = select.recv(&data_rx);
    let stop = select.recv(&stop_rx);
    loop {
        let ready = select.ready();
        if ready == data {
            match data_rx.try_recv() {
                Ok(v) => log.push(format!("data {v}")),
                // Another consumer could have taken it (none here): select again.
                Err(TryRecvError::Empty) => continue,
                // The sender is gone, so its stop signal was sent: the stop arm is ready.
                Err(TryRecvError::Closed) => select_stop(&mut stop_rx, &mut log),
            }
        } else if ready == stop {
            // The data channel may still hold values sent before the stop signal: drain it.
            while let Ok(v) = data_rx.try_recv() {
                log.push(format!("data {v}"));
            }
            select_stop(&mut stop_rx, &mut log);
        }
        if log.last().is_some_and(|l| l == "stop") {
            break;
        }
    }
    sender.join().expect("the sender does not panic");
    log
}

/// Takes the stop signal and logs it.
fn select_stop(stop_rx: &mut nimsync::channels::spsc::Receiver<()>, log: &mut Vec<String>) {
    stop_rx.try_recv().expect("the stop signal is there");
    log.push("stop".to_string());
}

fn main() {
    let sum = spsc_pipeline();
    println!("spsc: summed 100000 values across threads: {sum}");
    assert_eq!(sum, 100_000 * 100_001 / 2);

    let (count, sum) = block_on(mpmc_work_queue());
    println!("mpmc: 3 producers -> 2 consumers moved {count} values (sum {sum})");
    assert_eq!(count, 3_000);
    assert_eq!(sum, (0..3_000u64).sum::<u64>());

    let log = select_two_channels();
    println!("select: {}", log.join(", "));
    assert_eq!(log.len(), 6);
    assert_eq!(log.last().map(String::as_str), Some("stop"));
}
