//! The global `metrics` recorder of a telemetry built with `Metrics::global(true)` (the
//! default): set while the telemetry lives, cleared when it is dropped (regression test of the
//! 6th review: the dropped telemetry's recorder stayed installed with nobody running its
//! upkeep, so records piled up, and no telemetry with global metrics could be built again).
//!
//! One test in its own binary: the global recorder is per process.

use std::time::Duration;

use nimsync_telemetry::{BuildError, Metrics, Telemetry};

fn global() -> Result<Telemetry, BuildError> {
    Telemetry::builder()
        .metrics(Metrics::prometheus().interval(Duration::from_secs(3600)))
        .build()
}

#[test]
fn a_dropped_telemetry_releases_the_global_recorder() {
    let a = global().unwrap();
    let kept = metrics::histogram!("kept_seconds");
    kept.record(0.001);
    metrics::counter!("a_total").increment(1);
    let text = a.render_prometheus().unwrap();
    assert!(text.contains("kept_seconds_count 1"), "{text}");
    assert!(text.contains("a_total 1"), "{text}");
    // One telemetry holds the global recorder at a time.
    assert!(matches!(global(), Err(BuildError::RecorderInstalled)));

    drop(a);
    // Registered after the drop: no-ops (nothing would render or drain them).
    let late = metrics::histogram!("late_seconds");
    for _ in 0..1000 {
        kept.record(0.001);
        late.record(0.001);
        metrics::counter!("late_total").increment(1);
    }

    // A new telemetry takes the global recorder over.
    let b = global().unwrap();
    late.record(0.001);
    kept.record(0.001);
    metrics::counter!("b_total").increment(1);
    metrics::histogram!("b_seconds").record(0.001);
    let text = b.render_prometheus().unwrap();
    assert!(text.contains("b_total 1"), "{text}");
    assert!(text.contains("b_seconds_count 1"), "{text}");
    for gone in ["late_seconds", "late_total", "kept_seconds", "a_total"] {
        assert!(!text.contains(gone), "{gone} in {text}");
    }
    drop(b);
    drop(global().unwrap());
}
