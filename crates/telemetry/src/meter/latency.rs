//! Latency histograms with correct quantiles: an HDR histogram in process (P50, P95, P99,
//! P99.9 within 0.1 %), mirrored into a Prometheus histogram with explicit buckets (never the
//! exporter's summaries, whose quantiles are wrong for small or fresh windows).
//!
//! **Adaptive sampling.** A histogram recorded more than `max_rate` times per second keeps one
//! sample in `keep_one_in` and records it with weight `keep_one_in`, so counts stay right and
//! quantiles stay unbiased while the cost per call drops to one atomic add. The rate is
//! re-measured every 4096 calls; under the rate every sample is recorded.
//!
//! ```
//! use std::time::Duration;
//! let h = nimsync_telemetry::LatencyHistogram::new("demo_latency_seconds");
//! for us in 1..=1000u64 {
//!     h.record(Duration::from_micros(us));
//! }
//! let q = h.quantiles();
//! assert_eq!(q.count, 1000);
//! assert!((q.p50.as_micros() as i64 - 500).abs() <= 1);
//! ```

use crate::error::BuildError;
use hdrhistogram::Histogram;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// Calls between two rate measurements.
const RATE_WINDOW: u64 = 4096;
/// Largest recordable value: one hour, in nanoseconds (larger values are clamped).
const MAX_NANOS: u64 = 3_600_000_000_000;

/// An adaptive sampling rate must be a positive number of records per second (infinity: never
/// sample).
pub(crate) fn check_rate(max_rate: f64) -> Result<(), BuildError> {
    if max_rate.is_nan() || max_rate <= 0.0 {
        return Err(BuildError::SamplingRate(max_rate));
    }
    Ok(())
}

/// Quantiles of a [`LatencyHistogram`].
///
/// ```
/// use std::time::Duration;
/// let h = nimsync_telemetry::LatencyHistogram::new("doc_quantiles_seconds");
/// for ms in 1..=100u64 {
///     h.record(Duration::from_millis(ms));
/// }
/// let q: nimsync_telemetry::Quantiles = h.quantiles();
/// assert_eq!(q.count, 100);
/// assert!(q.p50 <= q.p95 && q.p95 <= q.p99 && q.p99 <= q.p999 && q.p999 <= q.max);
/// assert_eq!(q.max.as_millis(), 100); // within the HDR histogram's 0.1 %
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Quantiles {
    /// Samples recorded (weighted by the sampling stride).
    pub count: u64,
    /// Median.
    pub p50: Duration,
    /// 95th percentile.
    pub p95: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// 99.9th percentile.
    pub p999: Duration,
    /// Largest sample.
    pub max: Duration,
}

struct Inner {
    hdr: Mutex<Histogram<u64>>,
    prom: metrics::Histogram,
    calls: AtomicU64,
    stride: AtomicU64,
    window: Mutex<Instant>,
    max_rate: f64,
    keep_one_in: u64,
}

/// A latency histogram; cheap to clone (clones share the data). See the module docs.
///
/// ```
/// let h = nimsync_telemetry::LatencyHistogram::new("rpc_seconds");
/// h.record(std::time::Duration::from_millis(3));
/// assert_eq!(h.quantiles().count, 1);
/// ```
#[derive(Clone)]
pub struct LatencyHistogram {
    inner: Arc<Inner>,
}

impl fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LatencyHistogram")
            .field("quantiles", &self.quantiles())
            .finish()
    }
}

impl LatencyHistogram {
    /// A histogram published as the Prometheus histogram `name` through the current `metrics`
    /// recorder (none installed: in-process quantiles only). Records every sample.
    ///
    /// ```
    /// let h = nimsync_telemetry::LatencyHistogram::new("db_query_seconds");
    /// # let _ = h;
    /// ```
    pub fn new(name: impl Into<metrics::SharedString>) -> LatencyHistogram {
        Self::with_handle(metrics::histogram!(name.into()), f64::INFINITY, 1)
    }

