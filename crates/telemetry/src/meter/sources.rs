//! What the sampler publishes: runtime, channel and limiter sources, and any
//! [`MetricSource`] an upper layer provides (actor mailboxes, supervisors, breakers).
//!
//! Metric names follow tokio-metrics' fields so dashboards port over: per worker
//! `nimsync_runtime_worker_{polls,steals,steal_attempts,parks,overflows}_total`,
//! `..._local_queue_depth`, `..._busy_ratio`; per runtime `nimsync_runtime_global_queue_depth`,
//! `..._alive_tasks`, `..._spawned_tasks_total`, `..._load_imbalance`, `..._blocking_*`;
//! per channel `nimsync_channel_{sent,received,dropped}_total` and `nimsync_channel_len`;
//! per limiter `nimsync_limiter_limit` and `nimsync_limiter_inflight`.
//!
//! ```
//! use nimsync_telemetry::MetricSource;
//! struct Restarts;
//! impl MetricSource for Restarts {
//!     fn publish(&self) {
//!         metrics::counter!("my_supervisor_restarts_total").absolute(3);
//!     }
//! }
//! let t = nimsync_telemetry::Telemetry::builder()
//!     .metrics(nimsync_telemetry::Metrics::prometheus().global(false))
//!     .build().unwrap();
//! t.watch(Restarts);
//! t.publish_now();
//! assert!(t.render_prometheus().unwrap().contains("my_supervisor_restarts_total 3"));
//! ```

use nimsync_backpressure::ConcurrencyLimiter;
use nimsync_core_channels::Stats;
use nimsync_scheduler::Handle;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Something the metrics sampler publishes at each tick, through the `metrics` macros
/// (they reach the telemetry's recorder while `publish` runs).
pub trait MetricSource: Send + Sync + 'static {
    /// Records the current values (gauges, absolute counters).
    fn publish(&self);
}

impl<F: Fn() + Send + Sync + 'static> MetricSource for F {
    fn publish(&self) {
        self()
    }
}

/// One sample of a channel: its counters and its current length.
///
/// ```
/// let (tx, _rx) = nimsync_core_channels::mpmc::<u8>(4);
/// let s = nimsync_telemetry::ChannelSample { stats: tx.stats(), len: tx.len() };
/// assert_eq!(s.len, 0);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ChannelSample {
    /// Sent / received / dropped counters.
    pub stats: Stats,
    /// Values in the channel now.
    pub len: usize,
}

pub(crate) struct ChannelSource<F> {
    pub(crate) name: String,
    pub(crate) sample: F,
}

impl<F: Fn() -> ChannelSample + Send + Sync + 'static> MetricSource for ChannelSource<F> {
    fn publish(&self) {
        let s = (self.sample)();
        let name = self.name.clone();
        metrics::counter!("nimsync_channel_sent_total", "channel" => name.clone())
            .absolute(s.stats.sent);
        metrics::counter!("nimsync_channel_received_total", "channel" => name.clone())
            .absolute(s.stats.received);
        metrics::counter!("nimsync_channel_dropped_total", "channel" => name.clone())
            .absolute(s.stats.dropped);
        metrics::gauge!("nimsync_channel_len", "channel" => name).set(s.len as f64);
    }
}

pub(crate) struct LimiterSource {
    pub(crate) name: String,
    pub(crate) limiter: ConcurrencyLimiter,
}

impl MetricSource for LimiterSource {
    fn publish(&self) {
        metrics::gauge!("nimsync_limiter_limit", "limiter" => self.name.clone())
            .set(self.limiter.limit() as f64);
        metrics::gauge!("nimsync_limiter_inflight", "limiter" => self.name.clone())
            .set(self.limiter.inflight() as f64);
    }
}

pub(crate) struct RuntimeSource {
    pub(crate) name: String,
    pub(crate) handle: Handle,
    /// Busy time per worker at the previous tick, to turn it into a ratio.
    pub(crate) last: Mutex<Option<(Instant, Vec<Duration>)>>,
}

impl MetricSource for RuntimeSource {
    fn publish(&self) {
        let m = self.handle.metrics();
        let rt = self.name.clone();
        let now = Instant::now();
        let previous =
            self.last.lock().ok().and_then(|mut last| {
                last.replace((now, m.workers.iter().map(|w| w.busy).collect()))
            });
        for (i, w) in m.workers.iter().enumerate() {
            let labels = [("runtime", rt.clone()), ("worker", i.to_string())];
            metrics::counter!("nimsync_runtime_worker_polls_total", &labels).absolute(w.polls);
            metrics::counter!("nimsync_runtime_worker_steals_total", &labels)
                .absolute(w.steal_successes);
            metrics::counter!("nimsync_runtime_worker_steal_attempts_total", &labels)
                .absolute(w.steal_attempts);
            metrics::counter!("nimsync_runtime_worker_parks_total", &labels).absolute(w.parks);
            metrics::counter!("nimsync_runtime_worker_overflows_total", &labels)
                .absolute(w.overflows);
            metrics::gauge!("nimsync_runtime_worker_local_queue_depth", &labels)
                .set(w.local_queue_depth as f64);
            if let Some((then, busy)) = &previous {
                let wall = now.duration_since(*then).as_secs_f64();
                let before = busy.get(i).copied().unwrap_or_default();
                if wall > 0.0 {
                    let ratio = w.busy.saturating_sub(before).as_secs_f64() / wall;
                    metrics::gauge!("nimsync_runtime_worker_busy_ratio", &labels)
                        .set(ratio.clamp(0.0, 1.0));
                }
            }
        }
        let labels = [("runtime", rt)];
        metrics::gauge!("nimsync_runtime_workers", &labels).set(m.workers.len() as f64);
        metrics::gauge!("nimsync_runtime_global_queue_depth", &labels).set(m.injector_depth as f64);
        metrics::gauge!("nimsync_runtime_alive_tasks", &labels).set(m.alive as f64);
        metrics::counter!("nimsync_runtime_spawned_tasks_total", &labels).absolute(m.spawned);
        metrics::counter!("nimsync_runtime_completed_tasks_total", &labels).absolute(m.completed);
        metrics::gauge!("nimsync_runtime_load_imbalance", &labels).set(m.load_imbalance());
        metrics::gauge!("nimsync_runtime_blocking_threads", &labels).set(m.blocking_threads as f64);
        metrics::gauge!("nimsync_runtime_blocking_queue_depth", &labels)
            .set(m.blocking_queue_depth as f64);
    }
}
