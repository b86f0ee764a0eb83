//! Limiter tests: configuration errors, bounds under arbitrary samples (proptest), permits
//! released exactly once (also when an acquiring future is cancelled), waking waiters.

use std::time::Duration;

use futures_util::FutureExt;
use nimsync_backpressure::{
    AdaptiveBackpressure, Aimd, AimdConfig, ConcurrencyLimiter, ConfigError, Fixed, Gradient,
    GradientConfig, Limiter, Miad, MiadConfig, Sample, Vegas, VegasConfig, Windowed,
};
use proptest::prelude::*;

#[test]
fn bad_configuration_is_an_error_at_construction() {
    let bounds = Aimd::new(AimdConfig {
        min_limit: 10,
        max_limit: 5,
        initial_limit: 5,
        ..Default::default()
    });
    assert_eq!(
        bounds.unwrap_err(),
        ConfigError::InvalidBounds { min: 10, max: 5 }
    );
    assert!(matches!(
        Aimd::new(AimdConfig {
            initial_limit: 500,
            ..Default::default()
        }),
        Err(ConfigError::InitialOutOfBounds { initial: 500, .. })
    ));
    assert!(matches!(
        Aimd::new(AimdConfig {
            backoff_ratio: f64::NAN,
            ..Default::default()
        }),
        Err(ConfigError::InvalidParameter {
            name: "backoff_ratio",
            ..
        })
    ));
    assert!(
        Aimd::new(AimdConfig {
            backoff_ratio: 1.0,
            ..Default::default()
        })
        .is_err()
    );
    assert!(
        Miad::new(MiadConfig {
            smoothing: f64::NAN,
            ..Default::default()
        })
        .is_err()
    );
    assert!(
        Miad::new(MiadConfig {
            smoothing: 0.0,
            ..Default::default()
        })
        .is_err()
    );
    assert!(
        Miad::new(MiadConfig {
            increase_factor: f64::INFINITY,
            ..Default::default()
        })
        .is_err()
    );
    assert!(
        Miad::new(MiadConfig {
            target_latency: Duration::ZERO,
            ..Default::default()
        })
        .is_err()
    );
    assert!(
        Gradient::new(GradientConfig {
            tolerance: 0.5,
            ..Default::default()
        })
        .is_err()
    );
    assert!(
        Gradient::new(GradientConfig {
            min_limit: 0,
            initial_limit: 0,
            ..Default::default()
        })
        .is_err()
    );
    assert!(
        Vegas::new(VegasConfig {
            smoothing: -1.0,
            ..Default::default()
        })
        .is_err()
    );
    assert!(Windowed::new(Fixed::new(1).unwrap(), 0).is_err());
    assert!(
        AdaptiveBackpressure::new(MiadConfig {
            min_limit: 3,
            max_limit: 2,
            ..Default::default()
        })
        .is_err()
    );
    // Errors explain themselves.
    let msg = ConfigError::InvalidBounds { min: 10, max: 5 }.to_string();
    assert!(msg.contains("min 10") && msg.contains("max 5"), "{msg}");
}

/// Mostly ordinary samples, now and then an extreme one (the limiters promise no panic on
/// any sample, however built).
fn sample() -> impl Strategy<Value = Sample> {
    let latency = prop_oneof![
        8 => (0u64..10_000_000_000).prop_map(Duration::from_nanos),
        1 => any::<u64>().prop_map(Duration::from_nanos),
        1 => Just(Duration::MAX),
    ];
    let inflight = prop_oneof![8 => 0usize..5000, 1 => any::<usize>(), 1 => Just(usize::MAX)];
    (latency, inflight, any::<bool>()).prop_map(|(latency, inflight, dropped)| Sample {
        latency,
        inflight,
        dropped,
    })
}

