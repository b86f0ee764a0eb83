//! Telemetry: spans carried across `spawn` with no wrapper, and Prometheus text with runtime
//! metrics and a latency histogram.
//!
//! `cargo run -p nimsync --example telemetry`

use nimsync::scheduler::{Runtime, spawn};
use nimsync::telemetry::{Metrics, Telemetry, Tracing, end_span, start_span};

fn main() {
    let telemetry = Telemetry::builder()
        .tracing(Tracing::ratio(1.0))
        .metrics(Metrics::prometheus().global(false))
        .build()
        .expect("a valid telemetry configuration");
    let rt = telemetry
        .instrument(Runtime::builder().workers(2))
        .build()
        .expect("2 workers is a valid runtime");
    telemetry.watch_runtime("main", rt.handle().clone());

    rt.block_on(async {
        spawn(async {
            start_span("request");
            // The child task starts inside "request".
            spawn(async {
                start_span("query");
                end_span();
            })
            .await
            .unwrap();
            end_span();
        })
        .await
        .unwrap();
    });

    let spans = telemetry.finished_spans();
    let request = spans.iter().find(|s| s.name == "request").unwrap();
    let query = spans.iter().find(|s| s.name == "query").unwrap();
    assert_eq!(query.parent_span_id, request.span_context.span_id());
    println!("span \"query\" is a child of \"request\" across spawn");

    let latency = telemetry
        .latency_histogram("query_seconds", f64::INFINITY, 1)
        .unwrap();
    latency.record(std::time::Duration::from_micros(420));
    telemetry.publish_now();
    let text = telemetry.render_prometheus().unwrap();
    for line in text.lines().filter(|l| l.starts_with("query_seconds")) {
        println!("{line}");
    }
    assert!(text.contains("nimsync_runtime_worker_polls_total"));
}
