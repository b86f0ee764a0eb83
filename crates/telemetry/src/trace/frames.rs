//! Where the current trace context lives: a per-thread stack of frames, and the value a task
//! keeps in the scheduler's hook data between polls.
//!
//! A *frame* is the trace state of whatever is running on this thread: a task being polled
//! (pushed by the `before_poll` hook, popped by `after_poll`) or the thread itself (created by
//! the first [`start_span`](crate::start_span) outside any task). Its [`TraceState`] holds the
//! current [`Context`] (attached to OpenTelemetry's thread-local stack, so `Context::current()`
//! and the SDK see it) and the parents of the spans opened in it, so `end_span` can restore
//! them. A span opened during a poll is attached on top of what is current with a guard of
//! its own, and ending it drops that guard only (a context attached meanwhile with
//! OpenTelemetry's own API stays as it is). Actor messages push a *scope* entry that
//! `end_span` does not cross, closed by the actor hooks with whatever the handler left open
//! above it. After a poll that changed nothing, the task's context is left attached for the next
//! poll on the thread if that task is in the same context (released otherwise, and by the
//! scheduler's `on_idle` hook when the thread stops polling tasks).
//!
//! Between polls a traced task keeps a [`TaskTrace`] in the scheduler's *hook data* slot,
//! which only the hooks see (moved into the frame and back, or left in place when the parked
//! frame keeps a reference to that very value; no thread-local swap): the task's
//! context slot (where the cancel layer keeps its scope) is left alone, so code in the task
//! sees exactly the slot it would see without telemetry.
//!
//! **Cost.** The common cases allocate nothing and clone no context:
//!
//! * A task frame *borrows* its `TaskTrace` (copy on write): a poll that opens and closes its
//!   spans leaves the task the same `Arc`. A parked frame keeps references to the last values
//!   polled in its context, so a task holding one of them is polled without its hook data
//!   being moved or downcast ([`reuse_retained`]).
//! * A span under a parent that is not sampled (parent-based sampling: the SDK would drop it)
//!   is a *pass-through*: the current context stays the parent's, only a counter records it,
//!   and `end_span` decrements it. The trace id still travels (the parent's context is current).
//! * Tasks spawned during one poll under the same context share one `TaskTrace` (cached in the
//!   spawner's frame): a spawn costs a reference count, not an allocation.
//!
//! ```
//! // Outside any task and without telemetry there is no current span.
//! use opentelemetry::trace::TraceContextExt;
//! assert!(!nimsync_telemetry::current_context().span().span_context().is_valid());
//! ```

use crate::telemetry::TracingState;
use nimsync_scheduler::{TaskContextValue, TaskId, TaskInfo};
use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry::{Context, ContextGuard};
use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

/// What an entry of [`TraceState::open`] is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum EntryKind {
    /// A span opened by `start_span`: ending it ends the span.
    Span,
    /// A pass-through made explicit by `set_baggage`: nothing to end.
    Explicit,
    /// An actor message's scope (the sender's context or an `actor.handle` span), opened by
    /// `on_handle_start` and closed only by `on_handle_end`: `end_span` stops at it (returns
    /// `false`), so a handler cannot end its sender's span or the message's scope.
    Scope,
}

/// An entry that replaced the current context: a span opened by `start_span`, a pass-through
/// made explicit, or an actor message's scope.
#[derive(Clone)]
pub(crate) struct OpenSpan {
    /// The context current before it, restored when it ends.
    restore: Context,
    kind: EntryKind,
    /// Pass-through spans that were open just below it (restored when it ends).
    passes_below: u32,
}

/// A task's (or thread's) trace state.
#[derive(Clone, Default)]
pub(crate) struct TraceState {
    /// The current context.
    pub(crate) current: Context,
    /// Spans opened by `start_span` that changed the context (innermost last).
    open: Vec<OpenSpan>,
    /// The automatic task-lifetime span, ended at termination.
    pub(crate) task_span: Option<Context>,
}

impl TraceState {
    /// A fresh task state starting in `current`.
    pub(crate) fn new(current: Context, task_span: Option<Context>) -> TraceState {
        TraceState {
            current,
            open: Vec::new(),
            task_span,
        }
    }

    fn is_empty(&self) -> bool {
        self.open.is_empty() && self.task_span.is_none() && is_empty_context(&self.current)
    }
}

/// The state of a task with nothing to carry (what a frame without a `TaskTrace` reads).
fn empty_state() -> &'static TraceState {
    static EMPTY: OnceLock<TraceState> = OnceLock::new();
    EMPTY.get_or_init(TraceState::default)
}

/// What a traced task keeps in its hook data slot between polls.
///
/// Aligned to a cache line so that, inside its `Arc`, the fields (read by every worker that
/// polls a task holding it, never written once built) do not share a line with the
/// reference count (written by the spawner on every spawn and by whichever worker ends a
/// task; see [`defer_drop`]).
#[repr(align(64))]
pub(crate) struct TaskTrace {
    /// The telemetry that traces this task.
    pub(crate) tracing: Arc<TracingState>,
    /// The task's trace state.
    pub(crate) state: TraceState,
    /// Pass-through spans open above the last entry of `state.open`.
    passes: u32,
    /// Whether the sampler drops every span started under `state.current` (decided once,
    /// here, so an unsampled task's `start_span` is one load and a branch).
    drops_children: bool,
    /// `state.current`'s span context (what a pass-through `start_span` returns).
    span_context: SpanContext,
    /// `state.current`'s identity (see [`ContextId`]), computed once.
    pub(crate) current_id: ContextId,
}