fn check_bounds(
    mut l: impl Limiter,
    min: usize,
    max: usize,
    samples: &[Sample],
) -> Result<(), TestCaseError> {
    for s in samples {
        let new = l.update(s);
        prop_assert_eq!(new, l.limit());
        prop_assert!(
            (min..=max).contains(&new),
            "limit {} outside {}..={}",
            new,
            min,
            max
        );
    }
    Ok(())
}

proptest! {
    #[test]
    fn every_algorithm_stays_within_its_bounds(
        min in 1usize..50,
        span in 0usize..200,
        samples in prop::collection::vec(sample(), 1..300),
    ) {
        let max = min + span;
        check_bounds(Aimd::new(AimdConfig { min_limit: min, max_limit: max, initial_limit: min, ..Default::default() }).unwrap(), min, max, &samples)?;
        check_bounds(Miad::new(MiadConfig { min_limit: min, max_limit: max, initial_limit: max, ..Default::default() }).unwrap(), min, max, &samples)?;
        check_bounds(Gradient::new(GradientConfig { min_limit: min, max_limit: max, initial_limit: min, ..Default::default() }).unwrap(), min, max, &samples)?;
        check_bounds(Vegas::new(VegasConfig { min_limit: min, max_limit: max, initial_limit: max, ..Default::default() }).unwrap(), min, max, &samples)?;
        check_bounds(Windowed::new(Vegas::new(VegasConfig { min_limit: min, max_limit: max, initial_limit: min, ..Default::default() }).unwrap(), 3).unwrap(), min, max, &samples)?;
    }

    /// Random acquire / release sequences: `inflight` always equals the permits alive and
    /// never exceeds the limit at admission.
    #[test]
    fn permits_are_counted_exactly(ops in prop::collection::vec(0u8..4, 0..300)) {
        let limiter = ConcurrencyLimiter::new(Aimd::new(AimdConfig { min_limit: 1, initial_limit: 5, max_limit: 10, ..Default::default() }).unwrap());
        let mut held = Vec::new();
        for op in ops {
            match op {
                0 => if let Ok(p) = limiter.try_acquire() {
                    prop_assert!(p.inflight_at_admission() <= limiter.limit().max(p.inflight_at_admission()));
                    held.push(p);
                },
                1 => if let Some(p) = held.pop() { p.success(Duration::from_millis(1)) },
                2 => if let Some(p) = held.pop() { p.dropped() },
                _ => if !held.is_empty() { held.swap_remove(0); },
            }
            prop_assert_eq!(limiter.inflight(), held.len());
        }
        drop(held);
        prop_assert_eq!(limiter.inflight(), 0);
    }
}

#[test]
fn a_cancelled_acquire_takes_no_permit_and_passes_on_its_wake_up() {
    let limiter = ConcurrencyLimiter::new(Fixed::new(1).unwrap());
    let held = limiter.try_acquire().unwrap();
    let mut first = Box::pin(limiter.acquire());
    assert!((&mut first).now_or_never().is_none());
    let waiter = {
        let limiter = limiter.clone();
        std::thread::spawn(move || futures_executor::block_on(limiter.acquire()).ignore())
    };
    // Whenever the thread parks, freeing the slot must reach it, even though `first` (which
    // may be notified instead) is then cancelled without taking the permit.
    drop(held);
    drop(first); // had it been notified, the notification moves on to the thread
    waiter.join().unwrap();
    assert_eq!(limiter.inflight(), 0);
}

