//! Bulkhead and retry on a paused clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use nimsync_cancel::{CancelToken, Cancelled};
use nimsync_scheduler::{Builder, Runtime, now, sleep, spawn};
use nimsync_supervision::{Backoff, Bulkhead, BulkheadFull, RetryError, RetryPolicy, retry};

fn rt() -> Runtime {
    Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap()
}

#[test]
fn bulkhead_bounds_concurrency_and_queue() {
    rt().block_on(async {
        let bh = Bulkhead::new(2, 1).unwrap();
        let peak = Arc::new(AtomicU32::new(0));
        let running = Arc::new(AtomicU32::new(0));
        let t0 = now();
        let calls: Vec<_> = (0..4)
            .map(|_| {
                let (bh, peak, running) = (bh.clone(), peak.clone(), running.clone());
                spawn(async move {
                    bh.call(async {
                        let r = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(r, Ordering::SeqCst);
                        sleep(Duration::from_secs(1)).await;
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        let mut rejected = 0;
        for c in calls {
            if let Err(e) = c.await.unwrap() {
                assert_eq!(
                    e,
                    BulkheadFull {
                        max_concurrent: 2,
                        max_queue: 1
                    }
                );
                rejected += 1;
            }
        }
        assert_eq!(rejected, 1, "2 run, 1 waits, 1 is turned away");
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        assert_eq!(now() - t0, Duration::from_secs(2));
        assert_eq!((bh.in_use(), bh.waiting()), (0, 0));
    });
}

#[test]
fn a_cancelled_waiter_leaves_the_queue_and_a_dropped_call_frees_its_slot() {
    rt().block_on(async {
        let bh = Bulkhead::new(1, 1).unwrap();
        let held = bh.try_acquire().unwrap();
        let r = nimsync_cancel::timeout(Duration::from_millis(10), bh.acquire()).await;
        assert!(r.is_err());
        assert_eq!(bh.waiting(), 0);
        drop(held);
        let slow = nimsync_cancel::timeout(
            Duration::from_millis(10),
            bh.call(sleep(Duration::from_secs(5))),
        )
        .await;
        assert!(slow.is_err());
        assert_eq!(bh.in_use(), 0);
        assert!(Bulkhead::new(0, 5).is_err());
    });
}

#[test]
fn retry_stops_on_a_non_retryable_error() {
    rt().block_on(async {
        let policy = RetryPolicy::new(10)
            .unwrap()
            .backoff(Backoff::none())
            .retry_if(|e: &&str| *e != "fatal");
        let mut n = 0;
        let r = retry(&policy, || {
            n += 1;
            let e = if n < 3 { "transient" } else { "fatal" };
            async move { Err::<(), _>(e) }
        })
        .await;
        assert_eq!(r, Err(RetryError::NotRetryable("fatal")));
        assert_eq!(n, 3);
    });
}

#[test]
fn retry_respects_the_time_budget() {
    rt().block_on(async {
        let policy = RetryPolicy::new(100)
            .unwrap()
            .backoff(Backoff::exponential(
                Duration::from_secs(1),
                Duration::from_secs(60),
            ))
            .max_elapsed(Duration::from_secs(10));
        let t0 = now();
        let r = retry(&policy, || async { Err::<(), _>("down") }).await;
        // Sleeps 1 + 2 + 4 = 7 s; the next (8 s) would end past 10 s.
        assert_eq!(
            r,
            Err(RetryError::Exhausted {
                attempts: 4,
                last: "down"
            })
        );
        assert_eq!(now() - t0, Duration::from_secs(7));
    });
}

#[test]
fn retry_is_cancelled_during_its_backoff() {
    rt().block_on(async {
        let token = CancelToken::new();
        let policy = RetryPolicy::new(100)
            .unwrap()
            .backoff(Backoff::exponential(
                Duration::from_secs(10),
                Duration::from_secs(10),
            ))
            .cancel_token(token.clone());
        let canceller = spawn(async move {
            sleep(Duration::from_secs(15)).await;
            token.cancel_with("shutting down");
        });
        let t0 = now();
        let r = retry(&policy, || async { Err::<(), _>("down") }).await;
        assert_eq!(
            r,
            Err(RetryError::Cancelled {
                attempts: 2,
                cause: Cancelled::Explicit(Some("shutting down".into()))
            })
        );
        assert_eq!(now() - t0, Duration::from_secs(15));
        canceller.await.unwrap();
    });
}

#[test]
fn a_breaker_told_to_stay_open_forever_trips_and_stays_open() {
    use nimsync_supervision::{BreakerConfig, BreakerState, CircuitBreaker, TripRule};
    // `Duration::MAX` is beyond `Instant`'s range: the breaker opens for decades instead.
    let cfg = BreakerConfig::new(TripRule::ConsecutiveFailures(1), Duration::MAX);
    let breaker = CircuitBreaker::new(cfg).unwrap();
    breaker.acquire().unwrap().failure();
    assert_eq!(breaker.state(), BreakerState::Open);
    let Err(wait) = breaker.acquire() else {
        panic!("open: no call goes through");
    };
    assert!(wait > Duration::from_secs(86_400 * 365), "{wait:?}");
}

#[test]
fn backoff_capped_at_duration_max_saturates() {
    let backoff = Backoff::exponential(Duration::from_secs(1), Duration::MAX);
    let mut rng = fastrand::Rng::with_seed(1);
    assert_eq!(backoff.delay(0, &mut rng), Duration::from_secs(1));
    // 2^70 s is above `Duration`'s range: the cap.
    assert_eq!(backoff.delay(70, &mut rng), Duration::MAX);
}

#[test]
fn retry_with_an_endless_backoff_stops_at_its_time_budget() {
    rt().block_on(async {
        let policy = RetryPolicy::new(10)
            .unwrap()
            .backoff(Backoff::exponential(Duration::MAX, Duration::MAX))
            .max_elapsed(Duration::from_secs(10));
        let r = retry(&policy, || async { Err::<(), _>("down") }).await;
        assert_eq!(
            r,
            Err(RetryError::Exhausted {
                attempts: 1,
                last: "down"
            })
        );
    });
}
