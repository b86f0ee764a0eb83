//! `AdaptiveBackpressure`: the original nimsync surface — decide from a queue depth whether
//! to send, learn from processing latencies — on top of [`Miad`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::error::ConfigError;
use crate::limit::{Limiter, Miad, MiadConfig, Sample};

/// Queue-depth and latency feedback for a producer: [`can_send`](Self::can_send) compares a
/// queue depth with the current window, [`on_processed`](Self::on_processed) and
/// [`update_congestion`](Self::update_congestion) move the window with MIAD on smoothed
/// latency (see [`Miad`]). `can_send` is one atomic load; updates take a short lock.
///
/// ```
/// use std::time::Duration;
/// use nimsync_backpressure::{AdaptiveBackpressure, MiadConfig};
///
/// let bp = AdaptiveBackpressure::new(MiadConfig {
///     initial_limit: 4,
///     target_latency: Duration::from_millis(10),
///     ..MiadConfig::default()
/// })
/// .unwrap();
/// assert!(bp.can_send(3));
/// assert!(!bp.can_send(4)); // the queue is as deep as the window
/// bp.on_processed(Duration::from_millis(1)); // fast: the window grows
/// assert!(bp.can_send(4));
/// bp.update_congestion(100, Duration::from_millis(50)); // deep queue, slow: it shrinks
/// assert_eq!(bp.window(), 4);
/// ```
#[derive(Debug)]
pub struct AdaptiveBackpressure {
    window: AtomicUsize,
    miad: Mutex<Miad>,
}

impl AdaptiveBackpressure {
    /// A controller with the given MIAD settings (`initial_limit` is the starting window).
    pub fn new(config: MiadConfig) -> Result<Self, ConfigError> {
        let miad = Miad::new(config)?;
        Ok(Self {
            window: AtomicUsize::new(miad.limit()),
            miad: Mutex::new(miad),
        })
    }

    /// Whether a producer may add to a queue that currently holds `queue_depth` items.
    pub fn can_send(&self, queue_depth: usize) -> bool {
        queue_depth < self.window.load(Ordering::Acquire)
    }

    /// The current window (queue depth allowed).
    pub fn window(&self) -> usize {
        self.window.load(Ordering::Acquire)
    }

    /// One item was processed in `latency`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use nimsync_backpressure::{AdaptiveBackpressure, MiadConfig};
    /// let bp = AdaptiveBackpressure::new(MiadConfig::default()).unwrap();
    /// bp.on_processed(Duration::from_secs(1)); // far over the 10 ms target
    /// assert_eq!(bp.window(), 9);
    /// ```
    pub fn on_processed(&self, latency: Duration) {
        let mut miad = self.lock();
        let window = miad.limit();
        let new = miad.update(&Sample::success(latency, window));
        self.window.store(new, Ordering::Release);
    }

    /// Congestion report: the queue holds `depth` items and items take `latency`. A queue
    /// deeper than the window, or latency over target, shrinks the window; otherwise it
    /// grows as in [`on_processed`](Self::on_processed).
    pub fn update_congestion(&self, depth: usize, latency: Duration) {
        let mut miad = self.lock();
        let avg = miad.smooth(latency);
        let over_target = avg > miad.config().target_latency.as_secs_f64();
        let new = if depth > miad.limit() || over_target {
            miad.decrease()
        } else {
            // Not congested: grow as a fully used window would (latency already smoothed,
            // so feed the smoothed value back to keep the average unchanged).
            let window = miad.limit();
            miad.update(&Sample::success(Duration::from_secs_f64(avg), window))
        };
        self.window.store(new, Ordering::Release);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Miad> {
        self.miad.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
