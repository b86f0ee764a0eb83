//! The [`Telemetry`] handle and its builder: which tracer (sampler + exporter) and which metrics
//! recorder to install, and how a runtime is instrumented.
//!
//! ```
//! use nimsync_telemetry::{Telemetry, Tracing, Metrics};
//! let telemetry = Telemetry::builder()
//!     .tracing(Tracing::ratio(0.01))             // parent-based, 1 % of new traces
//!     .metrics(Metrics::prometheus().global(false))
//!     .build()
//!     .unwrap();
//! assert!(telemetry.render_prometheus().is_some());
//! ```

use crate::error::BuildError;
use crate::exporter::{Exporter, SpanSink};
use crate::meter::{Metrics, MetricsState};
use crate::trace::{frames, hooks};
use nimsync_scheduler::Builder;
use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{
    IdGenerator, RandomIdGenerator, Sampler, SdkTracer, SdkTracerProvider, SpanData,
};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

/// Tracing configuration: sampler, exporter and automatic spans.
///
/// ```
/// use nimsync_telemetry::{Exporter, Tracing};
/// let t = Tracing::ratio(0.25).exporter(Exporter::Stdout).task_spans(true);
/// # let _ = t;
/// ```
#[derive(Debug)]
pub struct Tracing {
    ratio: f64,
    parent_based: bool,
    exporter: Exporter,
    task_spans: bool,
    actor_spans: bool,
    restart_spans: bool,
    ids: Option<Box<dyn IdGenerator>>,
    service_name: Option<String>,
    resource_attributes: Vec<KeyValue>,
}

impl Tracing {
    /// Samples a fraction `p` (0.0..=1.0) of new traces (`TraceIdRatioBased`); children follow
    /// their parent's decision (parent-based) unless [`parent_based(false)`](Self::parent_based).
    /// An out-of-range `p` is reported by `build()`.
    ///
    /// ```
    /// let t = nimsync_telemetry::Tracing::ratio(1.0);
    /// # let _ = t;
    /// ```
    pub fn ratio(p: f64) -> Tracing {
        Tracing {
            ratio: p,
            parent_based: true,
            exporter: Exporter::InMemory,
            task_spans: false,
            actor_spans: false,
            restart_spans: false,
            ids: None,
            service_name: None,
            resource_attributes: Vec::new(),
        }
    }

    /// Whether children follow their parent's sampling decision (default `true`).
    ///
    /// ```
    /// let t = nimsync_telemetry::Tracing::ratio(0.5).parent_based(false);
    /// # let _ = t;
    /// ```
    pub fn parent_based(mut self, on: bool) -> Tracing {
        self.parent_based = on;
        self
    }

    /// Where finished spans go (default [`Exporter::InMemory`]).
    ///
    /// ```
    /// let t = nimsync_telemetry::Tracing::ratio(1.0).exporter(nimsync_telemetry::Exporter::Stdout);
    /// # let _ = t;
    /// ```
    pub fn exporter(mut self, exporter: Exporter) -> Tracing {
        self.exporter = exporter;
        self
    }

    /// Automatic `task` spans, one per task lifetime of an instrumented runtime (default off).
    ///
    /// ```
    /// let t = nimsync_telemetry::Tracing::ratio(0.01).task_spans(true);
    /// # let _ = t;
    /// ```
    pub fn task_spans(mut self, on: bool) -> Tracing {
        self.task_spans = on;
        self
    }

    /// Automatic `actor.handle` spans, one per handled actor message, children of the
    /// sender's span (default off; the sender's context is carried into `handle` either way).
    /// Either way, spans a handler leaves open are ended when it ends, with the attribute
    /// `nimsync.span.abandoned = true` and an error status.
    ///
    /// ```
    /// let t = nimsync_telemetry::Tracing::ratio(0.01).actor_spans(true);
    /// # let _ = t;
    /// ```
    pub fn actor_spans(mut self, on: bool) -> Tracing {
        self.actor_spans = on;
        self
    }

    /// Automatic `supervisor.restart` spans, one per supervised restart, with the child and
    /// the exit reason (default off).
    ///
    /// ```
    /// let t = nimsync_telemetry::Tracing::ratio(1.0).restart_spans(true);
    /// # let _ = t;
    /// ```
    pub fn restart_spans(mut self, on: bool) -> Tracing {
        self.restart_spans = on;
        self
    }

