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
fn a_task_spawned_with_nothing_to_carry_has_an_empty_slot() {
    // Tracing installed, no span and no baggage current: the child's slot stays empty (no
    // wrapper, so its polls carry nothing), and it still gets the runtime's tracer.
    let t = telemetry(Tracing::ratio(0.01));
    let rt = runtime(&t);
    let (slot_empty, sc) = rt.block_on(async {
        spawn(async {
            spawn(async {
                let empty = nimsync_scheduler::task_context().is_none();
                let sc = start_span("root of its own");
                end_span();
                (empty, sc)
            })
            .await
            .unwrap()
        })
        .await
        .unwrap()
    });
    assert!(slot_empty);
    assert!(sc.is_valid(), "the tracer is found without a slot value");
}

#[test]
fn a_traced_task_that_replaces_its_slot_keeps_the_value_and_its_context() {
    use nimsync_scheduler::{set_task_context, task_context};
    use nimsync_telemetry::current_span_context;
    use std::sync::Arc;
    // Parent unsampled (ratio 0) and sampled (ratio 1): both carry a context into the child.
    for ratio in [0.0, 1.0] {
        let t = telemetry(Tracing::ratio(ratio));
        let rt = runtime(&t);
        rt.block_on(async {
            spawn(async {
                let parent = start_span("parent");
                spawn(async move {
                    assert_eq!(current_span_context(), parent);
                    assert!(task_context().is_none(), "the wrapper is invisible");
                    // The poll replaces the slot while changing no trace state.
                    assert!(set_task_context(Some(Arc::new(7u32))).is_none());
                    nimsync_scheduler::yield_now().await;
                    let seen = task_context().expect("the value survives the poll boundary");
                    assert_eq!(seen.downcast_ref::<u32>(), Some(&7));
                    assert_eq!(current_span_context(), parent);
                    // A grandchild inherits both.
                    let (value, sc) = spawn(async {
                        let v = task_context().and_then(|v| v.downcast_ref::<u32>().copied());
                        (v, current_span_context())
                    })
                    .await
                    .unwrap();
                    assert_eq!((value, sc), (Some(7), parent.clone()));
                    // Cleared again: the next poll sees it cleared.
                    drop(set_task_context(None));
                    nimsync_scheduler::yield_now().await;
                    assert!(task_context().is_none());
                    assert_eq!(current_span_context(), parent);
                })
                .await
                .unwrap();
                end_span();
            })
            .await
            .unwrap();
        });
    }
}

