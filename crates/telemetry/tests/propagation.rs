//! W3C trace context + baggage round trips, and extraction from arbitrary input (proptest):
//! never a panic, and a valid context only from a well-formed `traceparent`.

use nimsync_telemetry::{Telemetry, Tracing, end_span, extract, inject, set_baggage, start_span};
use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::TraceContextExt;
use proptest::prelude::*;
use std::collections::HashMap;

#[test]
fn inject_then_extract_round_trips_span_and_baggage() {
    let t = Telemetry::builder()
        .tracing(Tracing::ratio(1.0))
        .build()
        .unwrap();
    let (sent, headers, traceparent) = t.in_scope(|| {
        let sc = start_span("client");
        assert!(set_baggage("tenant", "acme"));
        let mut headers = HashMap::new();
        inject(&mut headers);
        let tp = nimsync_telemetry::traceparent();
        end_span();
        (sc, headers, tp)
    });
    assert_eq!(headers.get("traceparent"), traceparent.as_ref());
    let cx = extract(&headers);
    let got = cx.span().span_context().clone();
    assert_eq!(got.trace_id(), sent.trace_id());
    assert_eq!(got.span_id(), sent.span_id());
    assert!(got.is_remote());
    assert!(got.is_sampled());
    assert_eq!(cx.baggage().get("tenant").map(|v| v.as_str()), Some("acme"));
}

#[test]
fn a_server_span_continues_the_remote_trace() {
    let t = Telemetry::builder()
        .tracing(Tracing::ratio(0.0))
        .build()
        .unwrap();
    let mut headers = HashMap::new();
    headers.insert(
        "traceparent".to_string(),
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_string(),
    );
    let remote = extract(&headers);
    let sc = t.in_scope(|| {
        let sc = nimsync_telemetry::start_span_with_parent("server", &remote);
        end_span();
        sc
    });
    // Ratio 0 for new traces, but the remote parent was sampled: parent-based keeps it.
    assert!(sc.is_sampled());
    let spans = t.finished_spans();
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].parent_span_id.to_string(), "b7ad6b7169203331");
    assert!(spans[0].parent_span_is_remote);
}

#[test]
fn an_unsampled_child_task_injects_its_traces_id_not_sampled() {
    // Ratio 0: the root span is not sampled; a child task's own `start_span` is a
    // pass-through. `inject` inside it still writes a valid `traceparent`: the root's trace
    // id and span id, flag 00, so a downstream service continues the trace unsampled.
    let t = Telemetry::builder()
        .tracing(Tracing::ratio(0.0))
        .build()
        .unwrap();
    let rt = t
        .instrument(nimsync_scheduler::Runtime::builder().workers(2))
        .build()
        .unwrap();
    let (root, headers, child_sc) = rt.block_on(async {
        nimsync_scheduler::spawn(async {
            let root = start_span("root");
            let (headers, child_sc) = nimsync_scheduler::spawn(async {
                let sc = start_span("child");
                let mut headers = HashMap::new();
                inject(&mut headers);
                assert!(end_span());
                (headers, sc)
            })
            .await
            .unwrap();
            end_span();
            (root, headers, child_sc)
        })
        .await
        .unwrap()
    });
    assert!(root.is_valid() && !root.is_sampled());
    assert_eq!(
        child_sc, root,
        "the pass-through returns the parent's span context"
    );
    let expected = format!("00-{}-{}-00", root.trace_id(), root.span_id());
    assert_eq!(headers.get("traceparent"), Some(&expected));
    let cx = extract(&headers);
    let got = cx.span().span_context().clone();
    assert_eq!(got.trace_id(), root.trace_id());
    assert!(!got.is_sampled());
    assert!(t.finished_spans().is_empty(), "nothing recorded");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn extract_never_panics(tp in ".{0,80}", ts in ".{0,40}", bg in ".{0,120}") {
        let mut headers = HashMap::new();
        headers.insert("traceparent".to_string(), tp.clone());
        headers.insert("tracestate".to_string(), ts);
        headers.insert("baggage".to_string(), bg);
        let cx = extract(&headers);
        let sc = cx.span().span_context().clone();
        if sc.is_valid() {
            prop_assert!(tp.to_ascii_lowercase().contains(&sc.trace_id().to_string()));
        }
    }

    #[test]
    fn near_miss_traceparents_are_rejected(
        version in "[0-9a-f]{2}",
        trace in "[0-9a-fA-F]{31,33}",
        span in "[0-9a-f]{15,17}",
        flags in "[0-9a-f]{2}",
    ) {
        let tp = format!("{version}-{trace}-{span}-{flags}");
        let mut headers = HashMap::new();
        headers.insert("traceparent".to_string(), tp);
        let sc = extract(&headers).span().span_context().clone();
        let well_formed = version != "ff"
            && trace.len() == 32
            && trace.chars().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
            && span.len() == 16;
        if !well_formed {
            prop_assert!(!sc.is_valid());
        }
    }

    #[test]
    fn baggage_junk_gives_empty_or_parsed_baggage(bg in "[ -~]{0,200}") {
        let mut headers = HashMap::new();
        headers.insert("baggage".to_string(), bg);
        let cx = extract(&headers);
        prop_assert!(cx.baggage().len() <= 64);
    }
}