/// A context's identity for sharing a `TaskTrace` between tasks spawned under it: the
/// addresses of its span and of its baggage (the static empty ones when it has none), and
/// whether telemetry is suppressed in it. Two contexts with the same identity carry the very
/// same span and baggage objects and the same suppression. Only compared while the
/// `TaskTrace` that holds the context is alive, so an address cannot have been reused by
/// another object. (Other values added with `Context::with_value` are not part of it:
/// OpenTelemetry exposes no identity for them; see the design doc's known edges.)
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct ContextId {
    span: usize,
    baggage: usize,
    suppressed: bool,
}

impl ContextId {
    pub(crate) fn of(cx: &Context) -> ContextId {
        ContextId {
            span: std::ptr::from_ref(cx.span().span_context()) as usize,
            baggage: std::ptr::from_ref(cx.baggage()) as usize,
            suppressed: cx.is_telemetry_suppressed(),
        }
    }
}

impl TaskTrace {
    /// The hook data of a task that starts in `state`.
    pub(crate) fn new(tracing: Arc<TracingState>, state: TraceState) -> TaskTrace {
        TaskTrace::with_passes(tracing, state, 0)
    }

    fn with_passes(tracing: Arc<TracingState>, state: TraceState, passes: u32) -> TaskTrace {
        let drops_children = tracing.drops_child_of(&state.current);
        let current_id = ContextId::of(&state.current);
        let span_context = state.current.span().span_context().clone();
        TaskTrace {
            tracing,
            state,
            passes,
            drops_children,
            span_context,
            current_id,
        }
    }

    /// Whether a child spawned in the context identified by `current` with `tracing` can
    /// start with this very value (nothing open, same context and telemetry).
    fn fits_child(&self, current: ContextId, tracing: &Arc<TracingState>) -> bool {
        self.current_id == current
            && self.passes == 0
            && self.state.open.is_empty()
            && self.state.task_span.is_none()
            && Arc::ptr_eq(&self.tracing, tracing)
    }
}

/// `Frame::revert_at` when there is nothing to revert to.
const NO_REVERT: u32 = u32::MAX;

/// `Frame::task` of a parked frame (see [`Frames::parked`]); task ids never reach it.
const PARKED: u64 = u64::MAX;

/// The trace state of the code running on this thread. Kept small (fields packed, rare state
/// boxed): one is pushed and popped on every poll of a task.
pub(crate) struct Frame {
    /// The id of the task being polled, 0 for the thread's own frame (task ids start at 1),
    /// [`PARKED`] for a parked frame.
    task: u64,
    /// The frame's telemetry when it has no `original` (whose telemetry it uses otherwise).
    tracing: Option<Arc<TracingState>>,
    /// The task's hook data at poll start, borrowed until the first change: the task's own
    /// reference, moved out of its hook data, or (`retained`) a reference of the frame's own
    /// to the very value the task holds (see [`reuse_retained`]).
    original: Option<Arc<TaskTrace>>,
    /// A second value in the parked frame's context kept by the frame (see
    /// [`reuse_retained`]); `None` on any other frame.
    alt: Option<Arc<TaskTrace>>,
    /// The frame's own state once it differs from `original`'s (or when there is none); boxed
    /// to keep frames small (they are moved on every poll).
    own: Option<Box<Own>>,
    /// Pass-through spans open above the last entry of the state's `open`.
    passes: u32,
    /// `own` was copied from `original` by opening a span at this depth: closing it returns
    /// to `original` (so the poll puts the same `Arc` back); [`NO_REVERT`] when not.
    revert_at: u32,
    /// The hook data last given to a task spawned from this frame (shared while it fits).
    child: Option<Arc<TaskTrace>>,
    /// A thread frame pushed by `Telemetry::in_scope`: only its scope removes it.
    pinned: bool,
    /// `original` is the frame's own reference: the task kept its hook data.
    retained: bool,
    /// The frame's *base* attach: the context current when the frame was pushed (or when it
    /// last had to be replaced, see [`Frame::pop_entry`]). Spans opened during this poll are
    /// attached on top of it, with their own guards ([`Own::guards`]).
    guard: Option<ContextGuard>,
}

/// A frame's own state (see [`Frame::own`]).
#[derive(Default)]
struct Own {
    state: TraceState,
    /// The guards of the contexts attached by [`Frame::push_span`] during this poll, on top of
    /// the frame's base attach: one for each of the innermost entries of `state.open`
    /// (the last `guards.len()` ones), innermost last. Ending such an entry drops its guard
    /// only, so OpenTelemetry's stack gets back whatever was current below it, including a
    /// context attached meanwhile with OpenTelemetry's own API (`Tracer::in_span`,
    /// `Context::attach`), which is not replaced.
    guards: Vec<ContextGuard>,
}

impl Own {
    fn new(state: TraceState) -> Box<Own> {
        Box::new(Own {
            state,
            guards: Vec::new(),
        })
    }

    /// Drops the guards, innermost first.
    fn detach(&mut self) {
        while let Some(guard) = self.guards.pop() {
            drop(guard);
        }
    }
}

impl Frame {
    fn for_task(
        task: TaskId,
        tracing: &Arc<TracingState>,
        original: Option<Arc<TaskTrace>>,
        isolate: bool,
    ) -> Frame {
        let guard = match &original {
            Some(t) => Some(t.state.current.clone().attach()),
            // A thread frame below (e.g. `block_on` on this thread): give the task its own
            // empty context so it does not see the thread's.
            None if isolate => Some(Context::new().attach()),
            None => None,
        };
        let (frame_tracing, passes) = match &original {
            Some(t) => (None, t.passes),
            None => (Some(tracing.clone()), 0),
        };
        Frame {
            task: task.as_u64(),
            tracing: frame_tracing,
            original,
            alt: None,
            own: None,
            passes,
            revert_at: NO_REVERT,
            child: None,
            pinned: false,
            retained: false,
            guard,
        }
    }

