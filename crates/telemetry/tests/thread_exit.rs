//! Threads that exit with trace state still on them: a span left open on a plain thread, and
//! a worker whose last poll left its task's context attached. Their thread-locals are torn
//! down in an unspecified order (OpenTelemetry's context stack may go first); this must
//! never panic (a panic in a thread-local destructor aborts the process).

use nimsync_telemetry::{Telemetry, Tracing, start_span};

#[test]
fn a_thread_exiting_with_an_open_span_or_a_kept_context_does_not_abort() {
    let t = Telemetry::builder()
        .tracing(Tracing::ratio(1.0))
        .install()
        .unwrap();
    for _ in 0..4 {
        // Open and never ended: the thread frame's attach is still on the thread at exit.
        std::thread::spawn(|| {
            let sc = start_span("left open");
            assert!(sc.is_valid());
        })
        .join()
        .unwrap();
    }
    // A runtime whose workers polled tasks in a span context, dropped right after.
    let rt = t
        .instrument(nimsync_scheduler::Runtime::builder().workers(2))
        .build()
        .unwrap();
    rt.block_on(async {
        nimsync_scheduler::spawn(async {
            start_span("parent");
            let children: Vec<_> = (0..16)
                .map(|_| nimsync_scheduler::spawn(async {}))
                .collect();
            for c in children {
                c.await.unwrap();
            }
            nimsync_telemetry::end_span();
        })
        .await
        .unwrap();
    });
    drop(rt);
}
