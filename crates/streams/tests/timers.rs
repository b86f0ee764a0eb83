//! Timer-driven stages on the scheduler's paused clock: `batch_timeout` semantics
//! (armed at the first item, never empty, flush at end) and `throttle` pacing.

use std::time::Duration;

use nimsync_core_channels::mpsc;
use nimsync_scheduler::{Builder, now, sleep, spawn};
use nimsync_streams::{Rate, StreamExt, iter, ticks};

fn paused() -> nimsync_scheduler::Runtime {
    Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap()
}

#[test]
fn batch_timeout_timer_starts_at_the_first_item_and_never_emits_empty_batches() {
    paused().block_on(async {
        let (tx, rx) = mpsc::<u32>(64);
        let t0 = now();
        let producer = spawn(async move {
            sleep(Duration::from_millis(500)).await; // idle: no empty batch may appear
            tx.send(1).await.unwrap();
            sleep(Duration::from_millis(30)).await;
            tx.send(2).await.unwrap(); // joins the batch started at 500 ms
            sleep(Duration::from_millis(100)).await;
            for i in 3..=6 {
                tx.send(i).await.unwrap(); // a full batch of 4: emitted at once
            }
            tx.send(7).await.unwrap();
            // dropped: the remainder flushes at the end, without waiting for the timer
        });
        let mut batches = rx.batch_timeout(4, Duration::from_millis(50));
        let first = batches.next().await.unwrap();
        assert_eq!(first, [1, 2]);
        assert_eq!(now() - t0, Duration::from_millis(550)); // 500 + 50, not 530 + 50
        assert_eq!(batches.next().await.unwrap(), [3, 4, 5, 6]);
        assert_eq!(now() - t0, Duration::from_millis(630));
        assert_eq!(batches.next().await.unwrap(), [7]);
        assert_eq!(now() - t0, Duration::from_millis(630));
        assert_eq!(batches.next().await, None);
        producer.await.unwrap();
    });
}

#[test]
fn throttle_paces_to_the_rate_after_the_burst() {
    paused().block_on(async {
        let rate = Rate::new(20, Duration::from_secs(1))
            .unwrap()
            .burst(5)
            .unwrap();
        let t0 = now();
        let mut s = iter(0..25).throttle(rate);
        let mut times = Vec::new();
        while s.next().await.is_some() {
            times.push(now() - t0);
        }
        assert_eq!(times.len(), 25);
        assert!(
            times[..5].iter().all(|t| t.is_zero()),
            "burst at once: {times:?}"
        );
        for (k, t) in times[5..].iter().enumerate() {
            assert_eq!(*t, Duration::from_millis(50) * (k as u32 + 1));
        }
    });
}

#[test]
fn the_slowest_rate_paces_without_overflow_and_slower_ones_are_refused() {
    const YEAR: Duration = Duration::from_secs(365 * 86_400);
    assert!(Rate::new(1, Duration::MAX).is_none());
    assert!(Rate::new(1, YEAR * 101).is_none());
    let slowest = Rate::new(1, YEAR * 100).unwrap();
    assert!(slowest.burst(2).is_none());
    paused().block_on(async {
        let t0 = now();
        let mut s = iter(0..3).throttle(slowest.burst(1).unwrap());
        assert_eq!(s.next().await, Some(0));
        // The next item is due in a century: the paused clock jumps there, no overflow.
        assert_eq!(s.next().await, Some(1));
        assert_eq!(now() - t0, YEAR * 100);
    });
}

#[test]
fn ticks_with_take_until_future_end_after_the_stop_timer() {
    paused().block_on(async {
        let n = ticks(Duration::from_millis(10))
            .take_until_future(sleep(Duration::from_millis(95)))
            .collect_vec()
            .await
            .len();
        assert_eq!(n, 10); // ticks at 0, 10, ..., 90
    });
}
