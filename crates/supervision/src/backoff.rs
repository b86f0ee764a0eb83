//! [`Backoff`]: exponential delays with a cap and jitter, shared by restarts and retries.

use std::time::Duration;

/// Exponential backoff: attempt `n` (0-based) waits `min(max, initial × multiplier^n)`,
/// then jitter takes a random fraction of up to `jitter` off it (so concurrent retriers
/// spread out and the cap is never exceeded).
///
/// ```
/// use std::time::Duration;
/// use nimsync_supervision::Backoff;
///
/// let b = Backoff::exponential(Duration::from_millis(100), Duration::from_secs(1));
/// let mut rng = fastrand::Rng::with_seed(7);
/// let d: Vec<_> = (0..5).map(|n| b.delay(n, &mut rng)).collect();
/// assert_eq!(d[0], Duration::from_millis(100));
/// assert_eq!(d[3], Duration::from_millis(800));
/// assert_eq!(d[4], Duration::from_secs(1)); // capped
///
/// let jittered = b.with_jitter(0.5);
/// let x = jittered.delay(2, &mut rng);
/// assert!(x >= Duration::from_millis(200) && x <= Duration::from_millis(400));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Delay of the first attempt.
    pub initial: Duration,
    /// Upper bound of any delay.
    pub max: Duration,
    /// Growth per attempt (≥ 1).
    pub multiplier: f64,
    /// Fraction (0..=1) of the delay that jitter may remove.
    pub jitter: f64,
}

impl Backoff {
    /// No delay at all.
    pub const fn none() -> Backoff {
        Backoff {
            initial: Duration::ZERO,
            max: Duration::ZERO,
            multiplier: 1.0,
            jitter: 0.0,
        }
    }

    /// Doubling from `initial` up to `max`, no jitter.
    pub const fn exponential(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max,
            multiplier: 2.0,
            jitter: 0.0,
        }
    }

    /// The same backoff with `jitter` (clamped to 0..=1).
    pub fn with_jitter(mut self, jitter: f64) -> Backoff {
        self.jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        self
    }

    /// The same backoff with another growth factor (values below 1 count as 1).
    pub fn with_multiplier(mut self, multiplier: f64) -> Backoff {
        self.multiplier = if multiplier.is_nan() {
            1.0
        } else {
            multiplier.max(1.0)
        };
        self
    }

    /// The delay before attempt `attempt` (0-based), jittered with `rng`.
    pub fn delay(&self, attempt: u32, rng: &mut fastrand::Rng) -> Duration {
        let base =
            self.initial.as_secs_f64() * self.multiplier.max(1.0).powi(attempt.min(1_000) as i32);
        let capped = base.min(self.max.as_secs_f64());
        let jitter = if self.jitter > 0.0 {
            capped * self.jitter * rng.f64()
        } else {
            0.0
        };
        // Above `Duration`'s range only when `max` is near `Duration::MAX`: then it is `max`.
        Duration::try_from_secs_f64((capped - jitter).max(0.0)).unwrap_or(self.max)
    }
}

impl Default for Backoff {
    /// 100 ms doubling up to 10 s, 20 % jitter.
    fn default() -> Self {
        Backoff::exponential(Duration::from_millis(100), Duration::from_secs(10)).with_jitter(0.2)
    }
}
