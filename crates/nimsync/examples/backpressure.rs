//! Backpressure: an adaptive (AIMD) concurrency limit with load shedding, and credit-based
//! flow control between a sender and a receiver.
//!
//! `cargo run -p nimsync --example backpressure`

use std::time::Duration;

use nimsync::backpressure::{Aimd, AimdConfig, ConcurrencyLimiter, credit_channel};

fn main() {
    let limiter = ConcurrencyLimiter::new(
        Aimd::new(AimdConfig {
            min_limit: 1,
            initial_limit: 4,
            max_limit: 100,
            timeout: Duration::from_millis(100),
            ..AimdConfig::default()
        })
        .expect("a valid AIMD configuration"),
    );
    nimsync::block_on(async {
        let permit = limiter.acquire().await; // waits while 4 calls are in flight
        permit.success(Duration::from_millis(250)); // slower than the timeout: back off
    });
    println!("limit after a slow call: {}", limiter.limit());
    assert_eq!(limiter.limit(), 3);
    let held: Vec<_> = (0..3).map(|_| limiter.try_acquire().unwrap()).collect();
    assert!(limiter.try_acquire().is_err(), "full: shed load at once");
    drop(held);

    // Credits: the receiver grants, the sender never sends more than granted.
    let (tx, mut rx) = credit_channel::<&str>(16, 1).expect("a valid credit channel");
    nimsync::block_on(async {
        tx.send("a").await.unwrap();
        assert!(tx.try_send("b").is_err(), "no credit left");
        assert_eq!(rx.recv().await.unwrap(), "a");
        rx.grant(1).unwrap();
        tx.send("b").await.unwrap();
        assert_eq!(rx.recv().await.unwrap(), "b");
    });
    println!("credit channel: 2 messages, never more in flight than granted");
}
