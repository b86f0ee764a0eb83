//! Trace context across actor messages, and the opt-in actor and supervisor spans.
//!
//! Built on the hooks of the layers below: `nimsync_actors::set_message_hooks` and
//! `nimsync_supervision::set_restart_hook`, installed once per process by the first
//! [`TelemetryBuilder::build`](crate::TelemetryBuilder::build) with tracing (if no other
//! hooks were installed first; asking for actor or restart spans is then
//! [`BuildError::HooksTaken`](crate::BuildError::HooksTaken)). They act only where a tracer is
//! in charge (a task of an [instrumented](crate::Telemetry::instrument) runtime, or a thread
//! frame), so actors on other runtimes pay a thread-local look-up and nothing else; once every
//! tracer is dropped, they return after one atomic load.
//!
//! * **Propagation (always on with tracing):** `tell` / `ask` / `tell_priority` capture the
//!   sender's current context (nothing when it carries no span and no baggage); while the
//!   handler of that message runs, that context is current in the actor's task, so spans it
//!   starts are children of the sender's span and baggage comes along.
//!   A message sent with no context is handled in none, whatever the actor's task carries
//!   (e.g. the span it was spawned in).
//! * **One scope per message:** what a handler leaves open when it ends (a spanned sub-future
//!   dropped by a timeout or a `select`, a panic, a kill while it waits) is closed with it:
//!   such spans are ended with the attribute `nimsync.span.abandoned = true` and an error
//!   status, and the next message starts clean. [`end_span`](crate::end_span) in a handler
//!   ends only what the handler opened (it returns `false` rather than end the sender's
//!   span).
//! * **`actor.handle` spans** ([`Tracing::actor_spans`](crate::Tracing::actor_spans), off by
//!   default): one span per handled message, a child of the sender's context (a root when the
//!   sender had none), with the actor's type and id, the message type and the outcome
//!   (`nimsync.handle.outcome`: completed, panicked, killed; on this span only).
//! * **`supervisor.restart` spans** ([`Tracing::restart_spans`](crate::Tracing::restart_spans),
//!   off by default): one span per restart decision, in the supervisor's current context,
//!   with the child's name and id, the exit reason, the attempt, the children restarted and
//!   the backoff delay.
//!
//! ```
//! use nimsync_actors::{Actor, Context, Reply, spawn_actor};
//! use nimsync_telemetry::{Telemetry, Tracing, current_span_context, end_span, start_span};
//! use opentelemetry::trace::SpanContext;
//!
//! struct Probe;
//! impl Actor for Probe {
//!     type Msg = Reply<SpanContext>;
//!     async fn handle(&mut self, r: Reply<SpanContext>, _: &mut Context<Self>) {
//!         r.send(current_span_context());
//!     }
//! }
//!
//! let telemetry = Telemetry::builder().tracing(Tracing::ratio(1.0)).build().unwrap();
//! let rt = telemetry.instrument(nimsync_scheduler::Runtime::builder().workers(1)).build().unwrap();
//! rt.block_on(async {
//!     nimsync_scheduler::spawn(async {
//!         let probe = spawn_actor(Probe);
//!         let sent = start_span("request");
//!         // Inside `handle`, the sender's span is current.
//!         assert_eq!(probe.ask(|r| r).await.unwrap(), sent);
//!         end_span();
//!     })
//!     .await
//!     .unwrap();
//! });
//! ```

use std::sync::OnceLock;

use nimsync_actors::{HandleOutcome, MessageContext, MessageHooks, MessageInfo};
use nimsync_supervision::{RestartHook, RestartInfo};
use opentelemetry::trace::{Span as _, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};

use crate::trace::frames::{is_empty_context, trim_thread_frame, with_frame};

/// The attribute (`true`) on a span that an actor handler left open when it ended (ended
/// then, with an error status).
pub(crate) const ABANDONED: &str = "nimsync.span.abandoned";

/// The sender's context, carried in the message's envelope.
struct Sent(Context);