    /// Trace and span ids from `ids` instead of random ones (deterministic tests).
    ///
    /// ```
    /// use opentelemetry_sdk::trace::RandomIdGenerator;
    /// let t = nimsync_telemetry::Tracing::ratio(1.0).id_generator(RandomIdGenerator::default());
    /// # let _ = t;
    /// ```
    pub fn id_generator(mut self, ids: impl IdGenerator + 'static) -> Tracing {
        self.ids = Some(Box::new(ids));
        self
    }

    /// The `service.name` every exported span carries (what Jaeger and the Collector group
    /// traces by). Without it the SDK's default applies: the `OTEL_SERVICE_NAME` environment
    /// variable, else `unknown_service`.
    ///
    /// ```
    /// use nimsync_telemetry::{Telemetry, Tracing};
    /// let t = Telemetry::builder().tracing(Tracing::ratio(1.0).service_name("checkout")).build().unwrap();
    /// let resource = t.resource().unwrap();
    /// assert_eq!(resource.get(&"service.name".into()), Some("checkout".into()));
    /// ```
    pub fn service_name(mut self, name: impl Into<String>) -> Tracing {
        self.service_name = Some(name.into());
        self
    }

    /// More attributes of the resource the spans are exported with (e.g.
    /// `deployment.environment`), on top of the SDK's defaults (`OTEL_RESOURCE_ATTRIBUTES`,
    /// `telemetry.sdk.*`); later ones win.
    ///
    /// ```
    /// use nimsync_telemetry::{Telemetry, Tracing};
    /// use opentelemetry::KeyValue;
    /// let t = Telemetry::builder()
    ///     .tracing(Tracing::ratio(1.0).resource_attributes([KeyValue::new("deployment.environment", "staging")]))
    ///     .build()
    ///     .unwrap();
    /// let resource = t.resource().unwrap();
    /// assert_eq!(resource.get(&"deployment.environment".into()), Some("staging".into()));
    /// ```
    pub fn resource_attributes(
        mut self,
        attributes: impl IntoIterator<Item = KeyValue>,
    ) -> Tracing {
        self.resource_attributes.extend(attributes);
        self
    }
}

/// An id generator behind a box (the SDK builder wants a sized type).
#[derive(Debug)]
struct BoxedIds(Box<dyn IdGenerator>);

impl IdGenerator for BoxedIds {
    fn new_trace_id(&self) -> opentelemetry::trace::TraceId {
        self.0.new_trace_id()
    }
    fn new_span_id(&self) -> opentelemetry::trace::SpanId {
        self.0.new_span_id()
    }
}

/// The installed tracer, shared by the hooks and the span helpers.
pub(crate) struct TracingState {
    pub(crate) provider: SdkTracerProvider,
    pub(crate) tracer: SdkTracer,
    /// The resource the spans are exported with.
    resource: Resource,
    pub(crate) sink: SpanSink,
    pub(crate) task_spans: bool,
    /// `actor.handle` spans (see `actor_spans`).
    pub(crate) actor_spans: bool,
    /// `supervisor.restart` spans.
    pub(crate) restart_spans: bool,
    /// Children follow their parent's sampling decision.
    pub(crate) parent_based: bool,
}

impl fmt::Debug for TracingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TracingState")
            .field("task_spans", &self.task_spans)
            .field("parent_based", &self.parent_based)
            .finish_non_exhaustive()
    }
}

impl TracingState {
    /// Whether the sampler is sure to drop a span started under `parent`: parent-based
    /// sampling and a valid parent that is not sampled (the SDK's `ParentBased` sampler
    /// defers to `AlwaysOff` then, for local and remote parents alike). Such spans are not
    /// created at all (see `frames`).
    pub(crate) fn drops_child_of(&self, parent: &opentelemetry::Context) -> bool {
        use opentelemetry::trace::TraceContextExt;
        if !self.parent_based {
            return false;
        }
        let span = parent.span();
        let sc = span.span_context();
        sc.is_valid() && !sc.is_sampled()
    }

