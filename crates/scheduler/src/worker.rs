//! The worker: its run loop, local queue + LIFO slot, stealing, timers, parking and the
//! watchdog.
//!
//! One tick = one task taken from a queue (plus at most `max_lifo_polls` follow-ups from the
//! LIFO slot). Where a worker looks for its next task:
//!
//! 1. every `global_queue_interval` ticks, the global injector first (so outside spawns
//!    cannot starve behind a busy local queue);
//! 2. its local FIFO queue (a `crossbeam_deque::Worker`, capped at `local_queue_capacity`:
//!    on overflow half of it moves to the injector);
//! 3. the injector (taking a batch proportional to its length);
//! 4. due timers (its own wheel, the remote wheel, and any other worker's wheel that is
//!    overdue — see the watchdog below);
//! 5. stealing, if it may search (at most half the workers search at once): the last
//!    successful victim first, then victims grouped by the placement's distance, nearest
//!    group first, random start within a group; a thief takes up to half the victim's queue;
//! 6. a bounded spin with exponential backoff then `yield` (crossbeam's `Backoff`), re-checking;
//! 7. park, with a timeout at its next timer, following the idle protocol of `queue::idle`.
//!
//! **Watchdog.** A worker stuck in one long poll services neither its LIFO slot nor its timer
//! wheel. So while some worker is busy, an idle worker parks with a timeout of at most
//! [`WATCHDOG_PERIOD`] (one worker is woken into that role when a task enters a LIFO slot
//! and no worker watches); each time it wakes it fires any other worker's timers that are a
//! tick overdue (wheels are behind a per-worker mutex the owner holds only briefly), and
//! steals the task in a busy worker's LIFO slot when that worker has not started a new poll
//! for [`STUCK_AFTER`]. A busy worker that is making progress never has its slot stolen, so
//! message passing keeps its locality; a watchdog wake-up looks once and does not spin (so
//! it does not catch the tasks a busy worker briefly requeues); an idle runtime (every worker
//! parked) has no watchdog and no periodic wake-up.

use crate::context;
use crate::queue::lifo::{LifoNext, LifoSlot};
use crate::runtime::Handle;
use crate::shared::{Runnable, Shared, TaskShard, WorkerShared};
use crate::task::{cancel_runnable, run_runnable};
use crate::timer::entry::TimerEntry;
use crossbeam_deque::{Steal, Worker};
use crossbeam_utils::Backoff;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Longest park of an idle worker while another worker is busy (see the module docs).
pub(crate) const WATCHDOG_PERIOD: Duration = Duration::from_millis(1);
/// How long a worker must go without starting a poll before its LIFO-slot task is stolen.
pub(crate) const STUCK_AFTER: Duration = Duration::from_millis(1);
/// Timer ticks (ms) another worker's wheel must be overdue before an idle worker fires it.
const OVERDUE_TICKS: u64 = 1;
/// Finished tasks of another worker's registry shard removed under one lock.
const REMOVAL_BATCH: usize = 64;

/// What a worker last saw of another worker's progress (for the stuck test).
#[derive(Debug, Clone, Copy)]
struct Seen {
    polls: u64,
    since: Instant,
}

/// The thread-owned part of a worker (moved into its thread; for the current-thread flavour,
/// kept in the runtime while no `block_on` runs).
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) index: usize,
    pub(crate) local: Worker<Runnable>,
    lifo: RefCell<LifoSlot>,
    tick: Cell<u32>,
    /// Ticks left until the next injector-first tick / timer check (countdowns, no division).
    global_countdown: Cell<u32>,
    event_countdown: Cell<u32>,
    rng: RefCell<fastrand::Rng>,
    last_victim: Cell<Option<usize>>,
    fired: RefCell<Vec<Arc<TimerEntry>>>,
    seen: RefCell<Vec<Option<Seen>>>,
    /// Per registry shard: keys of finished tasks of that shard awaiting a batched removal.
    pending_removals: RefCell<Vec<Vec<usize>>>,
}

