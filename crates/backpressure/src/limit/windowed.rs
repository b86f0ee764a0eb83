//! `Windowed`: feeds an inner limiter one aggregated sample per window of samples.

use std::time::Duration;

use super::{Limiter, Sample};
use crate::error::ConfigError;

/// Aggregates samples into windows of `max(min_samples, limit)` samples — about one round
/// trip of the current limit — and feeds the inner limiter one sample per window: the mean
/// latency, the largest `inflight`, and `dropped` if any sample in the window dropped.
///
/// Loss-based algorithms ([`Aimd`](super::Aimd), [`Miad`](super::Miad)) need this under
/// load: without it, every request of one congested round trip reports the same congestion
/// and the limit is cut once per request instead of once per round trip (Netflix's
/// `WindowedLimit`, counted in samples instead of wall time so it needs no clock).
///
/// ```
/// use std::time::Duration;
/// use nimsync_backpressure::{Aimd, AimdConfig, Limiter, Sample, Windowed};
/// let aimd = Aimd::new(AimdConfig { min_limit: 1, initial_limit: 10, ..Default::default() }).unwrap();
/// let mut w = Windowed::new(aimd, 1).unwrap();
/// for _ in 0..9 {
///     w.update(&Sample::dropped(Duration::from_millis(1), 10));
/// }
/// assert_eq!(w.limit(), 10); // window not complete yet
/// w.update(&Sample::dropped(Duration::from_millis(1), 10));
/// assert_eq!(w.limit(), 9); // one cut for the whole window
/// ```
#[derive(Debug, Clone)]
pub struct Windowed<L> {
    inner: L,
    min_samples: usize,
    count: usize,
    latency_sum: Duration,
    max_inflight: usize,
    dropped: bool,
}

impl<L: Limiter> Windowed<L> {
    /// Wraps `inner`; a window holds at least `min_samples` (≥ 1) samples.
    pub fn new(inner: L, min_samples: usize) -> Result<Self, ConfigError> {
        if min_samples == 0 {
            return Err(ConfigError::Zero("min_samples"));
        }
        Ok(Self {
            inner,
            min_samples,
            count: 0,
            latency_sum: Duration::ZERO,
            max_inflight: 0,
            dropped: false,
        })
    }

    /// The wrapped limiter.
    pub fn inner(&self) -> &L {
        &self.inner
    }
}

impl<L: Limiter> Limiter for Windowed<L> {
    fn limit(&self) -> usize {
        self.inner.limit()
    }

    fn update(&mut self, sample: &Sample) -> usize {
        self.count += 1;
        self.latency_sum = self.latency_sum.saturating_add(sample.latency);
        self.max_inflight = self.max_inflight.max(sample.inflight);
        self.dropped |= sample.dropped;
        if self.count < self.min_samples.max(self.inner.limit()) {
            return self.inner.limit();
        }
        let n = u32::try_from(self.count).unwrap_or(u32::MAX);
        let aggregate = Sample {
            latency: self.latency_sum / n,
            inflight: self.max_inflight,
            dropped: self.dropped,
        };
        self.count = 0;
        self.latency_sum = Duration::ZERO;
        self.max_inflight = 0;
        self.dropped = false;
        self.inner.update(&aggregate)
    }
}
