//! The seed's span surface as thin helpers over the SDK: `start_span`, `set_attribute`,
//! `set_baggage`, `end_span`.
//!
//! They act on the innermost frame (see [`frames`](super::frames)): the running task of an
//! instrumented runtime, or the thread (using the [installed](crate::TelemetryBuilder::install)
//! telemetry). With no telemetry they do nothing and cost a thread-local look-up.
//!
//! ```
//! use nimsync_telemetry::{Telemetry, Tracing, start_span, end_span, set_attribute};
//! let telemetry = Telemetry::builder().tracing(Tracing::ratio(1.0)).build().unwrap();
//! let rt = telemetry.instrument(nimsync_scheduler::Runtime::builder().workers(1)).build().unwrap();
//! rt.block_on(async {
//!     nimsync_scheduler::spawn(async {
//!         start_span("checkout");
//!         set_attribute("cart.items", 3);
//!         assert!(end_span());
//!     }).await.unwrap();
//! });
//! assert_eq!(telemetry.finished_spans()[0].name, "checkout");
//! ```

use crate::telemetry::global_tracing;
use crate::trace::frames::{self, Fast, peek_frame, with_frame};
use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::{Span as _, SpanContext, TraceContextExt, Tracer};
use opentelemetry::{Context, Key, KeyValue, StringValue, Value};
use std::borrow::Cow;

/// Starts a span named `name` as a child of the current context and makes it current (for the
/// rest of the running task, or on this thread), until [`end_span`]. Returns its span context
/// (invalid when no telemetry is installed; not sampled when the sampler dropped it).
///
/// The current context is the running task's, or one made current over it with
/// OpenTelemetry's own API (`Tracer::in_span`, `Context::attach`), which is then the parent;
/// the matching `end_span` makes that context current again. Known edges (see
/// `docs/design/telemetry.md`): in a task whose trace is not sampled, a span started with
/// nothing opened yet in the poll is a pass-through of the task's trace even under such a
/// context; and a span opened in an earlier poll and ended under such a context re-attaches
/// the task's context over it for the rest of the poll.
///
/// Under a parent that is not sampled (parent-based sampling, the default) no span is created
/// at all, since the sampler would drop it: the parent's context stays current and is
/// returned (same trace id, not sampled), and the matching `end_span` just closes it. This
/// keeps unsampled traces nearly free while their trace id still propagates.
///
/// ```
/// // No telemetry installed on this thread: nothing happens.
/// let sc = nimsync_telemetry::start_span("idle");
/// assert!(!sc.is_valid());
/// assert!(!nimsync_telemetry::end_span());
/// ```
pub fn start_span(name: impl Into<Cow<'static, str>>) -> SpanContext {
    start_span_with_parent_opt(name.into(), None)
}

/// Starts a span under `parent` (typically a context [extracted](crate::extract) from an
/// incoming request) instead of the current context, and makes it current until [`end_span`].
/// The parent's baggage comes along.
///
/// ```
/// use std::collections::HashMap;
/// use nimsync_telemetry::{Telemetry, Tracing};
/// let telemetry = Telemetry::builder().tracing(Tracing::ratio(1.0)).build().unwrap();
/// let mut headers = HashMap::new();
/// headers.insert("traceparent".to_string(),
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string());
/// let remote = nimsync_telemetry::extract(&headers);
/// let sc = telemetry.in_scope(|| {
///     let sc = nimsync_telemetry::start_span_with_parent("handle", &remote);
///     nimsync_telemetry::end_span();
///     sc
/// });
/// assert_eq!(sc.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// ```
pub fn start_span_with_parent(name: impl Into<Cow<'static, str>>, parent: &Context) -> SpanContext {
    start_span_with_parent_opt(name.into(), Some(parent))
}