    fn for_thread(tracing: Option<Arc<TracingState>>) -> Frame {
        Frame {
            task: 0,
            tracing,
            original: None,
            alt: None,
            own: Some(Own::new(TraceState::new(Context::current(), None))),
            passes: 0,
            revert_at: NO_REVERT,
            child: None,
            pinned: false,
            retained: false,
            guard: None,
        }
    }

    /// The telemetry this frame traces with, if any.
    pub(crate) fn tracing(&self) -> Option<&Arc<TracingState>> {
        match &self.original {
            Some(o) => Some(&o.tracing),
            None => self.tracing.as_ref(),
        }
    }

    /// The value a task spawned from this frame in the context identified by `current` can
    /// share (a new reference): the frame's own `TaskTrace` or the one given to its last child,
    /// if it fits. Equal contents at other addresses do not fit: a new value is built, which is
    /// correct, only slower.
    #[inline]
    fn shared_child(
        &self,
        current: ContextId,
        tracing: &Arc<TracingState>,
    ) -> Option<Arc<TaskTrace>> {
        // The last child's value first: a frame that opened a span (so no longer matches its
        // own value) shares it with every task it spawns under that span.
        if let Some(child) = &self.child
            && child.current_id == current
            && Arc::ptr_eq(&child.tracing, tracing)
        {
            // Built by `spawn_trace_new`: nothing open, no task span.
            debug_assert!(child.fits_child(current, tracing));
            return Some(child.clone());
        }
        match &self.original {
            Some(original) if self.own.is_none() && original.fits_child(current, tracing) => {
                Some(original.clone())
            }
            _ => None,
        }
    }

    /// The frame's trace state.
    pub(crate) fn state(&self) -> &TraceState {
        match (&self.own, &self.original) {
            (Some(own), _) => &own.state,
            (None, Some(original)) => &original.state,
            (None, None) => empty_state(),
        }
    }

    /// The identity of the frame's current context (cached in the borrowed `TaskTrace`).
    pub(crate) fn current_id(&self) -> ContextId {
        match (&self.own, &self.original) {
            (None, Some(original)) => original.current_id,
            _ => ContextId::of(&self.state().current),
        }
    }

    /// Whether the sampler is sure to drop a span started in this frame now (parent-based
    /// sampling under a valid, unsampled current span): read from the borrowed `TaskTrace`
    /// while the frame has not changed its state.
    pub(crate) fn drops_children(&self, tracing: &TracingState) -> bool {
        match (&self.own, &self.original) {
            (None, Some(original)) => original.drops_children,
            _ => tracing.drops_child_of(&self.state().current),
        }
    }

    /// The frame's own state, copied from `original` on first use (`opening` records that the
    /// copy is made to open a span, so closing it can drop the copy again).
    fn own_mut(&mut self, opening: bool) -> &mut Own {
        if self.own.is_none() {
            let state = self
                .original
                .as_ref()
                .map(|o| o.state.clone())
                .unwrap_or_default();
            if opening && self.original.is_some() {
                self.revert_at = u32::try_from(state.open.len()).unwrap_or(NO_REVERT);
            }
            self.own = Some(Own::new(state));
        }
        self.own.get_or_insert_with(Box::default)
    }

    /// The frame's state for writing (see [`own_mut`](Self::own_mut)).
    fn state_mut(&mut self, opening: bool) -> &mut TraceState {
        &mut self.own_mut(opening).state
    }

    /// Replaces the base attach with the (changed) current context, dropping any guard
    /// attached on top of it first (innermost first).
    fn reattach(&mut self) {
        if let Some(own) = &mut self.own {
            own.detach();
        }
        drop(self.guard.take());
        self.guard = Some(self.state().current.clone().attach());
        self.child = None;
    }

    /// Opens a span whose context `cx` becomes current.
    pub(crate) fn push_span(&mut self, cx: Context) {
        self.push_entry(cx, EntryKind::Span);
    }

    /// Opens an actor message's scope with `cx` current (see [`EntryKind::Scope`]); returns
    /// its depth, for [`end_scope`](Self::end_scope).
    pub(crate) fn push_scope(&mut self, cx: Context) -> u32 {
        self.push_entry(cx, EntryKind::Scope)
    }

    /// Pushes an entry making `cx` current, attached on top of what is current now (the
    /// frame's context, or one attached over it with OpenTelemetry's own API): ending it drops
    /// that attach only. Returns the entry's depth (its index in `open`).
    fn push_entry(&mut self, cx: Context, kind: EntryKind) -> u32 {
        let passes_below = std::mem::take(&mut self.passes);
        let guard = cx.clone().attach();
        let own = self.own_mut(true);
        let restore = std::mem::replace(&mut own.state.current, cx);
        let depth = u32::try_from(own.state.open.len()).unwrap_or(NO_REVERT);
        own.state.open.push(OpenSpan {
            restore,
            kind,
            passes_below,
        });
        own.guards.push(guard);
        self.child = None;
        depth
    }

    /// Opens a pass-through span (the current context stays as it is).
    pub(crate) fn push_pass(&mut self) {
        self.passes += 1;
    }

    /// Closes the innermost span: `None` when nothing is open (or the innermost entry is an
    /// actor message's scope, which only [`end_scope`](Self::end_scope) closes), `Some(None)`
    /// for a pass-through, `Some(Some(cx))` with the context of a span to end.
    pub(crate) fn pop_span(&mut self) -> Option<Option<Context>> {
        if self.passes > 0 {
            self.passes -= 1;
            return Some(None);
        }
        match self.state().open.last() {
            None => return None,
            Some(entry) if entry.kind == EntryKind::Scope => return None,
            Some(_) => {}
        }
        let (kind, ended) = self.pop_entry()?;
        Some((kind == EntryKind::Span).then_some(ended))
    }

