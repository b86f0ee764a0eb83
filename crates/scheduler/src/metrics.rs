//! Runtime metrics: per-worker counters and a point-in-time snapshot.
//!
//! Each worker writes only its own counters, relaxed atomics on its own cache-padded block
//! (no shared hot cache line); spawn/completion counts live in the per-worker registry
//! shards. [`Runtime::metrics`](crate::Runtime::metrics) reads everything into a
//! [`RuntimeMetrics`] snapshot.
//!
//! ```
//! let rt = nimsync_scheduler::Runtime::builder().workers(2).build().unwrap();
//! rt.block_on(async { nimsync_scheduler::spawn(async {}).await.unwrap() });
//! let m = rt.metrics();
//! assert_eq!(m.workers.len(), 2);
//! assert!(m.spawned >= 1);
//! assert!(m.total_polls() >= 1);
//! ```

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// Live counters of one worker (internal).
#[derive(Debug, Default)]
pub(crate) struct WorkerMetrics {
    pub(crate) polls: AtomicU64,
    pub(crate) lifo_polls: AtomicU64,
    pub(crate) steal_attempts: AtomicU64,
    pub(crate) steal_successes: AtomicU64,
    pub(crate) parks: AtomicU64,
    pub(crate) busy_ns: AtomicU64,
    pub(crate) overflows: AtomicU64,
    /// Tasks of other shards this worker finished and whose registry removal it batched.
    pub(crate) deferred_removals: AtomicU64,
    /// The core the worker is pinned to, plus one (0: not pinned).
    pub(crate) pinned_core: AtomicUsize,
}

/// Snapshot of one worker's counters (cumulative since the runtime started).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerStats {
    /// Task polls run by this worker (including LIFO-slot polls).
    pub polls: u64,
    /// Of `polls`, those taken from the LIFO slot.
    pub lifo_polls: u64,
    /// Stealing rounds (one round tries every victim).
    pub steal_attempts: u64,
    /// Rounds that stole at least one task.
    pub steal_successes: u64,
    /// Times the worker parked.
    pub parks: u64,
    /// Time spent out of park (running or searching), updated when the worker parks.
    pub busy: Duration,
    /// Times the local queue overflowed and spilled half to the injector.
    pub overflows: u64,
    /// Tasks in the local queue right now.
    pub local_queue_depth: usize,
    /// The core this worker is pinned to ([`Builder::pin_cores`](crate::Builder::pin_cores)),
    /// `None` when it is not: pinning off, no core for it in the placement, or the operating
    /// system refused (e.g. a core outside the process's allowed CPU set).
    pub pinned_core: Option<usize>,
}

/// Snapshot of a runtime's metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeMetrics {
    /// Per-worker counters.
    pub workers: Vec<WorkerStats>,
    /// Tasks waiting in the global injector.
    pub injector_depth: usize,
    /// Tasks spawned (not counting `spawn_blocking`).
    pub spawned: u64,
    /// Tasks that ended (completed, panicked or cancelled).
    pub completed: u64,
    /// Tasks alive now (spawned and not yet ended).
    pub alive: usize,
    /// Threads in the blocking pool.
    pub blocking_threads: usize,
    /// Idle threads in the blocking pool.
    pub blocking_idle_threads: usize,
    /// Blocking jobs waiting for a thread.
    pub blocking_queue_depth: usize,
}

impl WorkerMetrics {
    pub(crate) fn snapshot(&self, local_queue_depth: usize) -> WorkerStats {
        WorkerStats {
            polls: self.polls.load(Ordering::Relaxed),
            lifo_polls: self.lifo_polls.load(Ordering::Relaxed),
            steal_attempts: self.steal_attempts.load(Ordering::Relaxed),
            steal_successes: self.steal_successes.load(Ordering::Relaxed),
            parks: self.parks.load(Ordering::Relaxed),
            busy: Duration::from_nanos(self.busy_ns.load(Ordering::Relaxed)),
            overflows: self.overflows.load(Ordering::Relaxed),
            local_queue_depth,
            pinned_core: self.pinned_core.load(Ordering::Relaxed).checked_sub(1),
        }
    }
}

impl RuntimeMetrics {
    /// Sum of all workers' polls.
    pub fn total_polls(&self) -> u64 {
        self.workers.iter().map(|w| w.polls).sum()
    }

    /// Load imbalance across workers, from their poll counts:
    ///
    /// `imbalance = (max_i polls_i − mean polls) / mean polls`
    ///
    /// `0.0` means perfectly balanced (or no polls yet, or one worker); `n − 1` (for `n`
    /// workers) means one worker did everything.
    ///
    /// ```
    /// let m = nimsync_scheduler::RuntimeMetrics::default();
    /// assert_eq!(m.load_imbalance(), 0.0);
    /// ```
    pub fn load_imbalance(&self) -> f64 {
        imbalance(self.workers.iter().map(|w| w.polls as f64))
    }

    /// The same formula over busy time instead of polls.
    pub fn busy_imbalance(&self) -> f64 {
        imbalance(self.workers.iter().map(|w| w.busy.as_secs_f64()))
    }
}

fn imbalance(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let n = values.clone().count();
    if n < 2 {
        return 0.0;
    }
    let sum: f64 = values.clone().sum();
    if sum <= 0.0 {
        return 0.0;
    }
    let mean = sum / n as f64;
    let max = values.fold(0.0f64, f64::max);
    (max - mean) / mean
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_polls(p: &[u64]) -> RuntimeMetrics {
        RuntimeMetrics {
            workers: p
                .iter()
                .map(|&polls| WorkerStats {
                    polls,
                    ..WorkerStats::default()
                })
                .collect(),
            ..RuntimeMetrics::default()
        }
    }

    #[test]
    fn imbalance_formula() {
        assert_eq!(with_polls(&[10, 10]).load_imbalance(), 0.0);
        assert_eq!(with_polls(&[20, 0]).load_imbalance(), 1.0);
        assert_eq!(with_polls(&[30, 0, 0]).load_imbalance(), 2.0);
        assert_eq!(with_polls(&[0, 0]).load_imbalance(), 0.0);
        assert_eq!(with_polls(&[5]).load_imbalance(), 0.0);
    }
}
