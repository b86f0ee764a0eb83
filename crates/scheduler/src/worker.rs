//! The worker: its run loop, local queue + LIFO slot, stealing, timers and parking.
//!
//! One tick = one task taken from a queue (plus at most `max_lifo_polls` follow-ups from the
//! LIFO slot). Where a worker looks for its next task:
//!
//! 1. every `global_queue_interval` ticks, the global injector first (so outside spawns
//!    cannot starve behind a busy local queue);
//! 2. its local FIFO queue (a `crossbeam_deque::Worker`, capped: on overflow half of it moves
//!    to the injector);
//! 3. the injector (taking a batch proportional to its length);
//! 4. due timers;
//! 5. stealing, if it may search (at most half the workers search at once): the last
//!    successful victim first, then victims grouped by the placement's distance, nearest
//!    group first, random start within a group; a thief takes up to half the victim's queue;
//! 6. a bounded spin with exponential backoff then `yield` (crossbeam's `Backoff`), re-checking;
//! 7. park, with a timeout at its next timer, following the idle protocol of `queue::idle`.

use crate::context;
use crate::queue::lifo::{LifoNext, LifoSlot};
use crate::runtime::Handle;
use crate::shared::{Runnable, Shared, TaskShard, prune_if_needed};
use crate::task::{cancel_runnable, run_runnable};
use crate::timer::entry::TimerEntry;
use crate::timer::wheel::Wheel;
use crossbeam_deque::{Steal, Worker};
use crossbeam_utils::Backoff;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// The thread-owned part of a worker (moved into its thread; for the current-thread flavour,
/// kept in the runtime while no `block_on` runs).
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) index: usize,
    pub(crate) local: Worker<Runnable>,
    lifo: RefCell<LifoSlot<Runnable>>,
    pub(crate) wheel: RefCell<Wheel<Arc<TimerEntry>>>,
    tick: Cell<u32>,
    rng: RefCell<fastrand::Rng>,
    last_victim: Cell<Option<usize>>,
    fired: RefCell<Vec<Arc<TimerEntry>>>,
}

impl Core {
    pub(crate) fn new(index: usize, local: Worker<Runnable>, lifo: bool, max_lifo: u32) -> Self {
        Core {
            index,
            local,
            lifo: RefCell::new(LifoSlot::new(lifo, max_lifo)),
            wheel: RefCell::new(Wheel::new()),
            tick: Cell::new(0),
            rng: RefCell::new(fastrand::Rng::with_seed(
                0x9E37_79B9_7F4A_7C15 ^ index as u64,
            )),
            last_victim: Cell::new(None),
            fired: RefCell::new(Vec::new()),
        }
    }