    /// Pops the innermost entry of `open` (pass-throughs above it are forgotten: the caller
    /// checked there are none, or abandons them), restoring the context current before it.
    /// Returns its kind and the context it ends.
    fn pop_entry(&mut self) -> Option<(EntryKind, Context)> {
        if self.state().open.is_empty() {
            return None;
        }
        let own = self.own_mut(false);
        let entry = own.state.open.pop()?;
        let ended = std::mem::replace(&mut own.state.current, entry.restore);
        let depth = u32::try_from(own.state.open.len()).unwrap_or(NO_REVERT);
        // Opened during this poll: dropping its guard gives OpenTelemetry's stack back what
        // was current below it (the context now current, or one attached over it meanwhile
        // with OpenTelemetry's own API, left in place). Opened in an earlier poll: the base
        // attach holds it and is replaced.
        let guarded = own.guards.pop();
        let reattach = guarded.is_none();
        drop(guarded);
        self.passes = entry.passes_below;
        if self.revert_at != NO_REVERT && self.revert_at == depth {
            // Back where the poll started: the task's hook data is up to date again (and the
            // base attach holds its context).
            debug_assert!(self.own.as_ref().is_none_or(|o| o.guards.is_empty()));
            self.own = None;
            self.revert_at = NO_REVERT;
        }
        if reattach {
            self.reattach();
        } else {
            self.child = None;
        }
        Some((entry.kind, ended))
    }

    /// Whether this frame carries nothing that an actor message's scope would have to hide
    /// (no pass-through, nothing open, an empty current context): an untraced message is
    /// then handled in it as it is (see [`end_scope`](Self::end_scope) with `scope: false`).
    pub(crate) fn carries_nothing(&self) -> bool {
        self.passes == 0 && self.state().open.is_empty() && is_empty_context(&self.state().current)
    }

    /// The depth of `open` (where an entry pushed now would go).
    pub(crate) fn depth(&self) -> u32 {
        u32::try_from(self.state().open.len()).unwrap_or(NO_REVERT)
    }

    /// Ends an actor message's scope (from `on_handle_end`): unwinds the frame to `depth`,
    /// whatever the handler left open (a span of a sub-future dropped by a timeout or a
    /// `select`, a panic, a kill), then, with `scope`, pops the scope entry pushed at that
    /// depth by [`push_scope`](Self::push_scope). Returns the scope entry's context (`None`
    /// without `scope`) and the contexts of the spans left open above it, innermost first,
    /// for the caller to end (after the frames' borrow). `None` when there is no such scope
    /// (nothing is changed then).
    pub(crate) fn end_scope(
        &mut self,
        depth: u32,
        scope: bool,
    ) -> Option<(Option<Context>, Vec<Context>)> {
        let depth = usize::try_from(depth).ok()?;
        let open = &self.state().open;
        let ours = if scope {
            open.get(depth).is_some_and(|e| e.kind == EntryKind::Scope)
        } else {
            open.len() >= depth
        };
        if !ours {
            return None;
        }
        let keep = depth + usize::from(scope);
        let mut abandoned = Vec::new();
        // Pass-throughs above the innermost entry: abandoned, nothing to end (those below an
        // entry are restored by its pop and dropped by the next one).
        self.passes = 0;
        while self.state().open.len() > keep {
            match self.pop_entry() {
                Some((EntryKind::Span, cx)) => abandoned.push(cx),
                Some(_) => {}
                None => break,
            }
        }
        if !scope {
            self.passes = 0;
            // Baggage the handler set in place (`set_baggage` with nothing open): the frame
            // carried nothing before the message, and carries nothing after it.
            if !is_empty_context(&self.state().current) {
                self.state_mut(false).current = Context::new();
                self.reattach();
            }
            return Some((None, abandoned));
        }
        let (_, cx) = self.pop_entry()?;
        Some((Some(cx), abandoned))
    }

    /// Makes `cx` current in place of the current context (baggage changes); pass-through
    /// spans open above it become explicit so that ending them restores the old context.
    pub(crate) fn replace_current(&mut self, cx: Context) {
        let passes = std::mem::take(&mut self.passes);
        let state = self.state_mut(false);
        for _ in 0..passes {
            let restore = state.current.clone();
            state.open.push(OpenSpan {
                restore,
                kind: EntryKind::Explicit,
                passes_below: 0,
            });
        }
        state.current = cx;
        // One base attach for the whole state (any attach on top of it is dropped first).
        self.reattach();
    }

    /// Whether the poll of this task frame changed no trace state (so its `TaskTrace` is
    /// still the task's).
    fn is_unchanged(&self) -> bool {
        matches!(&self.original, Some(o) if self.own.is_none() && self.passes == o.passes)
    }

    /// Whether this frame has nothing worth keeping.
    fn is_empty(&self) -> bool {
        self.passes == 0 && self.state().is_empty()
    }

    /// Detaches the frame's contexts (its guards, innermost first).
    pub(crate) fn detach(mut self) -> Frame {
        if let Some(own) = &mut self.own {
            own.detach();
        }
        drop(self.guard.take());
        self
    }

    /// The hook data a task frame leaves behind: its `TaskTrace` (the borrowed one when
    /// nothing changed), or nothing when there is nothing to carry.
    pub(crate) fn into_slot(self) -> Option<Arc<TaskTrace>> {
        // Only called for a changed frame (`end_task_poll` returns unchanged ones itself).
        debug_assert!(!self.is_unchanged());
        if self.is_empty() {
            return None;
        }
        let tracing = self.tracing().cloned()?;
        let passes = self.passes;
        let state = match (self.own, self.original) {
            (Some(own), _) => own.state,
            (None, Some(original)) => original.state.clone(),
            (None, None) => TraceState::default(),
        };
        Some(Arc::new(TaskTrace::with_passes(tracing, state, passes)))
    }
}

