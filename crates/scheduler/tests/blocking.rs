//! Blocking pool tests: results, panics, growth on demand, shrink when idle, abort before
//! start, shutdown with queued and running jobs.
#![cfg(not(nimsync_loom))]

use nimsync_scheduler::{Builder, Runtime, spawn_blocking};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::time::{Duration, Instant};

#[test]
fn returns_value_and_reports_panics() {
    let rt = Runtime::builder().workers(1).build().unwrap();
    rt.block_on(async {
        assert_eq!(spawn_blocking(|| 2 + 2).await.unwrap(), 4);
        let e = spawn_blocking(|| panic!("blocking boom"))
            .await
            .unwrap_err();
        assert_eq!(e.panic_message(), Some("blocking boom"));
    });
}

#[test]
fn works_on_current_thread_runtime() {
    let rt = Runtime::current_thread();
    assert_eq!(
        rt.block_on(async { spawn_blocking(|| 5).await.unwrap() }),
        5
    );
}

#[test]
fn grows_on_demand_so_blocking_jobs_run_concurrently() {
    let rt = Runtime::builder().workers(1).build().unwrap();
    // 4 jobs that can only finish together: they need 4 threads at once.
    let barrier = Arc::new(Barrier::new(4));
    rt.block_on(async {
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let b = barrier.clone();
                spawn_blocking(move || {
                    b.wait();
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    assert!(rt.metrics().blocking_threads >= 4);
}

#[test]
fn shrinks_when_idle() {
    let rt = Builder::new_multi_thread()
        .workers(1)
        .blocking_keep_alive(Duration::from_millis(20))
        .build()
        .unwrap();
    rt.block_on(async {
        let hs: Vec<_> = (0..3).map(|_| spawn_blocking(|| ())).collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    let limit = Instant::now() + Duration::from_secs(20);
    while rt.metrics().blocking_threads > 0 {
        assert!(Instant::now() < limit, "blocking threads never exited");
        std::thread::yield_now();
    }
}

#[test]
fn respects_max_threads() {
    let rt = Builder::new_multi_thread()
        .workers(1)
        .max_blocking_threads(2)
        .build()
        .unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let hs: Vec<_> = (0..16)
            .map(|_| {
                let (r, p) = (running.clone(), peak.clone());
                spawn_blocking(move || {
                    let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                    p.fetch_max(now, Ordering::SeqCst);
                    std::thread::yield_now();
                    r.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    assert!(peak.load(Ordering::SeqCst) <= 2);
    assert!(rt.metrics().blocking_threads <= 2);
}

#[test]
fn abort_before_start_never_runs() {
    let rt = Builder::new_multi_thread()
        .workers(1)
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let ran = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        // Occupy the only blocking thread.
        let first = spawn_blocking(move || rx.recv().unwrap());
        let r = ran.clone();
        let second = spawn_blocking(move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        second.abort();
        tx.send(()).unwrap();
        first.await.unwrap();
        assert!(second.await.unwrap_err().is_cancelled());
    });
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[test]
fn shutdown_cancels_queued_jobs_and_waits_for_running_ones() {
    let rt = Builder::new_multi_thread()
        .workers(1)
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let running = rt.spawn_blocking(move || {
        started_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        7
    });
    let queued = rt.spawn_blocking(|| 8);
    started_rx.recv().unwrap();
    std::thread::spawn(move || {
        // Released only once shutdown has begun waiting; the timeout bounds the test.
        std::thread::yield_now();
        release_tx.send(()).unwrap();
    });
    rt.shutdown_timeout(Duration::from_secs(20));
    let rt2 = Runtime::current_thread();
    assert_eq!(rt2.block_on(running).unwrap(), 7);
    assert!(rt2.block_on(queued).unwrap_err().is_cancelled());
}

#[test]
fn spawn_from_blocking_thread_uses_its_runtime() {
    let rt = Runtime::builder().workers(1).build().unwrap();
    let v = rt.block_on(async {
        spawn_blocking(|| {
            let inner = nimsync_scheduler::spawn(async { 3 });
            // Blocking threads may block_on (they are not workers).
            nimsync_scheduler::block_on(inner).unwrap()
        })
        .await
        .unwrap()
    });
    assert_eq!(v, 3);
}
