//! Idle-worker bookkeeping: who is parked, how many workers are searching for work.
//!
//! One atomic word packs `num_searching` (low 16 bits) and `num_unparked` (the rest), as in
//! tokio's `multi_thread/idle.rs`. The rules:
//!
//! * a worker may start *searching* (stealing) only while `2 * searching < workers` (when the
//!   throttle is on), so wake-ups do not thunder;
//! * a producer that made work available calls [`Idle::notify_parked`]: it wakes one sleeper,
//!   and only when nobody is searching (a searcher will find the work) and somebody sleeps;
//!   the woken worker starts in the searching state;
//! * a searcher that finds work calls [`Idle::transition_worker_from_searching`]; if it was the
//!   last searcher it wakes another sleeper (so work spreads as a chain, not a thunder);
//! * a worker that parks calls [`Idle::transition_worker_to_parked`]; if it was the last
//!   searcher it must re-scan every queue before sleeping (the `SeqCst` pairing with the
//!   producer's fence in `notify_parked` guarantees that either the producer sees no searcher
//!   and wakes a sleeper, or the last searcher's re-scan sees the work).
//!
//! A woken worker calls [`Idle::wake_self`] to learn whether it was woken as a searcher. The
//! protocol is loom-modelled in `tests/loom.rs`.

use crate::sync::{AtomicUsize, Mutex, Ordering, fence, lock};

const UNPARK_SHIFT: usize = 16;
const SEARCH_MASK: usize = (1 << UNPARK_SHIFT) - 1;

/// Idle/searching state shared by all workers of a runtime.
#[derive(Debug)]
pub struct Idle {
    state: AtomicUsize,
    sleepers: Mutex<Sleepers>,
    num_workers: usize,
    throttle: bool,
}

#[derive(Debug)]
struct Sleepers {
    /// Indices of parked workers.
    list: Vec<usize>,
    /// `woken_as_searcher[i]`: worker `i` was taken off the list by `notify_parked` (and so
    /// counted as searching).
    woken_as_searcher: Vec<bool>,
}

impl Idle {
    /// All `num_workers` workers start unparked and not searching.
    pub fn new(num_workers: usize, throttle: bool) -> Self {
        assert!(num_workers < SEARCH_MASK, "too many workers");
        Idle {
            state: AtomicUsize::new(num_workers << UNPARK_SHIFT),
            sleepers: Mutex::new(Sleepers {
                list: Vec::with_capacity(num_workers),
                woken_as_searcher: vec![false; num_workers],
            }),
            num_workers,
            throttle,
        }
    }

    /// Number of workers currently searching.
    #[cfg_attr(not(nimsync_loom), allow(dead_code))]
    pub fn num_searching(&self) -> usize {
        self.state.load(Ordering::SeqCst) & SEARCH_MASK
    }

    /// Number of workers not parked.
    pub fn num_unparked(&self) -> usize {
        self.state.load(Ordering::SeqCst) >> UNPARK_SHIFT
    }

    /// Called by a producer after making work available. Returns the worker to unpark, if one
    /// should be woken; that worker is already counted as unparked and searching.
    pub fn notify_parked(&self) -> Option<usize> {
        // Pairs with the `SeqCst` RMW in `transition_worker_to_parked`: either we see the
        // parking worker's decrement (and wake a sleeper) or its re-scan sees our work.
        fence(Ordering::SeqCst);
        if !self.notify_should_wakeup() {
            return None;
        }
        let mut sleepers = lock(&self.sleepers);
        if !self.notify_should_wakeup() {
            return None;
        }
        let worker = sleepers.list.pop()?;
        sleepers.woken_as_searcher[worker] = true;
        self.state
            .fetch_add((1 << UNPARK_SHIFT) | 1, Ordering::SeqCst);
        Some(worker)
    }

