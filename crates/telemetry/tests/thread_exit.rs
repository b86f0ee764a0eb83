//! Threads that exit with trace state still on them: a span left open on a plain thread, and
//! a worker whose last poll left its task's context attached. Their thread-locals are torn
//! down in an unspecified order (OpenTelemetry's context stack may go first); this must
//! never panic (a panic in a thread-local destructor aborts the process). And code that runs
//! on a worker between task polls (a future's destructor) with the installed telemetry.

use nimsync_telemetry::{Telemetry, Tracing, start_span};
use std::sync::Mutex;

/// Both tests install a global telemetry: one at a time.
static GLOBAL: Mutex<()> = Mutex::new(());

#[test]
fn a_thread_exiting_with_an_open_span_or_a_kept_context_does_not_abort() {
    let _one = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
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

#[test]
fn spans_in_a_task_destructor_between_polls_leave_the_next_tasks_context_intact() {
    let _one = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    // A task's future is dropped after its last poll (outside the poll hooks), while its
    // context may still be left attached for the next poll on that worker: a span opened and
    // ended there (on the thread's own frame, with the installed telemetry) must not disturb
    // the context the following tasks of the trace see.
    use opentelemetry::Context;
    use opentelemetry::trace::{SpanContext, TraceContextExt};
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context as TaskCx, Poll};
    struct SpanOnDrop;
    impl Drop for SpanOnDrop {
        fn drop(&mut self) {
            let sc = start_span("in drop");
            assert!(sc.is_valid());
            assert!(nimsync_telemetry::end_span());
        }
    }
    /// Polls the inner future; `SpanOnDrop` is dropped with the task's future, after its
    /// last poll.
    struct WithDrop(
        Pin<Box<dyn Future<Output = (SpanContext, SpanContext)> + Send>>,
        SpanOnDrop,
    );
    impl Future for WithDrop {
        type Output = (SpanContext, SpanContext);
        fn poll(mut self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<Self::Output> {
            self.0.as_mut().poll(cx)
        }
    }
    let t = Telemetry::builder()
        .tracing(Tracing::ratio(1.0))
        .install()
        .unwrap();
    let rt = t
        .instrument(nimsync_scheduler::Runtime::builder().workers(1))
        .build()
        .unwrap();
    let (parent, seen) = rt.block_on(async {
        nimsync_scheduler::spawn(async {
            let parent = start_span("parent");
            let children: Vec<_> = (0..8)
                .map(|_| {
                    let body = async {
                        let a = Context::current().span().span_context().clone();
                        let b = nimsync_telemetry::current_span_context();
                        (a, b)
                    };
                    nimsync_scheduler::spawn(WithDrop(Box::pin(body), SpanOnDrop))
                })
                .collect();
            nimsync_telemetry::end_span();
            let mut seen = Vec::new();
            for c in children {
                seen.push(c.await.unwrap());
            }
            (parent, seen)
        })
        .await
        .unwrap()
    });
    assert_eq!(seen.len(), 8);
    for (a, b) in seen {
        assert_eq!(a, parent);
        assert_eq!(b, parent);
    }
    let spans = t.finished_spans();
    let in_drop = spans.iter().filter(|s| s.name == "in drop").count();
    assert_eq!(in_drop, 8, "every destructor's span was recorded");
}
