//! Long stress tests (`cargo test -p nimsync-scheduler --release -- --ignored`): many
//! runtimes, spawn storms, aborts and shutdowns, counting every future's drop.
#![cfg(not(nimsync_loom))]

use nimsync_scheduler::{Runtime, sleep, spawn, yield_now};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
#[ignore = "stress: run with --ignored --release"]
fn churn_spawn_abort_shutdown_counts_every_drop() {
    for round in 0..200 {
        let rt = Runtime::builder().workers(1 + round % 4).build().unwrap();
        let drops = Arc::new(AtomicUsize::new(0));
        let created = 2000;
        rt.block_on(async {
            let mut hs = Vec::new();
            for i in 0..created {
                let c = Counted(drops.clone());
                hs.push(spawn(async move {
                    let _c = c;
                    match i % 4 {
                        0 => yield_now().await,
                        1 => sleep(Duration::from_millis(1)).await,
                        2 => std::future::pending::<()>().await,
                        _ => {
                            let inner = spawn(async { yield_now().await });
                            let _ = inner.await;
                        }
                    }
                }));
            }
            for (i, h) in hs.iter().enumerate() {
                if i % 7 == 0 {
                    h.abort();
                }
            }
            for _ in 0..100 {
                yield_now().await;
            }
        });
        drop(rt);
        assert_eq!(drops.load(Ordering::SeqCst), created, "round {round}");
    }
}

#[test]
#[ignore = "stress: run with --ignored --release"]
fn million_tasks_across_workers() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let n = rt.block_on(async {
        let hs: Vec<_> = (0..1_000_000u64)
            .map(|i| spawn(async move { i & 1 }))
            .collect();
        let mut n = 0;
        for h in hs {
            n += h.await.unwrap();
        }
        n
    });
    assert_eq!(n, 500_000);
}
