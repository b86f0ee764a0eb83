//! Metrics: a Prometheus recorder behind the `metrics` facade, fed by a sampler thread that
//! publishes every watched source at a fixed interval and runs the exporter's upkeep.
//!
//! Histograms are exported as Prometheus histograms with explicit buckets (never summaries);
//! in-process quantiles come from [`LatencyHistogram`]. With no recorder installed the
//! `metrics` macros are no-ops and nothing samples.
//!
//! ```
//! use nimsync_telemetry::{Metrics, Telemetry};
//! let t = Telemetry::builder().metrics(Metrics::prometheus().global(false)).build().unwrap();
//! let (tx, rx) = nimsync_core_channels::mpmc::<u32>(8);
//! let probe = tx.clone();
//! t.watch_channel("jobs", move || nimsync_telemetry::ChannelSample {
//!     stats: probe.stats(),
//!     len: probe.len(),
//! });
//! tx.try_send(1).unwrap();
//! t.publish_now();
//! let text = t.render_prometheus().unwrap();
//! assert!(text.contains(r#"nimsync_channel_sent_total{channel="jobs"} 1"#));
//! # drop(rx);
//! ```

mod latency;
mod layers;
mod recorder;
mod sampler;
mod sources;

pub use latency::{LatencyHistogram, Quantiles};
pub use layers::SupervisorMetrics;
pub(crate) use recorder::MetricsState;
pub use sources::{ChannelSample, MetricSource};

use crate::error::BuildError;
use crate::telemetry::Telemetry;
use nimsync_backpressure::ConcurrencyLimiter;
use nimsync_scheduler::Handle;
use sources::{ChannelSource, LimiterSource, RuntimeSource};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

/// Metrics (not global) whose sampler never ticks during a test: only `publish_now` publishes.
#[cfg(test)]
pub(crate) fn quiet_metrics() -> Telemetry {
    Telemetry::builder()
        .metrics(
            Metrics::prometheus()
                .global(false)
                .interval(Duration::from_secs(3600)),
        )
        .build()
        .expect("metrics only")
}

/// Default histogram buckets, in seconds (1 µs .. 10 s), for every histogram.
///
/// ```
/// let t = nimsync_telemetry::Telemetry::builder()
///     .metrics(nimsync_telemetry::Metrics::prometheus().global(false)).build().unwrap();
/// let h = t.latency_histogram("doc_buckets_seconds", f64::INFINITY, 1).unwrap();
/// h.record(std::time::Duration::from_millis(2));
/// let text = t.render_prometheus().unwrap();
/// let bounds = text.lines().filter(|l| l.starts_with("doc_buckets_seconds_bucket")).count();
/// assert_eq!(bounds, nimsync_telemetry::DEFAULT_BUCKETS.len() + 1); // and le="+Inf"
/// ```
pub const DEFAULT_BUCKETS: &[f64] = &[
    0.000_001, 0.000_005, 0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5,
    1.0, 5.0, 10.0,
];

/// Metrics configuration.
///
/// ```
/// use std::time::Duration;
/// let m = nimsync_telemetry::Metrics::prometheus()
///     .interval(Duration::from_millis(500))
///     .buckets_for_suffix("_bytes", &[64.0, 1024.0, 65536.0]);
/// # let _ = m;
/// ```
#[derive(Debug, Clone)]
pub struct Metrics {
    pub(crate) interval: Duration,
    pub(crate) global: bool,
    pub(crate) buckets: Vec<f64>,
    pub(crate) suffix_buckets: Vec<(String, Vec<f64>)>,
    #[cfg(feature = "http")]
    pub(crate) listen: Option<SocketAddr>,
}