    /// Like [`new`](Self::new) with adaptive sampling: above `max_rate` records per second,
    /// keep one sample in `keep_one_in` (weighted). `keep_one_in` of 0 or 1 disables it, and
    /// so does a `max_rate` of `f64::INFINITY`.
    ///
    /// A `max_rate` that is NaN, zero or negative is
    /// [`BuildError::SamplingRate`](crate::BuildError::SamplingRate).
    ///
    /// ```
    /// use nimsync_telemetry::LatencyHistogram;
    /// let h = LatencyHistogram::sampled("hot_path_seconds", 1e6, 16).unwrap();
    /// assert_eq!(h.stride(), 1); // nothing recorded yet: every sample counts
    /// assert!(LatencyHistogram::sampled("bad_seconds", f64::NAN, 16).is_err());
    /// ```
    pub fn sampled(
        name: impl Into<metrics::SharedString>,
        max_rate: f64,
        keep_one_in: u64,
    ) -> Result<LatencyHistogram, BuildError> {
        check_rate(max_rate)?;
        Ok(Self::with_handle(
            metrics::histogram!(name.into()),
            max_rate,
            keep_one_in,
        ))
    }

    pub(crate) fn with_handle(
        prom: metrics::Histogram,
        max_rate: f64,
        keep_one_in: u64,
    ) -> LatencyHistogram {
        // 1 ns .. 1 h with 3 significant digits: every quantile within 0.1 %.
        // Constant, valid bounds: hdrhistogram rejects only low < 1, high < 2 * low or sigfig > 5.
        let hdr = Histogram::new_with_bounds(1, MAX_NANOS, 3).expect("valid constant bounds");
        LatencyHistogram {
            inner: Arc::new(Inner {
                hdr: Mutex::new(hdr),
                prom,
                calls: AtomicU64::new(0),
                stride: AtomicU64::new(1),
                window: Mutex::new(Instant::now()),
                max_rate,
                keep_one_in: keep_one_in.max(1),
            }),
        }
    }

    /// Records one latency.
    ///
    /// ```
    /// let h = nimsync_telemetry::LatencyHistogram::new("x_seconds");
    /// h.record(std::time::Duration::from_nanos(250));
    /// assert_eq!(h.quantiles().max.as_nanos(), 250);
    /// ```
    pub fn record(&self, latency: Duration) {
        let inner = &*self.inner;
        let n = inner.calls.fetch_add(1, Ordering::Relaxed);
        if inner.keep_one_in > 1 && n % RATE_WINDOW == RATE_WINDOW - 1 {
            self.remeasure_rate();
        }
        let stride = inner.stride.load(Ordering::Relaxed);
        if stride > 1 && !n.is_multiple_of(stride) {
            return;
        }
        let nanos = u64::try_from(latency.as_nanos())
            .unwrap_or(u64::MAX)
            .clamp(1, MAX_NANOS);
        if let Ok(mut hdr) = inner.hdr.lock() {
            let _ = hdr.record_n(nanos, stride);
        }
        let secs = latency.as_secs_f64();
        if stride == 1 {
            inner.prom.record(secs);
        } else {
            inner.prom.record_many(secs, stride as usize);
        }
    }

    fn remeasure_rate(&self) {
        let inner = &*self.inner;
        let Ok(mut start) = inner.window.try_lock() else {
            return;
        };
        let elapsed = start.elapsed().as_secs_f64();
        *start = Instant::now();
        let rate = if elapsed > 0.0 {
            RATE_WINDOW as f64 / elapsed
        } else {
            f64::INFINITY
        };
        let stride = if rate > inner.max_rate {
            inner.keep_one_in
        } else {
            1
        };
        inner.stride.store(stride, Ordering::Relaxed);
    }

    /// The current sampling stride (1 = every sample recorded).
    ///
    /// ```
    /// assert_eq!(nimsync_telemetry::LatencyHistogram::new("y_seconds").stride(), 1);
    /// ```
    pub fn stride(&self) -> u64 {
        self.inner.stride.load(Ordering::Relaxed)
    }

    /// The latency at quantile `q` (0.0..=1.0; clamped).
    ///
    /// ```
    /// let h = nimsync_telemetry::LatencyHistogram::new("z_seconds");
    /// h.record(std::time::Duration::from_micros(7));
    /// assert_eq!(h.quantile(0.5).as_micros(), 7);
    /// ```
    pub fn quantile(&self, q: f64) -> Duration {
        let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
        match self.inner.hdr.lock() {
            Ok(hdr) if !hdr.is_empty() => Duration::from_nanos(hdr.value_at_quantile(q)),
            _ => Duration::ZERO,
        }
    }

    /// P50, P95, P99, P99.9, max and count in one lock.
    ///
    /// ```
    /// let q = nimsync_telemetry::LatencyHistogram::new("w_seconds").quantiles();
    /// assert_eq!(q.count, 0);
    /// ```
    pub fn quantiles(&self) -> Quantiles {
        let Ok(hdr) = self.inner.hdr.lock() else {
            return Quantiles::default();
        };
        if hdr.is_empty() {
            return Quantiles::default();
        }
        let at = |q| Duration::from_nanos(hdr.value_at_quantile(q));
        Quantiles {
            count: hdr.len(),
            p50: at(0.5),
            p95: at(0.95),
            p99: at(0.99),
            p999: at(0.999),
            max: Duration::from_nanos(hdr.max()),
        }
    }

