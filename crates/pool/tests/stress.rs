//! Many tasks on a multi-threaded runtime check connections out and back with random
//! timeouts, aborts, panics and mid-operation cancellations; afterwards the pool is
//! full-sized, idle, and the live-connection counter matches it exactly (no leak).

mod common;

use common::TestManager;
use nimsync_pool::{Object, Pool, PoolError};
use nimsync_scheduler::{Runtime, spawn, yield_now};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Keeps the deliberate panics quiet; any other panic still prints.
fn quiet_chaos_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let chaos = info
            .payload()
            .downcast_ref::<&str>()
            .is_some_and(|m| m.starts_with("chaos"));
        if !chaos {
            default(info);
        }
    }));
}

fn run(tasks: usize, seed: u64) {
    quiet_chaos_panics();
    let rt = Runtime::builder().workers(2).build().unwrap();
    let m = TestManager::default();
    m.knobs.yield_in_create.store(true, Ordering::SeqCst);
    let max = 8;
    let completed = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let pool = Pool::builder(m.clone())
            .max_size(max)
            .min_idle(max)
            .build()
            .unwrap();
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut handles = Vec::with_capacity(tasks);
        for _ in 0..tasks {
            let pool = pool.clone();
            let completed = Arc::clone(&completed);
            let action = rng.u8(..100);
            let work = rng.usize(0..4);
            let limit = Duration::from_micros(rng.u64(50..2_000));
            handles.push(spawn(async move {
                let get = if action < 20 {
                    pool.get_timeout(limit).await
                } else {
                    pool.get().await
                };
                let mut conn = match get {
                    Ok(c) => c,
                    Err(PoolError::Timeout) => return,
                    Err(e) => panic!("unexpected {e}"),
                };
                let op = Object::operation(&mut conn);
                for _ in 0..work {
                    yield_now().await;
                }
                if action >= 95 {
                    panic!("chaos: panic mid-operation");
                }
                op.complete();
                completed.fetch_add(1, Ordering::Relaxed);
            }));
        }
        // Abort a random quarter of them (some waiting, some mid-operation, some done).
        let mut aborted = 0;
        for h in &handles {
            if rng.u8(..4) == 0 {
                h.abort();
                aborted += 1;
            }
            if rng.u8(..16) == 0 {
                yield_now().await;
            }
        }
        let (mut panics, mut cancels) = (0, 0);
        for h in handles {
            if let Err(e) = h.await {
                if e.is_panic() {
                    panics += 1;
                } else {
                    cancels += 1;
                }
            }
        }
        assert!(cancels <= aborted);
        let st = pool.status();
        assert_eq!((st.in_use, st.waiters), (0, 0), "{st:?}");
        assert!(st.size <= max);
        assert_eq!(
            m.live() as usize,
            st.size,
            "live connections == pool size: {st:?}"
        );
        assert_eq!(st.idle, st.size);
        assert_eq!(st.created - st.destroyed, st.size as u64);
        // Refill to full size; every connection accounted for.
        pool.maintain().await;
        let st = pool.status();
        assert_eq!((st.size, st.idle), (max, max), "{st:?}");
        assert_eq!(m.live() as usize, max);
        eprintln!(
            "stress {tasks}: completed {}, panics {panics}, cancelled {cancels}, {st:?}",
            completed.load(Ordering::Relaxed)
        );
        drop(pool);
    });
    drop(rt);
    assert_eq!(m.live(), 0, "every connection closed with the pool");
}

#[test]
fn stress_2000_tasks_random_cancel_and_panic() {
    for seed in 1..=3 {
        run(2_000, seed);
    }
}

#[test]
#[ignore = "long: 100 000 tasks"]
fn stress_100k_tasks() {
    run(100_000, 42);
}
