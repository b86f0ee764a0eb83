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
//! a sampler thread publishing runtime, channel, limiter, actor, supervisor, circuit-breaker
//! and custom sources, in-process quantiles from HDR histograms ([`LatencyHistogram`]),
//! [`Telemetry::render_prometheus`] and an optional loopback HTTP endpoint
//! ([`Metrics::serve_prometheus`]).
//!
//! Metric names (labels in braces):
//!
//! * [`watch_runtime`](Telemetry::watch_runtime) `{runtime, worker}`:
//!   `nimsync_runtime_worker_{polls,steals,steal_attempts,parks,overflows}_total`,
//!   `nimsync_runtime_worker_{local_queue_depth,busy_ratio}`; `{runtime}`:
//!   `nimsync_runtime_{workers,global_queue_depth,alive_tasks,load_imbalance}`,
//!   `nimsync_runtime_{spawned,completed}_tasks_total`,
//!   `nimsync_runtime_blocking_{threads,queue_depth}`;
//! * [`watch_channel`](Telemetry::watch_channel) `{channel}`:
//!   `nimsync_channel_{sent,received,dropped}_total`, `nimsync_channel_len`;
//! * [`watch_limiter`](Telemetry::watch_limiter) `{limiter}`: `nimsync_limiter_{limit,inflight}`;
//! * [`watch_actor`](Telemetry::watch_actor) `{actor}`: `nimsync_actor_alive` (0/1),
//!   `nimsync_actor_mailbox_depth`, `nimsync_actor_{messages_handled,restarts}_total`, the
//!   histogram `nimsync_actor_handle_seconds` (sampled handler runs, each at the top of its
//!   power-of-two bucket) and `nimsync_actor_handle_quantile_seconds{actor, quantile}` for
//!   0.5 / 0.9 / 0.99 (upper bounds within a factor of two);
//! * [`watch_supervisor`](Telemetry::watch_supervisor) `{supervisor}`:
//!   `nimsync_supervisor_{restarts,escalations}_total`, `nimsync_supervisor_children_running`;
//!   `{supervisor, child}`: `nimsync_supervisor_child_restarts_total`,
//!   `nimsync_supervisor_child_running` (0/1);
//! * [`watch_breaker`](Telemetry::watch_breaker) `{breaker}`: `nimsync_breaker_state`
//!   (0 closed, 1 open, 2 half-open),
//!   `nimsync_breaker_{successes,failures,rejected,opened,transitions}_total`.
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
//!     // Parent-based sampling; in-memory exporter (Stdout, OTLP: feature `otlp`).
//!     .tracing(Tracing::ratio(1.0).service_name("checkout"))
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
//! let latency = telemetry.latency_histogram("query_seconds", f64::INFINITY, 1).unwrap();
//! latency.record(std::time::Duration::from_micros(420));
//! telemetry.publish_now();
//! let text = telemetry.render_prometheus().unwrap();
//! assert!(text.contains("nimsync_runtime_worker_polls_total"));
//! assert!(text.contains(r#"query_seconds_bucket{le="0.0005"} 1"#));
//! // In-process HDR quantiles, exact within 0.1 %, as a gauge next to the histogram.
//! assert!(text.contains(r#"query_quantile_seconds{quantile="0.99"} 0.00042"#));
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
    SupervisorMetrics,
};
pub use telemetry::{Telemetry, TelemetryBuilder, Tracing};
pub use trace::propagation::{extract, inject, inject_context, traceparent};
pub use trace::span::{
    current_context, current_span_context, end_span, set_attribute, set_baggage, start_span,
    start_span_with_parent,
};
