//! The [`Limiter`] trait (one interface for every adaptive concurrency algorithm), the
//! [`Sample`] it learns from, and the algorithms: [`Fixed`], [`Aimd`], [`Miad`],
//! [`Gradient`] and [`Vegas`], and the [`Windowed`] decorator.
//!
//! A limiter is pure arithmetic: it sees one sample per finished request and answers with the
//! new limit, always inside its configured `min..=max`. It has no clock of its own, so the
//! same algorithm runs under a simulation, a paused test clock or real time.

mod aimd;
mod fixed;
mod gradient;
mod miad;
mod vegas;
mod windowed;

pub use aimd::{Aimd, AimdConfig};
pub use fixed::Fixed;
pub use gradient::{Gradient, GradientConfig};
pub use miad::{Miad, MiadConfig};
pub use vegas::{Vegas, VegasConfig};
pub use windowed::Windowed;

use std::time::Duration;

/// What one finished request tells a limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// How long the request took.
    pub latency: Duration,
    /// Requests in flight when this one was admitted (itself included).
    pub inflight: usize,
    /// The request was dropped, timed out or rejected downstream: a congestion signal. The
    /// `latency` of a dropped sample is not a round trip (a timeout, a failure on the way,
    /// or unknown), so no limiter learns a latency baseline from it.
    pub dropped: bool,
}

impl Sample {
    /// A successful request.
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = nimsync_backpressure::Sample::success(Duration::from_millis(3), 7);
    /// assert!(!s.dropped);
    /// ```
    pub fn success(latency: Duration, inflight: usize) -> Self {
        Self {
            latency,
            inflight,
            dropped: false,
        }
    }

    /// A dropped request, after `latency` (as long as it was known: a
    /// [`Permit`](crate::Permit) reports the time since its admission). The limiters react
    /// to the drop as congestion; the delay-based ones ([`Gradient`], [`Vegas`]) do not take
    /// its latency as their no-load latency, so a drop reported with a zero latency does not
    /// make every later request look congested.
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = nimsync_backpressure::Sample::dropped(Duration::from_millis(3), 7);
    /// assert!(s.dropped);
    /// ```
    pub fn dropped(latency: Duration, inflight: usize) -> Self {
        Self {
            latency,
            inflight,
            dropped: true,
        }
    }
}

/// An adaptive concurrency algorithm: the single interface behind which [`Fixed`], [`Aimd`],
/// [`Miad`], [`Gradient`] and [`Vegas`] sit, and which a
/// [`ConcurrencyLimiter`](crate::ConcurrencyLimiter) drives.
///
/// Implementations must keep the limit within their configured bounds and must not panic on
/// any sample (latencies of zero or hours, `inflight` of zero included). A dropped sample is
/// a congestion signal only: an implementation must not learn a latency baseline (a minimum
/// or no-load latency) from it.
///
/// ```
/// use std::time::Duration;
/// use nimsync_backpressure::{Aimd, Limiter, Sample};
///
/// let mut aimd = Aimd::default(); // Netflix defaults: 20..=200, start at 20
/// assert_eq!(aimd.limit(), 20);
/// aimd.update(&Sample::success(Duration::from_millis(5), 20));
/// assert_eq!(aimd.limit(), 21); // additive increase while busy
/// aimd.update(&Sample::dropped(Duration::from_millis(5), 21));
/// assert_eq!(aimd.limit(), 20); // multiplicative decrease (×0.9, floored), bounded below
/// ```
pub trait Limiter: Send + 'static {
    /// The current limit.
    fn limit(&self) -> usize;

    /// Learns from one finished request and returns the new limit.
    fn update(&mut self, sample: &Sample) -> usize;
}

impl<L: Limiter + ?Sized> Limiter for Box<L> {
    fn limit(&self) -> usize {
        (**self).limit()
    }

    fn update(&mut self, sample: &Sample) -> usize {
        (**self).update(sample)
    }
}

/// Rounds and clamps an estimate into `min..=max` (NaN maps to `min`).
pub(crate) fn clamp_limit(estimate: f64, min: usize, max: usize) -> usize {
    if estimate.is_nan() {
        return min;
    }
    // `as` saturates for out-of-range floats, which is what a clamp wants.
    (estimate.round() as usize).clamp(min, max)
}

/// Latency in seconds as `f64`.
pub(crate) fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}