/// OpenTelemetry's current context when it is not `frame`'s: one attached over the frame's
/// with OpenTelemetry's own API (`Tracer::in_span`, `Context::attach`), which then is the
/// parent of a span the general `start_span` path opens. Compared by identity
/// ([`ContextId`]), as `spawn` does. (Not looked at by the pass-through fast path, which keeps
/// to the frame's context: see the design doc's known edges.)
pub(crate) fn foreign_current(frame: &Frame) -> Option<Context> {
    let own = frame.current_id();
    Context::map_current(|cx| (ContextId::of(cx) != own).then(|| cx.clone()))
}

/// Whether `cx` carries nothing to propagate (no span, no baggage).
pub(crate) fn is_empty_context(cx: &Context) -> bool {
    !cx.has_active_span() && cx.baggage().is_empty() && !cx.is_telemetry_suppressed()
}

/// The frames of this thread.
struct Frames {
    stack: Vec<Frame>,
    /// Set when the only frame is *parked*: the frame of a task whose poll changed nothing,
    /// left in place with its context still attached (this is that context's identity),
    /// so that the next poll on this thread, if its task is in the same context, reuses it
    /// as it is (no push, no attach). The attached clone keeps the context's span and baggage
    /// alive, so their addresses cannot be reused meanwhile. A parked frame counts as no
    /// frame for everything else: it is removed (detached) before any other frame is pushed,
    /// and by the scheduler's `on_idle` hook.
    parked: Option<ContextId>,
    /// `TaskTrace`s of ended tasks whose drop is deferred (see [`defer_drop`]), as the tasks
    /// held them (their hook data).
    deferred: Vec<TaskContextValue>,
    /// An empty vector kept for the next batch of `deferred`.
    spare: Vec<TaskContextValue>,
}

/// How many ended tasks' `TaskTrace`s a thread keeps before dropping them together.
const DEFER_BATCH: usize = 32;

impl Frames {
    /// The running frame: the top of the stack, unless it is parked (a parked frame counts as
    /// no frame).
    fn running(&mut self) -> Option<&mut Frame> {
        if self.parked.is_some() {
            return None;
        }
        self.stack.last_mut()
    }

    /// [`running`](Self::running), read-only.
    fn running_ref(&self) -> Option<&Frame> {
        if self.parked.is_some() {
            return None;
        }
        self.stack.last()
    }

    /// Removes the parked frame, if any, detached (drop it after the borrow: its cached child
    /// value may hold the last reference to a context).
    fn unpark(&mut self) -> Option<Frame> {
        self.parked.take()?;
        self.stack.pop().map(Frame::detach)
    }
}

impl Drop for Frames {
    /// Thread exit. OpenTelemetry's context stack may already be gone (thread-locals are torn
    /// down in no set order), and detaching from it then would panic, which aborts the
    /// process in a thread-local destructor: the guards are forgotten instead. The contexts
    /// they attached stay on that stack and are dropped with it.
    fn drop(&mut self) {
        for frame in &mut self.stack {
            if let Some(own) = &mut frame.own {
                std::mem::forget(std::mem::take(&mut own.guards));
            }
            if let Some(guard) = frame.guard.take() {
                std::mem::forget(guard);
            }
        }
    }
}

thread_local! {
    static FRAMES: RefCell<Frames> = const {
        RefCell::new(Frames {
            stack: Vec::new(),
            parked: None,
            deferred: Vec::new(),
            spare: Vec::new(),
        })
    };
}

/// Makes the parked frame `task`'s when the frame itself keeps the task's hook data value
/// (from `before_poll`, before the hook data is taken out): `true` when done.
///
/// The parked frame keeps up to two values of its context (`original`, `alt`), each a
/// reference of its own: the values of the tasks last polled in that context, typically the
/// one a spawner gave its children and the spawner's own. A task holding one of them (same
/// allocation, [`TaskInfo::hook_data_ptr`]) is polled with nothing moved, downcast or counted;
/// its hook data stays where it is. The values are alive while the frame keeps them, so an
/// address cannot have been reused by another value.
#[inline]
pub(crate) fn reuse_retained(task: &TaskInfo<'_>) -> bool {
    FRAMES
        .try_with(|f| {
            let Ok(mut frames) = f.try_borrow_mut() else {
                return false;
            };
            let Frames { stack, parked, .. } = &mut *frames;
            if parked.is_none() {
                return false;
            }
            let Some(top) = stack.last_mut() else {
                return false;
            };
            // The task's value is read once and compared with both kept values.
            let data = task.hook_data_ptr();
            let is = |kept: &Option<Arc<TaskTrace>>| {
                kept.as_ref()
                    .is_some_and(|k| std::ptr::eq(Arc::as_ptr(k).cast::<()>(), data))
            };
            let hit = if is(&top.original) {
                true
            } else if is(&top.alt) {
                std::mem::swap(&mut top.original, &mut top.alt);
                true
            } else {
                false
            };
            let Some(original) = top.original.as_ref().filter(|_| hit) else {
                return false;
            };
            debug_assert!(top.retained && Some(original.current_id) == *parked);
            top.task = task.id().as_u64();
            top.passes = original.passes;
            *parked = None;
            true
        })
        .unwrap_or(false)
}

/// Pushes a task frame (from `before_poll`, when [`reuse_retained`] did not apply: `trace`
/// is the task's hook data, taken out) and attaches the task's context, or reuses the parked
/// frame when the task is in the same context: then the frame keeps a reference of its own
/// (the first of `original` and `alt`, the older one is dropped) and the task gets its value
/// back, so that its next polls in this context are [`reuse_retained`]'s.
#[inline]
pub(crate) fn push_task_frame(
    task: &TaskInfo<'_>,
    tracing: &Arc<TracingState>,
    trace: Option<Arc<TaskTrace>>,
) {
    let mut stale = None;
    match FRAMES.try_with(|f| reuse_parked(f, task.id(), trace, &mut stale)) {
        // Reused: the task keeps its value.
        Ok(Ok(trace)) => task.set_hook_data(Some(trace)),
        Ok(Err(trace)) => push_task_frame_slow(task.id(), tracing, trace),
        Err(_) => {}
    }
    // Dropped outside the borrow (a context's destructor may run user code).
    drop(stale);
}

