//! `Miad`: multiplicative increase, additive decrease on exponentially smoothed latency (the
//! algorithm of the original nimsync).

use std::time::Duration;

use super::{Limiter, Sample, clamp_limit, secs};
use crate::error::{ConfigError, check_bounds, check_range};

/// Configuration of [`Miad`].
///
/// ```
/// use std::time::Duration;
/// use nimsync_backpressure::{Miad, MiadConfig, Limiter};
/// let m = Miad::new(MiadConfig {
///     target_latency: Duration::from_millis(20),
///     ..MiadConfig::default()
/// })
/// .unwrap();
/// assert_eq!(m.limit(), 10);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MiadConfig {
    /// Lower bound (default 1).
    pub min_limit: usize,
    /// Upper bound (default 1000).
    pub max_limit: usize,
    /// Starting limit (default 10).
    pub initial_limit: usize,
    /// Smoothed latency above this is congestion (default 10 ms).
    pub target_latency: Duration,
    /// Weight of a new sample in the exponential moving average, in `(0, 1]` (default 0.2).
    pub smoothing: f64,
    /// Growth factor when under target, in `(1, 4]` (default 1.1).
    pub increase_factor: f64,
    /// Amount taken off on congestion or a drop (default 1).
    pub decrease_step: usize,
}

impl Default for MiadConfig {
    fn default() -> Self {
        Self {
            min_limit: 1,
            max_limit: 1000,
            initial_limit: 10,
            target_latency: Duration::from_millis(10),
            smoothing: 0.2,
            increase_factor: 1.1,
            decrease_step: 1,
        }
    }
}

/// Multiplicative increase, additive decrease: while the smoothed latency stays at or under
/// `target_latency` and the limit is in use, the limit grows by `increase_factor` (fast
/// discovery of capacity); above target, or on a drop, it shrinks by `decrease_step` (gentle
/// retreat). Latency is smoothed with an exponential moving average
/// (`ewma += smoothing · (sample − ewma)`) so one slow request does not shrink the limit.
///
/// ```
/// use std::time::Duration;
/// use nimsync_backpressure::{Miad, MiadConfig, Limiter, Sample};
/// let mut m = Miad::new(MiadConfig { initial_limit: 10, ..Default::default() }).unwrap();
/// m.update(&Sample::success(Duration::from_millis(1), 10));
/// assert_eq!(m.limit(), 11); // ×1.1
/// m.update(&Sample::dropped(Duration::from_millis(1), 11));
/// assert_eq!(m.limit(), 10); // −1
/// assert!(m.smoothed_latency().unwrap() <= Duration::from_millis(1));
/// ```
#[derive(Debug, Clone)]
pub struct Miad {
    config: MiadConfig,
    limit: usize,
    ewma_secs: Option<f64>,
}

impl Miad {
    /// Validates `config`.
    pub fn new(config: MiadConfig) -> Result<Self, ConfigError> {
        check_bounds(config.min_limit, config.max_limit, config.initial_limit)?;
        if config.smoothing <= 0.0 {
            return Err(ConfigError::InvalidParameter {
                name: "smoothing",
                value: config.smoothing,
                expected: "a number in (0, 1]",
            });
        }
        check_range(
            "smoothing",
            config.smoothing,
            0.0,
            1.0,
            false,
            "a number in (0, 1]",
        )?;
        if config.increase_factor <= 1.0 {
            return Err(ConfigError::InvalidParameter {
                name: "increase_factor",
                value: config.increase_factor,
                expected: "a number in (1, 4]",
            });
        }
        check_range(
            "increase_factor",
            config.increase_factor,
            1.0,
            4.0,
            false,
            "a number in (1, 4]",
        )?;
        if config.decrease_step == 0 {
            return Err(ConfigError::Zero("decrease_step"));
        }
        if config.target_latency.is_zero() {
            return Err(ConfigError::Zero("target_latency"));
        }
        Ok(Self {
            limit: config.initial_limit,
            config,
            ewma_secs: None,
        })
    }

    /// The exponentially smoothed latency, once a sample has been seen.
    pub fn smoothed_latency(&self) -> Option<Duration> {
        // (Saturates: a `Duration::MAX` sample averages above `Duration`'s range in `f64`.)
        self.ewma_secs
            .map(|s| Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX))
    }

    /// Feeds a latency into the moving average and returns the smoothed value in seconds.
    pub(crate) fn smooth(&mut self, latency: Duration) -> f64 {
        let x = secs(latency);
        let avg = match self.ewma_secs {
            None => x,
            Some(prev) => prev + self.config.smoothing * (x - prev),
        };
        self.ewma_secs = Some(avg);
        avg
    }

    /// Shrinks the limit by one step (congestion seen elsewhere, e.g. a deep queue).
    pub(crate) fn decrease(&mut self) -> usize {
        let c = &self.config;
        self.limit = self
            .limit
            .saturating_sub(c.decrease_step)
            .clamp(c.min_limit, c.max_limit);
        self.limit
    }

    /// The configuration.
    pub fn config(&self) -> &MiadConfig {
        &self.config
    }
}

impl Default for Miad {
    fn default() -> Self {
        Self {
            limit: MiadConfig::default().initial_limit,
            config: MiadConfig::default(),
            ewma_secs: None,
        }
    }
}

impl Limiter for Miad {
    fn limit(&self) -> usize {
        self.limit
    }

    fn update(&mut self, sample: &Sample) -> usize {
        if sample.dropped {
            // Congestion, not a round trip: kept out of the moving average (a drop after a
            // long timeout would inflate it, one with no latency deflate it).
            return self.decrease();
        }
        let avg = self.smooth(sample.latency);
        if avg > secs(self.config.target_latency) {
            return self.decrease();
        }
        if sample.inflight.saturating_mul(2) >= self.limit {
            let c = &self.config;
            let grown = (self.limit as f64 * c.increase_factor).ceil();
            // Always move by at least one, so small limits can grow.
            let grown = grown.max(self.limit as f64 + 1.0);
            self.limit = clamp_limit(grown, c.min_limit, c.max_limit);
        }
        self.limit
    }
}
