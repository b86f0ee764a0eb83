//! A task dropped without a poll (aborted) runs its destructor outside any task's context: it
//! must not see the context a previous task's poll left attached on that worker.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use nimsync_scheduler::{Runtime, spawn, yield_now};
use nimsync_telemetry::{Telemetry, Tracing, end_span, start_span};
use opentelemetry::trace::TraceContextExt;

/// Whether the destructor saw an active span (`None` until it ran).
static SEEN: Mutex<Option<bool>> = Mutex::new(None);
static STARTED: AtomicBool = AtomicBool::new(false);

struct RecordsContextOnDrop;

impl Drop for RecordsContextOnDrop {
    fn drop(&mut self) {
        let active = opentelemetry::Context::current().has_active_span()
            || nimsync_telemetry::current_span_context().is_valid();
        *SEEN.lock().unwrap() = Some(active);
    }
}

#[test]
fn an_aborted_tasks_destructor_sees_no_other_tasks_context() {
    let telemetry = Telemetry::builder()
        .tracing(Tracing::ratio(1.0))
        .build()
        .unwrap();
    let rt = telemetry
        .instrument(Runtime::builder().workers(1))
        .build()
        .unwrap();
    let seen = telemetry.in_scope(|| {
        rt.block_on(async {
            let victim = spawn(async {
                let _d = RecordsContextOnDrop;
                STARTED.store(true, Ordering::SeqCst);
                std::future::pending::<()>().await
            });
            while !STARTED.load(Ordering::SeqCst) {
                yield_now().await;
            }
            // A task in a trace aborts the victim; the victim's future is dropped on the
            // worker after this task's poll.
            start_span("root");
            let aborter = spawn(async move {
                victim.abort();
            });
            end_span();
            aborter.await.unwrap();
            loop {
                if let Some(seen) = *SEEN.lock().unwrap() {
                    break seen;
                }
                yield_now().await;
            }
        })
    });
    assert!(!seen, "the destructor saw the aborting task's context");
}