#[test]
fn a_traced_task_that_panics_leaves_no_context_behind() {
    use nimsync_telemetry::current_span_context;
    // One worker: the next task runs on the thread the panic happened on.
    let t = telemetry(Tracing::ratio(1.0));
    let rt = t.instrument(Runtime::builder().workers(1)).build().unwrap();
    let after = rt.block_on(async {
        spawn(async {
            start_span("parent");
            let boom = spawn(async {
                start_span("open when it panics");
                panic!("expected test panic");
            });
            assert!(boom.await.is_err());
            end_span();
            // A task with nothing to carry, polled on the same thread after the panic.
            spawn(async { current_span_context() }).await.unwrap()
        })
        .await
        .unwrap()
    });
    assert!(!after.is_valid(), "saw a stale context: {after:?}");
    // The panicked poll's frame was dropped, and with it the span left open: the SDK ends a
    // span when its last reference goes.
    let spans = t.finished_spans();
    assert!(spans.iter().any(|s| s.name == "open when it panics"));
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
fn unsampled_traces_record_nothing_but_carry_the_trace_id() {
    use nimsync_telemetry::{current_span_context, traceparent};
    let t = telemetry(Tracing::ratio(0.0));
    let rt = runtime(&t);
    rt.block_on(async {
        spawn(async {
            let root = start_span("root");
            assert!(root.is_valid() && !root.is_sampled());
            let children: Vec<_> = (0..16)
                .map(|_| {
                    spawn(async move {
                        // A span under an unsampled parent: nothing is created, the
                        // parent's context stays current (also across polls).
                        let sc = start_span("child");
                        assert_eq!(sc.trace_id(), current_span_context().trace_id());
                        nimsync_scheduler::yield_now().await;
                        let header = traceparent().expect("a valid current span");
                        assert!(header.ends_with("-00"), "{header}");
                        let grandchild = spawn(async { current_span_context().trace_id() });
                        let seen = grandchild.await.unwrap();
                        assert!(end_span());
                        assert!(!end_span(), "only the child's own span was open");
                        (sc.trace_id(), seen, sc.is_sampled())
                    })
                })
                .collect();
            for c in children {
                let (trace, grandchild, sampled) = c.await.unwrap();
                assert_eq!(trace, root.trace_id());
                assert_eq!(grandchild, root.trace_id());
                assert!(!sampled);
            }
            assert!(end_span());
        })
        .await
        .unwrap();
    });
    assert!(t.finished_spans().is_empty());
}

#[test]
fn spans_nest_in_order_around_unsampled_pass_through_spans() {
    use nimsync_telemetry::{current_context, current_span_context, set_baggage};
    use opentelemetry::baggage::BaggageExt;
    use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags, TraceState};
    let t = telemetry(Tracing::ratio(0.0));
    let remote = opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(0x42u128),
        SpanId::from(0x7u64),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ));
    t.in_scope(|| {
        let root = start_span("root");
        start_span("pass"); // not sampled: a pass-through
        assert!(set_baggage("tenant", "acme"));
        let in_pass = current_context();
        assert_eq!(
            in_pass.baggage().get("tenant").map(|v| v.as_str()),
            Some("acme")
        );
        // A sampled remote parent inside the pass-through: a real, recorded span.
        let sampled = nimsync_telemetry::start_span_with_parent("remote", &remote);
        assert!(sampled.is_sampled());
        start_span("under remote"); // sampled parent: recorded too
        assert!(end_span());
        assert!(end_span());
        assert_eq!(current_span_context(), root); // back in the pass-through
        assert!(current_context().baggage().get("tenant").is_some());
        assert!(end_span()); // the pass-through: its baggage goes with it
        assert!(current_context().baggage().get("tenant").is_none());
        assert_eq!(current_span_context(), root);
        assert!(end_span());
        assert!(!end_span());
    });
    let mut names: Vec<_> = t.finished_spans().into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(names, ["remote", "under remote"]);
}

#[test]
fn tasks_spawned_in_one_poll_see_the_context_current_at_their_spawn() {
    let t = telemetry(Tracing::ratio(1.0));
    let rt = runtime(&t);
    let seen = rt.block_on(async {
        spawn(async {
            let x = start_span("x");
            let a = spawn(async { nimsync_telemetry::current_span_context() });
            let a2 = spawn(async { nimsync_telemetry::current_span_context() });
            let y = start_span("y");
            let b = spawn(async { nimsync_telemetry::current_span_context() });
            end_span();
            let c = spawn(async { nimsync_telemetry::current_span_context() });
            end_span();
            let d = spawn(async { nimsync_telemetry::current_span_context() });
            let got = [a.await, a2.await, b.await, c.await, d.await].map(|r| r.unwrap());
            (x, y, got)
        })
        .await
        .unwrap()
    });
    let (x, y, [a, a2, b, c, d]) = seen;
    assert_eq!((a, a2), (x.clone(), x.clone()));
    assert_eq!(b, y);
    assert_eq!(c, x);
    assert!(!d.is_valid(), "spawned after the last span ended: {d:?}");
}