impl Metrics {
    /// Loopback address used by [`serve_prometheus_default`](Self::serve_prometheus_default):
    /// `127.0.0.1:9000` (the exporter's own default is `0.0.0.0:9000`; we never listen on
    /// every interface unless asked).
    ///
    /// ```
    /// let addr = nimsync_telemetry::Metrics::DEFAULT_ADDR;
    /// assert!(addr.ip().is_loopback());
    /// assert_eq!(addr.port(), 9000);
    /// ```
    pub const DEFAULT_ADDR: SocketAddr =
        SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9000);

    /// A Prometheus recorder: 1 s sampling interval, installed as the global `metrics`
    /// recorder, [`DEFAULT_BUCKETS`], no HTTP listener.
    ///
    /// ```
    /// let m = nimsync_telemetry::Metrics::prometheus();
    /// # let _ = m;
    /// ```
    pub fn prometheus() -> Metrics {
        Metrics {
            interval: Duration::from_secs(1),
            global: true,
            buckets: DEFAULT_BUCKETS.to_vec(),
            suffix_buckets: Vec::new(),
            #[cfg(feature = "http")]
            listen: None,
        }
    }

    /// How often the sampler publishes the watched sources (must be > 0).
    ///
    /// ```
    /// let m = nimsync_telemetry::Metrics::prometheus().interval(std::time::Duration::from_secs(5));
    /// # let _ = m;
    /// ```
    pub fn interval(mut self, every: Duration) -> Metrics {
        self.interval = every;
        self
    }

    /// Whether to make the recorder the process-wide `metrics` recorder while this telemetry
    /// lives (default `true`; building fails with
    /// [`BuildError::RecorderInstalled`](crate::BuildError::RecorderInstalled) if another
    /// recorder was installed first, or while another telemetry holds it). Off, only this
    /// telemetry's sources and histograms reach it.
    ///
    /// The `metrics` facade cannot uninstall a recorder, so the first telemetry with global
    /// metrics installs a forwarding recorder for the rest of the process and points it at
    /// its own; dropping the telemetry (its last clone) clears it: handles registered
    /// through the facade afterwards (`metrics::counter!` and the like) are no-ops, and
    /// records made after the drop with histogram handles taken before it are dropped, so
    /// nothing piles up without the sampler's upkeep. A new telemetry with global metrics
    /// can then be built and takes the forwarder over (handles taken before it are not
    /// redirected: take them again, as the macros do at every call).
    ///
    /// ```
    /// use nimsync_telemetry::{Metrics, Telemetry};
    /// let m = Metrics::prometheus().global(false);
    /// # let _ = m;
    /// let t = Telemetry::builder().metrics(Metrics::prometheus()).build().unwrap();
    /// metrics::counter!("jobs_total").increment(1);
    /// assert!(t.render_prometheus().unwrap().contains("jobs_total 1"));
    /// drop(t); // the global recorder forwards nowhere now
    /// metrics::counter!("jobs_total").increment(1); // a no-op
    /// let t = Telemetry::builder().metrics(Metrics::prometheus()).build().unwrap();
    /// assert!(!t.render_prometheus().unwrap().contains("jobs_total"));
    /// ```
    pub fn global(mut self, on: bool) -> Metrics {
        self.global = on;
        self
    }

    /// Buckets (seconds or any unit) for every histogram not matched by a suffix rule.
    ///
    /// ```
    /// let m = nimsync_telemetry::Metrics::prometheus().buckets(&[0.001, 0.01, 0.1]);
    /// # let _ = m;
    /// ```
    pub fn buckets(mut self, bounds: &[f64]) -> Metrics {
        self.buckets = bounds.to_vec();
        self
    }

    /// Buckets for histograms whose name ends with `suffix`.
    ///
    /// ```
    /// let m = nimsync_telemetry::Metrics::prometheus().buckets_for_suffix("_bytes", &[1.0, 1e3, 1e6]);
    /// # let _ = m;
    /// ```
    pub fn buckets_for_suffix(mut self, suffix: &str, bounds: &[f64]) -> Metrics {
        self.suffix_buckets
            .push((suffix.to_string(), bounds.to_vec()));
        self
    }

    /// Serves the text exposition over HTTP at `addr` with the exporter's own listener
    /// (feature `http`, on by default). Port 0 picks a free port (see
    /// [`Telemetry::prometheus_addr`]).
    ///
    /// ```
    /// let m = nimsync_telemetry::Metrics::prometheus().serve_prometheus("127.0.0.1:0".parse().unwrap());
    /// # let _ = m;
    /// ```
    #[cfg(feature = "http")]
    pub fn serve_prometheus(mut self, addr: SocketAddr) -> Metrics {
        self.listen = Some(addr);
        self
    }

    /// [`serve_prometheus`](Self::serve_prometheus) on [`DEFAULT_ADDR`](Self::DEFAULT_ADDR).
    ///
    /// ```
    /// let m = nimsync_telemetry::Metrics::prometheus().serve_prometheus_default();
    /// # let _ = m;
    /// ```
    #[cfg(feature = "http")]
    pub fn serve_prometheus_default(self) -> Metrics {
        self.serve_prometheus(Self::DEFAULT_ADDR)
    }
}

