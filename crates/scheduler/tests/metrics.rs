//! Metrics snapshot tests.
#![cfg(not(nimsync_loom))]

use nimsync_scheduler::{Runtime, spawn, yield_now};

#[test]
fn counts_spawns_completions_polls_and_parks() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    rt.block_on(async {
        let hs: Vec<_> = (0..500)
            .map(|_| {
                spawn(async {
                    yield_now().await;
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    let m = rt.metrics();
    assert_eq!(m.spawned, 500);
    assert_eq!(m.completed, 500);
    assert_eq!(m.alive, 0);
    assert!(m.total_polls() >= 1000, "{m:?}");
    // Idle workers park eventually (bounded wait).
    let limit = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while rt.metrics().workers.iter().map(|w| w.parks).sum::<u64>() == 0 {
        assert!(std::time::Instant::now() < limit, "workers never parked");
        std::thread::yield_now();
    }
    let imb = m.load_imbalance();
    assert!((0.0..=1.0).contains(&imb), "{imb}");
}

#[test]
fn alive_tasks_and_injector_depth() {
    let rt = Runtime::current_thread();
    // No block_on runs, so remote spawns wait in the injector.
    let hs: Vec<_> = (0..10).map(|_| rt.spawn(async {})).collect();
    let m = rt.metrics();
    assert_eq!(m.injector_depth, 10);
    assert_eq!(m.alive, 10);
    rt.block_on(async {
        for h in hs {
            h.await.unwrap();
        }
    });
    let m = rt.metrics();
    assert_eq!(m.injector_depth, 0);
    assert_eq!(m.alive, 0);
}

#[test]
fn local_queue_overflow_spills_to_injector() {
    let rt = Runtime::builder()
        .workers(1)
        .local_queue_capacity(8)
        .build()
        .unwrap();
    rt.block_on(async {
        spawn(async {
            let hs: Vec<_> = (0..100).map(|_| spawn(async {})).collect();
            for h in hs {
                h.await.unwrap();
            }
        })
        .await
        .unwrap();
    });
    let m = rt.metrics();
    assert!(m.workers[0].overflows > 0, "{m:?}");
}
