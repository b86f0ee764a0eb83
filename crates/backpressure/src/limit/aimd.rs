//! `Aimd`: additive increase, multiplicative decrease (Netflix's `AIMDLimit`).

use std::time::Duration;

use super::{Limiter, Sample, clamp_limit};
use crate::error::{ConfigError, check_bounds, check_range};

/// Configuration of [`Aimd`]; the defaults are Netflix's.
///
/// ```
/// use std::time::Duration;
/// use nimsync_backpressure::{Aimd, AimdConfig, Limiter};
/// let aimd = Aimd::new(AimdConfig {
///     max_limit: 64,
///     timeout: Duration::from_millis(250),
///     ..AimdConfig::default()
/// })
/// .unwrap();
/// assert_eq!(aimd.limit(), 20);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct AimdConfig {
    /// Lower bound (default 20).
    pub min_limit: usize,
    /// Upper bound (default 200).
    pub max_limit: usize,
    /// Starting limit (default 20).
    pub initial_limit: usize,
    /// Factor applied on congestion, in `[0.5, 1)` (default 0.9).
    pub backoff_ratio: f64,
    /// A latency above this counts as a drop (default 5 s).
    pub timeout: Duration,
}

impl Default for AimdConfig {
    fn default() -> Self {
        Self {
            min_limit: 20,
            max_limit: 200,
            initial_limit: 20,
            backoff_ratio: 0.9,
            timeout: Duration::from_secs(5),
        }
    }
}

/// Additive increase / multiplicative decrease: `+1` per successful sample while the limit
/// is in use (at least half of it in flight), `× backoff_ratio` on a drop or a latency above
/// `timeout`.
///
/// ```
/// use std::time::Duration;
/// use nimsync_backpressure::{Aimd, AimdConfig, Limiter, Sample};
/// let mut a = Aimd::new(AimdConfig { min_limit: 1, initial_limit: 10, ..Default::default() }).unwrap();
/// a.update(&Sample::success(Duration::from_millis(1), 2)); // app-limited: no growth
/// assert_eq!(a.limit(), 10);
/// a.update(&Sample::success(Duration::from_secs(6), 10)); // slower than the timeout
/// assert_eq!(a.limit(), 9);
/// ```
#[derive(Debug, Clone)]
pub struct Aimd {
    config: AimdConfig,
    limit: usize,
}

impl Aimd {
    /// Validates `config` (bounds, `backoff_ratio` in `[0.5, 1)`, non-zero timeout).
    pub fn new(config: AimdConfig) -> Result<Self, ConfigError> {
        check_bounds(config.min_limit, config.max_limit, config.initial_limit)?;
        check_range(
            "backoff_ratio",
            config.backoff_ratio,
            0.5,
            1.0,
            true,
            "a number in [0.5, 1)",
        )?;
        if config.timeout.is_zero() {
            return Err(ConfigError::Zero("timeout"));
        }
        Ok(Self {
            limit: config.initial_limit,
            config,
        })
    }
}

impl Default for Aimd {
    fn default() -> Self {
        Self {
            limit: AimdConfig::default().initial_limit,
            config: AimdConfig::default(),
        }
    }
}

impl Limiter for Aimd {
    fn limit(&self) -> usize {
        self.limit
    }

    fn update(&mut self, sample: &Sample) -> usize {
        let c = &self.config;
        if sample.dropped || sample.latency > c.timeout {
            let reduced = (self.limit as f64 * c.backoff_ratio).floor();
            self.limit = clamp_limit(reduced, c.min_limit, c.max_limit);
        } else if sample.inflight.saturating_mul(2) >= self.limit {
            self.limit = (self.limit + 1).clamp(c.min_limit, c.max_limit);
        }
        self.limit
    }
}
