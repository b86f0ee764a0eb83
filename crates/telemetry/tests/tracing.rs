//! Spans across task boundaries (spawn, task groups), automatic task spans, the cancel layer
//! still seeing its scope under telemetry, and sampling over 100 000 roots.

use nimsync_scheduler::{Runtime, spawn};
use nimsync_telemetry::{Telemetry, Tracing, end_span, start_span};
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::{IdGenerator, SpanData};
use std::sync::atomic::{AtomicU64, Ordering};

fn telemetry(tracing: Tracing) -> Telemetry {
    Telemetry::builder().tracing(tracing).build().unwrap()
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

#[test]
fn child_task_starts_inside_the_spawners_span() {
    let t = telemetry(Tracing::ratio(1.0));
    let rt = runtime(&t);
    rt.block_on(async {
        spawn(async {
            start_span("parent");
            let children: Vec<_> = (0..8)
                .map(|i| {
                    spawn(async move {
                        // Yield so the child is polled again, possibly on the other worker.
                        nimsync_scheduler::yield_now().await;
                        start_span(format!("child-{i}"));
                        nimsync_scheduler::yield_now().await;
                        spawn(async {
                            start_span("grandchild");
                            end_span()
                        })
                        .await
                        .unwrap();
                        assert!(end_span());
                    })
                })
                .collect();
            for c in children {
                c.await.unwrap();
            }
            assert!(end_span());
        })
        .await
        .unwrap();
    });
    let spans = t.finished_spans();
    let parent = span(&spans, "parent");
    assert_eq!(parent.parent_span_id, SpanId::INVALID);
    for i in 0..8 {
        let child = span(&spans, &format!("child-{i}"));
        assert_eq!(child.parent_span_id, parent.span_context.span_id());
        assert_eq!(
            child.span_context.trace_id(),
            parent.span_context.trace_id()
        );
    }
    let grandchildren: Vec<_> = spans.iter().filter(|s| s.name == "grandchild").collect();
    assert_eq!(grandchildren.len(), 8);
    for g in grandchildren {
        let parent = spans
            .iter()
            .find(|s| s.span_context.span_id() == g.parent_span_id)
            .unwrap();
        assert!(parent.name.starts_with("child-"), "{}", parent.name);
    }
}

#[test]
fn a_task_spawned_with_no_current_span_is_a_root() {
    let t = telemetry(Tracing::ratio(1.0));
    let rt = runtime(&t);
    rt.block_on(async {
        spawn(async {
            start_span("a");
            end_span();
            spawn(async {
                start_span("b");
                end_span()
            })
            .await
            .unwrap();
        })
        .await
        .unwrap();
    });
    let spans = t.finished_spans();
    assert_eq!(span(&spans, "b").parent_span_id, SpanId::INVALID);
    assert_ne!(
        span(&spans, "a").span_context.trace_id(),
        span(&spans, "b").span_context.trace_id()
    );
}

#[test]
fn group_children_inherit_the_context_and_the_cancel_scope() {
    use nimsync_group::{CollectAll, task_group};
    let t = telemetry(Tracing::ratio(1.0));
    let rt = runtime(&t);
    // The root future of `block_on` runs on this thread: `in_scope` gives it the tracer.
    t.in_scope(|| {
        rt.block_on(async {
            start_span("batch");
            let out = task_group(CollectAll, |g| async move {
                for i in 0..4u32 {
                    g.spawn(async move {
                        start_span(format!("item-{i}"));
                        end_span();
                        // The group's child token is still the current scope.
                        nimsync_cancel::current_token()
                            .map(|_| ())
                            .ok_or("no scope")
                    })
                    .await?;
                }
                Ok(())
            })
            .await
            .unwrap();
            assert!(out.iter().all(|r| r.is_ok()), "{out:?}");
            end_span();
        })
    });
    let spans = t.finished_spans();
    let batch = span(&spans, "batch");
    for i in 0..4 {
        assert_eq!(
            span(&spans, &format!("item-{i}")).parent_span_id,
            batch.span_context.span_id()
        );
    }
}

#[test]
fn cancel_checkpoint_sees_its_scope_inside_a_traced_task() {
    use nimsync_cancel::{CancelScope, checkpoint};
    let t = telemetry(Tracing::ratio(1.0));
    let rt = runtime(&t);
    let result = rt.block_on(async {
        spawn(async {
            start_span("traced");
            let scope = CancelScope::new();
            let token = scope.token().clone();
            let r = scope
                .run(async move {
                    // A second poll: the slot went through the hooks' wrap and unwrap.
                    nimsync_scheduler::yield_now().await;
                    let before = checkpoint();
                    token.cancel();
                    (before, checkpoint())
                })
                .await;
            end_span();
            r
        })
        .await
        .unwrap()
    });
    assert!(matches!(result, Ok((Ok(()), Err(_)))), "{result:?}");
}

#[test]
fn automatic_task_spans_record_lifetime_and_outcome() {
    let t = telemetry(Tracing::ratio(1.0).task_spans(true));
    let rt = runtime(&t);
    rt.block_on(async {
        let ok = spawn(async {
            start_span("inside");
            end_span()
        });
        ok.await.unwrap();
        let boom = spawn(async { panic!("expected test panic") });
        assert!(boom.await.is_err());
    });
    let spans = t.finished_spans();
    let tasks: Vec<_> = spans.iter().filter(|s| s.name == "task").collect();
    assert_eq!(tasks.len(), 2, "{spans:?}");
    let outcome = |s: &SpanData| {
        s.attributes
            .iter()
            .find(|kv| kv.key.as_str() == "nimsync.task.outcome")
            .map(|kv| kv.value.to_string())
    };
    let mut outcomes: Vec<_> = tasks.iter().map(|s| outcome(s).unwrap()).collect();
    outcomes.sort();
    assert_eq!(outcomes, ["completed", "panicked"]);
    let inside = span(&spans, "inside");
    assert!(
        tasks
            .iter()
            .any(|t| t.span_context.span_id() == inside.parent_span_id)
    );
}

/// Deterministic ids: trace ids from a SplitMix64 sequence (well spread in the low 64 bits,
/// which the ratio sampler compares).
#[derive(Debug, Default)]
struct SeqIds(AtomicU64);

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl IdGenerator for SeqIds {
    fn new_trace_id(&self) -> TraceId {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        TraceId::from(((n as u128 + 1) << 64) | splitmix(n) as u128)
    }
    fn new_span_id(&self) -> SpanId {
        SpanId::from(splitmix(self.0.fetch_add(1, Ordering::Relaxed)) | 1)
    }
}

#[test]
fn ratio_sampling_over_100_000_roots() {
    for ratio in [0.01, 0.25] {
        let t = telemetry(Tracing::ratio(ratio).id_generator(SeqIds::default()));
        let roots = 100_000;
        let sampled = t.in_scope(|| {
            (0..roots)
                .filter(|_| {
                    let sc = start_span("root");
                    // A child follows its parent's decision.
                    let child = start_span("child");
                    assert_eq!(child.is_sampled(), sc.is_sampled());
                    end_span();
                    end_span();
                    sc.is_sampled()
                })
                .count()
        });
        let expected = ratio * roots as f64;
        let tolerance = 4.0 * (roots as f64 * ratio * (1.0 - ratio)).sqrt(); // 4 sigma
        assert!(
            (sampled as f64 - expected).abs() <= tolerance,
            "ratio {ratio}: {sampled} sampled, expected {expected} ± {tolerance}"
        );
        assert_eq!(t.finished_spans().len(), 2 * sampled);
    }
}

#[test]
fn bad_ratio_is_an_error() {
    assert!(
        Telemetry::builder()
            .tracing(Tracing::ratio(-0.1))
            .build()
            .is_err()
    );
    assert!(
        Telemetry::builder()
            .tracing(Tracing::ratio(f64::NAN))
            .build()
            .is_err()
    );
}