impl Telemetry {
    /// The Prometheus text exposition of everything recorded (after upkeep); `None` without
    /// metrics.
    ///
    /// ```
    /// let t = nimsync_telemetry::Telemetry::builder().build().unwrap();
    /// assert_eq!(t.render_prometheus(), None);
    /// ```
    pub fn render_prometheus(&self) -> Option<String> {
        self.metrics_state().map(MetricsState::render)
    }

    /// Where the HTTP endpoint listens (`GET /metrics` or any path), if one was asked for.
    ///
    /// ```
    /// let t = nimsync_telemetry::Telemetry::builder().build().unwrap();
    /// assert_eq!(t.prometheus_addr(), None);
    /// ```
    pub fn prometheus_addr(&self) -> Option<SocketAddr> {
        self.metrics_state().and_then(|m| m.listen_addr)
    }

    /// Publishes every watched source now (the sampler does it every interval).
    ///
    /// ```
    /// nimsync_telemetry::Telemetry::builder().build().unwrap().publish_now(); // no metrics: no-op
    /// ```
    pub fn publish_now(&self) {
        if let Some(m) = self.metrics_state() {
            m.publish();
        }
    }

    /// Publishes `source` at every tick. No-op without metrics.
    ///
    /// ```
    /// let t = nimsync_telemetry::Telemetry::builder()
    ///     .metrics(nimsync_telemetry::Metrics::prometheus().global(false)).build().unwrap();
    /// t.watch(|| metrics::gauge!("answer").set(42.0));
    /// t.publish_now();
    /// assert!(t.render_prometheus().unwrap().contains("answer 42"));
    /// ```
    pub fn watch(&self, source: impl MetricSource) {
        if let Some(m) = self.metrics_state() {
            m.add(std::sync::Arc::new(source));
        }
    }

    /// Publishes a runtime's metrics (per worker and totals) under the label `runtime=name`.
    ///
    /// ```
    /// let t = nimsync_telemetry::Telemetry::builder()
    ///     .metrics(nimsync_telemetry::Metrics::prometheus().global(false)).build().unwrap();
    /// let rt = nimsync_scheduler::Runtime::builder().workers(2).build().unwrap();
    /// t.watch_runtime("main", rt.handle().clone());
    /// t.publish_now();
    /// assert!(t.render_prometheus().unwrap().contains(r#"nimsync_runtime_workers{runtime="main"} 2"#));
    /// ```
    pub fn watch_runtime(&self, name: impl Into<String>, handle: Handle) {
        self.watch(RuntimeSource {
            name: name.into(),
            handle,
            last: Mutex::new(None),
            handles: std::sync::OnceLock::new(),
        });
    }

    /// Publishes a channel's counters and length (`sample` reads them, e.g. from a clone of
    /// one of its halves) under the label `channel=name`.
    ///
    /// ```
    /// let t = nimsync_telemetry::Telemetry::builder()
    ///     .metrics(nimsync_telemetry::Metrics::prometheus().global(false)).build().unwrap();
    /// let (tx, _rx) = nimsync_core_channels::mpmc::<u8>(2);
    /// t.watch_channel("c", move || nimsync_telemetry::ChannelSample { stats: tx.stats(), len: tx.len() });
    /// ```
    pub fn watch_channel(
        &self,
        name: impl Into<String>,
        sample: impl Fn() -> ChannelSample + Send + Sync + 'static,
    ) {
        self.watch(ChannelSource {
            name: name.into(),
            sample,
        });
    }

