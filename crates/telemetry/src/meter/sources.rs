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

use metrics::{Counter, Gauge};
use nimsync_backpressure::ConcurrencyLimiter;
use nimsync_core_channels::Stats;
use nimsync_scheduler::Handle;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Something the metrics sampler publishes at each tick, through the `metrics` macros
/// (they reach the telemetry's recorder while `publish` runs). Any `Fn()` is one.
///
/// Sources run outside the sampler's own locks: one may [`watch`](crate::Telemetry::watch)
/// another (published from the next tick on). A source that panics loses that tick only.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use nimsync_telemetry::MetricSource;
/// struct QueueDepth(AtomicU64);
/// impl MetricSource for QueueDepth {
///     fn publish(&self) {
///         metrics::gauge!("jobs_queued").set(self.0.load(Ordering::Relaxed) as f64);
///     }
/// }
/// let t = nimsync_telemetry::Telemetry::builder()
///     .metrics(nimsync_telemetry::Metrics::prometheus().global(false)).build().unwrap();
/// t.watch(QueueDepth(AtomicU64::new(7)));
/// t.publish_now();
/// assert!(t.render_prometheus().unwrap().contains("jobs_queued 7"));
/// ```
pub trait MetricSource: Send + Sync + 'static {
    /// Records the current values (gauges, absolute counters).
    ///
    /// ```
    /// use nimsync_telemetry::MetricSource;
    /// let answer = || metrics::gauge!("answer").set(42.0);
    /// answer.publish(); // no recorder in scope here: a no-op
    /// ```
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
    /// The metric handles, registered at the first tick (a source is only ever published
    /// through its telemetry's recorder): later ticks store values, with no key building,
    /// label allocation or registry look-up.
    pub(crate) handles: OnceLock<RuntimeHandles>,
}

/// One worker's metric handles.
pub(crate) struct WorkerHandles {
    polls: Counter,
    steals: Counter,
    steal_attempts: Counter,
    parks: Counter,
    overflows: Counter,
    local_queue_depth: Gauge,
    busy_ratio: Gauge,
}

/// A runtime's metric handles.
pub(crate) struct RuntimeHandles {
    workers: Vec<WorkerHandles>,
    worker_count: Gauge,
    global_queue_depth: Gauge,
    alive_tasks: Gauge,
    spawned_tasks: Counter,
    completed_tasks: Counter,
    load_imbalance: Gauge,
    blocking_threads: Gauge,
    blocking_queue_depth: Gauge,
}

impl RuntimeHandles {
    fn register(rt: &str, workers: usize) -> RuntimeHandles {
        let workers = (0..workers)
            .map(|i| {
                let labels = [("runtime", rt.to_string()), ("worker", i.to_string())];
                WorkerHandles {
                    polls: metrics::counter!("nimsync_runtime_worker_polls_total", &labels),
                    steals: metrics::counter!("nimsync_runtime_worker_steals_total", &labels),
                    steal_attempts: metrics::counter!(
                        "nimsync_runtime_worker_steal_attempts_total",
                        &labels
                    ),
                    parks: metrics::counter!("nimsync_runtime_worker_parks_total", &labels),
                    overflows: metrics::counter!("nimsync_runtime_worker_overflows_total", &labels),
                    local_queue_depth: metrics::gauge!(
                        "nimsync_runtime_worker_local_queue_depth",
                        &labels
                    ),
                    busy_ratio: metrics::gauge!("nimsync_runtime_worker_busy_ratio", &labels),
                }
            })
            .collect();
        let labels = [("runtime", rt.to_string())];
        RuntimeHandles {
            workers,
            worker_count: metrics::gauge!("nimsync_runtime_workers", &labels),
            global_queue_depth: metrics::gauge!("nimsync_runtime_global_queue_depth", &labels),
            alive_tasks: metrics::gauge!("nimsync_runtime_alive_tasks", &labels),
            spawned_tasks: metrics::counter!("nimsync_runtime_spawned_tasks_total", &labels),
            completed_tasks: metrics::counter!("nimsync_runtime_completed_tasks_total", &labels),
            load_imbalance: metrics::gauge!("nimsync_runtime_load_imbalance", &labels),
            blocking_threads: metrics::gauge!("nimsync_runtime_blocking_threads", &labels),
            blocking_queue_depth: metrics::gauge!("nimsync_runtime_blocking_queue_depth", &labels),
        }
    }
}

impl MetricSource for RuntimeSource {
    fn publish(&self) {
        let m = self.handle.metrics();
        let h = self
            .handles
            .get_or_init(|| RuntimeHandles::register(&self.name, m.workers.len()));
        let now = Instant::now();
        let previous =
            self.last.lock().ok().and_then(|mut last| {
                last.replace((now, m.workers.iter().map(|w| w.busy).collect()))
            });
        for (i, (w, wh)) in m.workers.iter().zip(&h.workers).enumerate() {
            wh.polls.absolute(w.polls);
            wh.steals.absolute(w.steal_successes);
            wh.steal_attempts.absolute(w.steal_attempts);
            wh.parks.absolute(w.parks);
            wh.overflows.absolute(w.overflows);
            wh.local_queue_depth.set(w.local_queue_depth as f64);
            if let Some((then, busy)) = &previous {
                let wall = now.duration_since(*then).as_secs_f64();
                let before = busy.get(i).copied().unwrap_or_default();
                if wall > 0.0 {
                    let ratio = w.busy.saturating_sub(before).as_secs_f64() / wall;
                    wh.busy_ratio.set(ratio.clamp(0.0, 1.0));
                }
            }
        }
        h.worker_count.set(m.workers.len() as f64);
        h.global_queue_depth.set(m.injector_depth as f64);
        h.alive_tasks.set(m.alive as f64);
        h.spawned_tasks.absolute(m.spawned);
        h.completed_tasks.absolute(m.completed);
        h.load_imbalance.set(m.load_imbalance());
        h.blocking_threads.set(m.blocking_threads as f64);
        h.blocking_queue_depth.set(m.blocking_queue_depth as f64);
    }
}
