//! Trace context across actor messages: the span current at `tell` / `ask` is the parent of
//! the spans inside `handle` (with or without `actor.handle` spans); `supervisor.restart`
//! spans carry the child and the reason; nothing extra is recorded when the kinds are off.

use std::time::Duration;

use nimsync_actors::{Actor, Context, Reply, spawn_actor};
use nimsync_scheduler::{Runtime, spawn};
use nimsync_supervision::{ChildSpec, Intensity, Strategy, SupervisorRef, SupervisorSpec};
use nimsync_telemetry::{Telemetry, Tracing, current_span_context, end_span, start_span};
use opentelemetry::Value;
use opentelemetry::trace::{SpanContext, SpanId};
use opentelemetry_sdk::trace::SpanData;

/// A telemetry that samples every trace (actor spans off).
fn sampling_all() -> Telemetry {
    Telemetry::builder()
        .tracing(Tracing::ratio(1.0))
        .build()
        .unwrap()
}

fn runtime(t: &Telemetry) -> Runtime {
    t.instrument(Runtime::builder().workers(2)).build().unwrap()
}

fn span<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| {
        panic!(
            "no span {name} in {:?}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        )
    })
}

fn attr(s: &SpanData, key: &str) -> Option<Value> {
    s.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

/// Opens a span named after the message inside `handle`; answers asks with the span context
/// current when the handler started.
struct Worker;

enum Msg {
    Work(&'static str),
    Current(Reply<SpanContext>),
}

impl Actor for Worker {
    type Msg = Msg;
    async fn handle(&mut self, msg: Msg, _: &mut Context<Self>) {
        match msg {
            Msg::Work(name) => {
                start_span(name);
                // Across an await (the handler may be polled again on another worker).
                nimsync_scheduler::yield_now().await;
                end_span();
            }
            Msg::Current(r) => {
                r.send(current_span_context());
            }
        }
    }
}

#[test]
fn the_senders_span_is_the_parent_of_the_handle_span_and_of_spans_inside() {
    let t = Telemetry::builder()
        .tracing(Tracing::ratio(1.0).actor_spans(true))
        .build()
        .unwrap();
    runtime(&t).block_on(async {
        spawn(async {
            // Spawned outside any span: the actor task itself carries no context.
            let worker = spawn_actor(Worker);
            start_span("request");
            worker.tell(Msg::Work("told")).await.unwrap();
            let seen = worker.ask(Msg::Current).await.unwrap();
            assert!(seen.is_valid());
            end_span();
            worker.stop_and_wait().await;
        })
        .await
        .unwrap();
    });
    let spans = t.finished_spans();
    let request = span(&spans, "request");
    let handles: Vec<&SpanData> = spans.iter().filter(|s| s.name == "actor.handle").collect();
    assert_eq!(handles.len(), 2, "one per message");
    for h in &handles {
        assert_eq!(h.parent_span_id, request.span_context.span_id());
        assert_eq!(h.span_context.trace_id(), request.span_context.trace_id());
        assert!(
            matches!(attr(h, "nimsync.actor.type"), Some(Value::String(s)) if s.as_str().ends_with("Worker"))
        );
        assert_eq!(
            attr(h, "nimsync.handle.outcome"),
            Some(Value::from("completed"))
        );
    }
    let told = span(&spans, "told");
    assert!(
        handles
            .iter()
            .any(|h| h.span_context.span_id() == told.parent_span_id),
        "the span opened in handle is a child of its actor.handle span"
    );
}

#[test]
fn without_actor_spans_the_senders_context_is_current_in_handle_and_nothing_else_is_recorded() {
    let t = sampling_all();
    runtime(&t).block_on(async {
        spawn(async {
            let worker = spawn_actor(Worker);
            // No span at the sender: none inside either.
            let seen = worker.ask(Msg::Current).await.unwrap();
            assert!(!seen.is_valid());
            let sent = start_span("request");
            assert_eq!(worker.ask(Msg::Current).await.unwrap(), sent);
            worker.tell(Msg::Work("told")).await.unwrap();
            worker.ask(Msg::Current).await.unwrap();
            end_span();
            // After the sender's span ended, the next message carries nothing.
            assert!(!worker.ask(Msg::Current).await.unwrap().is_valid());
            worker.stop_and_wait().await;
        })
        .await
        .unwrap();
    });
    let spans = t.finished_spans();
    let mut names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    names.sort_unstable();
    assert_eq!(names, ["request", "told"]);
    assert_eq!(
        span(&spans, "told").parent_span_id,
        span(&spans, "request").span_context.span_id()
    );
    assert_eq!(span(&spans, "request").parent_span_id, SpanId::INVALID);
}

struct Fragile;

enum FragileMsg {
    Crash,
    Ping(Reply<()>),
}

impl Actor for Fragile {
    type Msg = FragileMsg;
    async fn handle(&mut self, msg: FragileMsg, _: &mut Context<Self>) {
        match msg {
            FragileMsg::Crash => panic!("planned crash"),
            FragileMsg::Ping(r) => {
                r.send(());
            }
        }
    }
}

/// Crashes a supervised child twice under a "request" span; returns the child's id.
fn crash_twice(t: &Telemetry) -> u64 {
    runtime(t).block_on(async {
        spawn(async {
            let sup = SupervisorSpec::new(Strategy::OneForOne)
                .intensity(Intensity {
                    max_restarts: 10,
                    period: Duration::from_secs(60),
                })
                .child(ChildSpec::new("fragile", || Fragile))
                .spawn()
                .unwrap();
            let child = sup.child::<Fragile>("fragile").await.unwrap().unwrap();
            start_span("request");
            for _ in 0..2 {
                child.tell(FragileMsg::Crash).await.unwrap();
                child.ask(FragileMsg::Ping).await.unwrap();
            }
            end_span();
            sup.stop_and_wait().await;
            child.id().as_u64()
        })
        .await
        .unwrap()
    })
}

#[test]
fn restart_spans_carry_the_child_and_the_reason_only_when_on() {
    let on = Telemetry::builder()
        .tracing(Tracing::ratio(1.0).restart_spans(true))
        .build()
        .unwrap();
    let id = crash_twice(&on);
    let spans = on.finished_spans();
    let restarts: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.name == "supervisor.restart")
        .collect();
    assert_eq!(restarts.len(), 2);
    for (attempt, r) in restarts.iter().enumerate() {
        assert_eq!(attr(r, "nimsync.child.name"), Some(Value::from("fragile")));
        assert_eq!(attr(r, "nimsync.child.id"), Some(Value::I64(id as i64)));
        assert_eq!(
            attr(r, "nimsync.exit.reason"),
            Some(Value::from("panicked: planned crash"))
        );
        assert_eq!(
            attr(r, "nimsync.restart.attempt"),
            Some(Value::I64(attempt as i64))
        );
    }

    let off = sampling_all();
    crash_twice(&off);
    let names: Vec<String> = off
        .finished_spans()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(names, ["request"]);
}

// Message scopes: what a handler leaves behind is closed with its message (regression tests
// of the 6th review: the scope used to be popped by position, so a span left open by the
// handler kept the sender's context current in the actor's task).

fn status_is_error(s: &SpanData) -> bool {
    matches!(s.status, opentelemetry::trace::Status::Error { .. })
}

/// Leaves spans open in `handle` in the ways a handler can.
struct Leaky;

enum LeakyMsg {
    /// Opens a span and panics inside it (e.g. a failing call).
    CrashInSpan,
    /// Polls a spanned sub-operation once and drops it (a timeout firing, a `select`).
    GiveUp,
    /// Opens a span and returns across an await without ending it.
    Forget,
    /// Ends "the innermost span" without having opened one: `end_span`'s answer.
    EndSpan(Reply<bool>),
    /// Sets a baggage entry and returns.
    Baggage,
    /// The span context and the baggage entry `tenant` current in `handle`.
    Current(Reply<(SpanContext, Option<String>)>),
}

impl Actor for Leaky {
    type Msg = LeakyMsg;
    async fn handle(&mut self, msg: LeakyMsg, _: &mut Context<Self>) {
        match msg {
            LeakyMsg::CrashInSpan => {
                start_span("db");
                panic!("boom inside a span");
            }
            LeakyMsg::GiveUp => {
                let mut op = Box::pin(async {
                    start_span("slow call");
                    std::future::pending::<()>().await;
                    end_span();
                });
                std::future::poll_fn(|cx| {
                    let _ = op.as_mut().poll(cx);
                    std::task::Poll::Ready(())
                })
                .await;
                drop(op);
            }
            LeakyMsg::Forget => {
                start_span("forgotten");
                // Ends in a later poll, with the span still open.
                nimsync_scheduler::yield_now().await;
            }
            LeakyMsg::EndSpan(r) => {
                r.send(end_span());
            }
            LeakyMsg::Baggage => {
                nimsync_telemetry::set_baggage("tenant", "acme");
            }
            LeakyMsg::Current(r) => {
                use opentelemetry::baggage::BaggageExt;
                let cx = nimsync_telemetry::current_context();
                let tenant = cx.baggage().get("tenant").map(|v| v.to_string());
                r.send((current_span_context(), tenant));
            }
        }
    }
}

fn supervised_leaky() -> nimsync_actors::ActorRef<nimsync_supervision::Supervisor> {
    SupervisorSpec::new(Strategy::OneForOne)
        .intensity(Intensity {
            max_restarts: 10,
            period: Duration::from_secs(60),
        })
        .child(ChildSpec::new("leaky", || Leaky))
        .spawn()
        .unwrap()
}

#[test]
fn a_span_left_open_by_a_panicking_handler_is_ended_and_the_senders_context_does_not_leak() {
    for actor_spans in [false, true] {
        let t = Telemetry::builder()
            .tracing(Tracing::ratio(1.0).actor_spans(actor_spans))
            .build()
            .unwrap();
        let (request, seen, spans_then) = runtime(&t).block_on(async {
            let t = t.clone();
            spawn(async move {
                let sup = supervised_leaky();
                let child = sup.child::<Leaky>("leaky").await.unwrap().unwrap();
                let first = child.ask(LeakyMsg::Current).await.unwrap().0;
                // A root `actor.handle` span with actor spans, nothing without.
                assert_eq!(first.is_valid(), actor_spans);
                let request = start_span("request");
                child.tell(LeakyMsg::CrashInSpan).await.unwrap();
                end_span();
                // Handled by the restarted child (same task, same mailbox), from an
                // untraced sender: nothing is current.
                let seen = child.ask(LeakyMsg::Current).await.unwrap().0;
                // The crashed message is over: its spans are ended.
                let spans_then = t.finished_spans();
                sup.stop_and_wait().await;
                (request, seen, spans_then)
            })
            .await
            .unwrap()
        });
        // Without actor spans nothing is current; with them, a root `actor.handle` span.
        assert!(
            seen.is_valid() == actor_spans && seen.trace_id() != request.trace_id(),
            "actor_spans({actor_spans}): an untraced message after the restart is handled in \
             {seen:?} (the crashed message's sender span was {request:?})"
        );
        let db = span(&spans_then, "db");
        assert_eq!(attr(db, "nimsync.span.abandoned"), Some(Value::Bool(true)));
        assert!(status_is_error(db));
        assert_eq!(attr(db, "nimsync.handle.outcome"), None);
        if actor_spans {
            let handle = spans_then
                .iter()
                .find(|s| s.name == "actor.handle" && s.span_context.span_id() == db.parent_span_id)
                .expect("the crashed message's actor.handle span is ended");
            assert_eq!(
                attr(handle, "nimsync.handle.outcome"),
                Some(Value::from("panicked"))
            );
            assert_eq!(handle.parent_span_id, request.span_id());
        } else {
            assert_eq!(db.parent_span_id, request.span_id());
        }
    }
}

#[test]
fn spans_of_an_abandoned_sub_operation_are_ended_with_the_message() {
    let t = sampling_all();
    let (request, seen) = runtime(&t).block_on(async {
        spawn(async {
            let actor = spawn_actor(Leaky);
            let request = start_span("request");
            actor.tell(LeakyMsg::GiveUp).await.unwrap();
            actor.tell(LeakyMsg::Forget).await.unwrap();
            end_span();
            let seen = actor.ask(LeakyMsg::Current).await.unwrap().0;
            actor.stop_and_wait().await;
            (request, seen)
        })
        .await
        .unwrap()
    });
    assert!(
        !seen.is_valid(),
        "an untraced message is handled in {seen:?} (an earlier sender's span {request:?})"
    );
    let spans = t.finished_spans();
    for name in ["slow call", "forgotten"] {
        let s = span(&spans, name);
        assert_eq!(s.parent_span_id, request.span_id(), "{name}");
        assert_eq!(
            attr(s, "nimsync.span.abandoned"),
            Some(Value::Bool(true)),
            "{name}"
        );
        assert!(status_is_error(s), "{name}");
    }
    // Ended by its sender, not by a handler.
    assert_eq!(
        attr(span(&spans, "request"), "nimsync.span.abandoned"),
        None
    );
}

#[test]
fn end_span_in_a_handler_does_not_end_the_senders_span() {
    for actor_spans in [false, true] {
        let t = Telemetry::builder()
            .tracing(Tracing::ratio(1.0).actor_spans(actor_spans))
            .build()
            .unwrap();
        let t2 = t.clone();
        let (ended, early, seen, request) = runtime(&t).block_on(async move {
            spawn(async move {
                let actor = spawn_actor(Leaky);
                let request = start_span("request");
                let ended = actor.ask(LeakyMsg::EndSpan).await.unwrap();
                let early = t2.finished_spans().iter().any(|s| s.name == "request");
                let seen = actor.ask(LeakyMsg::Current).await.unwrap().0;
                end_span();
                actor.stop_and_wait().await;
                (ended, early, seen, request)
            })
            .await
            .unwrap()
        });
        assert!(
            !ended,
            "actor_spans({actor_spans}): end_span() ended something"
        );
        assert!(
            !early,
            "actor_spans({actor_spans}): the sender's span ended early"
        );
        assert_eq!(seen.trace_id(), request.trace_id());
        let spans = t.finished_spans();
        if actor_spans {
            let handles: Vec<&SpanData> =
                spans.iter().filter(|s| s.name == "actor.handle").collect();
            assert_eq!(handles.len(), 2);
            for h in handles {
                assert_eq!(h.parent_span_id, request.span_id());
                assert_eq!(
                    attr(h, "nimsync.handle.outcome"),
                    Some(Value::from("completed"))
                );
            }
        } else {
            assert_eq!(seen, request);
        }
    }
}

#[test]
fn an_untraced_message_is_not_handled_in_the_context_the_actor_was_spawned_in() {
    let t = sampling_all();
    let (boot, seen, request, traced) = runtime(&t).block_on(async {
        spawn(async {
            let boot = start_span("boot");
            let actor = spawn_actor(Leaky);
            end_span();
            // The sender has no span: nothing is carried with the message.
            let seen = actor.ask(LeakyMsg::Current).await.unwrap().0;
            let request = start_span("request");
            let traced = actor.ask(LeakyMsg::Current).await.unwrap().0;
            end_span();
            actor.stop_and_wait().await;
            (boot, seen, request, traced)
        })
        .await
        .unwrap()
    });
    assert!(
        !seen.is_valid(),
        "an untraced message is handled inside the `boot` span that spawned the actor \
         (seen {seen:?}, boot {boot:?})"
    );
    assert_eq!(traced, request);
}

#[test]
fn baggage_set_by_a_handler_stays_with_its_message() {
    let t = sampling_all();
    runtime(&t).block_on(async {
        spawn(async {
            // An actor spawned with nothing to carry, and one spawned inside a span.
            let plain = spawn_actor(Leaky);
            start_span("boot");
            let booted = spawn_actor(Leaky);
            end_span();
            for actor in [&plain, &booted] {
                actor.tell(LeakyMsg::Baggage).await.unwrap();
                let (_, tenant) = actor.ask(LeakyMsg::Current).await.unwrap();
                assert_eq!(tenant, None, "the baggage of an earlier message leaked");
                start_span("request");
                actor.tell(LeakyMsg::Baggage).await.unwrap();
                end_span();
                let (_, tenant) = actor.ask(LeakyMsg::Current).await.unwrap();
                assert_eq!(tenant, None, "the baggage of an earlier message leaked");
            }
            plain.stop_and_wait().await;
            booted.stop_and_wait().await;
        })
        .await
        .unwrap();
    });
}
