//! Sizes a stage cannot honour: every `try_*` constructor reports a `StageError` naming the
//! argument, the plain constructors panic with the same message, and huge bounds do not
//! reserve memory up front.

use std::time::Duration;

use futures_executor::block_on;
use nimsync_core_channels::BuildError;
use nimsync_streams::{StageError, StreamExt, iter, try_ticks};

fn zero(what: &'static str) -> StageError {
    StageError::Zero { what }
}

#[test]
fn every_try_constructor_rejects_zero_with_the_argument_name() {
    assert_eq!(iter(0..3).try_batch(0).unwrap_err(), zero("batch size"));
    assert_eq!(
        iter(0..3)
            .try_batch_timeout(0, Duration::from_millis(1))
            .unwrap_err(),
        zero("batch size")
    );
    let futs = || iter(0..3).map(|x| async move { x });
    assert_eq!(
        futs().try_buffered(0).unwrap_err(),
        zero("buffered concurrency")
    );
    assert_eq!(
        futs().try_buffer_unordered(0).unwrap_err(),
        zero("buffered concurrency")
    );
    assert_eq!(
        iter(0..3).try_fan_out(0).unwrap_err(),
        zero("fan_out consumers")
    );
    assert_eq!(
        iter(0..3).try_broadcast(0, 4).unwrap_err(),
        zero("broadcast consumers")
    );
    assert_eq!(
        iter(0..3).try_broadcast(2, 0).unwrap_err(),
        zero("broadcast capacity")
    );
    assert_eq!(
        iter(0..3).try_spawn_stage(0).unwrap_err(),
        zero("spawn_stage capacity")
    );
    assert_eq!(try_ticks(Duration::ZERO).unwrap_err(), zero("ticks period"));
}

#[test]
fn spawn_stage_reports_a_capacity_the_channel_cannot_build() {
    let err = iter(0..3).try_spawn_stage(usize::MAX).unwrap_err();
    assert!(matches!(
        err,
        StageError::Channel(BuildError::CapacityTooLarge {
            requested: usize::MAX
        })
    ));
    assert!(std::error::Error::source(&err).is_some());
    assert!(err.to_string().starts_with("spawn_stage hand-off channel"));
}

#[test]
fn valid_sizes_build_working_stages() {
    let batches = block_on(iter(0..5).try_batch(2).unwrap().collect_vec());
    assert_eq!(batches, [vec![0, 1], vec![2, 3], vec![4]]);
    let squares = block_on(
        iter(1..=3)
            .map(|x| async move { x * x })
            .try_buffered(2)
            .unwrap()
            .collect_vec(),
    );
    assert_eq!(squares, [1, 4, 9]);
    assert_eq!(iter(0..3).try_fan_out(2).unwrap().len(), 2);
    assert_eq!(iter(0..3).try_broadcast(3, 1).unwrap().len(), 3);
}

#[test]
fn huge_bounds_do_not_reserve_memory_up_front() {
    // A bound far beyond memory must work for a short stream (no `with_capacity(bound)`).
    let v = block_on(iter(0..3).batch(usize::MAX).collect_vec());
    assert_eq!(v, [vec![0, 1, 2]]);
    let mut subs = iter(0..2).broadcast(1, usize::MAX >> 8);
    assert_eq!(block_on(subs.pop().unwrap().collect_vec()), [0, 1]);
}

#[test]
#[should_panic(expected = "fan_out consumers must not be zero")]
fn fan_out_zero_panics_with_the_argument_name() {
    let _ = iter(0..3).fan_out(0);
}

#[test]
#[should_panic(expected = "ticks period must not be zero")]
fn ticks_zero_panics_with_the_argument_name() {
    let _ = nimsync_streams::ticks(Duration::ZERO);
}
