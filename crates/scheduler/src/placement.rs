//! Worker placement: which core a worker is pinned to and how "far" two workers are.
//!
//! The scheduler asks a [`Placement`] for each worker's core (used when pinning is on) and for
//! the distance between workers, which orders the victims a thief tries: nearest first (e.g.
//! same L3 cache or NUMA node), with a random start among equals. The NUMA layer implements
//! this trait from the detected topology; the default treats every worker as equally near.
//!
//! ```
//! use nimsync_scheduler::{Placement, Runtime};
//!
//! /// Two "nodes": even and odd workers.
//! struct EvenOdd;
//! impl Placement for EvenOdd {
//!     fn core_for_worker(&self, worker: usize, _workers: usize) -> Option<usize> {
//!         Some(worker)
//!     }
//!     fn distance(&self, a: usize, b: usize) -> u32 {
//!         if a % 2 == b % 2 { 10 } else { 20 }
//!     }
//! }
//! let rt = Runtime::builder().workers(2).placement(EvenOdd).build().unwrap();
//! assert_eq!(rt.block_on(async { 1 }), 1);
//! ```

/// Decides worker-to-core placement and the stealing order (see the module docs).
pub trait Placement: Send + Sync + 'static {
    /// The core (as numbered by the OS, like `core_affinity::CoreId::id`) worker `worker` of
    /// `workers` should be pinned to, or `None` to leave it unpinned. Only used when
    /// `Builder::pin_cores(true)`.
    fn core_for_worker(&self, worker: usize, workers: usize) -> Option<usize>;

    /// Distance between two workers (smaller is nearer). Thieves try nearer victims first.
    fn distance(&self, from: usize, to: usize) -> u32 {
        let _ = (from, to);
        0
    }

    /// Distance between two workers of a runtime with `workers` workers; this is what the
    /// scheduler calls. The default ignores `workers` and returns [`distance`](Self::distance).
    /// Override it when the answer depends on the worker count, as for a placement that
    /// splits the workers into equal per-node groups (worker `i` of 4 and of 8 may sit on
    /// different nodes).
    ///
    /// ```
    /// use nimsync_scheduler::Placement;
    /// /// Lower half of the workers on one node, upper half on the other.
    /// struct Halves;
    /// impl Placement for Halves {
    ///     fn core_for_worker(&self, _: usize, _: usize) -> Option<usize> {
    ///         None
    ///     }
    ///     fn worker_distance(&self, a: usize, b: usize, workers: usize) -> u32 {
    ///         if (a < workers / 2) == (b < workers / 2) { 10 } else { 20 }
    ///     }
    /// }
    /// assert_eq!(Halves.worker_distance(1, 2, 4), 20);
    /// assert_eq!(Halves.worker_distance(1, 2, 8), 10);
    /// ```
    fn worker_distance(&self, from: usize, to: usize, workers: usize) -> u32 {
        let _ = workers;
        self.distance(from, to)
    }
}

/// The default placement: worker `i` on the `i`-th available core (round robin), all workers
/// equally near.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoundRobin;

impl Placement for RoundRobin {
    fn core_for_worker(&self, worker: usize, _workers: usize) -> Option<usize> {
        let cores = core_affinity::get_core_ids()?;
        if cores.is_empty() {
            return None;
        }
        Some(cores[worker % cores.len()].id)
    }
}

/// Groups the other workers by distance from `me`, nearest group first.
pub(crate) fn victim_groups(
    placement: &dyn Placement,
    me: usize,
    workers: usize,
) -> Vec<Vec<usize>> {
    let mut others: Vec<(u32, usize)> = (0..workers)
        .filter(|&w| w != me)
        .map(|w| (placement.worker_distance(me, w, workers), w))
        .collect();
    others.sort();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut last = None;
    for (d, w) in others {
        if last != Some(d) {
            groups.push(Vec::new());
            last = Some(d);
        }
        if let Some(g) = groups.last_mut() {
            g.push(w);
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Line;
    impl Placement for Line {
        fn core_for_worker(&self, _: usize, _: usize) -> Option<usize> {
            None
        }
        fn distance(&self, a: usize, b: usize) -> u32 {
            a.abs_diff(b) as u32
        }
    }

    /// Two equal halves: the distance depends on the worker count.
    struct Halves;
    impl Placement for Halves {
        fn core_for_worker(&self, _: usize, _: usize) -> Option<usize> {
            None
        }
        fn worker_distance(&self, a: usize, b: usize, workers: usize) -> u32 {
            if (a < workers / 2) == (b < workers / 2) {
                10
            } else {
                20
            }
        }
    }

    #[test]
    fn groups_use_the_worker_count() {
        assert_eq!(victim_groups(&Halves, 0, 4), vec![vec![1], vec![2, 3]]);
        assert_eq!(
            victim_groups(&Halves, 0, 6),
            vec![vec![1, 2], vec![3, 4, 5]]
        );
        // The default `worker_distance` forwards to `distance`.
        assert_eq!(Line.worker_distance(0, 3, 100), 3);
    }

    #[test]
    fn groups_by_distance() {
        assert_eq!(victim_groups(&Line, 2, 5), vec![vec![1, 3], vec![0, 4]]);
        assert_eq!(victim_groups(&RoundRobin, 0, 3), vec![vec![1, 2]]);
        assert!(victim_groups(&RoundRobin, 0, 1).is_empty());
    }
}
