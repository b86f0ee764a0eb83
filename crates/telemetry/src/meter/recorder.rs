//! The Prometheus recorder shared by the sampler, the histograms and (optionally) the process:
//! built with explicit buckets for every histogram, with upkeep run at each sampler tick.
//!
//! ```
//! let t = nimsync_telemetry::Telemetry::builder()
//!     .metrics(nimsync_telemetry::Metrics::prometheus().global(false)).build().unwrap();
//! assert_eq!(t.render_prometheus().unwrap(), "");
//! ```

use super::Metrics;
use super::sampler::Sampler;
use super::sources::MetricSource;
use crate::error::BuildError;
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// A recorder shared between the global slot and the telemetry handle.
#[derive(Clone)]
pub(crate) struct SharedRecorder(pub(crate) Arc<PrometheusRecorder>);

impl Recorder for SharedRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe_counter(key, unit, description)
    }
    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe_gauge(key, unit, description)
    }
    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe_histogram(key, unit, description)
    }
    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        self.0.register_counter(key, metadata)
    }
    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        self.0.register_gauge(key, metadata)
    }
    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        self.0.register_histogram(key, metadata)
    }
}

pub(crate) type Sources = Arc<Mutex<Vec<Box<dyn MetricSource>>>>;

/// The metrics half of a telemetry handle.
pub(crate) struct MetricsState {
    recorder: SharedRecorder,
    handle: PrometheusHandle,
    sources: Sources,
    pub(crate) listen_addr: Option<SocketAddr>,
    _sampler: Sampler,
    #[cfg(feature = "http")]
    _listener: Option<super::sampler::Listener>,
}

fn check_buckets(bounds: &[f64]) -> Result<(), BuildError> {
    let increasing = bounds.windows(2).all(|w| w[0] < w[1]);
    if bounds.is_empty() || !increasing || bounds.iter().any(|b| !b.is_finite()) {
        return Err(BuildError::Buckets);
    }
    Ok(())
}

impl MetricsState {
    pub(crate) fn start(cfg: Metrics) -> Result<MetricsState, BuildError> {
        if cfg.interval.is_zero() {
            return Err(BuildError::ZeroInterval);
        }
        check_buckets(&cfg.buckets)?;
        let prom =
            |e: metrics_exporter_prometheus::BuildError| BuildError::Prometheus(e.to_string());
        // Buckets for every histogram: the exporter never falls back to summaries.
        let mut builder = PrometheusBuilder::new()
            .set_buckets(&cfg.buckets)
            .map_err(prom)?;
        for (suffix, bounds) in &cfg.suffix_buckets {
            check_buckets(bounds)?;
            builder = builder
                .set_buckets_for_metric(Matcher::Suffix(suffix.clone()), bounds)
                .map_err(prom)?;
        }
        #[cfg(feature = "http")]
        let (recorder, listener, listen_addr) = match cfg.listen {
            Some(addr) => {
                let (recorder, listener, addr) = super::sampler::Listener::start(builder, addr)?;
                (recorder, Some(listener), Some(addr))
            }
            None => (builder.build_recorder(), None, None),
        };
        #[cfg(not(feature = "http"))]
        let (recorder, listen_addr) = (builder.build_recorder(), None);
        let handle = recorder.handle();
        let recorder = SharedRecorder(Arc::new(recorder));
        if cfg.global && metrics::set_global_recorder(recorder.clone()).is_err() {
            return Err(BuildError::RecorderInstalled);
        }
        let sources: Sources = Arc::new(Mutex::new(Vec::new()));
        let sampler = Sampler::start(
            cfg.interval,
            recorder.clone(),
            handle.clone(),
            sources.clone(),
        )?;
        Ok(MetricsState {
            recorder,
            handle,
            sources,
            listen_addr,
            _sampler: sampler,
            #[cfg(feature = "http")]
            _listener: listener,
        })
    }

    pub(crate) fn add(&self, source: Box<dyn MetricSource>) {
        if let Ok(mut s) = self.sources.lock() {
            s.push(source);
        }
    }

    pub(crate) fn publish(&self) {
        super::sampler::publish(&self.recorder, &self.sources);
    }

    pub(crate) fn render(&self) -> String {
        self.handle.run_upkeep();
        self.handle.render()
    }

    pub(crate) fn with_recorder<R>(&self, f: impl FnOnce() -> R) -> R {
        metrics::with_local_recorder(&self.recorder, f)
    }
}
