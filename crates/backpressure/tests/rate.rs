//! GCRA rate limiter on the scheduler's paused clock: exact admission counts, bursts, and
//! shared budgets.

use std::time::Duration;

use nimsync_backpressure::RateLimiter;
use nimsync_scheduler::{Builder, now, sleep};

#[test]
fn over_one_second_admits_the_rate_plus_the_burst() {
    let rt = Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let rl = RateLimiter::per_second(50, 5).unwrap();
        let t0 = now();
        let mut admitted = 0;
        // Poll every millisecond for one second: the burst passes at once, then 50 per second.
        while now() - t0 < Duration::from_secs(1) {
            while rl.check().is_ok() {
                admitted += 1;
            }
            sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(admitted, 5 + 50 - 1); // the cell due exactly at t0 + 1 s is not counted
    });
}

#[test]
fn until_ready_paces_waiters_sharing_one_limiter() {
    let rt = Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let rl = RateLimiter::new(4, Duration::from_secs(1), 1).unwrap();
        let clone = rl.clone();
        let t0 = now();
        for _ in 0..4 {
            rl.until_ready().await;
            clone.until_ready().await;
        }
        // 8 cells at 250 ms spacing, the first at t0.
        assert_eq!(now() - t0, Duration::from_millis(1750));
    });
}

#[test]
fn rejections_say_when_to_come_back() {
    let rt = Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let rl = RateLimiter::per_second(10, 1).unwrap();
        let t0 = now();
        rl.check().unwrap();
        let at = rl.check().unwrap_err().0;
        assert_eq!(at - t0, Duration::from_millis(100));
        assert!(rl.check_n(2).is_err(), "more than the burst never passes");
    });
}