/// Makes the parked frame `task`'s when `trace` is in its context, keeping a reference of its
/// own (`Ok`: the task's value, to give back; the value the frame stops keeping goes to
/// `stale`); gives `trace` back otherwise (`Err`), with nothing changed.
#[inline]
fn reuse_parked(
    f: &RefCell<Frames>,
    task: TaskId,
    trace: Option<Arc<TaskTrace>>,
    stale: &mut Option<Arc<TaskTrace>>,
) -> Result<Arc<TaskTrace>, Option<Arc<TaskTrace>>> {
    let Some(t) = trace else {
        return Err(None);
    };
    let Ok(mut frames) = f.try_borrow_mut() else {
        return Err(Some(t));
    };
    let Frames { stack, parked, .. } = &mut *frames;
    match (*parked, stack.last_mut()) {
        (Some(id), Some(top)) if t.current_id == id => {
            // Same context: the parked frame becomes this task's, still attached. The values
            // it keeps are in that context too (a parked frame only keeps such values).
            debug_assert!(top.original.is_none() || top.retained);
            *stale = std::mem::replace(&mut top.alt, top.original.take());
            top.original = Some(t.clone());
            top.retained = true;
            top.task = task.as_u64();
            top.passes = t.passes;
            *parked = None;
            Ok(t)
        }
        _ => Err(Some(t)),
    }
}

/// [`push_task_frame`] when the parked frame cannot be reused.
#[cold]
#[inline(never)]
fn push_task_frame_slow(task: TaskId, tracing: &Arc<TracingState>, trace: Option<Arc<TaskTrace>>) {
    let mut stale = None;
    let _ = FRAMES.try_with(|f| {
        let Ok(mut frames) = f.try_borrow_mut() else {
            return;
        };
        // Detached before anything else is attached, so the stack stays ordered.
        stale = frames.unpark();
        let isolate = !frames.stack.is_empty();
        frames
            .stack
            .push(Frame::for_task(task, tracing, trace, isolate));
    });
    drop(stale);
}

/// Removes the parked frame, detaching its context, and drops the deferred `TaskTrace`s
/// (the scheduler's `on_idle` hook: the thread stops polling tasks for now).
pub(crate) fn release_parked() {
    let (parked, deferred) = FRAMES
        .try_with(|f| {
            let Ok(mut frames) = f.try_borrow_mut() else {
                return (None, Vec::new());
            };
            (frames.unpark(), std::mem::take(&mut frames.deferred))
        })
        .unwrap_or_default();
    drop(parked);
    drop(deferred);
}

/// Drops the `TaskTrace` of an ended task (from `on_terminate`), later when it is unsampled.
///
/// Every task spawned under one context in one poll shares one `TaskTrace`: the spawner
/// increments its reference count on every spawn, and a task ending on another worker
/// decrements it, so without this the count's cache line would move between the workers
/// once per task. An unsampled value (its context's span records nothing, so dropping it
/// late changes nothing that is exported) is kept in a per-thread batch instead, dropped
/// [`DEFER_BATCH`] at a time and by the scheduler's `on_idle` hook: the line moves once per
/// batch. Any other value is dropped now.
#[inline]
pub(crate) fn defer_drop(trace: Arc<TaskTrace>) {
    if !trace.drops_children {
        return;
    }
    // The common case, kept small: room in the batch.
    let full = FRAMES.try_with(|f| match f.try_borrow_mut() {
        Ok(mut frames) if frames.deferred.len() < DEFER_BATCH => {
            frames.deferred.push(trace);
            None
        }
        // The batch is full.
        Ok(_) => Some(trace),
        // Re-entered: dropped now.
        Err(_) => None,
    });
    if let Ok(Some(trace)) = full {
        defer_drop_full(trace);
    }
}

/// [`defer_drop`] with a full batch: drops the batch (outside the borrow: a context's
/// destructor may run user code) and starts the next one with `trace`.
#[cold]
#[inline(never)]
fn defer_drop_full(trace: Arc<TaskTrace>) {
    let mut trace = Some(trace);
    let mut batch = None;
    let _ = FRAMES.try_with(|f| {
        let Ok(mut frames) = f.try_borrow_mut() else {
            return;
        };
        if frames.deferred.len() >= DEFER_BATCH {
            let next = std::mem::take(&mut frames.spare);
            batch = Some(std::mem::replace(&mut frames.deferred, next));
        }
        if let Some(trace) = trace.take() {
            frames.deferred.push(trace);
        }
    });
    drop(trace);
    if let Some(mut batch) = batch {
        batch.clear();
        // The emptied vector is the next batch's (no allocation per batch).
        let _ = FRAMES.try_with(|f| {
            if let Ok(mut frames) = f.try_borrow_mut()
                && frames.spare.capacity() == 0
            {
                frames.spare = batch;
            }
        });
    }
}

/// What [`end_task_poll`] found.
pub(crate) enum PollEnd {
    /// No frame of this task on top (e.g. pushed on a re-entrant call).
    NoFrame,
    /// Nothing to give back: the poll changed no trace state and the task still holds its
    /// `TaskTrace` (the frame kept a reference of its own, see [`reuse_retained`]), or the
    /// poll ended the task and its unsampled `TaskTrace` went to this thread's batch of
    /// deferred drops (see [`defer_drop`]), the task's hook data left empty and its
    /// `on_terminate` skipped ([`TaskInfo::skip_terminate`]): it would have nothing to do.
    Kept,
    /// The poll changed no trace state: the task's `TaskTrace` again (its context left
    /// attached for the next poll when possible, detached otherwise).
    Unchanged(Arc<TaskTrace>),
    /// The poll changed the state: the hook data its frame leaves behind (see
    /// [`Frame::into_slot`]), built after the frame was popped and detached.
    Changed(Option<Arc<TaskTrace>>),
}

