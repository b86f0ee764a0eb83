//! Endurance: swarm, chaos and a lighter pressure round in a loop for `--duration`, with the
//! allocator's live bytes and the RSS sampled over time. Memory must stay flat: after every
//! round (its runtimes dropped) the live bytes return to the level after the first round.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::alloc;
use crate::chaos::chaos_round;
use crate::config::Config;
use crate::pressure::pressure;
use crate::progress::Progress;
use crate::scenario::Outcome;
use crate::swarm::swarm;

/// One memory sample.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct MemorySample {
    /// Seconds since the scenario started.
    pub t: f64,
    /// Bytes live in the counting allocator.
    pub live: usize,
    /// Resident set size.
    pub rss: usize,
}

/// Live bytes may differ between rounds by this much (allocator-internal rounding, the
/// sampler's own short-lived buffers).
const FLAT_TOLERANCE: usize = 1 << 20;

/// Memory samples kept (at 4 per second: about 68 minutes before the first thinning).
const MAX_SAMPLES: usize = 1 << 14;

/// The endurance scenario; returns the memory samples for the report's plot.
pub fn run(cfg: &Config, progress: &Arc<Progress>) -> (Outcome, Vec<MemorySample>) {
    let mut out = Outcome::new("endurance");
    let started = Instant::now();
    progress.begin("endurance", cfg.duration.as_secs().max(1));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = Arc::clone(&stop);
        let progress = Arc::clone(progress);
        std::thread::Builder::new()
            .name("apocalypse-sampler".into())
            .spawn(move || {
                // Fixed capacity, so the samples never change the live bytes being compared;
                // when full, every other sample is dropped (in place) and sampling goes on.
                let mut samples = Vec::with_capacity(MAX_SAMPLES);
                while !stop.load(Ordering::Relaxed) {
                    if samples.len() == MAX_SAMPLES {
                        let mut i = 0;
                        samples.retain(|_| {
                            i += 1;
                            i % 2 == 1
                        });
                    }
                    let t = started.elapsed();
                    progress.set(t.as_secs());
                    samples.push(MemorySample {
                        t: t.as_secs_f64(),
                        live: alloc::live_bytes(),
                        rss: alloc::rss_bytes(),
                    });
                    // A sampling period, not synchronisation.
                    std::thread::sleep(Duration::from_millis(250));
                }
                samples
            })
            .expect("spawn the sampler thread")
    };
    let mut rounds = 0usize;
    let mut failures = Vec::new();
    let mut after_round = Vec::new();
    let mut messages = 0usize;
    let mut worst_p999 = Duration::ZERO;
    while started.elapsed() < cfg.duration {
        let seed = cfg.seed.wrapping_add(rounds as u64);
        match nimsync_scheduler::Runtime::builder()
            .workers(cfg.workers)
            .build()
        {
            Ok(rt) => {
                let report = swarm(&rt, cfg, 10_000, progress);
                messages += report.messages;
                if !report.exactly_once || report.group_error.is_some() {
                    failures.push(format!("round {rounds}: swarm {}", report.summary));
                }
            }
            Err(e) => failures.push(format!("round {rounds}: runtime: {e}")),
        }
        let chaos = chaos_round(cfg, seed, cfg.chaos_tasks() / 4, progress);
        if chaos.wrong_endings != 0 || chaos.live_after_join != 0 {
            failures.push(format!(
                "round {rounds}: chaos: {} wrong endings, {} live after join",
                chaos.wrong_endings, chaos.live_after_join
            ));
        }
        let (askers, per_asker) = cfg.actor_chaos_size();
        let actors = crate::actors::supervised_round(cfg, seed, askers / 2, per_asker);
        if actors.wrong != 0 || actors.alive_after_stop != 0 {
            failures.push(format!(
                "round {rounds}: supervised actors: {} wrong, {} alive after stop",
                actors.wrong, actors.alive_after_stop
            ));
        }
        let pressure = pressure(
            cfg,
            (cfg.pressure_mb / 8).max(1),
            Duration::from_millis(500),
            progress,
        );
        worst_p999 = worst_p999.max(pressure.latencies.quantile(0.999));
        if !pressure.probe_intact {
            failures.push(format!("round {rounds}: pressure probe lost a message"));
        }
        crate::leak::collect_epoch_garbage();
        after_round.push(alloc::live_bytes());
        rounds += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let samples = sampler.join().unwrap_or_default();
    out.elapsed = started.elapsed();
    let first = after_round.first().copied().unwrap_or(0);
    let (lo, hi) = (
        after_round.iter().copied().min().unwrap_or(0),
        after_round.iter().copied().max().unwrap_or(0),
    );
    let rss_first = samples.first().map_or(0, |s| s.rss);
    let rss_peak = samples.iter().map(|s| s.rss).max().unwrap_or(0);
    out.figure("rounds", rounds);
    out.figure("swarm messages", messages);
    out.figure("worst pressure P99.9", format!("{worst_p999:.2?}"));
    out.figure("live bytes after round 1", first);
    out.figure("live bytes range over rounds", hi - lo);
    out.figure(
        "RSS first / peak (MiB)",
        format!("{} / {}", rss_first >> 20, rss_peak >> 20),
    );
    out.check(
        "every round clean",
        failures.is_empty() && rounds > 0,
        if failures.is_empty() {
            format!("{rounds} rounds")
        } else {
            failures
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        },
    );
    out.check(
        "memory flat: live bytes after each round within 1 MiB",
        hi - lo <= FLAT_TOLERANCE,
        format!("min {lo}, max {hi} bytes over {rounds} rounds"),
    );
    (out, samples)
}
