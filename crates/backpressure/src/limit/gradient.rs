//! `Gradient`: Netflix's `GradientLimit`, which compares the latency with the no-load
//! latency and moves the limit along the gradient.

use super::{Limiter, Sample, clamp_limit, secs};
use crate::error::{ConfigError, check_bounds, check_range};

/// Configuration of [`Gradient`]; the defaults follow Netflix's gradient limits.
///
/// ```
/// use nimsync_backpressure::{Gradient, GradientConfig, Limiter};
/// let g = Gradient::new(GradientConfig { max_limit: 500, ..Default::default() }).unwrap();
/// assert_eq!(g.limit(), 20);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GradientConfig {
    /// Lower bound (default 20).
    pub min_limit: usize,
    /// Upper bound (default 200).
    pub max_limit: usize,
    /// Starting limit (default 20).
    pub initial_limit: usize,
    /// Weight of a new estimate in the limit, in `(0, 1]` (default 0.2).
    pub smoothing: f64,
    /// Headroom added on every update, in requests (default 4).
    pub queue_size: usize,
    /// Re-measure the no-load latency every `probe_interval` samples (default 1000).
    pub probe_interval: usize,
    /// How much slower than the no-load latency a request may be before the limit shrinks,
    /// `≥ 1` (default 1.5).
    pub tolerance: f64,
}

impl Default for GradientConfig {
    fn default() -> Self {
        Self {
            min_limit: 20,
            max_limit: 200,
            initial_limit: 20,
            smoothing: 0.2,
            queue_size: 4,
            probe_interval: 1000,
            tolerance: 1.5,
        }
    }
}

/// The gradient algorithm: `gradient = clamp(tolerance · rtt_noload / rtt, 0.5, 1)`,
/// `estimate = limit · gradient + queue_size`, and the limit moves toward the estimate by
/// `smoothing`. `rtt_noload` is the minimum latency of the successful samples, re-measured
/// every `probe_interval` samples so a lasting shift is learnt. The limit never grows while
/// less than half of it is in use; a drop uses the smallest gradient, 0.5, and leaves
/// `rtt_noload` alone (its latency is not a round trip). Under load it settles
/// where latency is about `tolerance ×` the no-load latency (plus `queue_size` of headroom).
///
/// ```
/// use std::time::Duration;
/// use nimsync_backpressure::{Gradient, GradientConfig, Limiter, Sample};
/// let mut g = Gradient::new(GradientConfig::default()).unwrap();
/// for _ in 0..50 {
///     g.update(&Sample::success(Duration::from_millis(10), g.limit()));
/// }
/// let grown = g.limit();
/// assert!(grown > 20); // steady latency: the limit probes upward by the queue headroom
/// for _ in 0..50 {
///     g.update(&Sample::success(Duration::from_millis(100), g.limit()));
/// }
/// assert!(g.limit() < grown); // latency ×10: the limit backs off
/// ```
#[derive(Debug, Clone)]
pub struct Gradient {
    config: GradientConfig,
    estimate: f64,
    rtt_noload: Option<f64>,
    samples_since_probe: usize,
}

impl Gradient {
    /// Validates `config`.
    pub fn new(config: GradientConfig) -> Result<Self, ConfigError> {
        check_bounds(config.min_limit, config.max_limit, config.initial_limit)?;
        check_range(
            "smoothing",
            config.smoothing,
            f64::MIN_POSITIVE,
            1.0,
            false,
            "a number in (0, 1]",
        )?;
        check_range(
            "tolerance",
            config.tolerance,
            1.0,
            100.0,
            false,
            "a number in [1, 100]",
        )?;
        if config.probe_interval == 0 {
            return Err(ConfigError::Zero("probe_interval"));
        }
        Ok(Self {
            estimate: config.initial_limit as f64,
            config,
            rtt_noload: None,
            samples_since_probe: 0,
        })
    }
}

impl Default for Gradient {
    fn default() -> Self {
        Self::new(GradientConfig::default()).unwrap_or_else(|_| unreachable!("defaults are valid"))
    }
}

impl Limiter for Gradient {
    fn limit(&self) -> usize {
        clamp_limit(self.estimate, self.config.min_limit, self.config.max_limit)
    }

    fn update(&mut self, sample: &Sample) -> usize {
        let c = &self.config;
        // Guard against a zero latency (a clock with coarse resolution): 1 ns floor.
        let rtt = secs(sample.latency).max(1e-9);
        self.samples_since_probe += 1;
        if self.samples_since_probe >= c.probe_interval {
            self.samples_since_probe = 0;
            self.rtt_noload = None;
        }
        let limit = self.estimate;
        let gradient = if sample.dropped {
            // A drop is congestion, not a latency: its latency (a timeout, or unknown and
            // zero) must not become the no-load baseline, or every later sample would look
            // congested until the next probe.
            0.5
        } else {
            let noload = match self.rtt_noload {
                Some(n) if n <= rtt => n,
                _ => {
                    self.rtt_noload = Some(rtt);
                    rtt
                }
            };
            if (sample.inflight as f64) < limit / 2.0 {
                return self.limit(); // app-limited: the latency says nothing about capacity
            }
            (c.tolerance * noload / rtt).clamp(0.5, 1.0)
        };
        let target = limit * gradient + c.queue_size as f64;
        let next = limit * (1.0 - c.smoothing) + target * c.smoothing;
        self.estimate = next.clamp(c.min_limit as f64, c.max_limit as f64);
        self.limit()
    }
}
