//! The scheduler task hooks that carry trace context across `spawn` with no wrapper future.
//!
//! * `on_spawn`: the child starts with the spawner's current context (and, when task spans
//!   are on, a new `task` span under it), kept in the task's hook data (not its context slot,
//!   which the task and lower layers such as cancellation use).
//! * `before_poll` / `after_poll`: make the task's context current for the poll, with its
//!   `TaskTrace` taken out of the hook data and put back afterwards (the same `Arc` when
//!   nothing changed, its context left attached for the next poll in the same context on this
//!   thread), or left in place when that parked frame keeps a reference to the very same
//!   value ([`TaskInfo::hook_data_ptr`]). After the poll that ends the task
//!   ([`TaskInfo::is_finishing`]), an unsampled `TaskTrace` goes straight to a per-thread
//!   batch of deferred drops instead (same thread-local access), and the task's
//!   `on_terminate` is skipped ([`TaskInfo::skip_terminate`]).
//! * `on_terminate` (unless skipped): end the automatic task span with the outcome; otherwise
//!   hand the task's unsampled `TaskTrace` to the batch of deferred drops.
//! * `on_idle`: detach a context left attached and drop the deferred `TaskTrace`s (the
//!   thread stops polling tasks for now).
//!
//! A child of a span that is not sampled gets no automatic task span (parent-based sampling
//! would drop it): it starts in the parent's context, which still carries the trace id.
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
use crate::trace::frames::{self, PollEnd, TaskTrace, TraceState};
use nimsync_scheduler::{Builder, SpawnInfo, TaskContextValue, TaskInfo, TaskOutcome};
use opentelemetry::trace::{Span, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use std::sync::Arc;

/// Adds the task hooks (`on_spawn`, `before_poll`, `after_poll`, `on_terminate`, `on_idle`) to
/// `builder`.
pub(crate) fn instrument(builder: Builder, tracing: Arc<TracingState>) -> Builder {
    let spawn_state = tracing.clone();
    let task_spans = tracing.task_spans;
    builder
        .on_spawn(move |info| on_spawn(&spawn_state, info))
        .before_poll(move |task| before_poll(&tracing, task))
        .after_poll(after_poll)
        .on_terminate(move |task, outcome| on_terminate(task_spans, task, outcome))
        .on_idle(frames::release_parked)
}

fn on_spawn(tracing: &Arc<TracingState>, info: &mut SpawnInfo<'_>) {
    if !tracing.task_spans {
        // The hot path: share the spawner's context (no allocation when the spawner already
        // gave a task this context during the same poll).
        if let Some(child) = frames::spawn_trace(tracing) {
            info.set_hook_data(Some(child));
        }
        return;
    }
    spawn_with_task_span(tracing, info);
}

/// `on_spawn` with task spans on: the child starts in a new `task` span under the spawner's
/// context (unless the sampler would drop it).
#[cold]
#[inline(never)]
fn spawn_with_task_span(tracing: &Arc<TracingState>, info: &mut SpawnInfo<'_>) {
    // The spawner's context is current (its frame attached it), unless it attached another
    // one with OpenTelemetry's own API, which then is the parent.
    let parent = Context::current();
    let task_span = (!tracing.drops_child_of(&parent)).then(|| {
        let mut span = tracing.tracer.start_with_context("task", &parent);
        span.set_attribute(KeyValue::new("nimsync.task.id", info.id().as_u64() as i64));
        parent.with_span(span)
    });
    // Without a task span the parent is an unsampled span (`drops_child_of`), so there is
    // always something to carry.
    let current = task_span.clone().unwrap_or(parent);
    info.set_hook_data(Some(Arc::new(TaskTrace::new(
        tracing.clone(),
        TraceState::new(current, task_span),
    ))));
}

/// The task's `TaskTrace`, taken out of its hook data.
fn take_trace(task: &TaskInfo<'_>) -> Option<Arc<TaskTrace>> {
    task.take_hook_data()
        .and_then(|value| value.downcast::<TaskTrace>().ok())
}

fn before_poll(tracing: &Arc<TracingState>, task: &TaskInfo<'_>) {
    // The common case: the parked frame keeps this very value, the hook data stays put.
    if !frames::reuse_retained(task) {
        push_frame(tracing, task);
    }
}

/// `before_poll` when the parked frame does not keep the task's value: takes it out of the
/// hook data and pushes a frame (or reuses the parked one).
#[cold]
#[inline(never)]
fn push_frame(tracing: &Arc<TracingState>, task: &TaskInfo<'_>) {
    frames::push_task_frame(task, tracing, take_trace(task));
}

fn after_poll(task: &TaskInfo<'_>) {
    match frames::end_task_poll(task) {
        // The common cases: the poll changed no trace state and the task still holds its
        // value (the frame kept a reference of its own), or the poll ended the task and its
        // unsampled value went to the deferred drops (`on_terminate` skipped).
        PollEnd::Kept | PollEnd::NoFrame => {}
        // The poll changed no trace state (the same value goes back, its context left
        // attached for the next poll on this thread if that task is in the same context,
        // released when it is not, or by `on_idle`), or changed it.
        PollEnd::Unchanged(original) => task.set_hook_data(Some(original as TaskContextValue)),
        PollEnd::Changed(slot) => task.set_hook_data(slot.map(|t| t as TaskContextValue)),
    }
}

fn on_terminate(task_spans: bool, task: &TaskInfo<'_>, outcome: TaskOutcome) {
    // Only after a panic is a frame left on this thread (`after_poll` did not run); without
    // task spans there is nothing else to do.
    if !task_spans && outcome != TaskOutcome::Panicked {
        // The common case: the scheduler would drop the shared `TaskTrace` right after this
        // hook; an unsampled one is dropped in a batch on this thread instead.
        if let Some(trace) = take_trace(task) {
            frames::defer_drop(trace);
        }
        return;
    }
    end_task(task_spans, task, outcome);
}

/// `on_terminate` with task spans on or after a panic: pops the task's frame, if left on
/// this thread, and ends the task span with the outcome.
#[cold]
#[inline(never)]
fn end_task(task_spans: bool, task: &TaskInfo<'_>, outcome: TaskOutcome) {
    let task_span = match frames::pop_task_frame(task.id()).map(frames::Frame::detach) {
        Some(frame) => frame.state().task_span.clone(),
        None if !task_spans => None,
        None => take_trace(task).and_then(|t| t.state.task_span.clone()),
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
