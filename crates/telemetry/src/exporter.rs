//! Span exporters: in memory (the default, and what tests read), stdout, and OTLP for real
//! collectors (feature `otlp`).
//!
//! ```
//! use nimsync_telemetry::{Exporter, Telemetry, Tracing};
//! let t = Telemetry::builder()
//!     .tracing(Tracing::ratio(1.0).exporter(Exporter::InMemory))
//!     .build()
//!     .unwrap();
//! t.in_scope(|| { nimsync_telemetry::start_span("x"); nimsync_telemetry::end_span(); });
//! assert_eq!(t.finished_spans().len(), 1);
//! ```

use crate::error::BuildError;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter, TracerProviderBuilder};
use std::sync::{Arc, Mutex};

/// Keeps finished spans in memory (the SDK's own in-memory exporter sits behind its `testing`
/// feature, which also builds the SDK's metrics and logs).
#[derive(Debug, Clone, Default)]
pub(crate) struct MemoryExporter {
    spans: Arc<Mutex<Vec<SpanData>>>,
}

impl SpanExporter for MemoryExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if let Ok(mut spans) = self.spans.lock() {
            spans.extend(batch);
        }
        Ok(())
    }
}

/// Where finished spans go.
///
/// ```
/// let e = nimsync_telemetry::Exporter::Stdout;
/// # let _ = e;
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum Exporter {
    /// Kept in memory, read with [`Telemetry::finished_spans`](crate::Telemetry::finished_spans)
    /// (exported synchronously as each span ends).
    #[default]
    InMemory,
    /// Printed to standard output as each span ends.
    Stdout,
    /// OTLP over HTTP/protobuf (blocking client, batch processor thread) to `endpoint`, e.g.
    /// `http://127.0.0.1:4318/v1/traces` for the OpenTelemetry Collector or Jaeger. An
    /// endpoint that is not a URI is [`BuildError::Exporter`](crate::BuildError::Exporter);
    /// an empty one means OpenTelemetry's own default: the `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
    /// or `OTEL_EXPORTER_OTLP_ENDPOINT` environment variable, else
    /// `http://localhost:4318/v1/traces`. Batches go out every 5 s, and when the tracer
    /// shuts down ([`Telemetry::shutdown_tracing`](crate::Telemetry::shutdown_tracing), or
    /// the drop of the last clone and of every runtime it instruments).
    #[cfg(feature = "otlp")]
    Otlp {
        /// The collector's traces URL.
        endpoint: String,
    },
}

/// What the telemetry keeps of its exporter (the in-memory store, to read spans back).
#[derive(Debug, Default)]
pub(crate) struct SpanSink {
    memory: Option<MemoryExporter>,
}

impl SpanSink {
    pub(crate) fn finished(&self) -> Vec<SpanData> {
        self.memory
            .as_ref()
            .and_then(|m| m.spans.lock().ok().map(|s| s.clone()))
            .unwrap_or_default()
    }

    pub(crate) fn clear(&self) {
        if let Some(mut spans) = self.memory.as_ref().and_then(|m| m.spans.lock().ok()) {
            spans.clear();
        }
    }
}

impl Exporter {
    pub(crate) fn attach(
        self,
        builder: TracerProviderBuilder,
    ) -> Result<(TracerProviderBuilder, SpanSink), BuildError> {
        match self {
            Exporter::InMemory => {
                let memory = MemoryExporter::default();
                Ok((
                    builder.with_simple_exporter(memory.clone()),
                    SpanSink {
                        memory: Some(memory),
                    },
                ))
            }
            Exporter::Stdout => Ok((
                builder.with_simple_exporter(opentelemetry_stdout::SpanExporter::default()),
                SpanSink::default(),
            )),
            #[cfg(feature = "otlp")]
            Exporter::Otlp { endpoint } => {
                use opentelemetry_otlp::{SpanExporter, WithExportConfig};
                let exporter = SpanExporter::builder()
                    .with_http()
                    .with_endpoint(endpoint)
                    .build()
                    .map_err(|e| BuildError::Exporter(e.to_string()))?;
                Ok((builder.with_batch_exporter(exporter), SpanSink::default()))
            }
        }
    }
}