#[test]
fn a_context_attached_with_the_opentelemetry_api_is_carried_too() {
    use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags, TraceState};
    let t = telemetry(Tracing::ratio(1.0));
    let rt = runtime(&t);
    let sc = SpanContext::new(
        TraceId::from(0x99u128),
        SpanId::from(0x5u64),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let expected = sc.clone();
    let seen = rt.block_on(async move {
        spawn(async move {
            start_span("own");
            let child = {
                let _guard = opentelemetry::Context::current()
                    .with_remote_span_context(sc)
                    .attach();
                spawn(async { nimsync_telemetry::current_span_context() })
            };
            let seen = child.await.unwrap();
            end_span();
            seen
        })
        .await
        .unwrap()
    });
    assert_eq!(seen, expected);
}

#[test]
fn suppressed_telemetry_is_carried_to_tasks_spawned_under_it() {
    // OpenTelemetry's exporters suppress telemetry around their own work; a task they spawn
    // must stay suppressed, and a task spawned before or after must not be.
    let t = telemetry(Tracing::ratio(1.0));
    let rt = runtime(&t);
    let seen = rt.block_on(async {
        spawn(async {
            let suppressed = || opentelemetry::Context::is_current_telemetry_suppressed();
            let before = spawn(async move { suppressed() });
            let under = {
                let _quiet = opentelemetry::Context::enter_telemetry_suppressed_scope();
                spawn(async move { suppressed() })
            };
            let after = spawn(async move { suppressed() });
            // The same with a span open (the frame's value is then shared by the children).
            start_span("own");
            let shared = spawn(async move { suppressed() });
            let under_span = {
                let _quiet = opentelemetry::Context::enter_telemetry_suppressed_scope();
                spawn(async move { suppressed() })
            };
            end_span();
            [before, under, after, shared, under_span]
        })
        .await
        .unwrap()
    });
    let seen: Vec<bool> = rt.block_on(async move {
        let mut out = Vec::new();
        for h in seen {
            out.push(h.await.unwrap());
        }
        out
    });
    assert_eq!(seen, [false, true, false, false, true]);
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

#[test]
fn unsampled_automatic_task_spans_let_tasks_complete() {
    // Under `task_spans(true)` a task spawned outside any span starts a root `task` span;
    // at ratio 0 the sampler drops it, so the task holds an unsampled span of its own. Tasks
    // ending at their first poll or after a yield must still complete (not be reported as
    // panicked by a hook) and record nothing.
    let t = telemetry(Tracing::ratio(0.0).task_spans(true));
    let rt = runtime(&t);
    let results: Vec<_> = rt.block_on(async {
        let handles: Vec<_> = (0..100u32)
            .map(|i| {
                spawn(async move {
                    if i % 2 == 0 {
                        nimsync_scheduler::yield_now().await;
                    }
                    i
                })
            })
            .collect();
        let mut results = Vec::new();
        for h in handles {
            results.push(h.await.map_err(|e| e.to_string()));
        }
        results
    });
    let expected: Vec<_> = (0..100u32).map(Ok).collect();
    assert_eq!(results, expected);
    drop(rt);
    assert!(t.finished_spans().is_empty(), "nothing recorded");
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

#[test]
fn a_context_kept_attached_between_polls_never_leaks_out_of_its_tasks() {
    // A task's context may stay attached on a worker thread after its poll (for the next
    // task in the same context); OpenTelemetry's `Context::current()` must still show it only
    // inside tasks of that context: not in an untraced task polled next on the same thread,
    // not in a current-thread `block_on`'s own future, and the same span inside every task
    // of the trace.
    use opentelemetry::Context;
    use opentelemetry::trace::TraceContextExt;
    for ratio in [0.0, 1.0] {
        let t = telemetry(Tracing::ratio(ratio));
        for rt in [
            t.instrument(Runtime::builder().workers(1)).build().unwrap(),
            t.instrument(nimsync_scheduler::Builder::new_current_thread())
                .build()
                .unwrap(),
        ] {
            let (parent, seen, untraced, main) = rt.block_on(async {
                // The children outlive their parent's span: the last polls before `block_on`'s
                // own future runs again are theirs, which change no trace state.
                let (parent, children) = spawn(async {
                    let parent = start_span("parent");
                    let children: Vec<_> = (0..4)
                        .map(|_| {
                            spawn(async {
                                let first = Context::current().span().span_context().clone();
                                nimsync_scheduler::yield_now().await;
                                let second = Context::current().span().span_context().clone();
                                (first, second)
                            })
                        })
                        .collect();
                    end_span();
                    (parent, children)
                })
                .await
                .unwrap();
                let mut seen = Vec::new();
                for c in children {
                    seen.push(c.await.unwrap());
                }
                let main = Context::current().has_active_span();
                let untraced = spawn(async { Context::current().has_active_span() })
                    .await
                    .unwrap();
                (parent, seen, untraced, main)
            });
            assert!(parent.is_valid());
            for (first, second) in seen {
                assert_eq!(first, parent, "ratio {ratio}");
                assert_eq!(second, parent, "ratio {ratio}");
            }
            assert!(!untraced, "an untraced task sees no span (ratio {ratio})");
            assert!(!main, "block_on's own future sees no span (ratio {ratio})");
            assert!(!Context::current().has_active_span());
        }
    }
}

/// Spawns `children` tasks of an unsampled trace under a context holding a counted value
/// (every third one yields and opens a span first when `busy`), joins them, drops the runtime,
/// and checks that every reference to the value was released.
fn ended_unsampled_children_free_their_context(children: u32, busy: bool) {
    #[derive(Clone)]
    struct Token(std::sync::Arc<()>);
    let t = telemetry(Tracing::ratio(0.0));
    let rt = runtime(&t);
    let token = Token(std::sync::Arc::new(()));
    let probe = token.0.clone();
    let ended = rt.block_on(async move {
        spawn(async move {
            start_span("root");
            let handles: Vec<_> = {
                let _guard = opentelemetry::Context::current().with_value(token).attach();
                (0..children)
                    .map(|i| {
                        spawn(async move {
                            if busy {
                                if i % 3 == 0 {
                                    nimsync_scheduler::yield_now().await;
                                }
                                start_span("child");
                                end_span();
                            }
                            i
                        })
                    })
                    .collect()
            };
            let mut ended = 0;
            for h in handles {
                ended += u32::from(h.await.is_ok());
            }
            end_span();
            ended
        })
        .await
        .unwrap()
    });
    assert_eq!(ended, children);
    drop(rt);
    assert_eq!(
        std::sync::Arc::strong_count(&probe),
        1,
        "every context holding the value is gone"
    );
    assert!(t.finished_spans().is_empty(), "nothing recorded");
}

#[test]
fn the_context_of_ended_unsampled_tasks_is_freed_with_the_runtime() {
    // Ended tasks of an unsampled trace hand their shared trace value to a per-thread batch
    // of deferred drops: whatever the batch holds must still be freed (on idle, or when the
    // workers leave their loops), never leaked. Fewer children than a batch, so no batch is
    // dropped by a full batch alone.
    ended_unsampled_children_free_their_context(7, false);
}

#[test]
fn the_context_of_many_ended_unsampled_tasks_is_freed_with_the_runtime() {
    // More children than a batch of deferred drops, ending at their first poll or after
    // yielding: their shared trace value goes to the batch from `after_poll` (the poll that
    // ends the task) or, when the batch is full, from `on_terminate`. Every reference is
    // released by the time the runtime is gone.
    ended_unsampled_children_free_their_context(300, true);
}

#[test]
fn many_children_of_one_poll_all_start_in_the_spawners_context() {
    // Children spawned from one poll share one trace value (more of them than a batch of
    // deferred drops): every child sees the spawner's (unsampled) span and passes it on to a
    // grandchild.
    let t = telemetry(Tracing::ratio(0.0));
    let rt = runtime(&t);
    let (root, seen) = rt.block_on(async {
        spawn(async {
            let root = start_span("root");
            let handles: Vec<_> = (0..100)
                .map(|_| {
                    spawn(async {
                        let own = nimsync_telemetry::current_span_context();
                        let nested = spawn(async { nimsync_telemetry::current_span_context() });
                        (own, nested.await.unwrap())
                    })
                })
                .collect();
            let mut seen = Vec::new();
            for h in handles {
                seen.push(h.await.unwrap());
            }
            end_span();
            (root, seen)
        })
        .await
        .unwrap()
    });
    assert!(root.is_valid() && !root.is_sampled());
    assert_eq!(seen.len(), 100);
    for (own, nested) in seen {
        assert_eq!(own, root);
        assert_eq!(nested, root);
    }
}

// Spans opened with the helpers inside a context made current with OpenTelemetry's own API
// (regression tests of the 6th review: `start_span` ignored it, and `end_span` re-attached the
// task's context over it).

/// A library instrumented with plain OpenTelemetry (its own provider).
fn library_tracer() -> opentelemetry_sdk::trace::SdkTracer {
    use opentelemetry::trace::TracerProvider as _;
    opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .build()
        .tracer("lib")
}

fn otel_current() -> opentelemetry::trace::SpanContext {
    use opentelemetry::trace::TraceContextExt;
    opentelemetry::Context::current()
        .span()
        .span_context()
        .clone()
}

#[test]
fn start_and_end_span_inside_an_opentelemetry_scope_keep_that_scope() {
    use opentelemetry::trace::{TraceContextExt, Tracer};
    let t = telemetry(Tracing::ratio(1.0));
    let lib = library_tracer();
    let (task, lib_span, seen, after, mine, after_scope) = runtime(&t).block_on(async move {
        spawn(async move {
            let task = start_span("task");
            let (lib_span, seen, after, mine) = lib.in_span("lib.op", |cx| {
                let lib_span = cx.span().span_context().clone();
                let seen = nimsync_telemetry::current_span_context();
                let mine = start_span("mine");
                assert_eq!(otel_current(), mine);
                assert!(end_span());
                (lib_span, seen, otel_current(), mine)
            });
            let after_scope = otel_current();
            end_span();
            (task, lib_span, seen, after, mine, after_scope)
        })
        .await
        .unwrap()
    });
    assert_eq!(
        seen, lib_span,
        "current_span_context() inside the library's scope"
    );
    assert_eq!(
        after, lib_span,
        "after a balanced start_span/end_span the library's span is current again"
    );
    assert_eq!(
        after_scope, task,
        "the task's span is current after the scope"
    );
    let spans = t.finished_spans();
    let mine_data = span(&spans, "mine");
    assert_eq!(mine_data.span_context, mine);
    assert_eq!(
        mine_data.parent_span_id,
        lib_span.span_id(),
        "a span started inside the library's scope is its child"
    );
}

#[test]
fn an_opentelemetry_scope_closed_before_end_span_leaves_the_tasks_context_current() {
    use opentelemetry::trace::{TraceContextExt, Tracer};
    let t = telemetry(Tracing::ratio(1.0));
    let lib = library_tracer();
    let (task, lib_span, mine, during, after) = runtime(&t).block_on(async move {
        spawn(async move {
            let task = start_span("task");
            let lib_cx = opentelemetry::Context::current_with_span(lib.start("lib.op"));
            let lib_span = lib_cx.span().span_context().clone();
            let scope = lib_cx.attach();
            let mine = start_span("mine");
            // Out of order: the library's scope ends while "mine" is open.
            drop(scope);
            let during = otel_current();
            end_span();
            let after = otel_current();
            end_span();
            (task, lib_span, mine, during, after)
        })
        .await
        .unwrap()
    });
    assert_eq!(during, mine);
    assert_eq!(after, task);
    let spans = t.finished_spans();
    assert_eq!(span(&spans, "mine").parent_span_id, lib_span.span_id());
    assert_eq!(span(&spans, "task").parent_span_id, SpanId::INVALID);
}

#[test]
fn a_pass_through_under_an_opentelemetry_scope_leaves_that_scope_current() {
    use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags, TraceState};
    // Known edge (design doc): in a task of an unsampled trace that has changed nothing yet in
    // its poll, `start_span` takes the pass-through fast path, which keeps to the task's
    // context (it does not look at OpenTelemetry's); it attaches nothing, so the scope stays
    // current and a balanced `end_span` leaves it so.
    let t = telemetry(Tracing::ratio(0.0));
    let foreign = SpanContext::new(
        TraceId::from(0x77u128),
        SpanId::from(0x7u64),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let (root, inner, during, after) = runtime(&t).block_on(async move {
        spawn(async move {
            let root = start_span("root");
            let child = spawn(async move {
                let scope = opentelemetry::Context::current()
                    .with_remote_span_context(foreign)
                    .attach();
                let inner = start_span("inner");
                let during = otel_current();
                assert!(end_span());
                let after = otel_current();
                drop(scope);
                (inner, during, after)
            });
            let (inner, during, after) = child.await.unwrap();
            end_span();
            (root, inner, during, after)
        })
        .await
        .unwrap()
    });
    assert!(root.is_valid() && !root.is_sampled());
    assert_eq!(
        inner.trace_id(),
        root.trace_id(),
        "a pass-through of the task's trace"
    );
    assert_eq!(during.trace_id(), TraceId::from(0x77u128));
    assert_eq!(after.trace_id(), TraceId::from(0x77u128));
    assert!(t.finished_spans().is_empty());
}

/// `set_attribute` sets a typed attribute on the innermost open span (of a thread scope or a
/// task), and does nothing with no span open.
#[test]
fn set_attribute_lands_on_the_innermost_open_span_with_its_type() {
    use nimsync_telemetry::set_attribute;
    use opentelemetry::Value;
    let t = telemetry(Tracing::ratio(1.0));
    t.in_scope(|| {
        set_attribute("orphan", true); // nothing open yet: a no-op
        start_span("outer");
        set_attribute("http.route", "/users/:id");
        start_span("inner");
        set_attribute("cart.items", 3);
        set_attribute("ratio", 0.5);
        assert!(end_span());
        set_attribute("http.status_code", 200);
        assert!(end_span());
        set_attribute("late", "after"); // nothing open any more
    });
    runtime(&t).block_on(async {
        spawn(async {
            start_span("in a task");
            set_attribute("task.flag", true);
            assert!(end_span());
        })
        .await
        .unwrap();
    });
    let spans = t.finished_spans();
    assert_eq!(spans.len(), 3, "{spans:?}");
    let attributes = |name: &str| {
        let mut kvs: Vec<(String, Value)> = span(&spans, name)
            .attributes
            .iter()
            .map(|kv| (kv.key.to_string(), kv.value.clone()))
            .collect();
        kvs.sort_by(|a, b| a.0.cmp(&b.0));
        kvs
    };
    let kv = |k: &str, v: Value| (k.to_string(), v);
    assert_eq!(
        attributes("outer"),
        [
            kv("http.route", Value::from("/users/:id")),
            kv("http.status_code", Value::I64(200)),
        ]
    );
    assert_eq!(
        attributes("inner"),
        [
            kv("cart.items", Value::I64(3)),
            kv("ratio", Value::F64(0.5))
        ]
    );
    assert_eq!(
        attributes("in a task"),
        [kv("task.flag", Value::Bool(true))]
    );
}

/// Parent-based sampling (the default) follows the parent's decision; with
/// `parent_based(false)` the ratio alone decides every span, under a sampled or an unsampled
/// parent alike: for an explicit parent, for a span started under it, and in a task spawned
/// under it. Under an unsampled parent with parent-based sampling no span is created (the
/// parent's context is returned); without it a span is.
#[test]
fn without_parent_based_sampling_the_ratio_decides_every_span() {
    use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags, TraceState};
    let trace = TraceId::from(0x51u128);
    let remote_span = SpanId::from(0x3u64);
    // (ratio, parent-based, the remote parent's flags, whether its descendants are sampled)
    for (ratio, parent_based, flags, sampled) in [
        (0.0, true, TraceFlags::SAMPLED, true),
        (0.0, false, TraceFlags::SAMPLED, false),
        (1.0, true, TraceFlags::NOT_SAMPLED, false),
        (1.0, false, TraceFlags::NOT_SAMPLED, true),
    ] {
        let case = format!("ratio {ratio}, parent-based {parent_based}, parent {flags:?}");
        let remote = SpanContext::new(trace, remote_span, flags, true, TraceState::default());
        let parent = opentelemetry::Context::new().with_remote_span_context(remote.clone());
        let t = telemetry(Tracing::ratio(ratio).parent_based(parent_based));

        let (server, inner) = t.in_scope(|| {
            let server = nimsync_telemetry::start_span_with_parent("server", &parent);
            let inner = start_span("inner");
            assert!(end_span());
            assert!(end_span());
            (server, inner)
        });
        let task = runtime(&t).block_on(async move {
            spawn(async move {
                let child = {
                    let _guard = parent.attach();
                    spawn(async {
                        let sc = start_span("task");
                        assert!(end_span());
                        sc
                    })
                };
                child.await.unwrap()
            })
            .await
            .unwrap()
        });

        for sc in [&server, &inner, &task] {
            assert_eq!(sc.trace_id(), trace, "{case}");
            assert_eq!(sc.is_sampled(), sampled, "{case}: {sc:?}");
        }
        if parent_based && !sampled {
            assert_eq!(inner, server, "{case}: a pass-through");
            assert_eq!(task, remote, "{case}: a pass-through");
        } else {
            assert_ne!(
                inner.span_id(),
                server.span_id(),
                "{case}: a span of its own"
            );
            assert_ne!(task.span_id(), remote_span, "{case}: a span of its own");
        }
        let spans = t.finished_spans();
        if sampled {
            assert_eq!(spans.len(), 3, "{case}");
            assert_eq!(span(&spans, "server").parent_span_id, remote_span, "{case}");
            assert_eq!(
                span(&spans, "inner").parent_span_id,
                server.span_id(),
                "{case}"
            );
            assert_eq!(span(&spans, "task").parent_span_id, remote_span, "{case}");
        } else {
            assert!(spans.is_empty(), "{case}: {spans:?}");
        }
    }
}

/// With `Exporter::Stdout` finished spans are printed to standard output and none is kept in
/// memory (`finished_spans()` is empty), from a thread scope and from an instrumented task.
/// Checked in a child process running this very test, whose standard output is read back.
#[test]
fn the_stdout_exporter_prints_spans_and_keeps_none_in_memory() {
    const CHILD: &str = "NIMSYNC_TELEMETRY_TEST_STDOUT_EXPORTER";
    const NAME: &str = "the_stdout_exporter_prints_spans_and_keeps_none_in_memory";
    if std::env::var_os(CHILD).is_some() {
        let t = telemetry(Tracing::ratio(1.0).exporter(nimsync_telemetry::Exporter::Stdout));
        let on_thread = t.in_scope(|| {
            let sc = start_span("stdout-span-on-a-thread");
            assert!(end_span());
            sc
        });
        let in_task = runtime(&t).block_on(async {
            spawn(async {
                let sc = start_span("stdout-span-in-a-task");
                assert!(end_span());
                sc
            })
            .await
            .unwrap()
        });
        assert!(on_thread.is_sampled() && in_task.is_sampled());
        assert!(t.finished_spans().is_empty());
        t.shutdown_tracing().expect("stdout exporter flushed");
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran the test:\n{stdout}"
    );
    for name in ["stdout-span-on-a-thread", "stdout-span-in-a-task"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.contains("Name") && l.contains(name)),
            "{name} not printed:\n{stdout}"
        );
    }
}