    /// A source that publishes this histogram's quantiles as the gauge `gauge{quantile=...}`
    /// (see [`quantile_gauge_name`]); it publishes nothing once every clone is dropped.
    pub(crate) fn quantile_source(&self, gauge: String) -> QuantileSource {
        QuantileSource {
            gauge: gauge.into(),
            histogram: Arc::downgrade(&self.inner),
        }
    }

    /// Forgets every sample (the Prometheus histogram is cumulative and is not reset).
    ///
    /// ```
    /// let h = nimsync_telemetry::LatencyHistogram::new("v_seconds");
    /// h.record(std::time::Duration::from_micros(1));
    /// h.reset();
    /// assert_eq!(h.quantiles().count, 0);
    /// ```
    pub fn reset(&self) {
        if let Ok(mut hdr) = self.inner.hdr.lock() {
            hdr.reset();
        }
    }
}

/// The gauge that carries the in-process quantiles of the histogram `name`: the unit suffix
/// stays last (`ask_seconds` -> `ask_quantile_seconds`), as Prometheus names go; other names
/// get `_quantile` appended.
pub(crate) fn quantile_gauge_name(name: &str) -> String {
    match name.strip_suffix("_seconds") {
        Some(base) => format!("{base}_quantile_seconds"),
        None => format!("{name}_quantile"),
    }
}

/// Publishes a [`LatencyHistogram`]'s P50, P95, P99 and P99.9 (in seconds, since it was made
/// or last reset) as one gauge with a `quantile` label, at every sampler tick.
pub(crate) struct QuantileSource {
    gauge: metrics::SharedString,
    histogram: Weak<Inner>,
}

impl super::MetricSource for QuantileSource {
    fn publish(&self) {
        let Some(inner) = self.histogram.upgrade() else {
            return;
        };
        let q = LatencyHistogram { inner }.quantiles();
        if q.count == 0 {
            return;
        }
        for (label, value) in [
            ("0.5", q.p50),
            ("0.95", q.p95),
            ("0.99", q.p99),
            ("0.999", q.p999),
        ] {
            metrics::gauge!(self.gauge.clone(), "quantile" => label).set(value.as_secs_f64());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::quantile_gauge_name;
    use std::time::Duration;

    #[test]
    fn quantile_gauges_keep_the_unit_suffix_last() {
        assert_eq!(quantile_gauge_name("ask_seconds"), "ask_quantile_seconds");
        assert_eq!(quantile_gauge_name("queue_depth"), "queue_depth_quantile");
    }

    /// The value of `gauge{quantile="q"}` in a Prometheus text exposition.
    fn gauge_value(text: &str, gauge: &str, q: &str) -> Option<f64> {
        let prefix = format!("{gauge}{{quantile=\"{q}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.trim().parse().ok())
    }

    /// The exported quantiles are the exact ones within the HDR histogram's 0.1 % (1 000
    /// samples uniform on 1..=1000 µs; the exporter's own summary gave P50 ≈ 980 here).
    #[test]
    fn exported_quantiles_match_the_exact_values() {
        let t = crate::meter::quiet_metrics();
        let h = t
            .latency_histogram("rpc_seconds", f64::INFINITY, 1)
            .unwrap();
        t.publish_now();
        let empty = t.render_prometheus().unwrap();
        assert!(!empty.contains("rpc_quantile_seconds"), "{empty}");
        // Shuffled order: the quantiles must not depend on it.
        for i in 0..1000u64 {
            h.record(Duration::from_micros((i * 7919) % 1000 + 1));
        }
        t.publish_now();
        let text = t.render_prometheus().unwrap();
        for (q, exact_us) in [
            ("0.5", 500.0),
            ("0.95", 950.0),
            ("0.99", 990.0),
            ("0.999", 999.0),
        ] {
            let got = gauge_value(&text, "rpc_quantile_seconds", q)
                .unwrap_or_else(|| panic!("no quantile {q} in {text}"));
            let exact = exact_us * 1e-6;
            assert!(
                (got - exact).abs() <= exact * 0.001 + 1e-9,
                "P{q}: {got} s, exact {exact} s"
            );
        }
    }
}
