//! `#[nimsync::test]` used for real: each test below runs on the runtime the attribute builds.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[nimsync::test]
async fn default_test_runs_on_the_test_thread() {
    // current_thread by default: a spawned task runs on this very thread.
    let here = std::thread::current().id();
    let there = nimsync::spawn(async { std::thread::current().id() })
        .await
        .unwrap();
    assert_eq!(here, there);
}

#[nimsync::test(flavor = "multi_thread", workers = 2)]
async fn multi_thread_test_runs_on_workers() {
    let here = std::thread::current().id();
    let there = nimsync::spawn(async { std::thread::current().id() })
        .await
        .unwrap();
    assert_ne!(
        here, there,
        "a multi-thread runtime runs tasks on its workers"
    );
    let metrics = nimsync::scheduler::Handle::current().metrics();
    assert_eq!(metrics.workers.len(), 2);
}

#[nimsync::test]
async fn test_may_return_a_result() -> Result<(), std::num::ParseIntError> {
    let n: usize = "3".parse()?;
    let count = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let count = count.clone();
            nimsync::spawn(async move { count.fetch_add(1, Ordering::Relaxed) })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(count.load(Ordering::Relaxed), n);
    Ok(())
}
