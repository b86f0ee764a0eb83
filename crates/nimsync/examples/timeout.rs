//! Cancellation and timeouts: `timeout` bounds a future by a duration, tokens form a tree
//! (cancelling a parent cancels every child), and `with_cancel` stops a future when its token
//! is cancelled, saying why.
//!
//! `cargo run -p nimsync --example timeout`

use std::time::{Duration, Instant};

use nimsync::cancel::{CancelToken, Cancelled, with_cancel};

#[nimsync::main(workers = 2)]
async fn main() {
    // A slow operation against a 50 ms deadline: cut off, with the reason.
    let started = Instant::now();
    let slow = nimsync::timeout(
        Duration::from_millis(50),
        nimsync::sleep(Duration::from_secs(3600)),
    )
    .await;
    println!("slow call: {slow:?} after {:?}", started.elapsed());
    assert_eq!(slow, Err(Cancelled::Timeout));
    assert!(started.elapsed() < Duration::from_secs(60));

    // A fast one finishes first and keeps its value.
    let fast = nimsync::timeout(Duration::from_millis(50), async { 42 }).await;
    println!("fast call: {fast:?}");
    assert_eq!(fast, Ok(42));

    // A token tree: a worker runs under a child token; cancelling the root stops it.
    let root = CancelToken::new();
    let child = root.child();
    let worker = nimsync::spawn(async move {
        with_cancel(&child, nimsync::sleep(Duration::from_secs(3600))).await
    });
    root.cancel_with("shutting down");
    let outcome = worker.await.expect("the worker does not panic");
    println!("worker under a cancelled parent: {outcome:?}");
    assert!(
        outcome.is_err(),
        "the worker was cancelled, not left sleeping"
    );
}