/// Ends the poll of `task` (from `after_poll`), in one thread-local access: when the poll
/// changed nothing and its frame is the only one, the frame is *parked* (left in place, its
/// context attached) for the next poll on this thread (see [`push_task_frame`]); otherwise it
/// is popped. When the poll ended the task ([`TaskInfo::is_finishing`]) and its `TaskTrace`
/// is unsampled, that value goes to the deferred drops in the same access (see
/// [`PollEnd::Kept`]).
#[inline]
pub(crate) fn end_task_poll(task: &TaskInfo<'_>) -> PollEnd {
    // The common case, kept small: the frame is parked.
    match FRAMES.try_with(|f| park(f, task)) {
        Ok(Some(end)) => end,
        Ok(None) => end_task_poll_slow(task.id()),
        Err(_) => PollEnd::NoFrame,
    }
}

/// Parks the frame of `task` when it is the only one and unchanged: nothing to give back
/// ([`PollEnd::Kept`]) or the task's `TaskTrace` back (see [`end_task_poll`]). `None`
/// (nothing changed) otherwise.
#[inline]
fn park(f: &RefCell<Frames>, task: &TaskInfo<'_>) -> Option<PollEnd> {
    let mut frames = f.try_borrow_mut().ok()?;
    let Frames {
        stack,
        parked,
        deferred,
        ..
    } = &mut *frames;
    // (A parked frame's `task` is `PARKED`, never a task's id.)
    let top = match stack.as_mut_slice() {
        [top] if top.task == task.id().as_u64() && top.is_unchanged() => top,
        _ => return None,
    };
    // A task frame with a value always has its context attached.
    debug_assert!(top.guard.is_some() && parked.is_none());
    let original = top.original.as_ref()?;
    top.task = PARKED;
    *parked = Some(original.current_id);
    // Unsampled and without a task span, so `on_terminate` would only defer its drop. (An
    // unsampled value can hold a task span: a root `task` span that the sampler dropped,
    // under `task_spans(true)` and a ratio below 1; `on_terminate` ends it.)
    let release = task.is_finishing()
        && deferred.len() < DEFER_BATCH
        && original.drops_children
        && original.state.task_span.is_none();
    if top.retained {
        // The frame keeps its reference; the task's own is in its hook data.
        if release && let Some(own) = task.take_hook_data() {
            deferred.push(own);
            task.skip_terminate();
        }
        return Some(PollEnd::Kept);
    }
    let original = top.original.take()?;
    if release {
        deferred.push(original);
        task.skip_terminate();
        return Some(PollEnd::Kept);
    }
    Some(PollEnd::Unchanged(original))
}

/// [`end_task_poll`] when the frame is not parked: pops it.
#[cold]
#[inline(never)]
fn end_task_poll_slow(task: TaskId) -> PollEnd {
    let mut popped = None;
    let mut changed = false;
    let end = FRAMES
        .try_with(|f| {
            let Ok(mut frames) = f.try_borrow_mut() else {
                return PollEnd::NoFrame;
            };
            let top = match frames.stack.last_mut() {
                Some(top) if top.task == task.as_u64() => top,
                _ => return PollEnd::NoFrame,
            };
            if !top.is_unchanged() {
                // Its hook data is built after the borrow (below).
                changed = true;
                popped = frames.stack.pop();
                return PollEnd::NoFrame;
            }
            let end = if top.retained {
                PollEnd::Kept
            } else {
                match top.original.take() {
                    Some(original) => PollEnd::Unchanged(original),
                    None => PollEnd::NoFrame,
                }
            };
            popped = frames.stack.pop();
            end
        })
        .unwrap_or(PollEnd::NoFrame);
    // After the borrow: a changed frame's context is detached and its hook data built; what
    // is left of an unchanged one (its own references, its cached child value) is dropped.
    match popped.map(Frame::detach) {
        Some(frame) if changed => PollEnd::Changed(frame.into_slot()),
        _ => end,
    }
}

/// What a fast path found (see [`try_pass`], [`try_end_pass`]).
pub(crate) enum Fast<T> {
    /// Done on the top frame.
    Done(T),
    /// There is no frame on this thread (or it is in use): nothing to do unless a frame is
    /// to be created (the general path decides).
    NoFrame,
    /// There is a frame, but the general path must decide.
    General,
}

/// Runs `f` on the running task's frame: the top of this thread's stack, unless a frame is
/// parked (then, as with no frame or a thread-local being torn down, `NoFrame`).
fn with_top_frame<R>(f: impl FnOnce(&mut Frame) -> Fast<R>) -> Fast<R> {
    FRAMES
        .try_with(|frames| {
            let Ok(mut frames) = frames.try_borrow_mut() else {
                return Fast::NoFrame;
            };
            match frames.running() {
                Some(top) => f(top),
                None => Fast::NoFrame,
            }
        })
        .unwrap_or(Fast::NoFrame)
}

/// A pass-through `start_span` on the running task's unchanged state, when its parent is not
/// sampled (the common case of an unsampled trace): the parent's span context.
pub(crate) fn try_pass() -> Fast<SpanContext> {
    with_top_frame(|top| match &top.original {
        Some(o) if top.own.is_none() && o.drops_children => {
            let sc = o.span_context.clone();
            top.passes += 1;
            Fast::Done(sc)
        }
        _ => Fast::General,
    })
}