impl Core {
    pub(crate) fn new(index: usize, local: Worker<Runnable>, lifo: bool, max_lifo: u32) -> Self {
        Core {
            index,
            local,
            lifo: RefCell::new(LifoSlot::new(lifo, max_lifo)),
            tick: Cell::new(0),
            global_countdown: Cell::new(1),
            event_countdown: Cell::new(1),
            rng: RefCell::new(fastrand::Rng::with_seed(
                0x9E37_79B9_7F4A_7C15 ^ index as u64,
            )),
            last_victim: Cell::new(None),
            fired: RefCell::new(Vec::new()),
            seen: RefCell::new(Vec::new()),
            pending_removals: RefCell::new(Vec::new()),
        }
    }

    /// Cancels every task this core holds and drops its timers (shutdown).
    pub(crate) fn drain(&self, shared: &Shared) {
        let me = &shared.workers[self.index];
        loop {
            let next = me.lifo.take().or_else(|| self.local.pop());
            match next {
                Some(r) => cancel_runnable(r),
                None => break,
            }
        }
        let entries = me.drain_timers();
        drop(entries);
    }
}

/// A worker's thread-local context (installed in TLS while it runs).
#[derive(Debug)]
pub(crate) struct WorkerCtx {
    pub(crate) handle: Handle,
    pub(crate) shard: Arc<TaskShard>,
    pub(crate) core: Box<Core>,
    in_task: Cell<bool>,
    is_searching: Cell<bool>,
    busy_since: Cell<Instant>,
    /// Woken by the watchdog timeout rather than for work: look once, do not spin.
    watch_wake: Cell<bool>,
}

impl WorkerCtx {
    pub(crate) fn new(handle: Handle, core: Box<Core>) -> Self {
        let shard = handle.inner.shards[core.index].clone();
        WorkerCtx {
            handle,
            shard,
            core,
            in_task: Cell::new(false),
            is_searching: Cell::new(false),
            busy_since: Cell::new(Instant::now()),
            watch_wake: Cell::new(false),
        }
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.handle.inner.shared
    }

    fn me(&self) -> &WorkerShared {
        &self.shared().workers[self.core.index]
    }

    fn metrics(&self) -> &crate::metrics::WorkerMetrics {
        &self.me().metrics
    }

    /// Defers the registry removal of a finished task of another shard; flushed in batches
    /// of [`REMOVAL_BATCH`], when the worker parks, and when it stops. Returns `false` (the
    /// caller removes it itself) when re-entered.
    pub(crate) fn defer_remove(&self, shard: usize, key: usize) -> bool {
        let Ok(mut pending) = self.core.pending_removals.try_borrow_mut() else {
            return false;
        };
        if pending.len() <= shard {
            pending.resize_with(self.handle.inner.shards.len().max(shard + 1), Vec::new);
        }
        let keys = &mut pending[shard];
        keys.push(key);
        bump(&self.metrics().deferred_removals);
        if keys.len() >= REMOVAL_BATCH {
            self.handle.inner.shards[shard].remove_deferred(keys);
        }
        true
    }

    /// Performs every deferred registry removal.
    pub(crate) fn flush_removals(&self) {
        let Ok(mut pending) = self.core.pending_removals.try_borrow_mut() else {
            return;
        };
        for (shard, keys) in pending.iter_mut().enumerate() {
            if !keys.is_empty() {
                self.handle.inner.shards[shard].remove_deferred(keys);
            }
        }
    }

    /// Schedules a task woken on this worker's thread.
    pub(crate) fn schedule_local(&self, r: Runnable, yielded: bool) {
        if !yielded && self.in_task.get() {
            let evicted = self.core.lifo.borrow().push(&self.me().lifo, r);
            match evicted {
                None => {
                    // Nobody needs waking for this task (we run it next), unless we get stuck
                    // in the current poll: make sure some idle worker watches.
                    self.shared().ensure_watchdog();
                    return;
                }
                Some(e) => self.push_back(e),
            }
        } else {
            self.push_back(r);
        }
        self.shared().notify_parked_local();
    }