    /// Cancels every task this core holds and drops its timers (shutdown).
    pub(crate) fn drain(&self) {
        loop {
            let next = self.lifo.borrow_mut().take();
            let next = next.or_else(|| self.local.pop());
            match next {
                Some(r) => cancel_runnable(r),
                None => break,
            }
        }
        let entries = self.wheel.borrow_mut().drain();
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
        }
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.handle.inner.shared
    }

    fn metrics(&self) -> &crate::metrics::WorkerMetrics {
        &self.shared().workers[self.core.index].metrics
    }

    /// Schedules a task woken on this worker's thread.
    pub(crate) fn schedule_local(&self, r: Runnable, yielded: bool) {
        if !yielded && self.in_task.get() {
            let evicted = self.core.lifo.borrow_mut().push(r);
            match evicted {
                None => return,
                Some(e) => self.push_back(e),
            }
        } else {
            self.push_back(r);
        }
        let shared = self.shared();
        if shared.workers.len() > 1 {
            shared.notify_parked();
        }
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
        let tick = self.core.tick.get().wrapping_add(1);
        self.core.tick.set(tick);
        if tick.is_multiple_of(self.shared().cfg.global_queue_interval)
            && let Some(t) = self.pop_injector()
        {
            return Some(t);
        }
        self.core.local.pop().or_else(|| self.pop_injector())
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

    /// Tries to steal from the other workers (adaptive victim order), then the injector.
    fn steal(&self) -> Option<Runnable> {
        let shared = self.shared();
        let me = &shared.workers[self.core.index];
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
        self.pop_injector()
    }

    /// Runs one task, then what it woke into the LIFO slot (capped per tick).
    pub(crate) fn run_task(&self, task: Runnable) {
        self.core.lifo.borrow_mut().start_tick();
        self.run_one(task);
        loop {
            let next = self.core.lifo.borrow_mut().next();
            match next {
                LifoNext::Empty => break,
                LifoNext::Run(t) => {
                    bump(&self.metrics().lifo_polls);
                    self.run_one(t);
                }
                LifoNext::Requeue(t) => {
                    self.push_back(t);
                    if self.shared().workers.len() > 1 {
                        self.shared().notify_parked();
                    }
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
        let mut wheel = self.core.wheel.borrow_mut();
        match wheel.insert(when, entry) {
            Ok(()) => prune_if_needed(&mut wheel),
            Err(e) => {
                drop(wheel);
                e.fire();
            }
        }
    }

    /// Fires due timers (own wheel and the remote wheel). Returns whether any fired.
    pub(crate) fn process_timers(&self) -> bool {
        let shared = self.shared();
        let now = shared.clock.now_ticks();
        let mut fired = std::mem::take(&mut *self.core.fired.borrow_mut());
        {
            let mut wheel = self.core.wheel.borrow_mut();
            if wheel.next_deadline() <= now {
                wheel.poll(now, &mut fired);
            }
        }
        shared.process_remote_timers(now, &mut fired);
        let any = !fired.is_empty();
        for e in fired.drain(..) {
            e.fire();
        }
        *self.core.fired.borrow_mut() = fired;
        any
    }

    /// The tick this worker must wake up at for timers.
    fn next_timer_tick(&self) -> u64 {
        let own = self.core.wheel.borrow().next_deadline();
        own.min(self.shared().remote_next.load(Ordering::Acquire))
    }

    /// Leaves the searching state after finding work (waking the next searcher if needed).
    fn found_work(&self) {
        if self.is_searching.replace(false) && self.shared().idle.transition_worker_from_searching()
        {
            self.shared().notify_parked();
        }
    }

    /// Parks this worker until notified, a timer is due, or shutdown.
    pub(crate) fn park(&self) {
        let shared = self.shared();
        let idx = self.core.index;
        let me = &shared.workers[idx];
        let own_next = self.core.wheel.borrow().next_deadline();
        me.next_timer.store(own_next, Ordering::Release);
        let busy = self.busy_since.get().elapsed();
        self.metrics().busy_ns.fetch_add(
            u64::try_from(busy.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        let searching = self.is_searching.replace(false);
        if shared.idle.transition_worker_to_parked(idx, searching) {
            shared.notify_if_work_pending();
        }
        // A task may have been pushed to our own queue by a timer fired above; never sleep on
        // local work.
        if !self.core.local.is_empty() {
            me.parker.unpark();
        }
        shared.maybe_auto_advance();
        if !shared.is_shutdown() {
            bump(&self.metrics().parks);
            let timeout = shared.clock.timeout_until_tick(self.next_timer_tick());
            me.parker.park(timeout);
        }
        let woken_as_searcher = shared.idle.wake_self(idx);
        self.is_searching.set(woken_as_searcher);
        me.next_timer.store(u64::MAX, Ordering::Release);
        self.busy_since.set(Instant::now());
    }

    /// One scheduling step. Returns `false` when there was nothing to do (the caller parks).
    pub(crate) fn step(&self, allow_spin: bool) -> bool {
        let cfg = &self.shared().cfg;
        let tick = self.core.tick.get();
        if tick.is_multiple_of(cfg.event_interval) {
            self.process_timers();
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
        if allow_spin && cfg.spin_before_park {
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
        false
    }
}

fn bump(c: &std::sync::atomic::AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Body of a multi-threaded worker thread.
pub(crate) fn run_worker(handle: Handle, core: Box<Core>) {
    let ctx = Rc::new(WorkerCtx::new(handle, core));
    let _enter = context::enter(ctx.handle.clone());
    context::set_worker(Some(ctx.clone()));
    while !ctx.shared().is_shutdown() {
        if !ctx.step(true) {
            ctx.park();
        }
    }
    // Leave the worker context first: wakes during the drain go to the (closed) injector.
    context::set_worker(None);
    ctx.core.drain();
}
