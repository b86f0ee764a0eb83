//! The scheduler task hooks that carry trace context across `spawn` with no wrapper future.
//!
//! * `on_spawn`: the child starts with the spawner's current context (and, when task spans
//!   are on, a new `task` span under it), wrapped around the slot value the child inherited.
//! * `before_poll` / `after_poll`: unwrap the slot and make the task's context current for the
//!   poll; put it back afterwards (the same `Arc` when nothing changed).
//!
//! A child of a span that is not sampled gets no automatic task span (parent-based sampling
//! would drop it): it starts in the parent's context, which still carries the trace id.
//! * `on_terminate`: end the automatic task span with the outcome.
//!
//! ```
//! use nimsync_telemetry::{Telemetry, Tracing};
//! let telemetry = Telemetry::builder().tracing(Tracing::ratio(1.0)).build().unwrap();
//! let rt = telemetry.instrument(nimsync_scheduler::Runtime::builder().workers(1)).build().unwrap();
//! rt.block_on(async {
//!     nimsync_scheduler::spawn(async {
//!         nimsync_telemetry::start_span("parent");
//!         let child = nimsync_scheduler::spawn(async { nimsync_telemetry::current_span_context() });
//!         let seen = child.await.unwrap();
//!         assert_eq!(seen.trace_id(), nimsync_telemetry::current_span_context().trace_id());
//!         nimsync_telemetry::end_span();
//!     })
//!     .await
//!     .unwrap();
//! });
//! ```

use crate::telemetry::TracingState;
use crate::trace::frames::{self, TaskTrace, TraceState, is_empty_context};
use nimsync_scheduler::{
    Builder, SpawnInfo, TaskContextValue, TaskInfo, TaskOutcome, set_task_context, task_context,
};
use opentelemetry::trace::{Span, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use std::sync::Arc;

/// Adds the four hooks to `builder`.
pub(crate) fn instrument(builder: Builder, tracing: Arc<TracingState>) -> Builder {
    let spawn_state = tracing.clone();
    let task_spans = tracing.task_spans;
    builder
        .on_spawn(move |info| on_spawn(&spawn_state, info))
        .before_poll(move |task| before_poll(&tracing, task))
        .after_poll(after_poll)
        .on_terminate(move |task, outcome| on_terminate(task_spans, task, outcome))
}

fn on_spawn(tracing: &Arc<TracingState>, info: &mut SpawnInfo<'_>) {
    // The scheduler copied the spawner's slot. Normally that is the unwrapped value (spawns
    // happen during polls); a spawn from a destructor at termination sees the wrapper.
    let (inner, parent_trace) = match info.context().cloned() {
        Some(value) => match value.downcast::<TaskTrace>() {
            Ok(trace) => (trace.inner.clone(), Some(trace)),
            Err(value) => (Some(value), None),
        },
        None => (None, None),
    };
    if !tracing.task_spans && parent_trace.is_none() {
        // The hot path: share the spawner's context (no allocation when the spawner already
        // gave a task this context during the same poll).
        if let Some(child) = frames::spawn_trace(tracing, &inner) {
            info.set_context(Some(child));
        }
        return;
    }
    let parent = match &parent_trace {
        Some(trace) => trace.state.current.clone(),
        None => Context::current(),
    };
    let task_span = (tracing.task_spans && !tracing.drops_child_of(&parent)).then(|| {
        let mut span = tracing.tracer.start_with_context("task", &parent);
        span.set_attribute(KeyValue::new("nimsync.task.id", info.id().as_u64() as i64));
        parent.with_span(span)
    });
    if task_span.is_none() && is_empty_context(&parent) {
        info.set_context(inner);
        return;
    }
    let current = task_span.clone().unwrap_or(parent);
    info.set_context(Some(Arc::new(TaskTrace::new(
        tracing.clone(),
        TraceState::new(current, task_span),
        inner,
    ))));
}

fn before_poll(tracing: &Arc<TracingState>, task: &TaskInfo) {
    // Take the slot value (no reference count traffic) and leave the wrapped value in place.
    let trace = match set_task_context(None) {
        Some(value) => match value.downcast::<TaskTrace>() {
            Ok(trace) => {
                // The slot is empty now; refill it only when the wrapper hides a value.
                if trace.inner.is_some() {
                    drop(set_task_context(trace.inner.clone()));
                }
                Some(trace)
            }
            Err(value) => {
                drop(set_task_context(Some(value)));
                None
            }
        },
        None => None,
    };
    frames::push_task_frame(task.id(), tracing, trace);
}

fn after_poll(task: &TaskInfo) {
    let Some(frame) = frames::pop_task_frame(task.id()) else {
        return;
    };
    match frame.into_unchanged() {
        // The poll changed no trace state (the common case): put the same value back with
        // one swap, then check that the poll left the wrapped slot value as it found it.
        Ok(original) => {
            let address =
                |v: &Option<TaskContextValue>| v.as_ref().map(|v| Arc::as_ptr(v).cast::<()>());
            let expected = address(&original.inner);
            let inner_now = set_task_context(Some(original as TaskContextValue));
            if address(&inner_now) != expected {
                // It replaced the slot: take the value back and wrap the new slot value.
                let value = match set_task_context(None).map(|v| v.downcast::<TaskTrace>()) {
                    Some(Ok(original)) => frames::rewrap(&original, inner_now),
                    _ => inner_now,
                };
                drop(set_task_context(value));
            }
        }
        // Put the frame back into the task's slot, wrapping what the poll left there.
        Err(frame) => {
            let inner_now = set_task_context(None);
            drop(set_task_context(frame.into_slot(inner_now)));
        }
    }
}

fn on_terminate(task_spans: bool, task: &TaskInfo, outcome: TaskOutcome) {
    // Only after a panic is a frame left on this thread (`after_poll` did not run); without
    // task spans there is nothing else to do.
    if !task_spans && outcome != TaskOutcome::Panicked {
        return;
    }
    let task_span = match frames::pop_task_frame(task.id()) {
        Some(frame) => frame.state().task_span.clone(),
        None if !task_spans => None,
        None => task_context()
            .and_then(|v| v.downcast::<TaskTrace>().ok())
            .and_then(|t| t.state.task_span.clone()),
    };
    if let Some(cx) = task_span {
        let span = cx.span();
        let outcome = match outcome {
            TaskOutcome::Completed => "completed",
            TaskOutcome::Panicked => "panicked",
            TaskOutcome::Cancelled => "cancelled",
        };
        span.set_attribute(KeyValue::new("nimsync.task.outcome", outcome));
        if outcome == "panicked" {
            span.set_status(Status::error("task panicked"));
        }
        span.end();
    }
}
