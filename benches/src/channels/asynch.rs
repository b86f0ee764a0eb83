//! Async SPSC and MPSC 2 -> 1, u64, capacity 1024, every channel driven by the same executor:
//! a tokio multi-thread runtime with 2 workers (nimsync's channels work on any executor).

use std::future::Future;
use std::time::Instant;

use super::{CAP, expected_sum, part, runtime};
use crate::harness::{Contender, MMSG_PER_S, Params, Workload, mmsg_per_s};

/// Messages per repetition (÷2 with `--quick`).
const MSGS: u64 = 5_000_000;

/// Async SPSC.
pub fn spsc_workload() -> Workload {
    Workload {
        group: "channels",
        name: "async_spsc_u64",
        unit: MMSG_PER_S,
        higher_is_better: true,
        note: "1 producer task -> 1 consumer task on tokio multi-thread (2 workers), u64, cap 1024, \
               send().await / recv().await",
        contenders: vec![
            Contender {
                name: "nimsync",
                run: nimsync_spsc,
            },
            Contender {
                name: "tokio",
                run: tokio_spsc,
            },
            Contender {
                name: "async-channel",
                run: async_channel_spsc,
            },
            Contender {
                name: "kanal",
                run: kanal_spsc,
            },
            Contender {
                name: "flume",
                run: flume_spsc,
            },
            Contender {
                name: "crossfire",
                run: crossfire_spsc,
            },
        ],
    }
}

/// Async MPSC 2 -> 1.
pub fn mpsc_workload() -> Workload {
    Workload {
        group: "channels",
        name: "async_mpsc_2to1_u64",
        unit: MMSG_PER_S,
        higher_is_better: true,
        note: "2 producer tasks -> 1 consumer task on tokio multi-thread (2 workers), u64, cap 1024, \
               send().await / recv().await",
        contenders: vec![
            Contender {
                name: "nimsync",
                run: nimsync_mpsc,
            },
            Contender {
                name: "tokio",
                run: tokio_mpsc,
            },
            Contender {
                name: "async-channel",
                run: async_channel_mpsc,
            },
            Contender {
                name: "kanal",
                run: kanal_mpsc,
            },
            Contender {
                name: "flume",
                run: flume_mpsc,
            },
            Contender {
                name: "crossfire",
                run: crossfire_mpsc,
            },
        ],
    }
}

/// Spawns the producer tasks and one consumer task (returning the sum it received) on the shared
/// runtime, times them from the first spawn to the last join, checks the sum, returns M msg/s.
fn run_tasks<P, C>(n: u64, producers: Vec<P>, consumer: C) -> f64
where
    P: Future<Output = ()> + Send + 'static,
    C: Future<Output = u64> + Send + 'static,
{
    let rt = runtime();
    let (elapsed, sum) = rt.block_on(async move {
        let start = Instant::now();
        let handles: Vec<_> = producers.into_iter().map(|f| rt.spawn(f)).collect();
        let consumer = rt.spawn(consumer);
        for h in handles {
            h.await.expect("producer task panicked");
        }
        let sum = consumer.await.expect("consumer task panicked");
        (start.elapsed(), sum)
    });
    assert_eq!(sum, expected_sum(n), "messages lost or duplicated");
    mmsg_per_s(n, elapsed)
}

fn nimsync_spsc(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (mut tx, mut rx) = nimsync_core_channels::spsc::<u64>(CAP);
    run_tasks(
        n,
        vec![async move {
            for i in 0..n {
                assert!(tx.send(i).await.is_ok());
            }
        }],
        async move {
            let mut sum = 0;
            while let Ok(v) = rx.recv().await {
                sum += v;
            }
            sum
        },
    )
}

fn nimsync_mpsc(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (tx, mut rx) = nimsync_core_channels::mpsc::<u64>(CAP);
    let producers = (0..2)
        .map(|k| {
            let tx = tx.clone();
            async move {
                for i in part(n, k, 2) {
                    assert!(tx.send(i).await.is_ok());
                }
            }
        })
        .collect();
    drop(tx);
    run_tasks(n, producers, async move {
        let mut sum = 0;
        while let Ok(v) = rx.recv().await {
            sum += v;
        }
        sum
    })
}