    /// Wakes any one sleeper (not as a searcher), e.g. so that it re-arms its park timeout.
    pub fn unpark_any(&self) -> Option<usize> {
        let mut sleepers = lock(&self.sleepers);
        let worker = sleepers.list.pop()?;
        self.state.fetch_add(1 << UNPARK_SHIFT, Ordering::SeqCst);
        Some(worker)
    }

    /// Takes a specific sleeper off the list (not as a searcher). Returns whether it was parked.
    pub fn unpark_worker_by_id(&self, worker: usize) -> bool {
        let mut sleepers = lock(&self.sleepers);
        if let Some(pos) = sleepers.list.iter().position(|&w| w == worker) {
            sleepers.list.swap_remove(pos);
            self.state.fetch_add(1 << UNPARK_SHIFT, Ordering::SeqCst);
            true
        } else {
            false
        }
    }

    /// A relaxed, fence-free pre-check of [`notify_parked`](Self::notify_parked): `false` when
    /// nobody is parked or somebody searches (for producers that run the work themselves
    /// otherwise; see `Shared::notify_parked_local`).
    pub fn may_need_notify(&self) -> bool {
        let state = self.state.load(Ordering::Relaxed);
        (state & SEARCH_MASK) == 0 && (state >> UNPARK_SHIFT) < self.num_workers
    }

    /// Number of parked workers (a relaxed snapshot).
    pub fn num_parked_relaxed(&self) -> usize {
        self.num_workers - (self.state.load(Ordering::Relaxed) >> UNPARK_SHIFT)
    }

    fn notify_should_wakeup(&self) -> bool {
        let state = self.state.load(Ordering::SeqCst);
        (state & SEARCH_MASK) == 0 && (state >> UNPARK_SHIFT) < self.num_workers
    }

    /// Tries to enter the searching state. Returns `false` when too many workers already search.
    pub fn transition_worker_to_searching(&self) -> bool {
        let state = self.state.load(Ordering::SeqCst);
        if self.throttle && 2 * (state & SEARCH_MASK) >= self.num_workers {
            return false;
        }
        self.state.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// Leaves the searching state after finding work. Returns `true` if this was the last
    /// searcher, in which case the caller should [`notify_parked`](Self::notify_parked).
    pub fn transition_worker_from_searching(&self) -> bool {
        let prev = self.state.fetch_sub(1, Ordering::SeqCst);
        debug_assert!(prev & SEARCH_MASK > 0);
        (prev & SEARCH_MASK) == 1
    }

    /// Records that `worker` is about to park. Returns `true` if it was the last searcher, in
    /// which case it must re-scan all queues (and notify) before sleeping.
    pub fn transition_worker_to_parked(&self, worker: usize, is_searching: bool) -> bool {
        let mut sleepers = lock(&self.sleepers);
        let dec = (1 << UNPARK_SHIFT) | usize::from(is_searching);
        let prev = self.state.fetch_sub(dec, Ordering::SeqCst);
        sleepers.list.push(worker);
        sleepers.woken_as_searcher[worker] = false;
        drop(sleepers);
        // Pairs with the fence in `notify_parked` (Dekker): our decrement vs the producer's
        // push. A fence rather than relying on the SeqCst RMW alone, so the argument holds in
        // the fence-based model loom checks (it treats SeqCst accesses as AcqRel).
        fence(Ordering::SeqCst);
        is_searching && (prev & SEARCH_MASK) == 1
    }

    /// Called by `worker` after its park returned (notification, timeout or spurious). Makes it
    /// unparked again; returns `true` if it was woken as a searcher.
    pub fn wake_self(&self, worker: usize) -> bool {
        let mut sleepers = lock(&self.sleepers);
        if let Some(pos) = sleepers.list.iter().position(|&w| w == worker) {
            sleepers.list.swap_remove(pos);
            self.state.fetch_add(1 << UNPARK_SHIFT, Ordering::SeqCst);
            false
        } else {
            std::mem::take(&mut sleepers.woken_as_searcher[worker])
        }
    }
}