#[test]
fn many_threads_never_exceed_the_limit() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let limiter = ConcurrencyLimiter::new(Fixed::new(3).unwrap());
    let active = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (limiter, active, peak) = (limiter.clone(), active.clone(), peak.clone());
            std::thread::spawn(move || {
                for _ in 0..5000 {
                    let p = futures_executor::block_on(limiter.acquire());
                    let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    active.fetch_sub(1, Ordering::SeqCst);
                    p.success(Duration::from_micros(5));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(peak.load(Ordering::SeqCst) <= 3);
    assert!(peak.load(Ordering::SeqCst) >= 1);
    assert_eq!(limiter.inflight(), 0);
}

#[test]
fn a_growing_limit_wakes_waiters() {
    let aimd = Aimd::new(AimdConfig {
        min_limit: 1,
        initial_limit: 1,
        max_limit: 4,
        ..Default::default()
    })
    .unwrap();
    let limiter = ConcurrencyLimiter::new(aimd);
    let p = limiter.try_acquire().unwrap();
    let waiter = {
        let limiter = limiter.clone();
        std::thread::spawn(move || futures_executor::block_on(limiter.acquire()))
    };
    // A success sample with the slot busy grows the limit to 2 even before `p` is released.
    limiter.record(Sample::success(Duration::from_millis(1), 1));
    let second = waiter.join().unwrap();
    assert_eq!(limiter.inflight(), 2);
    drop((p, second));
}

#[test]
fn adaptive_backpressure_shrinks_under_congestion_and_recovers() {
    let bp = AdaptiveBackpressure::new(MiadConfig {
        initial_limit: 32,
        target_latency: Duration::from_millis(10),
        ..Default::default()
    })
    .unwrap();
    for _ in 0..20 {
        bp.update_congestion(64, Duration::from_millis(50));
    }
    let congested = bp.window();
    assert!(congested < 32);
    assert!(!bp.can_send(congested));
    for _ in 0..50 {
        bp.on_processed(Duration::from_millis(1));
    }
    assert!(bp.window() > congested);
    assert!(bp.can_send(congested));
}

#[test]
fn miad_reports_a_saturated_average_after_an_extreme_sample() {
    let mut m = Miad::new(MiadConfig::default()).unwrap();
    m.update(&Sample::success(Duration::MAX, 1));
    // The average is above `Duration`'s range in `f64`: reported saturated, not a panic.
    assert_eq!(m.smoothed_latency(), Some(Duration::MAX));
}

/// `n` samples of a steady 10 ms latency with the limit in use.
fn steady(limiter: &ConcurrencyLimiter, n: usize) {
    for _ in 0..n {
        let l = limiter.limit();
        limiter.record(Sample::success(Duration::from_millis(10), l));
    }
}

#[test]
fn a_drop_teaches_delay_based_limiters_no_latency_baseline() {
    type Make = fn() -> Box<dyn Limiter>;
    let algorithms: [(&str, Make); 2] = [
        ("gradient", || Box::new(Gradient::default())),
        ("vegas", || Box::new(Vegas::default())),
    ];
    for (name, make) in algorithms {
        // A drop whose latency is unknown (zero), reported by hand or by a permit dropped
        // at once: a congestion signal, not a new no-load latency.
        for via_permit in [false, true] {
            let limiter = ConcurrencyLimiter::new(make());
            steady(&limiter, 200);
            let before = limiter.limit();
            if via_permit {
                limiter.try_acquire().unwrap().dropped();
            } else {
                limiter.record(Sample::dropped(Duration::ZERO, limiter.limit()));
            }
            assert!(limiter.limit() < before, "{name}: a drop still backs off");
            steady(&limiter, 200); // the same latency as before the drop
            let after = limiter.limit();
            assert!(
                after >= before,
                "{name} (via permit: {via_permit}): {before} -> {after} after one drop"
            );
        }
    }
}

#[test]
fn a_drop_stays_out_of_miads_moving_average() {
    let mut m = Miad::new(MiadConfig::default()).unwrap();
    for _ in 0..50 {
        m.update(&Sample::success(Duration::from_millis(9), 1));
    }
    let average = m.smoothed_latency();
    let limit = m.limit();
    // A drop after a long timeout: congestion (one step down), not a latency.
    m.update(&Sample::dropped(Duration::from_secs(5), 1));
    assert_eq!(m.smoothed_latency(), average);
    assert!(m.limit() < limit);
}
