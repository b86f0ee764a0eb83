//! Pressure: at least 1 GiB of live allocations churned by a separate thread (1 MiB blocks
//! freed and re-allocated at random, every page touched) while a latency probe measures
//! message round trips between two tasks on the runtime. Reports P50/P99/P99.9/max; the goal
//! is P99.9 < 2 ms on an idle machine. A noisy machine only warns; far off (> 50 ms) fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nimsync_core_channels as channels;
use nimsync_scheduler::Runtime;

use crate::alloc;
use crate::config::Config;
use crate::progress::Progress;
use crate::scenario::{Outcome, Verdict};

const BLOCK: usize = 1 << 20;
/// P99.9 goal on an idle machine.
const GOAL: Duration = Duration::from_millis(2);
/// Beyond this the tail is broken, not just noisy.
const FAR_OFF: Duration = Duration::from_millis(50);

/// Round-trip latencies, sorted, in nanoseconds.
pub struct Latencies(pub Vec<u64>);

impl Latencies {
    /// The `q` quantile (0..=1) by the nearest-rank method.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((q * self.0.len() as f64).ceil() as usize).clamp(1, self.0.len());
        Duration::from_nanos(self.0[rank - 1])
    }

    /// The largest sample.
    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.0.last().copied().unwrap_or(0))
    }
}

fn touched_block(fill: u8) -> Box<[u8]> {
    let mut b = vec![0u8; BLOCK].into_boxed_slice();
    for page in b.chunks_mut(4096) {
        page[0] = fill;
    }
    b
}

/// What one pressure run measured.
pub struct PressureReport {
    /// Sorted round trips.
    pub latencies: Latencies,
    /// Bytes held live by the churn thread at its peak.
    pub held_bytes: usize,
    /// Bytes re-allocated while probing.
    pub churned_bytes: u64,
    /// Whether the probe's messages all came back in order.
    pub probe_intact: bool,
}

/// Holds `mb` MiB, churns them, and probes round trips for `probe_time`.
pub fn pressure(
    cfg: &Config,
    mb: usize,
    probe_time: Duration,
    progress: &Progress,
) -> PressureReport {
    let stop = Arc::new(AtomicBool::new(false));
    let churned = Arc::new(AtomicU64::new(0));
    let ready = Arc::new(std::sync::Barrier::new(2));
    let churner = {
        let (stop, churned, ready) = (Arc::clone(&stop), Arc::clone(&churned), Arc::clone(&ready));
        let seed = cfg.seed;
        std::thread::Builder::new()
            .name("apocalypse-churn".into())
            .spawn(move || {
                let mut rng = fastrand::Rng::with_seed(seed);
                let mut blocks: Vec<Box<[u8]>> = (0..mb).map(|i| touched_block(i as u8)).collect();
                let held = blocks.len() * BLOCK;
                ready.wait();
                while !stop.load(Ordering::Relaxed) && !blocks.is_empty() {
                    let i = rng.usize(..blocks.len());
                    blocks[i] = touched_block(rng.u8(..));
                    churned.fetch_add(BLOCK as u64, Ordering::Relaxed);
                }
                held
            })
            .expect("spawn the churn thread")
    };
    ready.wait();
    let rt = Runtime::builder()
        .workers(cfg.workers)
        .build()
        .expect("the runtime builds with a positive worker count");
    let (samples, intact) = rt.block_on(probe(probe_time, progress));
    drop(rt);
    stop.store(true, Ordering::Relaxed);
    let held_bytes = churner.join().unwrap_or(0);
    let mut samples = samples;
    samples.sort_unstable();
    PressureReport {
        latencies: Latencies(samples),
        held_bytes,
        churned_bytes: churned.load(Ordering::Relaxed),
        probe_intact: intact,
    }
}

/// Ping-pong between the caller and a spawned echo task over two SPSC channels of capacity 1.
async fn probe(time: Duration, progress: &Progress) -> (Vec<u64>, bool) {
    let (mut ping_tx, mut ping_rx) = channels::spsc::<u64>(1);
    let (mut pong_tx, mut pong_rx) = channels::spsc::<u64>(1);
    let echo = nimsync_scheduler::spawn(async move {
        while let Ok(v) = ping_rx.recv().await {
            if pong_tx.send(v).await.is_err() {
                break;
            }
        }
    });
    let mut samples = Vec::with_capacity(1 << 20);
    let mut intact = true;
    let start = Instant::now();
    let mut i = 0u64;
    while start.elapsed() < time {
        let t0 = Instant::now();
        if ping_tx.send(i).await.is_err() {
            intact = false;
            break;
        }
        match pong_rx.recv().await {
            Ok(v) if v == i => {}
            _ => {
                intact = false;
                break;
            }
        }
        samples.push(t0.elapsed().as_nanos() as u64);
        i += 1;
        if i.is_multiple_of(1024) {
            progress.set(start.elapsed().as_millis() as u64);
        }
    }
    drop(ping_tx);
    intact &= echo.await.is_ok();
    (samples, intact)
}

/// The pressure scenario.
pub fn run(cfg: &Config, progress: &Arc<Progress>) -> (Outcome, Latencies) {
    let mut out = Outcome::new("pressure");
    let started = Instant::now();
    let probe_time = cfg.pressure_time();
    progress.begin("pressure", probe_time.as_millis() as u64);
    alloc::reset_peak();
    let report = pressure(cfg, cfg.pressure_mb, probe_time, progress);
    out.elapsed = started.elapsed();
    let l = &report.latencies;
    let (p50, p99, p999, max) = (
        l.quantile(0.5),
        l.quantile(0.99),
        l.quantile(0.999),
        l.max(),
    );
    out.figure("live allocations held (MiB)", report.held_bytes >> 20);
    out.figure("peak live bytes (MiB)", alloc::peak_bytes() >> 20);
    out.figure("churned (MiB)", report.churned_bytes >> 20);
    out.figure("round trips", l.0.len());
    out.figure("P50", format!("{p50:.2?}"));
    out.figure("P99", format!("{p99:.2?}"));
    out.figure("P99.9", format!("{p999:.2?}"));
    out.figure("max", format!("{max:.2?}"));
    out.check(
        "the configured live allocations were held and churned",
        report.held_bytes >= cfg.pressure_mb * BLOCK && report.churned_bytes > 0,
        format!(
            "held {} MiB, churned {} MiB",
            report.held_bytes >> 20,
            report.churned_bytes >> 20
        ),
    );
    out.check(
        "every probe message came back, in order",
        report.probe_intact && !l.0.is_empty(),
        format!("{} round trips", l.0.len()),
    );
    let verdict = if p999 < GOAL {
        Verdict::Pass
    } else if p999 < FAR_OFF {
        Verdict::Warn
    } else {
        Verdict::Fail
    };
    out.check_verdict(
        "P99.9 round trip < 2 ms (warn up to 50 ms on a noisy machine)",
        verdict,
        format!("P50 {p50:.2?}, P99 {p99:.2?}, P99.9 {p999:.2?}, max {max:.2?}"),
    );
    (out, report.latencies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let l = Latencies((1..=1000).collect());
        assert_eq!(l.quantile(0.5), Duration::from_nanos(500));
        assert_eq!(l.quantile(0.99), Duration::from_nanos(990));
        assert_eq!(l.quantile(0.999), Duration::from_nanos(999));
        assert_eq!(l.max(), Duration::from_nanos(1000));
        assert_eq!(Latencies(vec![]).quantile(0.5), Duration::ZERO);
    }
}