fn tokio_spsc(p: &Params) -> f64 {
    tokio_run(p.count(MSGS), 1)
}

fn tokio_mpsc(p: &Params) -> f64 {
    tokio_run(p.count(MSGS), 2)
}

fn tokio_run(n: u64, producers: u64) -> f64 {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(CAP);
    let ps = (0..producers)
        .map(|k| {
            let tx = tx.clone();
            async move {
                for i in part(n, k, producers) {
                    tx.send(i).await.unwrap();
                }
            }
        })
        .collect();
    drop(tx);
    run_tasks(n, ps, async move {
        let mut sum = 0;
        while let Some(v) = rx.recv().await {
            sum += v;
        }
        sum
    })
}

fn async_channel_spsc(p: &Params) -> f64 {
    async_channel_run(p.count(MSGS), 1)
}

fn async_channel_mpsc(p: &Params) -> f64 {
    async_channel_run(p.count(MSGS), 2)
}

fn async_channel_run(n: u64, producers: u64) -> f64 {
    let (tx, rx) = async_channel::bounded::<u64>(CAP);
    let ps = (0..producers)
        .map(|k| {
            let tx = tx.clone();
            async move {
                for i in part(n, k, producers) {
                    tx.send(i).await.unwrap();
                }
            }
        })
        .collect();
    drop(tx);
    run_tasks(n, ps, async move {
        let mut sum = 0;
        while let Ok(v) = rx.recv().await {
            sum += v;
        }
        sum
    })
}

fn kanal_spsc(p: &Params) -> f64 {
    kanal_run(p.count(MSGS), 1)
}

fn kanal_mpsc(p: &Params) -> f64 {
    kanal_run(p.count(MSGS), 2)
}

fn kanal_run(n: u64, producers: u64) -> f64 {
    let (tx, rx) = kanal::bounded_async::<u64>(CAP);
    let ps = (0..producers)
        .map(|k| {
            let tx = tx.clone();
            async move {
                for i in part(n, k, producers) {
                    tx.send(i).await.unwrap();
                }
            }
        })
        .collect();
    drop(tx);
    run_tasks(n, ps, async move {
        let mut sum = 0;
        while let Ok(v) = rx.recv().await {
            sum += v;
        }
        sum
    })
}

fn flume_spsc(p: &Params) -> f64 {
    flume_run(p.count(MSGS), 1)
}

fn flume_mpsc(p: &Params) -> f64 {
    flume_run(p.count(MSGS), 2)
}

fn flume_run(n: u64, producers: u64) -> f64 {
    let (tx, rx) = flume::bounded::<u64>(CAP);
    let ps = (0..producers)
        .map(|k| {
            let tx = tx.clone();
            async move {
                for i in part(n, k, producers) {
                    tx.send_async(i).await.unwrap();
                }
            }
        })
        .collect();
    drop(tx);
    run_tasks(n, ps, async move {
        let mut sum = 0;
        while let Ok(v) = rx.recv_async().await {
            sum += v;
        }
        sum
    })
}

fn crossfire_spsc(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (tx, rx) = crossfire::spsc::bounded_async::<u64>(CAP);
    run_tasks(
        n,
        vec![async move {
            for i in 0..n {
                tx.send(i).await.unwrap();
            }
        }],
        async move {
            let mut sum = 0;
            while let Ok(v) = rx.recv().await {
                sum += v;
            }
            sum
        },
    )
}

fn crossfire_mpsc(p: &Params) -> f64 {
    let n = p.count(MSGS);
    let (tx, rx) = crossfire::mpsc::bounded_async::<u64>(CAP);
    let producers = (0..2)
        .map(|k| {
            let tx = tx.clone();
            async move {
                for i in part(n, k, 2) {
                    tx.send(i).await.unwrap();
                }
            }
        })
        .collect();
    drop(tx);
    run_tasks(n, producers, async move {
        let mut sum = 0;
        while let Ok(v) = rx.recv().await {
            sum += v;
        }
        sum
    })
}
