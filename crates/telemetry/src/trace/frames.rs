//! Where the current trace context lives: a per-thread stack of frames, and the value a task
//! keeps in the scheduler's context slot between polls.
//!
//! A *frame* is the trace state of whatever is running on this thread: a task being polled
//! (pushed by the `before_poll` hook, popped by `after_poll`) or the thread itself (created by
//! the first [`start_span`](crate::start_span) outside any task). It holds the current
//! [`Context`] (attached to OpenTelemetry's thread-local stack, so `Context::current()` and the
//! SDK see it) and the parents of the spans opened in it, so `end_span` can restore them.
//!
//! Between polls a traced task keeps a [`TaskTrace`] in its context slot. The slot holds one
//! value and the cancel layer keeps its scope there too, so `TaskTrace` *wraps* whatever value
//! was in the slot (`inner`) and the hooks unwrap it for the duration of each poll: code in the
//! task sees exactly the slot it would see without telemetry. When nothing changed during the
//! poll the same `Arc` goes back (no allocation per poll).
//!
//! ```
//! // Outside any task and without telemetry there is no current span.
//! use opentelemetry::trace::TraceContextExt;
//! assert!(!nimsync_telemetry::current_context().span().span_context().is_valid());
//! ```

use crate::telemetry::TracingState;
use nimsync_scheduler::{TaskContextValue, TaskId};
use opentelemetry::{Context, ContextGuard};
use std::cell::RefCell;
use std::sync::Arc;

/// What a traced task keeps in its context slot between polls.
pub(crate) struct TaskTrace {
    /// The telemetry that traces this task.
    pub(crate) tracing: Arc<TracingState>,
    /// The task's current context.
    pub(crate) current: Context,
    /// Parents of the spans opened by `start_span` in this task (innermost last).
    pub(crate) open: Vec<Context>,
    /// The automatic task-lifetime span, ended at termination.
    pub(crate) task_span: Option<Context>,
    /// The slot value this wrapper hides (e.g. the cancel layer's scope).
    pub(crate) inner: Option<TaskContextValue>,
}

/// The trace state of the code running on this thread.
pub(crate) struct Frame {
    /// The task being polled, `None` for the thread's own frame.
    pub(crate) task: Option<TaskId>,
    pub(crate) tracing: Option<Arc<TracingState>>,
    pub(crate) current: Context,
    pub(crate) open: Vec<Context>,
    pub(crate) task_span: Option<Context>,
    /// The task's slot wrapper at poll start (reused when nothing changed).
    pub(crate) original: Option<Arc<TaskTrace>>,
    /// `current`/`open` changed during this poll.
    pub(crate) dirty: bool,
    /// A thread frame pushed by `Telemetry::in_scope`: only its scope removes it.
    pinned: bool,
    guard: Option<ContextGuard>,
}

impl Frame {
    pub(crate) fn for_task(
        task: TaskId,
        tracing: &Arc<TracingState>,
        trace: Option<Arc<TaskTrace>>,
        isolate: bool,
    ) -> Frame {
        let mut frame = match &trace {
            Some(t) => Frame {
                task: Some(task),
                tracing: Some(t.tracing.clone()),
                current: t.current.clone(),
                open: t.open.clone(),
                task_span: t.task_span.clone(),
                original: None,
                dirty: false,
                pinned: false,
                guard: None,
            },
            None => Frame {
                task: Some(task),
                tracing: Some(tracing.clone()),
                current: Context::new(),
                open: Vec::new(),
                task_span: None,
                original: None,
                dirty: false,
                pinned: false,
                guard: None,
            },
        };
        frame.original = trace;
        if frame.original.is_some() || isolate {
            frame.guard = Some(frame.current.clone().attach());
        }
        frame
    }

    fn for_thread(tracing: Option<Arc<TracingState>>) -> Frame {
        Frame {
            task: None,
            tracing,
            current: Context::current(),
            open: Vec::new(),
            task_span: None,
            original: None,
            dirty: false,
            pinned: false,
            guard: None,
        }
    }

    /// Makes `cx` the frame's current context (and OpenTelemetry's current one).
    pub(crate) fn set_current(&mut self, cx: Context) {
        // Detach the old context before attaching the new one, so the stack stays ordered.
        drop(self.guard.take());
        self.current = cx;
        self.guard = Some(self.current.clone().attach());
        self.dirty = true;
    }