    /// Pushes to the back of the local queue, spilling half of it to the injector when full.
    fn push_back(&self, r: Runnable) {
        let shared = self.shared();
        let local = &self.core.local;
        let cap = shared.cfg.local_queue_capacity;
        if local.len() >= cap {
            for _ in 0..cap / 2 {
                match local.pop() {
                    Some(t) => shared.injector.push(t),
                    None => break,
                }
            }
            bump(&self.metrics().overflows);
        }
        local.push(r);
    }

    fn pop_injector(&self) -> Option<Runnable> {
        let shared = self.shared();
        if shared.injector.is_empty() {
            return None;
        }
        let cap = shared.cfg.local_queue_capacity;
        let limit = (shared.injector.len() / shared.workers.len() + 1)
            .min(cap / 2)
            .max(1);
        loop {
            match shared
                .injector
                .steal_batch_with_limit_and_pop(&self.core.local, limit)
            {
                Steal::Success(t) => return Some(t),
                Steal::Empty => return None,
                Steal::Retry => std::hint::spin_loop(),
            }
        }
    }

    /// The next task from the injector (every `global_queue_interval` ticks) or local queue.
    pub(crate) fn next_task(&self) -> Option<Runnable> {
        let core = &self.core;
        core.tick.set(core.tick.get().wrapping_add(1));
        let left = core.global_countdown.get() - 1;
        if left == 0 {
            core.global_countdown
                .set(self.shared().cfg.global_queue_interval);
            if let Some(t) = self.pop_injector() {
                return Some(t);
            }
        } else {
            core.global_countdown.set(left);
        }
        core.local.pop().or_else(|| self.pop_injector())
    }

    fn steal_from(&self, victim: usize) -> Option<Runnable> {
        let shared = self.shared();
        let half = shared.cfg.local_queue_capacity / 2;
        for _ in 0..4 {
            match shared.workers[victim]
                .stealer
                .steal_batch_with_limit_and_pop(&self.core.local, half.max(1))
            {
                Steal::Success(t) => return Some(t),
                Steal::Empty => return None,
                Steal::Retry => std::hint::spin_loop(),
            }
        }
        None
    }

    /// Tries to steal from the other workers (adaptive victim order), then the injector, then
    /// the LIFO slot of a stuck worker.
    fn steal(&self) -> Option<Runnable> {
        let shared = self.shared();
        let me = self.me();
        if shared.workers.len() > 1 {
            bump(&self.metrics().steal_attempts);
            let last = self.core.last_victim.get();
            if let Some(v) = last
                && let Some(t) = self.steal_from(v)
            {
                bump(&self.metrics().steal_successes);
                return Some(t);
            }
            for group in &me.victim_groups {
                let start = self.core.rng.borrow_mut().usize(..group.len());
                for k in 0..group.len() {
                    let v = group[(start + k) % group.len()];
                    if Some(v) == last {
                        continue;
                    }
                    if let Some(t) = self.steal_from(v) {
                        self.core.last_victim.set(Some(v));
                        bump(&self.metrics().steal_successes);
                        return Some(t);
                    }
                }
            }
        }
        self.pop_injector().or_else(|| self.steal_stranded())
    }

    /// Whether worker `v` has started no poll for [`STUCK_AFTER`] (as seen by us across
    /// calls), i.e. it is inside one long poll.
    fn is_stuck(&self, v: usize, now: Instant) -> bool {
        let polls = self.shared().workers[v]
            .metrics
            .polls
            .load(Ordering::Relaxed);
        let mut seen = self.core.seen.borrow_mut();
        if seen.len() < self.shared().workers.len() {
            seen.resize(self.shared().workers.len(), None);
        }
        match seen[v] {
            Some(s) if s.polls == polls => now.duration_since(s.since) >= STUCK_AFTER,
            _ => {
                seen[v] = Some(Seen { polls, since: now });
                false
            }
        }
    }