    fn new(cfg: Tracing) -> Result<TracingState, BuildError> {
        if !(0.0..=1.0).contains(&cfg.ratio) {
            return Err(BuildError::SamplingRatio(cfg.ratio));
        }
        let ratio = Sampler::TraceIdRatioBased(cfg.ratio);
        let sampler = if cfg.parent_based {
            Sampler::ParentBased(Box::new(ratio))
        } else {
            ratio
        };
        let mut resource = Resource::builder().with_attributes(cfg.resource_attributes);
        if let Some(name) = cfg.service_name {
            resource = resource.with_service_name(name);
        }
        let resource = resource.build();
        let (builder, sink) = cfg.exporter.attach(
            SdkTracerProvider::builder()
                .with_sampler(sampler)
                .with_resource(resource.clone()),
        )?;
        let builder = match cfg.ids {
            Some(ids) => builder.with_id_generator(BoxedIds(ids)),
            None => builder.with_id_generator(RandomIdGenerator::default()),
        };
        let provider = builder.build();
        let tracer = provider.tracer("nimsync");
        // Counted from here: the value below is dropped (and uncounted) on every path.
        LIVE_TRACERS.fetch_add(1, Ordering::Relaxed);
        Ok(TracingState {
            provider,
            tracer,
            resource,
            sink,
            task_spans: cfg.task_spans,
            actor_spans: cfg.actor_spans,
            restart_spans: cfg.restart_spans,
            parent_based: cfg.parent_based,
        })
    }
}

/// Tracers alive in the process (`TracingState`s not yet dropped).
static LIVE_TRACERS: AtomicUsize = AtomicUsize::new(0);

/// How many tracers are alive: the process-wide actor hooks do nothing when none is.
pub(crate) fn live_tracers() -> usize {
    LIVE_TRACERS.load(Ordering::Relaxed)
}

impl Drop for TracingState {
    fn drop(&mut self) {
        LIVE_TRACERS.fetch_sub(1, Ordering::Relaxed);
    }
}

static GLOBAL_TRACING: RwLock<Option<Arc<TracingState>>> = RwLock::new(None);
/// Whether `GLOBAL_TRACING` may hold a value: the span helpers on a thread with no frame (e.g.
/// every task of a runtime without telemetry) skip the lock when nothing is installed.
static GLOBAL_INSTALLED: AtomicBool = AtomicBool::new(false);

/// The tracing state installed with [`TelemetryBuilder::install`], if any.
pub(crate) fn global_tracing() -> Option<Arc<TracingState>> {
    if !GLOBAL_INSTALLED.load(Ordering::Acquire) {
        return None;
    }
    GLOBAL_TRACING.read().ok()?.clone()
}

/// Builds a [`Telemetry`]; see [`Telemetry::builder`].
///
/// ```
/// let t = nimsync_telemetry::Telemetry::builder().build().unwrap();
/// assert!(t.render_prometheus().is_none()); // nothing configured, nothing installed
/// ```
#[derive(Debug, Default)]
#[must_use = "a builder does nothing until `build()` or `install()`"]
pub struct TelemetryBuilder {
    tracing: Option<Tracing>,
    metrics: Option<Metrics>,
}

impl TelemetryBuilder {
    /// Enables tracing.
    ///
    /// ```
    /// let b = nimsync_telemetry::Telemetry::builder().tracing(nimsync_telemetry::Tracing::ratio(1.0));
    /// # let _ = b;
    /// ```
    pub fn tracing(mut self, tracing: Tracing) -> TelemetryBuilder {
        self.tracing = Some(tracing);
        self
    }

    /// Enables metrics (Prometheus recorder, sampler thread).
    ///
    /// ```
    /// let b = nimsync_telemetry::Telemetry::builder().metrics(nimsync_telemetry::Metrics::prometheus());
    /// # let _ = b;
    /// ```
    pub fn metrics(mut self, metrics: Metrics) -> TelemetryBuilder {
        self.metrics = Some(metrics);
        self
    }

    /// Builds the handle. The metrics recorder is installed as the process-wide `metrics`
    /// recorder only if [`Metrics::global`](crate::Metrics::global) says so (the
    /// default); the span helpers outside instrumented tasks need [`install`](Self::install)
    /// or [`Telemetry::in_scope`].
    ///
    /// ```
    /// let t = nimsync_telemetry::Telemetry::builder()
    ///     .tracing(nimsync_telemetry::Tracing::ratio(2.0))
    ///     .build();
    /// assert!(t.is_err()); // bad ratio: a clear error
    /// ```
    pub fn build(self) -> Result<Telemetry, BuildError> {
        let tracing = self
            .tracing
            .map(TracingState::new)
            .transpose()?
            .map(Arc::new);
        if let Some(t) = &tracing {
            // Trace context across actor messages (and the opt-in actor/restart spans).
            crate::actor_spans::install(t.actor_spans, t.restart_spans)?;
        }
        let metrics = self.metrics.map(MetricsState::start).transpose()?;
        Ok(Telemetry {
            inner: Arc::new(Inner { tracing, metrics }),
        })
    }