fn start_span_with_parent_opt(name: Cow<'static, str>, parent: Option<&Context>) -> SpanContext {
    if parent.is_none() {
        match frames::try_pass() {
            Fast::Done(sc) => return sc,
            // No frame: only an installed telemetry would make one (telemetry off: no span).
            Fast::NoFrame if global_tracing().is_none() => return SpanContext::empty_context(),
            Fast::NoFrame | Fast::General => {}
        }
    }
    with_frame(global_tracing, |frame| {
        let tracing = frame.tracing()?;
        // A context attached over the frame's with OpenTelemetry's own API (`Tracer::in_span`,
        // `Context::attach`) is the parent (the rule `spawn` follows too).
        let foreign = match parent {
            None => frames::foreign_current(frame),
            Some(_) => None,
        };
        let drops = match (parent, &foreign) {
            (Some(_), _) => false,
            (None, Some(cx)) => tracing.drops_child_of(cx),
            (None, None) => frame.drops_children(tracing),
        };
        if drops {
            // The sampler would drop it: a pass-through, the parent's context stays current.
            let current = foreign.as_ref().unwrap_or(&frame.state().current);
            let sc = current.span().span_context().clone();
            frame.push_pass();
            return Some(sc);
        }
        let parent_cx = parent
            .or(foreign.as_ref())
            .unwrap_or(&frame.state().current);
        let span = tracing.tracer.start_with_context(name, parent_cx);
        let sc = span.span_context().clone();
        let cx = parent_cx.with_span(span);
        frame.push_span(cx);
        Some(sc)
    })
    .flatten()
    .unwrap_or_else(SpanContext::empty_context)
}

/// Ends the innermost span opened by [`start_span`] in the running task (or on this thread)
/// and makes its parent current again. Returns `false` when there is no such span. In an
/// actor's handler only the spans the handler opened can be ended: the sender's span (and the
/// message's `actor.handle` span) are not its to end; spans a handler leaves open are ended
/// when it returns (see [`Tracing::actor_spans`](crate::Tracing::actor_spans)).
///
/// ```
/// assert!(!nimsync_telemetry::end_span());
/// ```
pub fn end_span() -> bool {
    match frames::try_end_pass() {
        Fast::Done(()) => return true, // a pass-through span: nothing was created
        Fast::NoFrame => return false, // nothing open on this thread
        Fast::General => {}
    }
    match with_frame(|| None, |frame| frame.pop_span()).flatten() {
        None => false,
        Some(None) => true, // a pass-through span: nothing was created
        Some(Some(cx)) => {
            cx.span().end();
            drop(cx);
            frames::trim_thread_frame();
            true
        }
    }
}

/// Sets an attribute on the current span (no-op without one).
///
/// ```
/// nimsync_telemetry::set_attribute("http.route", "/users/:id"); // no span: nothing happens
/// ```
pub fn set_attribute(key: impl Into<Key>, value: impl Into<Value>) {
    current_context()
        .span()
        .set_attribute(KeyValue::new(key, value));
}

/// Adds a baggage entry to the current context: it travels with spawned tasks and with
/// [`inject`](crate::inject). Returns `false` when there is no telemetry to hold it.
///
/// ```
/// use nimsync_telemetry::{Telemetry, Tracing};
/// use opentelemetry::baggage::BaggageExt;
/// let telemetry = Telemetry::builder().tracing(Tracing::ratio(1.0)).build().unwrap();
/// telemetry.in_scope(|| {
///     assert!(nimsync_telemetry::set_baggage("tenant", "acme"));
///     let cx = nimsync_telemetry::current_context();
///     assert_eq!(cx.baggage().get("tenant").map(|v| v.as_str()), Some("acme"));
/// });
/// ```
pub fn set_baggage(key: impl Into<Key>, value: impl Into<StringValue>) -> bool {
    with_frame(global_tracing, |frame| {
        let key = key.into();
        let current = &frame.state().current;
        let mut entries: Vec<KeyValue> = current
            .baggage()
            .iter()
            .filter(|(k, _)| **k != key)
            .map(|(k, (v, _))| KeyValue::new(k.clone(), v.clone()))
            .collect();
        entries.push(KeyValue::new(key.clone(), value.into()));
        let cx = BaggageExt::with_baggage(current, entries);
        // Over the size limits the SDK drops the entry; report it.
        if cx.baggage().get(&key).is_none() {
            return false;
        }
        frame.replace_current(cx);
        true
    })
    .unwrap_or(false)
}

/// The current context: the running task's (instrumented runtime) or this thread's, unless a
/// context was made current over it with OpenTelemetry's own API; otherwise OpenTelemetry's
/// own current context.
///
/// ```
/// use opentelemetry::trace::TraceContextExt;
/// assert!(!nimsync_telemetry::current_context().has_active_span());
/// ```
pub fn current_context() -> Context {
    // A context attached over the frame's with OpenTelemetry's own API wins.
    peek_frame(|f| frames::foreign_current(f).unwrap_or_else(|| f.state().current.clone()))
        .unwrap_or_else(Context::current)
}

/// The span context of the current span (invalid when there is none).
///
/// ```
/// assert!(!nimsync_telemetry::current_span_context().is_valid());
/// ```
pub fn current_span_context() -> SpanContext {
    current_context().span().span_context().clone()
}
