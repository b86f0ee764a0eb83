//! `install()` makes the tracer OpenTelemetry's global provider too: spans a library starts
//! through `opentelemetry::global::tracer` in an instrumented task are exported and nest
//! under nimsync's spans; `uninstall()` stops that. Global state, so its own process.

use nimsync_telemetry::{Telemetry, Tracing, current_span_context, end_span, start_span};
use opentelemetry::trace::{TraceContextExt, Tracer};

#[test]
fn library_spans_through_the_global_tracer_nest_under_nimsync_spans() {
    let t = Telemetry::builder()
        .tracing(Tracing::ratio(1.0))
        .install()
        .expect("tracing");
    let rt = t
        .instrument(nimsync_scheduler::Runtime::builder().workers(2))
        .build()
        .expect("runtime");
    let parent = rt.block_on(async {
        nimsync_scheduler::spawn(async {
            start_span("request");
            let parent = current_span_context();
            // A library in a task spawned under the span, tracing with OpenTelemetry's API.
            nimsync_scheduler::spawn(async {
                opentelemetry::global::tracer("a-library").in_span("library call", |cx| {
                    assert!(cx.span().span_context().is_sampled());
                });
            })
            .await
            .expect("child task");
            end_span();
            parent
        })
        .await
        .expect("task")
    });
    let spans = t.finished_spans();
    let library = spans
        .iter()
        .find(|s| s.name == "library call")
        .expect("the library's span is exported through the installed tracer");
    assert_eq!(library.span_context.trace_id(), parent.trace_id());
    assert_eq!(library.parent_span_id, parent.span_id());

    t.uninstall();
    t.clear_finished_spans();
    opentelemetry::global::tracer("a-library").in_span("after uninstall", |_| {});
    assert!(t.finished_spans().is_empty());
}
