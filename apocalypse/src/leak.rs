//! Leak proof: after a runtime that ran a swarm and a chaos round has shut down, the bytes
//! outstanding in the counting allocator are exactly what they were before it started.
//!
//! Process-global statics that are built lazily on first use (the main thread's handle, the
//! panic machinery's buffers, ...) would look like leaks, so a full warm-up round runs first
//! and the baseline is taken after it; anything allocated during the warm-up and kept is such
//! a static, and is reported separately.
//!
//! One process-global is flushed rather than excluded: crossbeam-deque (under the scheduler's
//! work-stealing queues) frees replaced deque buffers through crossbeam-epoch's deferred
//! garbage, which any later thread may collect. Before each count the epoch is advanced and
//! its garbage collected, so a count sees what is really still allocated.

use std::sync::Arc;
use std::time::Instant;

use crate::alloc;
use crate::chaos::chaos_round;
use crate::config::Config;
use crate::progress::Progress;
use crate::scenario::Outcome;
use crate::swarm::swarm;

/// Builds, runs and drops a runtime with a swarm, then a chaos round and a supervised-actor
/// round (each on a runtime of its own). Returns whether both
/// were clean; everything else it allocated is dropped before it returns.
fn one_round(cfg: &Config, seed: u64, progress: &Arc<Progress>) -> bool {
    let swarm_ok = {
        let rt = match nimsync_scheduler::Runtime::builder()
            .workers(cfg.workers)
            .build()
        {
            Ok(rt) => rt,
            Err(_) => return false,
        };
        let report = swarm(&rt, cfg, 10_000, progress);
        let ok = report.exactly_once && report.group_error.is_none();
        drop(report);
        drop(rt);
        ok
    };
    let chaos_ok = {
        let report = chaos_round(cfg, seed, cfg.chaos_tasks() / 2, progress);
        report.wrong_endings == 0 && report.live_after_shutdown == 0
    };
    let actors_ok = {
        let (askers, per_asker) = cfg.actor_chaos_size();
        let r = crate::actors::supervised_round(cfg, seed, askers, per_asker);
        r.wrong == 0 && r.alive_after_stop == 0
    };
    swarm_ok && chaos_ok && actors_ok
}

/// The leak-proof scenario.
pub fn run(cfg: &Config, progress: &Arc<Progress>) -> Outcome {
    let mut out = Outcome::new("leak");
    let started = Instant::now();
    progress.begin(
        "leak",
        2 * (crate::swarm::estimate_messages(cfg, 10_000) + cfg.chaos_tasks() / 2) as u64,
    );
    let at_start = alloc::live_bytes();
    let warm_ok = one_round(cfg, cfg.seed, progress);
    collect_epoch_garbage();
    let baseline = alloc::live_bytes();
    let allocs_before = alloc::allocations();
    let measured_ok = one_round(cfg, cfg.seed.wrapping_add(1), progress);
    collect_epoch_garbage();
    let after = alloc::live_bytes();
    let allocs = alloc::allocations() - allocs_before;
    out.elapsed = started.elapsed();
    out.figure(
        "lazy statics kept by the warm-up (bytes)",
        baseline as i64 - at_start as i64,
    );
    out.figure("allocations in the measured round", allocs);
    out.figure(
        "bytes outstanding after shutdown",
        after as i64 - baseline as i64,
    );
    out.check(
        "both rounds ran clean",
        warm_ok && measured_ok,
        format!("warm-up {}, measured {}", ok(warm_ok), ok(measured_ok)),
    );
    out.check(
        "0 bytes outstanding after the runtime shut down",
        after == baseline,
        format!("{} bytes before, {} after", baseline, after),
    );
    out
}

/// Advances crossbeam-epoch's global epoch a few times from this thread (no other thread is
/// pinned now: the runtimes are gone), which frees all deferred garbage.
pub fn collect_epoch_garbage() {
    for _ in 0..8 {
        crossbeam_epoch::pin().flush();
    }
}

fn ok(b: bool) -> &'static str {
    if b { "clean" } else { "NOT clean" }
}