    /// Whether this frame has nothing worth keeping.
    pub(crate) fn is_empty(&self) -> bool {
        self.open.is_empty() && self.task_span.is_none() && is_empty_context(&self.current)
    }

    /// Detaches the frame's context (its guard) and returns its parts.
    pub(crate) fn detach(mut self) -> Frame {
        drop(self.guard.take());
        self
    }
}

/// Whether `cx` carries nothing to propagate (no span, no baggage).
pub(crate) fn is_empty_context(cx: &Context) -> bool {
    use opentelemetry::baggage::BaggageExt;
    use opentelemetry::trace::TraceContextExt;
    !cx.has_active_span() && cx.baggage().is_empty()
}

thread_local! {
    static FRAMES: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
}

/// Pushes a task frame (from `before_poll`).
pub(crate) fn push_task_frame(
    task: TaskId,
    tracing: &Arc<TracingState>,
    trace: Option<Arc<TaskTrace>>,
) {
    let _ = FRAMES.try_with(|f| {
        if let Ok(mut frames) = f.try_borrow_mut() {
            // A thread frame below (e.g. `block_on` on this thread): give the task its own
            // (possibly empty) context so it does not see the thread's.
            let isolate = !frames.is_empty();
            frames.push(Frame::for_task(task, tracing, trace, isolate));
        }
    });
}

/// Pops the frame of `task` (from `after_poll` or, after a panic, `on_terminate`).
pub(crate) fn pop_task_frame(task: TaskId) -> Option<Frame> {
    let frame = FRAMES
        .try_with(|f| {
            let mut frames = f.try_borrow_mut().ok()?;
            match frames.last() {
                Some(top) if top.task == Some(task) => frames.pop(),
                _ => None,
            }
        })
        .ok()
        .flatten()?;
    Some(frame.detach())
}

/// Runs `f` on the innermost frame, creating a thread frame (owned by `default_tracing`) if
/// there is none and a default exists. Returns `None` when there is no frame, when re-entered
/// (e.g. from an exporter) or during thread exit.
pub(crate) fn with_frame<R>(
    default_tracing: impl FnOnce() -> Option<Arc<TracingState>>,
    f: impl FnOnce(&mut Frame) -> R,
) -> Option<R> {
    FRAMES
        .try_with(|cell| {
            let mut frames = cell.try_borrow_mut().ok()?;
            if frames.is_empty() {
                frames.push(Frame::for_thread(Some(default_tracing()?)));
            }
            let top = frames.last_mut()?;
            Some(f(top))
        })
        .ok()
        .flatten()
}

/// Reads the innermost frame, if any (no frame is created).
pub(crate) fn peek_frame<R>(f: impl FnOnce(&Frame) -> R) -> Option<R> {
    FRAMES
        .try_with(|cell| {
            let frames = cell.try_borrow().ok()?;
            frames.last().map(f)
        })
        .ok()
        .flatten()
}

/// Drops the thread frame once it holds nothing (called after `end_span`).
pub(crate) fn trim_thread_frame() {
    let frame = FRAMES
        .try_with(|cell| {
            let mut frames = cell.try_borrow_mut().ok()?;
            match frames.last() {
                Some(top)
                    if top.task.is_none()
                        && !top.pinned
                        && top.open.is_empty()
                        && is_empty_context(&top.current) =>
                {
                    frames.pop()
                }
                _ => None,
            }
        })
        .ok()
        .flatten();
    drop(frame.map(Frame::detach));
}

/// Runs `f` with a fresh thread frame owned by `tracing` on top (see `Telemetry::in_scope`).
pub(crate) fn in_thread_frame<R>(tracing: Option<Arc<TracingState>>, f: impl FnOnce() -> R) -> R {
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            let frame = FRAMES
                .try_with(|cell| cell.try_borrow_mut().ok()?.pop())
                .ok()
                .flatten();
            drop(frame.map(Frame::detach));
        }
    }
    let pushed = FRAMES
        .try_with(|cell| match cell.try_borrow_mut() {
            Ok(mut frames) => {
                let mut frame = Frame::for_thread(tracing);
                frame.pinned = true;
                frames.push(frame);
                true
            }
            Err(_) => false,
        })
        .unwrap_or(false);
    let _pop = pushed.then_some(Pop);
    f()
}
