//! # nimsync-telemetry — OpenTelemetry tracing and Prometheus metrics (L7)
//!
//! **Tracing.** [`Telemetry::builder`] installs an OpenTelemetry SDK tracer with a
//! parent-based ratio sampler and an exporter (in memory by default, stdout, or OTLP behind
//! the `otlp` feature). [`Telemetry::instrument`] adds the scheduler's task hooks to a runtime
//! builder: a task spawned while a span is current starts with that context, with no wrapper
//! at the spawn site (task-group children too: they are tasks). The span helpers
//! ([`start_span`], [`set_attribute`], [`set_baggage`], [`end_span`]) and W3C propagation
//! ([`inject`], [`extract`], [`traceparent`]) are thin layers over the SDK.
//!
//! **Metrics.** A Prometheus recorder behind the `metrics` facade, explicit histogram buckets,
//! a sampler thread publishing runtime, channel, limiter and custom sources, in-process
//! quantiles from HDR histograms ([`LatencyHistogram`]), [`Telemetry::render_prometheus`] and
//! an optional loopback HTTP endpoint ([`Metrics::serve_prometheus`]).
//!
//! **Zero cost when not installed:** without tracing the runtime gets no hooks; without
//! metrics there is no recorder and no sampler.
//!
//! The README's example (kept identical):
//!
//! ```
//! use nimsync_scheduler::{Runtime, spawn};
//! use nimsync_telemetry::{Metrics, Telemetry, Tracing, end_span, start_span};
//!
//! let telemetry = Telemetry::builder()
//!     .tracing(Tracing::ratio(1.0)) // parent-based; in-memory exporter (Stdout, OTLP: `otlp`)
//!     .metrics(Metrics::prometheus().global(false)) // `.serve_prometheus(addr)`: loopback HTTP
//!     .build()
//!     .unwrap();
//! let rt = telemetry.instrument(Runtime::builder().workers(2)).build().unwrap();
//! telemetry.watch_runtime("main", rt.handle().clone());
//!
//! rt.block_on(async {
//!     spawn(async {
//!         start_span("request");
//!         // The child task starts inside "request": no wrapper at the spawn site.
//!         spawn(async { start_span("query"); end_span(); }).await.unwrap();
//!         end_span();
//!     })
//!     .await
//!     .unwrap();
//! });
//!
//! let spans = telemetry.finished_spans();
//! let request = spans.iter().find(|s| s.name == "request").unwrap();
//! let query = spans.iter().find(|s| s.name == "query").unwrap();
//! assert_eq!(query.parent_span_id, request.span_context.span_id());
//!
//! let latency = telemetry.latency_histogram("query_seconds", f64::INFINITY, 1);
//! latency.record(std::time::Duration::from_micros(420));
//! telemetry.publish_now();
//! let text = telemetry.render_prometheus().unwrap();
//! assert!(text.contains("nimsync_runtime_worker_polls_total"));
//! assert!(text.contains(r#"query_seconds_bucket{le="0.0005"} 1"#));
//! ```

#![forbid(unsafe_code)]

mod actor_spans;
mod error;
mod exporter;
mod meter;
mod telemetry;
mod trace;

pub use error::BuildError;
pub use exporter::Exporter;
pub use meter::{
    ChannelSample, DEFAULT_BUCKETS, LatencyHistogram, MetricSource, Metrics, Quantiles,
};
pub use telemetry::{Telemetry, TelemetryBuilder, Tracing};
pub use trace::propagation::{extract, inject, inject_context, traceparent};
pub use trace::span::{
    current_context, current_span_context, end_span, set_attribute, set_baggage, start_span,
    start_span_with_parent,
};
