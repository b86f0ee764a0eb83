//! `Vegas`: delay-based limiting after TCP Vegas (Netflix's `VegasLimit`).

use super::{Limiter, Sample, clamp_limit, secs};
use crate::error::{ConfigError, check_bounds, check_range};

/// Configuration of [`Vegas`]; the defaults are Netflix's `VegasLimit`.
///
/// ```
/// use nimsync_backpressure::{Vegas, VegasConfig, Limiter};
/// let v = Vegas::new(VegasConfig { initial_limit: 50, ..Default::default() }).unwrap();
/// assert_eq!(v.limit(), 50);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct VegasConfig {
    /// Lower bound (default 1).
    pub min_limit: usize,
    /// Upper bound (default 1000).
    pub max_limit: usize,
    /// Starting limit (default 20).
    pub initial_limit: usize,
    /// Weight of a new estimate in the limit, in `(0, 1]` (default 1.0).
    pub smoothing: f64,
    /// Re-measure the no-load latency every `probe_multiplier × limit` samples (default 30).
    pub probe_multiplier: usize,
}

impl Default for VegasConfig {
    fn default() -> Self {
        Self {
            min_limit: 1,
            max_limit: 1000,
            initial_limit: 20,
            smoothing: 1.0,
            probe_multiplier: 30,
        }
    }
}

/// TCP Vegas for requests: the no-load latency is the minimum of the successful samples
/// (a drop's latency is not a round trip and never lowers it); the queue estimate is
/// `⌈limit · (1 − rtt_noload / rtt)⌉`. With `α = 3·log10(limit)`, `β = 6·log10(limit)` and
/// `threshold = log10(limit)`: a queue at most `threshold` grows the limit by `β`, below `α`
/// by `log10(limit)`, above `β` shrinks it by `log10(limit)`; a drop shrinks it too. The
/// minimum is re-probed (reset) every `probe_multiplier × limit` samples so a permanent
/// latency shift is learnt.
///
/// ```
/// use std::time::Duration;
/// use nimsync_backpressure::{Vegas, VegasConfig, Limiter, Sample};
/// let mut v = Vegas::new(VegasConfig { initial_limit: 100, ..Default::default() }).unwrap();
/// v.update(&Sample::success(Duration::from_millis(10), 100)); // sets rtt_noload
/// assert_eq!(v.limit(), 112); // no queue: +6·log10(100)
/// v.update(&Sample::success(Duration::from_millis(20), 112)); // half the latency is queueing
/// assert!(v.limit() < 112);
/// ```
#[derive(Debug, Clone)]
pub struct Vegas {
    config: VegasConfig,
    estimate: f64,
    rtt_noload: Option<f64>,
    samples_since_probe: usize,
}

impl Vegas {
    /// Validates `config`.
    pub fn new(config: VegasConfig) -> Result<Self, ConfigError> {
        check_bounds(config.min_limit, config.max_limit, config.initial_limit)?;
        check_range(
            "smoothing",
            config.smoothing,
            f64::MIN_POSITIVE,
            1.0,
            false,
            "a number in (0, 1]",
        )?;
        if config.probe_multiplier == 0 {
            return Err(ConfigError::Zero("probe_multiplier"));
        }
        Ok(Self {
            estimate: config.initial_limit as f64,
            config,
            rtt_noload: None,
            samples_since_probe: 0,
        })
    }
}

impl Default for Vegas {
    fn default() -> Self {
        Self::new(VegasConfig::default()).unwrap_or_else(|_| unreachable!("defaults are valid"))
    }
}

/// `log10` of the limit, at least 1 (so small limits still move).
fn log10_at_least_one(limit: f64) -> f64 {
    limit.log10().max(1.0)
}

impl Limiter for Vegas {
    fn limit(&self) -> usize {
        clamp_limit(self.estimate, self.config.min_limit, self.config.max_limit)
    }

    fn update(&mut self, sample: &Sample) -> usize {
        let c = &self.config;
        let rtt = secs(sample.latency).max(1e-9);
        self.samples_since_probe += 1;
        if self.samples_since_probe >= c.probe_multiplier.saturating_mul(self.limit()) {
            self.samples_since_probe = 0;
            self.rtt_noload = None; // probe: the next successful sample sets a fresh minimum
        }
        let limit = self.estimate;
        let log = log10_at_least_one(limit);
        let next = if sample.dropped {
            // A drop is congestion, not a latency: its latency (a timeout, or unknown and
            // zero) must not become the no-load baseline, or every later sample would look
            // queued until the next probe.
            limit - log
        } else {
            let noload = match self.rtt_noload {
                Some(n) if n <= rtt => n,
                _ => {
                    self.rtt_noload = Some(rtt);
                    rtt
                }
            };
            if (sample.inflight as f64) * 2.0 < limit {
                return self.limit(); // app-limited
            }
            let queue = (limit * (1.0 - noload / rtt)).ceil();
            let (alpha, beta, threshold) = (3.0 * log, 6.0 * log, log);
            if queue <= threshold {
                limit + beta
            } else if queue < alpha {
                limit + log
            } else if queue > beta {
                limit - log
            } else {
                limit
            }
        };
        let next = limit * (1.0 - c.smoothing) + next * c.smoothing;
        self.estimate = next.clamp(c.min_limit as f64, c.max_limit as f64);
        self.limit()
    }
}
