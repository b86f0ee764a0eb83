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
use metrics::{
    Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};

/// A telemetry's recorder, shared between the global slot, the sampler and the telemetry
/// handle.
///
/// Metrics with an empty name are not registered (the handles are no-ops): the exposition
/// would read `# TYPE  counter`, which no scraper parses. Histogram handles are wrapped
/// ([`LiveHistogram`]) so that records made after the telemetry is dropped are dropped too:
/// the Prometheus recorder keeps histogram samples in buckets that only its upkeep (the
/// sampler's tick, a render) drains, and nothing runs it any more then.
#[derive(Clone)]
pub(crate) struct SharedRecorder {
    prom: Arc<PrometheusRecorder>,
    /// Set while the telemetry lives; cleared when it is dropped.
    live: Arc<AtomicBool>,
}

impl SharedRecorder {
    fn new(prom: PrometheusRecorder) -> SharedRecorder {
        SharedRecorder {
            prom: Arc::new(prom),
            live: Arc::new(AtomicBool::new(true)),
        }
    }
}

impl Recorder for SharedRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        if !key.as_str().is_empty() {
            self.prom.describe_counter(key, unit, description);
        }
    }
    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        if !key.as_str().is_empty() {
            self.prom.describe_gauge(key, unit, description);
        }
    }
    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        if !key.as_str().is_empty() {
            self.prom.describe_histogram(key, unit, description);
        }
    }
    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        if key.name().is_empty() {
            return Counter::noop();
        }
        self.prom.register_counter(key, metadata)
    }
    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        if key.name().is_empty() {
            return Gauge::noop();
        }
        self.prom.register_gauge(key, metadata)
    }
    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        if key.name().is_empty() || !self.live.load(Ordering::Acquire) {
            return Histogram::noop();
        }
        Histogram::from_arc(Arc::new(LiveHistogram {
            live: self.live.clone(),
            inner: self.prom.register_histogram(key, metadata),
        }))
    }
}

/// A histogram handle of a [`SharedRecorder`]: forwards records while its telemetry lives,
/// drops them afterwards (a handle kept past the telemetry, e.g. a
/// [`LatencyHistogram`](crate::LatencyHistogram) or a handle taken through the global
/// recorder, would otherwise fill buckets that nobody drains).
struct LiveHistogram {
    live: Arc<AtomicBool>,
    inner: Histogram,
}

impl HistogramFn for LiveHistogram {
    fn record(&self, value: f64) {
        if self.live.load(Ordering::Relaxed) {
            self.inner.record(value);
        }
    }
    fn record_many(&self, value: f64, count: usize) {
        if self.live.load(Ordering::Relaxed) {
            self.inner.record_many(value, count);
        }
    }
}

/// The recorder of the live telemetry built with [`Metrics::global`] on, if any: what the
/// process-wide [`GlobalForwarder`] forwards to.
static GLOBAL_TARGET: RwLock<Option<SharedRecorder>> = RwLock::new(None);

/// The process-wide `metrics` recorder, installed once (a recorder cannot be uninstalled):
/// forwards to [`GLOBAL_TARGET`], set by a telemetry with global metrics while it lives.
/// Without one, handles registered are no-ops and descriptions are dropped.
struct GlobalForwarder;

/// Runs `f` on the global target, if one is set.
fn with_target<R>(f: impl FnOnce(&SharedRecorder) -> R) -> Option<R> {
    let target = GLOBAL_TARGET.read().unwrap_or_else(PoisonError::into_inner);
    target.as_ref().map(f)
}

impl Recorder for GlobalForwarder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        with_target(|r| r.describe_counter(key, unit, description));
    }
    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        with_target(|r| r.describe_gauge(key, unit, description));
    }
    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        with_target(|r| r.describe_histogram(key, unit, description));
    }
    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        with_target(|r| r.register_counter(key, metadata)).unwrap_or_else(Counter::noop)
    }
    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        with_target(|r| r.register_gauge(key, metadata)).unwrap_or_else(Gauge::noop)
    }
    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        with_target(|r| r.register_histogram(key, metadata)).unwrap_or_else(Histogram::noop)
    }
}

/// A telemetry's hold on the global slot: set by [`GlobalSlot::take`], cleared on drop.
struct GlobalSlot {
    recorder: SharedRecorder,
}

impl GlobalSlot {
    /// Installs the [`GlobalForwarder`] as the process-wide recorder (the first time) and
    /// makes `recorder` its target. Fails when another `metrics` recorder was installed
    /// first, or while another telemetry holds the slot.
    fn take(recorder: &SharedRecorder) -> Result<GlobalSlot, BuildError> {
        static FORWARDER: OnceLock<bool> = OnceLock::new();
        if !*FORWARDER.get_or_init(|| metrics::set_global_recorder(GlobalForwarder).is_ok()) {
            return Err(BuildError::RecorderInstalled);
        }
        let mut target = GLOBAL_TARGET
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if target.is_some() {
            return Err(BuildError::RecorderInstalled);
        }
        *target = Some(recorder.clone());
        Ok(GlobalSlot {
            recorder: recorder.clone(),
        })
    }
}

