//! W3C trace context and baggage in and out of carriers (HTTP headers, message metadata),
//! through the SDK's `TraceContextPropagator` and `BaggagePropagator` (no hand-parsing).
//!
//! Malformed input yields an empty context, never a panic (fuzzed in `tests/propagation.rs`).
//!
//! ```
//! use std::collections::HashMap;
//! use opentelemetry::trace::TraceContextExt;
//! let mut carrier = HashMap::new();
//! carrier.insert("traceparent".to_string(), "not a traceparent".to_string());
//! let cx = nimsync_telemetry::extract(&carrier);
//! assert!(!cx.span().span_context().is_valid());
//! ```

use crate::trace::span::current_context;
use opentelemetry::Context;
use opentelemetry::propagation::{
    Extractor, Injector, TextMapCompositePropagator, TextMapPropagator,
};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use std::collections::HashMap;
use std::sync::OnceLock;

fn propagator() -> &'static TextMapCompositePropagator {
    static PROPAGATOR: OnceLock<TextMapCompositePropagator> = OnceLock::new();
    PROPAGATOR.get_or_init(|| {
        TextMapCompositePropagator::new(vec![
            Box::new(TraceContextPropagator::new()),
            Box::new(BaggagePropagator::new()),
        ])
    })
}

/// Writes the current context (`traceparent`, `tracestate`, `baggage`) into `carrier`.
///
/// ```
/// let mut headers = std::collections::HashMap::new();
/// nimsync_telemetry::inject(&mut headers); // no span: nothing written
/// assert!(headers.get("traceparent").is_none());
/// ```
pub fn inject(carrier: &mut dyn Injector) {
    inject_context(&current_context(), carrier);
}

/// Writes `cx` into `carrier`.
///
/// ```
/// let mut headers = std::collections::HashMap::new();
/// nimsync_telemetry::inject_context(&opentelemetry::Context::new(), &mut headers);
/// assert!(headers.is_empty());
/// ```
pub fn inject_context(cx: &Context, carrier: &mut dyn Injector) {
    propagator().inject_context(cx, carrier);
}

/// Reads a context from `carrier`; anything malformed is ignored (empty context).
///
/// ```
/// let headers = std::collections::HashMap::<String, String>::new();
/// let cx = nimsync_telemetry::extract(&headers);
/// use opentelemetry::trace::TraceContextExt;
/// assert!(!cx.has_active_span());
/// ```
pub fn extract(carrier: &dyn Extractor) -> Context {
    propagator().extract(carrier)
}

/// The current span's W3C `traceparent` header value, if there is a valid current span.
///
/// ```
/// assert_eq!(nimsync_telemetry::traceparent(), None);
/// ```
pub fn traceparent() -> Option<String> {
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&current_context(), &mut carrier);
    carrier.remove("traceparent")
}