    /// Steals the LIFO-slot task of a worker stuck in a long poll (see the module docs).
    fn steal_stranded(&self) -> Option<Runnable> {
        let shared = self.shared();
        if shared.workers.len() < 2 {
            return None;
        }
        let mut now = None;
        for (v, w) in shared.workers.iter().enumerate() {
            if v == self.core.index || !w.lifo.is_occupied() {
                continue;
            }
            let t = *now.get_or_insert_with(Instant::now);
            if self.is_stuck(v, t)
                && let Some(r) = w.lifo.take()
            {
                bump(&self.metrics().steal_successes);
                return Some(r);
            }
        }
        None
    }

    /// Runs one task, then what it woke into the LIFO slot (capped per tick).
    pub(crate) fn run_task(&self, task: Runnable) {
        self.core.lifo.borrow_mut().start_tick();
        self.run_one(task);
        let cell = &self.me().lifo;
        loop {
            let next = self.core.lifo.borrow_mut().next(cell);
            match next {
                LifoNext::Empty => break,
                LifoNext::Run(t) => {
                    bump(&self.metrics().lifo_polls);
                    self.run_one(t);
                }
                LifoNext::Requeue(t) => {
                    self.push_back(t);
                    self.shared().notify_parked_local();
                    break;
                }
            }
        }
    }

    fn run_one(&self, task: Runnable) {
        bump(&self.metrics().polls);
        self.in_task.set(true);
        crate::coop::reset_budget();
        run_runnable(task, false);
        self.in_task.set(false);
    }

    /// Registers a timer in this worker's wheel.
    pub(crate) fn register_timer(&self, when: u64, entry: Arc<TimerEntry>) {
        if let Err(e) = self.me().insert_timer(when, entry) {
            e.fire();
        }
    }

    /// Fires due timers: this worker's wheel, the remote wheel, and other workers' wheels
    /// that are overdue (their owner is busy). Returns whether any fired.
    pub(crate) fn process_timers(&self) -> bool {
        let shared = self.shared();
        let now = shared.clock.now_ticks();
        let mut fired = std::mem::take(&mut *self.core.fired.borrow_mut());
        self.me().poll_timers(now, &mut fired, false);
        shared.process_remote_timers(now, &mut fired);
        if shared.workers.len() > 1 {
            let overdue = now.saturating_sub(OVERDUE_TICKS);
            for (v, w) in shared.workers.iter().enumerate() {
                if v != self.core.index && w.next_timer.load(Ordering::Acquire) <= overdue {
                    w.poll_timers(now, &mut fired, true);
                }
            }
        }
        let any = !fired.is_empty();
        for e in fired.drain(..) {
            e.fire();
        }
        *self.core.fired.borrow_mut() = fired;
        any
    }

    /// The tick this worker must wake up at for timers.
    fn next_timer_tick(&self) -> u64 {
        let own = self.me().next_timer.load(Ordering::Acquire);
        own.min(self.shared().remote_next.load(Ordering::Acquire))
    }

    /// Leaves the searching state after finding work (waking the next searcher if needed).
    fn found_work(&self) {
        self.watch_wake.set(false);
        if self.is_searching.replace(false) && self.shared().idle.transition_worker_from_searching()
        {
            self.shared().notify_parked();
        }
    }