/// What `on_handle_start` opened in the actor task's frame, closed by `on_handle_end`.
struct Scope {
    kind: ScopeKind,
    /// The frame's depth when the message started: where its scope entry is (everything the
    /// handler leaves open above it is ended as abandoned at the end).
    depth: u32,
}

enum ScopeKind {
    /// An `actor.handle` span (ended at the end).
    Span,
    /// A pass-through for a span the sampler would drop (nothing to end).
    Pass,
    /// The sender's context made current without a span (not ended: it is the sender's), or
    /// an empty context for an untraced message.
    Context,
    /// An untraced message in a frame that carries nothing: no entry pushed, the handler runs
    /// in the (empty) context as it is.
    Bare,
}
/// The hooks (stateless: the running frame says which tracer and which span kinds apply).
struct ActorTracing;

static ACTOR_TRACING: ActorTracing = ActorTracing;

/// Which of our hooks are in place (decided by the first tracing build of the process).
#[derive(Clone, Copy)]
struct Installed {
    messages: bool,
    restarts: bool,
}

/// Installs the actor message hooks and the supervisor restart hook (once per process). If
/// another set was installed first, that one stays: messages then carry no trace context,
/// and asking for the spans that need the missing hook is
/// [`BuildError::HooksTaken`](crate::BuildError::HooksTaken).
pub(crate) fn install(actor_spans: bool, restart_spans: bool) -> Result<(), crate::BuildError> {
    static INSTALLED: OnceLock<Installed> = OnceLock::new();
    let installed = INSTALLED.get_or_init(|| Installed {
        messages: nimsync_actors::set_message_hooks(&ACTOR_TRACING).is_ok(),
        restarts: nimsync_supervision::set_restart_hook(&ACTOR_TRACING).is_ok(),
    });
    if actor_spans && !installed.messages {
        return Err(crate::BuildError::HooksTaken("the actor message hooks"));
    }
    if restart_spans && !installed.restarts {
        return Err(crate::BuildError::HooksTaken(
            "the supervision restart hook",
        ));
    }
    Ok(())
}

/// Whether some tracer is alive: the hooks stay installed for the rest of the process (they
/// are set once), and with no tracer left they return at once.
fn tracing_alive() -> bool {
    crate::telemetry::live_tracers() > 0
}

fn outcome_name(outcome: HandleOutcome) -> &'static str {
    match outcome {
        HandleOutcome::Completed => "completed",
        HandleOutcome::Panicked => "panicked",
        HandleOutcome::Killed => "killed",
    }
}

impl MessageHooks for ActorTracing {
    fn on_send(&self, _: &MessageInfo) -> Option<MessageContext> {
        if !tracing_alive() {
            return None;
        }
        let cx = crate::current_context();
        if is_empty_context(&cx) {
            return None;
        }
        Some(MessageContext::new(Sent(cx)))
    }

