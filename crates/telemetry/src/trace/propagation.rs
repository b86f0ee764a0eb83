//! W3C trace context and baggage in and out of carriers (HTTP headers, message metadata),
//! through the SDK's `TraceContextPropagator` and `BaggagePropagator` (no hand-parsing).
//!
//! Malformed input yields an empty context, never a panic (fuzzed in `tests/propagation.rs`).
//! The SDK reads the `traceparent` fields with `from_str_radix`, which accepts fields of the
//! wrong length (`00-abc-def-01`, a trace id cut to 31 digits read as another id, zero
//! padding, a leading `+`): a `traceparent` without the W3C shape (2-32-16-2 lowercase hex
//! digits, exactly four fields for version 00) is hidden from it first, so such a header
//! restarts the trace instead of joining the wrong one.
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

/// W3C trace context + baggage, through the SDK's propagators.
pub(crate) fn w3c_propagator() -> TextMapCompositePropagator {
    TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ])
}

fn propagator() -> &'static TextMapCompositePropagator {
    static PROPAGATOR: OnceLock<TextMapCompositePropagator> = OnceLock::new();
    PROPAGATOR.get_or_init(w3c_propagator)
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
    propagator().extract(&ShapeChecked(carrier))
}

/// The `traceparent` header (the name the SDK asks for).
const TRACEPARENT: &str = "traceparent";

/// A carrier whose `traceparent` is hidden unless it has the W3C shape (see the module docs).
struct ShapeChecked<'a>(&'a dyn Extractor);

impl Extractor for ShapeChecked<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        let value = self.0.get(key)?;
        (key != TRACEPARENT || has_traceparent_shape(value)).then_some(value)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let mut values = self.0.get_all(key)?;
        if key == TRACEPARENT {
            values.retain(|v| has_traceparent_shape(v));
        }
        Some(values)
    }
}

/// Whether `value` has the W3C `traceparent` shape: `version-traceid-parentid-flags` with
/// 2, 32, 16 and 2 lowercase hex digits, nothing more for version `00` (a later version may
/// append fields). Which values are valid (version `ff`, all-zero ids) is left to the SDK.
fn has_traceparent_shape(value: &str) -> bool {
    let hex = |field: &str, digits: usize| {
        field.len() == digits
            && field
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let mut fields = value.trim().split('-');
    let (Some(version), Some(trace_id), Some(parent_id), Some(flags)) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return false;
    };
    hex(version, 2)
        && hex(trace_id, 32)
        && hex(parent_id, 16)
        && hex(flags, 2)
        && (version != "00" || fields.next().is_none())
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

#[cfg(test)]
mod tests {
    use super::has_traceparent_shape;

    #[test]
    fn the_w3c_shape_is_checked_field_by_field() {
        let ok = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        assert!(has_traceparent_shape(ok));
        assert!(has_traceparent_shape(&format!(" {ok} ")));
        // A later version may carry more fields; version 00 may not.
        assert!(has_traceparent_shape(
            "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra"
        ));
        for bad in [
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
            "00-af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-00af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-+af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1",
            "0-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "00-abc-def-01",
            "",
        ] {
            assert!(!has_traceparent_shape(bad), "{bad}");
        }
    }
}
