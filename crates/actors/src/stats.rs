//! Per-actor statistics: messages handled, mailbox depth, and a handle-time histogram.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Buckets of the handle-time histogram: bucket `i` holds durations in `[2^i, 2^(i+1))` ns
/// (bucket 0 also holds 0 ns); the last one is open-ended (≥ ~9 minutes).
pub const HISTOGRAM_BUCKETS: usize = 40;

/// Counters written by the actor's own task (single writer: plain loads and stores).
pub(crate) struct StatsCell {
    handled: AtomicU64,
    restarts: AtomicU64,
    buckets: [AtomicU64; HISTOGRAM_BUCKETS],
    timed_sum_ns: AtomicU64,
}

impl StatsCell {
    pub(crate) fn new() -> Self {
        StatsCell {
            handled: AtomicU64::new(0),
            restarts: AtomicU64::new(0),
            buckets: [const { AtomicU64::new(0) }; HISTOGRAM_BUCKETS],
            timed_sum_ns: AtomicU64::new(0),
        }
    }

    /// Adds `n` handled messages (only the running actor task calls this).
    #[inline]
    pub(crate) fn add_handled(&self, n: u64) {
        let v = self.handled.load(Ordering::Relaxed);
        self.handled.store(v + n, Ordering::Relaxed);
    }

    /// Counts one more run of the actor after the first (a restart).
    pub(crate) fn add_restart(&self) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
    }

    /// Records one timed handler run (single writer).
    pub(crate) fn record(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let bucket = (63 - ns.max(1).leading_zeros() as usize).min(HISTOGRAM_BUCKETS - 1);
        let b = &self.buckets[bucket];
        b.store(b.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        let s = self.timed_sum_ns.load(Ordering::Relaxed);
        self.timed_sum_ns
            .store(s.saturating_add(ns), Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, mailbox_depth: usize) -> ActorStats {
        ActorStats {
            messages_handled: self.handled.load(Ordering::Relaxed),
            mailbox_depth,
            restarts: self.restarts.load(Ordering::Relaxed),
            handle_time: HandleTimeHistogram {
                buckets: core::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed)),
                sum_ns: self.timed_sum_ns.load(Ordering::Relaxed),
            },
        }
    }
}

/// A snapshot of an actor's statistics ([`ActorRef::stats`](crate::ActorRef::stats)).
///
/// ```
/// use nimsync_actors::{Actor, ActorBuilder, Context};
/// struct Nop;
/// impl Actor for Nop { type Msg = u32; async fn handle(&mut self, _: u32, _: &mut Context<Self>) {} }
/// nimsync_scheduler::block_on(async {
///     let a = ActorBuilder::new().sample_handle_time(1).spawn(Nop).unwrap();
///     for i in 0..10 { a.tell(i).await.unwrap(); }
///     a.stop();
///     a.wait_terminated().await;
///     let s = a.stats();
///     assert_eq!(s.messages_handled, 10);
///     assert_eq!(s.handle_time.count(), 10); // every message timed
/// });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorStats {
    /// Messages handled so far (user and priority messages; across restarts).
    pub messages_handled: u64,
    /// Messages waiting in the user mailbox right now.
    pub mailbox_depth: usize,
    /// Runs after the first one (supervised restarts).
    pub restarts: u64,
    /// Handler durations of the sampled messages (see
    /// [`ActorBuilder::sample_handle_time`](crate::ActorBuilder::sample_handle_time)).
    pub handle_time: HandleTimeHistogram,
}

/// A log2-bucketed histogram of handler durations in nanoseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandleTimeHistogram {
    /// `buckets[i]` counts durations in `[2^i, 2^(i+1))` ns.
    pub buckets: [u64; HISTOGRAM_BUCKETS],
    /// Sum of the recorded durations, in ns.
    pub sum_ns: u64,
}

impl HandleTimeHistogram {
    /// Recorded durations.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// Mean recorded duration (zero when empty).
    pub fn mean(&self) -> Duration {
        match self.count() {
            0 => Duration::ZERO,
            n => Duration::from_nanos(self.sum_ns / n),
        }
    }

    /// An upper bound of the `q` quantile (`0.0..=1.0`): the top of the bucket that holds it
    /// (so within a factor of two). `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.buckets.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(Duration::from_nanos(1u64 << (i + 1).min(63)));
            }
        }
        None
    }
}