    fn on_handle_start(
        &self,
        info: &MessageInfo,
        sent: Option<MessageContext>,
    ) -> Option<MessageContext> {
        if !tracing_alive() {
            return None;
        }
        let sent = sent.and_then(|s| s.downcast::<Sent>().ok()).map(|s| s.0);
        // Never creates a frame: without a tracer in charge of this task, nothing to do.
        let scope = with_frame(
            || None,
            |frame| {
                let tracing = frame.tracing()?.clone();
                if !tracing.actor_spans {
                    let depth = frame.depth();
                    let Some(cx) = sent else {
                        if frame.carries_nothing() {
                            return Some(Scope {
                                kind: ScopeKind::Bare,
                                depth,
                            });
                        }
                        // An untraced message is handled in no context, not in the one the
                        // actor's task happens to carry (e.g. the span it was spawned in).
                        frame.push_scope(Context::new());
                        return Some(Scope {
                            kind: ScopeKind::Context,
                            depth,
                        });
                    };
                    frame.push_scope(cx);
                    return Some(Scope {
                        kind: ScopeKind::Context,
                        depth,
                    });
                }
                // The message's parent is its sender (a root span when it had no context).
                let parent = sent.unwrap_or_default();
                if tracing.drops_child_of(&parent) {
                    // Keep the sender's (unsampled) trace id current, create nothing.
                    let depth = frame.push_scope(parent);
                    return Some(Scope {
                        kind: ScopeKind::Pass,
                        depth,
                    });
                }
                let mut span = tracing.tracer.start_with_context("actor.handle", &parent);
                span.set_attributes([
                    KeyValue::new("nimsync.actor.type", info.actor_type),
                    KeyValue::new("nimsync.actor.id", info.actor.as_u64() as i64),
                    KeyValue::new("nimsync.message.type", info.message_type),
                    KeyValue::new("nimsync.message.priority", info.priority),
                ]);
                let depth = frame.push_scope(parent.with_span(span));
                Some(Scope {
                    kind: ScopeKind::Span,
                    depth,
                })
            },
        )
        .flatten()?;
        Some(MessageContext::new(scope))
    }

    fn on_handle_end(
        &self,
        _: &MessageInfo,
        scope: Option<MessageContext>,
        outcome: HandleOutcome,
    ) {
        let Some(scope) = scope.and_then(|s| s.downcast::<Scope>().ok()) else {
            return;
        };
        // Unwind to the message's depth: the handler may have left spans open (a spanned
        // sub-future dropped by a timeout or a `select`, a panic, a kill).
        let pushed = !matches!(scope.kind, ScopeKind::Bare);
        let Some((cx, abandoned)) =
            with_frame(|| None, |frame| frame.end_scope(scope.depth, pushed)).flatten()
        else {
            return;
        };
        // Ended after the frames' borrow (an exporter may run on `end`).
        for cx in abandoned {
            let span = cx.span();
            span.set_attribute(KeyValue::new(ABANDONED, true));
            span.set_status(Status::error(
                "abandoned: left open when its actor handler ended",
            ));
            span.end();
        }
        if let (ScopeKind::Span, Some(cx)) = (&scope.kind, &cx) {
            let span = cx.span();
            span.set_attribute(KeyValue::new(
                "nimsync.handle.outcome",
                outcome_name(outcome),
            ));
            if outcome != HandleOutcome::Completed {
                span.set_status(Status::error(outcome_name(outcome)));
            }
            span.end();
        }
        // `Context` / `Pass`: the sender's context, not ours to end.
        drop(cx);
        trim_thread_frame();
    }
}

impl RestartHook for ActorTracing {
    fn on_restart(&self, info: &RestartInfo<'_>) {
        if !tracing_alive() {
            return;
        }
        with_frame(
            || None,
            |frame| {
                let tracing = frame.tracing()?.clone();
                if !tracing.restart_spans {
                    return None;
                }
                let parent = frame.state().current.clone();
                if tracing.drops_child_of(&parent) {
                    return None;
                }
                let mut span = tracing
                    .tracer
                    .start_with_context("supervisor.restart", &parent);
                let mut attrs = vec![
                    KeyValue::new("nimsync.supervisor.id", info.supervisor.as_u64() as i64),
                    KeyValue::new("nimsync.child.name", info.child.to_string()),
                    KeyValue::new("nimsync.exit.reason", info.reason.to_string()),
                    KeyValue::new("nimsync.restart.attempt", i64::from(info.attempt)),
                    KeyValue::new("nimsync.restart.children", info.restarted.join(",")),
                    KeyValue::new(
                        "nimsync.restart.delay_ms",
                        i64::try_from(info.delay.as_millis()).unwrap_or(i64::MAX),
                    ),
                ];
                if let Some(id) = info.child_id {
                    attrs.push(KeyValue::new("nimsync.child.id", id.as_u64() as i64));
                }
                span.set_attributes(attrs);
                span.end();
                Some(())
            },
        );
    }
}
