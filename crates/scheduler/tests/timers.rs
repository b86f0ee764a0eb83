//! Timer tests: `sleep`, `sleep_until`, `interval`, the paused test clock (manual and
//! auto-advance), deregistration on drop, timers from outside the workers.
#![cfg(not(nimsync_loom))]

use nimsync_scheduler::{
    Builder, MissedTickBehavior, Runtime, interval, now, sleep, sleep_until, spawn, yield_now,
};
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

fn paused_runtimes() -> Vec<(&'static str, Runtime)> {
    vec![
        (
            "current_thread",
            Builder::new_current_thread()
                .start_paused(true)
                .build()
                .unwrap(),
        ),
        (
            "multi_thread_2",
            Builder::new_multi_thread()
                .workers(2)
                .start_paused(true)
                .build()
                .unwrap(),
        ),
    ]
}

#[test]
fn real_clock_sleeps_fire_in_order_and_not_early() {
    for (name, rt) in [
        ("current_thread", Runtime::current_thread()),
        (
            "multi_thread_2",
            Runtime::builder().workers(2).build().unwrap(),
        ),
    ] {
        let log = rt.block_on(async {
            let log = Arc::new(Mutex::new(Vec::new()));
            let start = Instant::now();
            let mut hs = Vec::new();
            for ms in [30u64, 5, 20, 10, 1] {
                let log = log.clone();
                hs.push(spawn(async move {
                    sleep(Duration::from_millis(ms)).await;
                    let elapsed = start.elapsed();
                    assert!(
                        elapsed >= Duration::from_millis(ms),
                        "fired early: {ms} ms at {elapsed:?}"
                    );
                    log.lock().unwrap().push(ms);
                }));
            }
            for h in hs {
                h.await.unwrap();
            }
            Arc::try_unwrap(log).unwrap().into_inner().unwrap()
        });
        assert_eq!(log, vec![1, 5, 10, 20, 30], "{name}");
    }
}

#[test]
fn sleep_in_block_on_main_future() {
    let rt = Runtime::builder().workers(1).build().unwrap();
    let t0 = Instant::now();
    rt.block_on(sleep(Duration::from_millis(15)));
    assert!(t0.elapsed() >= Duration::from_millis(15));
}

#[test]
fn past_deadline_is_ready_immediately() {
    let rt = Runtime::current_thread();
    rt.block_on(async {
        sleep(Duration::ZERO).await;
        sleep_until(Instant::now() - Duration::from_millis(1)).await;
    });
}

#[test]
fn paused_clock_auto_advances_exactly() {
    for (name, rt) in paused_runtimes() {
        let wall = Instant::now();
        let fired = rt.block_on(async {
            let t0 = now();
            let log = Arc::new(Mutex::new(Vec::new()));
            let mut hs = Vec::new();
            for secs in [3600u64, 60, 1, 86_400, 7] {
                let log = log.clone();
                hs.push(spawn(async move {
                    sleep(Duration::from_secs(secs)).await;
                    log.lock().unwrap().push((secs, now() - t0));
                }));
            }
            for h in hs {
                h.await.unwrap();
            }
            // The main future's own sleeps advance the clock too.
            sleep(Duration::from_secs(10)).await;
            assert!(now() - t0 >= Duration::from_secs(86_410));
            Arc::try_unwrap(log).unwrap().into_inner().unwrap()
        });
        let order: Vec<u64> = fired.iter().map(|f| f.0).collect();
        assert_eq!(order, vec![1, 7, 60, 3600, 86_400], "{name}");
        for (secs, at) in fired {
            assert!(
                at >= Duration::from_secs(secs),
                "{name}: {secs}s fired at {at:?}"
            );
            assert!(
                at < Duration::from_secs(secs) + Duration::from_millis(2),
                "{name}: {secs}s fired late at {at:?}"
            );
        }
        assert!(
            wall.elapsed() < Duration::from_secs(10),
            "{name}: paused clock took real time"
        );
    }
}

#[test]
fn manual_advance_without_auto_advance() {
    for flavour in ["current_thread", "multi_thread"] {
        let b = if flavour == "current_thread" {
            Builder::new_current_thread()
        } else {
            Builder::new_multi_thread().workers(2)
        };
        let rt = b.start_paused(true).auto_advance(false).build().unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let started = Arc::new(AtomicBool::new(false));
        let (d, s) = (done.clone(), started.clone());
        let h = rt.spawn(async move {
            // The deadline is fixed when the Sleep is created (virtual time 0).
            let timer = sleep(Duration::from_millis(10));
            s.store(true, Ordering::SeqCst);
            timer.await;
            d.store(true, Ordering::SeqCst);
        });
        rt.block_on(async {
            while !started.load(Ordering::SeqCst) {
                yield_now().await;
            }
        });
        assert!(rt.advance(Duration::from_millis(5)));
        rt.block_on(async {
            for _ in 0..10 {
                yield_now().await;
            }
        });
        assert!(!done.load(Ordering::SeqCst), "{flavour}: fired early");
        rt.advance(Duration::from_millis(5));
        rt.block_on(h).unwrap();
        assert!(done.load(Ordering::SeqCst), "{flavour}");
    }
}