    /// Builds the handle and makes its tracer the process default (replacing any previous
    /// one): for the span helpers outside instrumented tasks, and as OpenTelemetry's global
    /// tracer provider, so libraries that trace through `opentelemetry::global::tracer`
    /// export through it too. OpenTelemetry's global text-map propagator becomes W3C trace
    /// context + baggage (what [`inject`](crate::inject) and [`extract`](crate::extract) use).
    /// The global provider keeps the exporter alive: [`uninstall`](Telemetry::uninstall)
    /// releases it.
    ///
    /// ```
    /// use opentelemetry::trace::Tracer;
    /// let t = nimsync_telemetry::Telemetry::builder()
    ///     .tracing(nimsync_telemetry::Tracing::ratio(1.0))
    ///     .install()
    ///     .unwrap();
    /// nimsync_telemetry::start_span("on the main thread");
    /// nimsync_telemetry::end_span();
    /// opentelemetry::global::tracer("some-library").in_span("library work", |_| {});
    /// let names: Vec<_> = t.finished_spans().into_iter().map(|s| s.name).collect();
    /// assert!(names.iter().any(|n| n == "on the main thread"));
    /// assert!(names.iter().any(|n| n == "library work"));
    /// t.uninstall();
    /// ```
    pub fn install(self) -> Result<Telemetry, BuildError> {
        let telemetry = self.build()?;
        if let Ok(mut global) = GLOBAL_TRACING.write() {
            *global = telemetry.inner.tracing.clone();
            GLOBAL_INSTALLED.store(global.is_some(), Ordering::Release);
        }
        if let Some(tracing) = &telemetry.inner.tracing {
            opentelemetry::global::set_tracer_provider(tracing.provider.clone());
            opentelemetry::global::set_text_map_propagator(
                crate::trace::propagation::w3c_propagator(),
            );
        }
        Ok(telemetry)
    }
}

struct Inner {
    tracing: Option<Arc<TracingState>>,
    metrics: Option<MetricsState>,
}

/// Telemetry for nimsync: a tracer (spans carried across tasks by an
/// [instrumented](Telemetry::instrument) runtime) and a Prometheus metrics recorder fed by a
/// sampler thread. Cheap to clone; the sampler stops when the last clone is dropped.
///
/// ```
/// use nimsync_telemetry::{Telemetry, Tracing};
/// let telemetry = Telemetry::builder().tracing(Tracing::ratio(1.0)).build().unwrap();
/// let rt = telemetry.instrument(nimsync_scheduler::Runtime::builder().workers(1)).build().unwrap();
/// rt.block_on(async {
///     nimsync_scheduler::spawn(async {
///         nimsync_telemetry::start_span("work");
///         nimsync_telemetry::end_span();
///     }).await.unwrap();
/// });
/// assert_eq!(telemetry.finished_spans().len(), 1);
/// ```
#[derive(Clone)]
pub struct Telemetry {
    inner: Arc<Inner>,
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telemetry")
            .field("tracing", &self.inner.tracing.is_some())
            .field("metrics", &self.inner.metrics.is_some())
            .finish()
    }
}

impl Telemetry {
    /// A builder with nothing enabled.
    ///
    /// ```
    /// let b = nimsync_telemetry::Telemetry::builder();
    /// # let _ = b;
    /// ```
    pub fn builder() -> TelemetryBuilder {
        TelemetryBuilder::default()
    }

    /// Adds the task hooks that carry trace context across `spawn` (and run automatic task
    /// spans) to a runtime builder. Without tracing the builder is returned unchanged, so
    /// the runtime has no hooks at all.
    ///
    /// ```
    /// let t = nimsync_telemetry::Telemetry::builder().build().unwrap();
    /// let rt = t.instrument(nimsync_scheduler::Runtime::builder().workers(1)).build().unwrap();
    /// assert_eq!(rt.block_on(async { 1 }), 1);
    /// ```
    pub fn instrument(&self, builder: Builder) -> Builder {
        match &self.inner.tracing {
            Some(tracing) => hooks::instrument(builder, tracing.clone()),
            None => builder,
        }
    }