/// Closes a pass-through span of the running frame, if its innermost open span is one.
pub(crate) fn try_end_pass() -> Fast<()> {
    with_top_frame(|top| {
        if top.passes > 0 {
            top.passes -= 1;
            Fast::Done(())
        } else {
            Fast::General
        }
    })
}

/// Pops the frame of `task` (after a panic, from `on_terminate`), its context still
/// attached.
pub(crate) fn pop_task_frame(task: TaskId) -> Option<Frame> {
    FRAMES
        .try_with(|f| {
            let mut frames = f.try_borrow_mut().ok()?;
            match frames.stack.last() {
                Some(top) if top.task == task.as_u64() => frames.stack.pop(),
                _ => None,
            }
        })
        .ok()
        .flatten()
}

/// The hook data for a task spawned now with `tracing`: `None` when the current context
/// carries nothing. The current context is OpenTelemetry's (the running frame's, or one
/// attached on top of it with OpenTelemetry's own API); tasks spawned under the same context
/// from one frame share one value.
///
/// The common case (the running frame has a value that fits, so the spawn costs a reference
/// count) is kept small: one look-up of each thread-local, a shared borrow of the frames.
#[inline]
pub(crate) fn spawn_trace(tracing: &Arc<TracingState>) -> Option<Arc<TaskTrace>> {
    let shared = Context::map_current(|cx| {
        let id = ContextId::of(cx);
        FRAMES
            .try_with(|cell| {
                let frames = cell.try_borrow().ok()?;
                frames.running_ref()?.shared_child(id, tracing)
            })
            .ok()
            .flatten()
    });
    match shared {
        Some(child) => Some(child),
        None => spawn_trace_slow(tracing),
    }
}

/// [`spawn_trace`] when the running frame has no value that fits (the current context is
/// read again: nothing ran on this thread in between).
#[cold]
#[inline(never)]
fn spawn_trace_slow(tracing: &Arc<TracingState>) -> Option<Arc<TaskTrace>> {
    let mut replaced = None;
    let out = Context::map_current(|cx| spawn_trace_new(tracing, cx, &mut replaced));
    // Dropped outside OpenTelemetry's borrow (a context's destructor may look at it).
    drop(replaced);
    out
}

/// [`spawn_trace_slow`]'s work: a new value for a child spawned in `cx`, cached in the
/// frame for the next spawns under the same context (the value it replaces goes to
/// `replaced`, to be dropped by the caller).
#[inline]
fn spawn_trace_new(
    tracing: &Arc<TracingState>,
    cx: &Context,
    replaced: &mut Option<Arc<TaskTrace>>,
) -> Option<Arc<TaskTrace>> {
    // An empty context has nothing to share: answered here, not by a second build.
    let child = new_child_trace(tracing, cx)?;
    let _ = FRAMES.try_with(|cell| {
        // No frame on this thread (or re-entered): nothing to share.
        if let Ok(mut frames) = cell.try_borrow_mut()
            && let Some(top) = frames.running()
        {
            *replaced = top.child.replace(child.clone());
        }
    });
    Some(child)
}

/// A new `TaskTrace` for a child spawned in `cx`; `None` when `cx` carries nothing.
#[cold]
#[inline(never)]
fn new_child_trace(tracing: &Arc<TracingState>, cx: &Context) -> Option<Arc<TaskTrace>> {
    (!is_empty_context(cx)).then(|| {
        Arc::new(TaskTrace::new(
            tracing.clone(),
            TraceState::new(cx.clone(), None),
        ))
    })
}

/// Runs `f` on the innermost frame, creating a thread frame (owned by `default_tracing`) if
/// there is none and a default exists. Returns `None` when there is no frame, when re-entered
/// (e.g. from an exporter) or during thread exit.
pub(crate) fn with_frame<R>(
    default_tracing: impl FnOnce() -> Option<Arc<TracingState>>,
    f: impl FnOnce(&mut Frame) -> R,
) -> Option<R> {
    let mut parked = None;
    let out = FRAMES
        .try_with(|cell| {
            let mut frames = cell.try_borrow_mut().ok()?;
            // Code outside a task on a thread that polls tasks: not in the parked context.
            parked = frames.unpark();
            if frames.stack.is_empty() {
                frames
                    .stack
                    .push(Frame::for_thread(Some(default_tracing()?)));
            }
            let top = frames.stack.last_mut()?;
            Some(f(top))
        })
        .ok()
        .flatten();
    drop(parked);
    out
}

/// Reads the innermost frame, if any (no frame is created).
pub(crate) fn peek_frame<R>(f: impl FnOnce(&Frame) -> R) -> Option<R> {
    FRAMES
        .try_with(|cell| {
            let frames = cell.try_borrow().ok()?;
            frames.running_ref().map(f)
        })
        .ok()
        .flatten()
}

/// Drops the thread frame once it holds nothing (called after `end_span`).
pub(crate) fn trim_thread_frame() {
    let frame = FRAMES
        .try_with(|cell| {
            let mut frames = cell.try_borrow_mut().ok()?;
            match frames.stack.last() {
                Some(top) if top.task == 0 && !top.pinned && top.is_empty() => frames.stack.pop(),
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
                .try_with(|cell| cell.try_borrow_mut().ok()?.stack.pop())
                .ok()
                .flatten();
            drop(frame.map(Frame::detach));
        }
    }
    let mut parked = None;
    let pushed = FRAMES
        .try_with(|cell| match cell.try_borrow_mut() {
            Ok(mut frames) => {
                parked = frames.unpark();
                let mut frame = Frame::for_thread(tracing);
                frame.pinned = true;
                frames.stack.push(frame);
                true
            }
            Err(_) => false,
        })
        .unwrap_or(false);
    drop(parked);
    let _pop = pushed.then_some(Pop);
    f()
}