#[test]
fn advance_is_a_noop_on_a_real_clock() {
    let rt = Runtime::current_thread();
    assert!(!rt.advance(Duration::from_secs(1)));
    assert!(!nimsync_scheduler::advance(Duration::from_secs(1)));
}

struct CountingWaker;
impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {}
}

#[test]
fn dropping_a_sleep_releases_its_waker() {
    for (name, rt) in paused_runtimes() {
        rt.block_on(async {
            let w = Arc::new(CountingWaker);
            let waker = Waker::from(w.clone());
            let mut cx = Context::from_waker(&waker);
            {
                let mut s = pin!(sleep(Duration::from_secs(100)));
                assert!(s.as_mut().poll(&mut cx).is_pending());
                assert!(Arc::strong_count(&w) > 2, "{name}: registered");
            }
            assert_eq!(Arc::strong_count(&w), 2, "{name}: waker released on drop");
        });
    }
}

#[test]
fn many_cancelled_sleeps_do_not_accumulate() {
    // Timeout churn: register and drop many sleeps; the wheel prunes orphans.
    let rt = Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let w = Arc::new(CountingWaker);
        let waker = Waker::from(w.clone());
        let mut cx = Context::from_waker(&waker);
        for _ in 0..50_000 {
            let mut s = pin!(sleep(Duration::from_secs(3600)));
            let _ = s.as_mut().poll(&mut cx);
        }
        assert_eq!(Arc::strong_count(&w), 2);
        // A live timer still fires.
        sleep(Duration::from_secs(1)).await;
    });
}

#[test]
fn interval_ticks_on_schedule() {
    for (name, rt) in paused_runtimes() {
        rt.block_on(async {
            let start = now();
            let mut iv = interval(Duration::from_millis(10));
            let mut ticks = Vec::new();
            for _ in 0..5 {
                ticks.push(iv.tick().await - start);
            }
            let expect: Vec<Duration> = (0..5).map(|k| Duration::from_millis(10 * k)).collect();
            assert_eq!(ticks, expect, "{name}");
        });
    }
}

#[test]
fn interval_missed_tick_behaviours() {
    let rt = Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    for (behavior, expect_ms) in [
        (MissedTickBehavior::Burst, vec![0u64, 10, 20, 30, 40]),
        (MissedTickBehavior::Skip, vec![0, 10, 40, 50, 60]),
        (MissedTickBehavior::Delay, vec![0, 10, 45, 55, 65]),
    ] {
        let got = rt.block_on(async move {
            let start = now();
            let mut iv = interval(Duration::from_millis(10));
            iv.set_missed_tick_behavior(behavior);
            let mut got = Vec::new();
            got.push(iv.tick().await - start); // 0
            got.push(iv.tick().await - start); // 10
            // The consumer is slow: 25 ms pass (now = 35 ms).
            sleep(Duration::from_millis(25)).await;
            for _ in 0..3 {
                let t = iv.tick().await;
                got.push(match behavior {
                    // Delay reschedules from "now" (35 ms): report when it fired.
                    MissedTickBehavior::Delay => now() - start,
                    _ => t - start,
                });
            }
            got
        });
        let got_ms: Vec<u64> = got.iter().map(|d| d.as_millis() as u64).collect();
        let expect = match behavior {
            // Burst: 20 and 30 are returned immediately (at 35 ms), 40 on schedule.
            MissedTickBehavior::Burst => expect_ms,
            // Skip: at 35 ms the tick scheduled for 20 fires late (reported 20), then 40, 50.
            MissedTickBehavior::Skip => vec![0, 10, 20, 40, 50],
            // Delay: late tick fires at 35, then 45, 55.
            MissedTickBehavior::Delay => vec![0, 10, 35, 45, 55],
        };
        assert_eq!(got_ms, expect, "{behavior:?}");
    }
}

#[test]
fn sleep_outside_any_runtime_uses_the_global_runtime() {
    let t0 = Instant::now();
    futures_util::FutureExt::now_or_never(async {}).unwrap();
    // A plain thread with a minimal executor.
    std::thread::spawn(move || {
        let fut = pin!(sleep(Duration::from_millis(5)));
        block_on_plain(fut);
    })
    .join()
    .unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(5));
}

fn block_on_plain<F: Future>(mut fut: std::pin::Pin<&mut F>) -> F::Output {
    struct T(std::thread::Thread);
    impl Wake for T {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(T(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let limit = Instant::now() + Duration::from_secs(20);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        assert!(Instant::now() < limit, "timer never fired");
        std::thread::park_timeout(Duration::from_millis(100));
    }
}

#[test]
fn sleep_reset_and_is_elapsed() {
    let rt = Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let t0 = now();
        let mut s = Box::pin(sleep(Duration::from_secs(10)));
        assert!(!s.is_elapsed());
        s.as_mut().reset(t0 + Duration::from_secs(1));
        s.as_mut().await;
        assert_eq!(now() - t0, Duration::from_secs(1));
        assert!(s.is_elapsed());
    });
}
