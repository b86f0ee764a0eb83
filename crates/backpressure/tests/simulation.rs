//! Simulation: a server whose latency rises with load past a knee, driven in virtual time by
//! each adaptive limiter; every one must settle near the knee.
//!
//! The server handles `KNEE` requests at the base latency; beyond that requests queue, so
//! latency grows linearly with the number in flight (Little's law). Clients always have more
//! demand than any limit, so `inflight == limit`. The clock is the simulation's own (a round
//! counter), so the test is exact and instant.

use std::collections::BTreeMap;
use std::time::Duration;

use nimsync_backpressure::{
    Aimd, AimdConfig, ConcurrencyLimiter, Gradient, GradientConfig, Limiter, Miad, MiadConfig,
    Vegas, VegasConfig, Windowed,
};

const KNEE: usize = 100;
const BASE: Duration = Duration::from_millis(10);

/// Latency of a request when `inflight` are in the server.
fn server_latency(inflight: usize) -> Duration {
    if inflight <= KNEE {
        BASE
    } else {
        BASE * u32::try_from(inflight).unwrap() / u32::try_from(KNEE).unwrap()
    }
}

/// Event-driven closed loop in virtual time: whenever the limiter admits, a request starts
/// with the latency the server has at that load; completions are processed in time order
/// and report through their permit. Returns the limits seen over the last quarter of the
/// `completions` completions.
fn simulate(algorithm: impl Limiter, completions: usize) -> Vec<usize> {
    let limiter = ConcurrencyLimiter::new(algorithm);
    // (completion time, sequence) -> (permit, latency); BTreeMap as the event queue.
    let mut events = BTreeMap::new();
    let mut now = Duration::ZERO;
    let mut seq = 0u64;
    let mut tail = Vec::new();
    for done in 0..completions {
        while let Ok(permit) = limiter.try_acquire() {
            let latency = server_latency(limiter.inflight());
            events.insert((now + latency, seq), (permit, latency));
            seq += 1;
        }
        let ((at, _), (permit, latency)) = events.pop_first().unwrap();
        now = at;
        permit.success(latency);
        if done >= completions * 3 / 4 {
            tail.push(limiter.limit());
        }
    }
    tail
}

fn assert_near_knee(name: &str, tail: &[usize], lo: usize, hi: usize) {
    let min = *tail.iter().min().unwrap();
    let max = *tail.iter().max().unwrap();
    let mean = tail.iter().sum::<usize>() / tail.len();
    eprintln!("{name}: tail min {min} mean {mean} max {max} (knee {KNEE})");
    assert!(
        lo <= min && max <= hi,
        "{name}: limit left [{lo}, {hi}] after converging: min {min}, max {max}, mean {mean}"
    );
}

#[test]
fn aimd_settles_near_the_knee() {
    let aimd = Aimd::new(AimdConfig {
        min_limit: 1,
        initial_limit: 1,
        max_limit: 1000,
        // The service level: 50 % over the base latency counts as a timeout.
        timeout: BASE * 3 / 2,
        ..AimdConfig::default()
    })
    .unwrap();
    let tail = simulate(Windowed::new(aimd, 10).unwrap(), 100_000);
    assert_near_knee("aimd", &tail, KNEE, KNEE * 8 / 5);
}

#[test]
fn miad_settles_near_the_knee() {
    let miad = Miad::new(MiadConfig {
        min_limit: 1,
        initial_limit: 1,
        max_limit: 1000,
        target_latency: BASE * 6 / 5,
        ..MiadConfig::default()
    })
    .unwrap();
    let tail = simulate(Windowed::new(miad, 10).unwrap(), 100_000);
    assert_near_knee("miad", &tail, KNEE * 3 / 4, KNEE * 3 / 2);
}

#[test]
fn gradient_settles_near_the_knee() {
    let gradient = Gradient::new(GradientConfig {
        min_limit: 1,
        initial_limit: 1,
        max_limit: 1000,
        ..GradientConfig::default()
    })
    .unwrap();
    let tail = simulate(Windowed::new(gradient, 10).unwrap(), 100_000);
    assert_near_knee("gradient", &tail, KNEE, KNEE * 17 / 10);
}

#[test]
fn vegas_settles_near_the_knee() {
    let vegas = Vegas::new(VegasConfig {
        min_limit: 1,
        initial_limit: 1,
        max_limit: 1000,
        ..VegasConfig::default()
    })
    .unwrap();
    let tail = simulate(Windowed::new(vegas, 10).unwrap(), 100_000);
    assert_near_knee("vegas", &tail, KNEE, KNEE * 6 / 5);
}

#[test]
fn without_a_knee_every_limiter_grows_to_its_max() {
    fn grows(algorithm: impl Limiter) -> usize {
        let limiter = ConcurrencyLimiter::new(algorithm);
        for _ in 0..2000 {
            let permits: Vec<_> = std::iter::from_fn(|| limiter.try_acquire().ok()).collect();
            for p in permits {
                p.success(BASE);
            }
        }
        limiter.limit()
    }
    let max = 300;
    assert_eq!(
        grows(
            Aimd::new(AimdConfig {
                max_limit: max,
                ..Default::default()
            })
            .unwrap()
        ),
        max
    );
    assert_eq!(
        grows(
            Miad::new(MiadConfig {
                max_limit: max,
                ..Default::default()
            })
            .unwrap()
        ),
        max
    );
    assert_eq!(
        grows(
            Gradient::new(GradientConfig {
                max_limit: max,
                ..Default::default()
            })
            .unwrap()
        ),
        max
    );
    assert_eq!(
        grows(
            Vegas::new(VegasConfig {
                max_limit: max,
                ..Default::default()
            })
            .unwrap()
        ),
        max
    );
}