impl Drop for GlobalSlot {
    fn drop(&mut self) {
        let mut target = GLOBAL_TARGET
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if target
            .as_ref()
            .is_some_and(|t| Arc::ptr_eq(&t.prom, &self.recorder.prom))
        {
            *target = None;
        }
    }
}

pub(crate) type Sources = Arc<Mutex<Vec<Arc<dyn MetricSource>>>>;

/// The metrics half of a telemetry handle.
pub(crate) struct MetricsState {
    recorder: SharedRecorder,
    handle: PrometheusHandle,
    sources: Sources,
    pub(crate) listen_addr: Option<SocketAddr>,
    /// Set with [`Metrics::global`]: this telemetry is the global recorder's target.
    global: Option<GlobalSlot>,
    _sampler: Sampler,
    #[cfg(feature = "http")]
    _listener: Option<super::sampler::Listener>,
}

fn check_buckets(bounds: &[f64], which: impl FnOnce() -> String) -> Result<(), BuildError> {
    let increasing = bounds.windows(2).all(|w| w[0] < w[1]);
    if bounds.is_empty() || !increasing || bounds.iter().any(|b| !b.is_finite()) {
        return Err(BuildError::Buckets(which()));
    }
    Ok(())
}

/// The exporter's builder for `cfg`: explicit buckets for every histogram, so the exporter
/// never falls back to summaries. (A fresh one per call: the listener may need a second try.)
pub(crate) fn prometheus_builder(cfg: &Metrics) -> Result<PrometheusBuilder, BuildError> {
    let prom = |e: metrics_exporter_prometheus::BuildError| BuildError::Prometheus(e.to_string());
    let mut builder = PrometheusBuilder::new()
        .set_buckets(&cfg.buckets)
        .map_err(prom)?;
    for (suffix, bounds) in &cfg.suffix_buckets {
        builder = builder
            .set_buckets_for_metric(Matcher::Suffix(suffix.clone()), bounds)
            .map_err(prom)?;
    }
    Ok(builder)
}

impl MetricsState {
    pub(crate) fn start(cfg: Metrics) -> Result<MetricsState, BuildError> {
        if cfg.interval.is_zero() {
            return Err(BuildError::ZeroInterval);
        }
        check_buckets(&cfg.buckets, || "the default buckets".to_string())?;
        for (suffix, bounds) in &cfg.suffix_buckets {
            check_buckets(bounds, || {
                format!("the buckets for names ending with {suffix:?}")
            })?;
        }
        #[cfg(feature = "http")]
        let (recorder, listener, listen_addr) = match cfg.listen {
            Some(addr) => {
                let (recorder, listener, addr) = super::sampler::Listener::start(&cfg, addr)?;
                (recorder, Some(listener), Some(addr))
            }
            None => (prometheus_builder(&cfg)?.build_recorder(), None, None),
        };
        #[cfg(not(feature = "http"))]
        let (recorder, listen_addr) = (prometheus_builder(&cfg)?.build_recorder(), None);
        let handle = recorder.handle();
        let recorder = SharedRecorder::new(recorder);
        let global = cfg
            .global
            .then(|| GlobalSlot::take(&recorder))
            .transpose()?;
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
            global,
            _sampler: sampler,
            #[cfg(feature = "http")]
            _listener: listener,
        })
    }

    pub(crate) fn add(&self, source: Arc<dyn MetricSource>) {
        self.sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(source);
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

impl Drop for MetricsState {
    /// Handles registered through the global recorder from now on are no-ops (and a new
    /// telemetry can take the slot); histogram handles registered before drop their records.
    fn drop(&mut self) {
        drop(self.global.take());
        self.recorder.live.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A histogram handle kept past its telemetry drops what it records (the recorder's
    /// buckets would grow forever: only upkeep drains them, and nothing runs it any more).
    #[test]
    fn a_histogram_kept_past_its_telemetry_records_nothing() {
        let m = MetricsState::start(Metrics::prometheus().global(false)).unwrap();
        let h = m.with_recorder(|| metrics::histogram!("kept_seconds"));
        h.record(0.5);
        // What would still see the recorder's storage after the drop.
        let handle = m.handle.clone();
        drop(m);
        for _ in 0..1000 {
            h.record(0.5);
        }
        h.record_many(0.5, 1000);
        let text = handle.render();
        assert!(text.contains("kept_seconds_count 1\n"), "{text}");
    }

    #[test]
    fn metrics_with_an_empty_name_are_not_registered() {
        let m = MetricsState::start(Metrics::prometheus().global(false)).unwrap();
        m.with_recorder(|| {
            metrics::describe_counter!("", "nameless");
            metrics::counter!("").increment(1);
            metrics::gauge!("").set(1.0);
            metrics::histogram!("").record(1.0);
            metrics::counter!("named_total").increment(1);
        });
        let text = m.render();
        assert_eq!(
            text.lines().filter(|l| l.starts_with("# TYPE")).count(),
            1,
            "{text}"
        );
        assert!(text.contains("named_total 1"), "{text}");
    }
}
