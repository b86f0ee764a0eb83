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
    let t = Telemetry::builder()
        .tracing(Tracing::ratio(1.0))
        .build()
        .unwrap();
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

    let off = Telemetry::builder()
        .tracing(Tracing::ratio(1.0))
        .build()
        .unwrap();
    crash_twice(&off);
    let names: Vec<String> = off
        .finished_spans()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(names, ["request"]);
}