    /// Runs `f` with this telemetry's tracer as the current one on this thread (for code
    /// outside an instrumented runtime, e.g. a `block_on` root or a plain thread).
    ///
    /// ```
    /// use nimsync_telemetry::{Telemetry, Tracing};
    /// let t = Telemetry::builder().tracing(Tracing::ratio(1.0)).build().unwrap();
    /// t.in_scope(|| {
    ///     nimsync_telemetry::start_span("scoped");
    ///     nimsync_telemetry::end_span();
    /// });
    /// assert_eq!(t.finished_spans().len(), 1);
    /// ```
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        frames::in_thread_frame(self.inner.tracing.clone(), f)
    }

    /// Spans finished so far, when the exporter is [`Exporter::InMemory`] (flushed first);
    /// empty otherwise.
    ///
    /// ```
    /// let t = nimsync_telemetry::Telemetry::builder().build().unwrap();
    /// assert!(t.finished_spans().is_empty());
    /// ```
    pub fn finished_spans(&self) -> Vec<SpanData> {
        match &self.inner.tracing {
            Some(tracing) => {
                let _ = tracing.provider.force_flush();
                tracing.sink.finished()
            }
            None => Vec::new(),
        }
    }

    /// Forgets the finished spans kept by the in-memory exporter.
    ///
    /// ```
    /// nimsync_telemetry::Telemetry::builder().build().unwrap().clear_finished_spans();
    /// ```
    pub fn clear_finished_spans(&self) {
        if let Some(tracing) = &self.inner.tracing {
            tracing.sink.clear();
        }
    }

    /// The resource the spans are exported with (`service.name` and the other attributes of
    /// [`Tracing::service_name`] and [`Tracing::resource_attributes`], over the SDK's
    /// defaults); `None` without tracing.
    ///
    /// ```
    /// use nimsync_telemetry::{Telemetry, Tracing};
    /// let t = Telemetry::builder().tracing(Tracing::ratio(1.0)).build().unwrap();
    /// assert!(t.resource().unwrap().get(&"telemetry.sdk.name".into()).is_some());
    /// assert!(Telemetry::builder().build().unwrap().resource().is_none());
    /// ```
    pub fn resource(&self) -> Option<Resource> {
        self.inner.tracing.as_ref().map(|t| t.resource.clone())
    }

    /// Flushes and shuts the tracer down (ending exporters cleanly); spans started afterwards
    /// are dropped. Call it off the runtime's worker threads (exporters may block). Returns
    /// the SDK's error if the flush or the shutdown failed, e.g. when called a second time;
    /// `Ok` without tracing.
    ///
    /// ```
    /// let t = nimsync_telemetry::Telemetry::builder()
    ///     .tracing(nimsync_telemetry::Tracing::ratio(1.0)).build().unwrap();
    /// assert!(t.shutdown_tracing().is_ok());
    /// assert!(t.shutdown_tracing().is_err()); // already shut down
    /// ```
    pub fn shutdown_tracing(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        let Some(tracing) = &self.inner.tracing else {
            return Ok(());
        };
        // Shut down even if the flush failed; report the first error.
        let flushed = tracing.provider.force_flush();
        let shut = tracing.provider.shutdown();
        flushed.and(shut)
    }

    /// Removes this telemetry's tracer as the process default, if it is the installed one:
    /// the span helpers outside instrumented tasks record nothing again, and OpenTelemetry's
    /// global tracer provider becomes a no-op one (the propagator stays).
    ///
    /// ```
    /// use opentelemetry::trace::Tracer;
    /// let t = nimsync_telemetry::Telemetry::builder()
    ///     .tracing(nimsync_telemetry::Tracing::ratio(1.0))
    ///     .install()
    ///     .unwrap();
    /// t.uninstall();
    /// opentelemetry::global::tracer("some-library").in_span("after", |_| {});
    /// assert!(t.finished_spans().is_empty());
    /// ```
    pub fn uninstall(&self) {
        if let (Some(mine), Ok(mut global)) = (&self.inner.tracing, GLOBAL_TRACING.write())
            && global.as_ref().is_some_and(|g| Arc::ptr_eq(g, mine))
        {
            *global = None;
            GLOBAL_INSTALLED.store(false, Ordering::Release);
            opentelemetry::global::set_tracer_provider(
                opentelemetry::trace::noop::NoopTracerProvider::new(),
            );
        }
    }

    pub(crate) fn metrics_state(&self) -> Option<&MetricsState> {
        self.inner.metrics.as_ref()
    }
}
