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

    /// A baggage header whose list members have no `=` (any characters but `=` and `,`,
    /// properties after `;` included) breaks the W3C grammar in every member: nothing is
    /// extracted. With one well-formed member added at any position, exactly that member is.
    #[test]
    fn baggage_members_without_an_equals_sign_are_all_dropped(
        junk in prop::collection::vec("[^=,]{0,40}", 1..8),
        at in any::<prop::sample::Index>(),
        value in "[a-zA-Z0-9]{1,16}",
    ) {
        let mut headers = HashMap::new();
        headers.insert("baggage".to_string(), junk.join(","));
        let cx = extract(&headers);
        prop_assert!(cx.baggage().is_empty(), "{:?}", cx.baggage());

        let mut members = junk.clone();
        members.insert(at.index(junk.len() + 1), format!("tenant={value}"));
        headers.insert("baggage".to_string(), members.join(","));
        let cx = extract(&headers);
        prop_assert_eq!(cx.baggage().len(), 1, "{:?}", cx.baggage());
        prop_assert_eq!(cx.baggage().get("tenant").map(|v| v.as_str()), Some(value.as_str()));
    }

    /// Every well-formed version-00 `traceparent` (non-zero ids) is extracted as a remote span
    /// context with its trace id, span id and sampled flag.
    #[test]
    fn well_formed_traceparents_are_extracted(
        trace in "[0-9a-f]{32}",
        span in "[0-9a-f]{16}",
        flags in any::<u8>(),
    ) {
        prop_assume!(trace.bytes().any(|b| b != b'0') && span.bytes().any(|b| b != b'0'));
        let mut headers = HashMap::new();
        headers.insert("traceparent".to_string(), format!("00-{trace}-{span}-{flags:02x}"));
        let sc = extract(&headers).span().span_context().clone();
        prop_assert!(sc.is_valid());
        prop_assert!(sc.is_remote());
        prop_assert_eq!(sc.trace_id().to_string(), trace);
        prop_assert_eq!(sc.span_id().to_string(), span);
        prop_assert_eq!(sc.is_sampled(), flags & 1 == 1);
    }

    /// A well-formed `traceparent` broken in one way the grammar forbids (an upper-case or
    /// non-hex digit, version `ff`, an extra field after version 00, an all-zero id, a missing
    /// field, another separator) gives an invalid span context.
    #[test]
    fn malformed_traceparents_are_rejected(
        trace in "[0-9a-f]{32}",
        span in "[0-9a-f]{16}",
        flags in "[0-9a-f]{2}",
        how in 0..10usize,
        at in any::<prop::sample::Index>(),
        bad in prop::sample::select(vec!['g', 'x', 'z', 'G', ' ', '_', '.', ':']),
        upper in prop::sample::select(vec!['A', 'B', 'C', 'D', 'E', 'F']),
    ) {
        let replace = |s: &str, c: char| {
            let i = at.index(s.len());
            format!("{}{c}{}", &s[..i], &s[i + 1..])
        };
        let tp = match how {
            0 => format!("00-{}-{span}-{flags}", replace(&trace, upper)),
            1 => format!("00-{trace}-{}-{flags}", replace(&span, upper)),
            2 => format!("00-{trace}-{span}-{}", replace(&flags, upper)),
            3 => format!("ff-{trace}-{span}-{flags}"),
            4 => format!("00-{trace}-{span}-{flags}-{flags}"),
            5 => format!("00-{}-{span}-{flags}", "0".repeat(32)),
            6 => format!("00-{trace}-{}-{flags}", "0".repeat(16)),
            7 => format!("00-{}-{span}-{flags}", replace(&trace, bad)),
            8 => format!("00-{trace}-{}-{flags}", replace(&span, bad)),
            _ => format!("00-{trace}-{span}"),
        };
        let mut headers = HashMap::new();
        headers.insert("traceparent".to_string(), tp.clone());
        let sc = extract(&headers).span().span_context().clone();
        prop_assert!(!sc.is_valid(), "{tp} gave {sc:?}");
        headers.insert("traceparent".to_string(), tp.replace('-', "_"));
        prop_assert!(!extract(&headers).span().span_context().is_valid());
    }

    /// W3C trace context fixes every field's length (version 2, trace id 32, span id 16,
    /// flags 2 hex digits); a field that is shorter, longer (leading zeros) or signed is
    /// malformed and must give an invalid span context.
    #[test]
    fn traceparent_fields_of_the_wrong_length_are_rejected(
        trace in "[1-9a-f][0-9a-f]{31}",
        span in "[1-9a-f][0-9a-f]{15}",
        cut in 1..16usize,
        how in 0..8usize,
    ) {
        let tp = match how {
            0 => format!("00-{}-{span}-01", &trace[..32 - cut]),
            1 => format!("00-{trace}-{}-01", &span[..16 - cut]),
            2 => format!("00-0{trace}-{span}-01"),
            3 => format!("00-{trace}-0{span}-01"),
            4 => format!("00-+{}-{span}-01", &trace[1..]),
            5 => format!("00-{trace}-{span}-1"),
            6 => format!("00-{trace}-{span}-001"),
            _ => format!("0-{trace}-{span}-01"),
        };
        let mut headers = HashMap::new();
        headers.insert("traceparent".to_string(), tp.clone());
        let sc = extract(&headers).span().span_context().clone();
        prop_assert!(!sc.is_valid(), "{tp} gave {sc:?}");
    }
}
