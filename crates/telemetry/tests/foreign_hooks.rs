//! Hooks installed by someone else first: the actor message hooks and the supervision restart
//! hook are process-wide and set once, so this test runs in its own process. Asking for the
//! spans that need a missing hook is a clear error; tracing without them still builds.

use nimsync_supervision::{RestartHook, RestartInfo};
use nimsync_telemetry::{BuildError, Telemetry, Tracing};

struct Foreign;
impl RestartHook for Foreign {
    fn on_restart(&self, _: &RestartInfo<'_>) {}
}
static FOREIGN: Foreign = Foreign;

#[test]
fn spans_that_need_a_foreign_hook_are_refused() {
    nimsync_supervision::set_restart_hook(&FOREIGN).expect("first restart hook of the process");

    let err = Telemetry::builder()
        .tracing(Tracing::ratio(1.0).restart_spans(true))
        .build()
        .expect_err("the restart hook is someone else's");
    assert!(matches!(err, BuildError::HooksTaken(_)), "{err:?}");
    assert!(err.to_string().contains("restart hook"), "{err}");

    // The actor message hooks were free, so tracing (and actor spans) still build.
    Telemetry::builder()
        .tracing(Tracing::ratio(1.0))
        .build()
        .expect("tracing without restart spans");
    Telemetry::builder()
        .tracing(Tracing::ratio(1.0).actor_spans(true))
        .build()
        .expect("actor spans: the message hooks are ours");
}