    /// Parks this worker until notified, a timer is due, the watchdog period ends, or shutdown.
    pub(crate) fn park(&self) {
        let shared = self.shared();
        let idx = self.core.index;
        let me = &shared.workers[idx];
        let busy = self.busy_since.get().elapsed();
        let busy_ns = &self.metrics().busy_ns;
        busy_ns.store(
            busy_ns
                .load(Ordering::Relaxed)
                .saturating_add(u64::try_from(busy.as_nanos()).unwrap_or(u64::MAX)),
            Ordering::Relaxed,
        );
        self.flush_removals();
        let searching = self.is_searching.replace(false);
        if shared.idle.transition_worker_to_parked(idx, searching) {
            shared.notify_if_work_pending();
        }
        // A task may have been pushed to our own queue by a timer fired above; never sleep on
        // local work.
        if !self.core.local.is_empty() || me.lifo.is_occupied() {
            me.parker.unpark();
        }
        shared.maybe_auto_advance();
        if !shared.is_shutdown() {
            bump(&self.metrics().parks);
            let mut timeout = shared.clock.timeout_until_tick(self.next_timer_tick());
            // Watch while another worker is busy (multi-threaded runtimes only).
            let watch = !shared.current_thread
                && shared.workers.len() > 1
                && shared.idle.num_unparked() > 0;
            if watch {
                timeout = Some(timeout.map_or(WATCHDOG_PERIOD, |t| t.min(WATCHDOG_PERIOD)));
                shared.watchers.fetch_add(1, Ordering::SeqCst);
            }
            shared.watchdog_waking.store(false, Ordering::Release);
            me.parker.park(timeout);
            if watch {
                shared.watchers.fetch_sub(1, Ordering::SeqCst);
            }
            self.watch_wake.set(watch);
        }
        let woken_as_searcher = shared.idle.wake_self(idx);
        self.is_searching.set(woken_as_searcher);
        if woken_as_searcher {
            self.watch_wake.set(false);
        }
        self.busy_since.set(Instant::now());
    }

    /// One scheduling step. Returns `false` when there was nothing to do (the caller parks).
    pub(crate) fn step(&self, allow_spin: bool) -> bool {
        let core = &self.core;
        let left = core.event_countdown.get() - 1;
        if left == 0 {
            core.event_countdown.set(self.shared().cfg.event_interval);
            self.process_timers();
        } else {
            core.event_countdown.set(left);
        }
        if let Some(t) = self.next_task() {
            self.found_work();
            self.run_task(t);
            return true;
        }
        if self.process_timers() {
            return true;
        }
        if !self.is_searching.get() {
            self.is_searching
                .set(self.shared().idle.transition_worker_to_searching());
        }
        if self.is_searching.get()
            && let Some(t) = self.steal()
        {
            self.found_work();
            self.run_task(t);
            return true;
        }
        // A watchdog wake-up looks once (above) and parks again: spinning here would keep
        // catching the tasks a busy worker briefly requeues, splitting message-passing pairs.
        if allow_spin && self.shared().cfg.spin_before_park && !self.watch_wake.get() {
            let backoff = Backoff::new();
            while !backoff.is_completed() {
                backoff.snooze();
                if self.shared().is_shutdown() {
                    return true;
                }
                let t = if self.is_searching.get() {
                    self.steal()
                } else {
                    self.pop_injector()
                };
                if let Some(t) = t {
                    self.found_work();
                    self.run_task(t);
                    return true;
                }
            }
        }
        // Not allowed to search (throttled): still rescue a stranded LIFO task.
        if !self.is_searching.get()
            && let Some(t) = self.steal_stranded()
        {
            self.run_task(t);
            return true;
        }
        false
    }
}

/// Increments a counter of this worker. Each worker's counters have a single writer (the
/// thread holding its core), so a plain load + store suffices: no locked read-modify-write on
/// the hot path; readers (metrics snapshots) see a relaxed, monotonic value.
fn bump(c: &std::sync::atomic::AtomicU64) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
}

/// Body of a multi-threaded worker thread.
pub(crate) fn run_worker(handle: Handle, core: Box<Core>) {
    let ctx = Rc::new(WorkerCtx::new(handle, core));
    let _enter = context::enter(ctx.handle.clone());
    context::set_worker(Some(ctx.clone()));
    while !ctx.shared().is_shutdown() {
        if !ctx.step(true) {
            crate::hooks::run_idle(ctx.shared().hooks.as_deref());
            ctx.park();
        }
    }
    crate::hooks::run_idle(ctx.shared().hooks.as_deref());
    ctx.flush_removals();
    // Leave the worker context first: wakes during the drain go to the (closed) injector.
    context::set_worker(None);
    ctx.core.drain(ctx.shared());
}