    /// Publishes a concurrency limiter's current limit and in-flight count under the label
    /// `limiter=name`.
    ///
    /// ```
    /// use nimsync_backpressure::{ConcurrencyLimiter, Fixed};
    /// let t = nimsync_telemetry::Telemetry::builder()
    ///     .metrics(nimsync_telemetry::Metrics::prometheus().global(false)).build().unwrap();
    /// t.watch_limiter("db", ConcurrencyLimiter::new(Fixed::new(8).unwrap()));
    /// t.publish_now();
    /// assert!(t.render_prometheus().unwrap().contains(r#"nimsync_limiter_limit{limiter="db"} 8"#));
    /// ```
    pub fn watch_limiter(&self, name: impl Into<String>, limiter: ConcurrencyLimiter) {
        self.watch(LimiterSource {
            name: name.into(),
            limiter,
        });
    }

    /// A latency histogram registered with this telemetry's recorder (Prometheus buckets)
    /// with in-process quantiles; see [`LatencyHistogram::sampled`] for `max_rate` /
    /// `keep_one_in` (pass `f64::INFINITY`, 1 to record everything). Without metrics it keeps
    /// the in-process quantiles only. Once the telemetry is dropped, its Prometheus half drops
    /// what it records (nothing would render or drain it); the quantiles go on.
    ///
    /// The sampler also publishes the in-process P50, P95, P99 and P99.9 (HDR histogram,
    /// within 0.1 %; since creation or the last [`reset`](LatencyHistogram::reset)) as the
    /// gauge `<name>_quantile{quantile="0.5"|"0.95"|"0.99"|"0.999"}`, in seconds, the unit
    /// suffix kept last: `ask_seconds` gives `ask_quantile_seconds`. (The exporter's own
    /// summaries are never used: their quantiles are wrong for small or fresh windows.)
    ///
    /// An empty `name` is [`BuildError::EmptyMetricName`](crate::BuildError::EmptyMetricName),
    /// a `max_rate` that is NaN, zero or negative
    /// [`BuildError::SamplingRate`](crate::BuildError::SamplingRate).
    ///
    /// ```
    /// let t = nimsync_telemetry::Telemetry::builder()
    ///     .metrics(nimsync_telemetry::Metrics::prometheus().global(false)).build().unwrap();
    /// let h = t.latency_histogram("ask_seconds", f64::INFINITY, 1).unwrap();
    /// h.record(std::time::Duration::from_micros(3));
    /// t.publish_now();
    /// let text = t.render_prometheus().unwrap();
    /// assert!(text.contains("ask_seconds_bucket"));
    /// assert!(text.contains(r#"ask_quantile_seconds{quantile="0.99"} 0.000003"#));
    /// assert!(t.latency_histogram("", f64::INFINITY, 1).is_err());
    /// assert!(t.latency_histogram("x_seconds", -1.0, 8).is_err());
    /// ```
    pub fn latency_histogram(
        &self,
        name: impl Into<metrics::SharedString>,
        max_rate: f64,
        keep_one_in: u64,
    ) -> Result<LatencyHistogram, BuildError> {
        let name = name.into();
        if name.is_empty() {
            return Err(BuildError::EmptyMetricName);
        }
        latency::check_rate(max_rate)?;
        let Some(m) = self.metrics_state() else {
            return Ok(LatencyHistogram::with_handle(
                metrics::Histogram::noop(),
                max_rate,
                keep_one_in,
            ));
        };
        let gauge = latency::quantile_gauge_name(&name);
        let handle = m.with_recorder(|| metrics::histogram!(name));
        let histogram = LatencyHistogram::with_handle(handle, max_rate, keep_one_in);
        m.add(std::sync::Arc::new(histogram.quantile_source(gauge)));
        Ok(histogram)
    }
}
