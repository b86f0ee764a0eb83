//! State shared by all threads of one runtime: queues, idle bookkeeping, task registry shards,
//! timers, clock, hooks, blocking pool, metrics.
//!
//! Ownership has no cycle apart from the one every executor has (queued tasks hold their
//! shard, which holds this state), and shutdown breaks it by cancelling every task:
//! `Runtime` → `Handle` → shards → `Shared`; tasks → their shard.

use crate::blocking::BlockingPool;
use crate::builder::Config;
use crate::context;
use crate::hooks::Hooks;
use crate::metrics::WorkerMetrics;
use crate::park::Parker;
use crate::queue::idle::Idle;
use crate::queue::lifo::LifoCell;
use crate::sync::std_lock as lock;
use crate::task::{TaskMeta, cancel_runnable};
use crate::timer::clock::Clock;
use crate::timer::entry::TimerEntry;
use crate::timer::wheel::Wheel;
use crate::worker::Core;
use crossbeam_deque::{Injector, Steal, Stealer};
use crossbeam_utils::CachePadded;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Mutex};
use std::task::Waker;

/// A schedulable task.
pub(crate) type Runnable = async_task::Runnable<TaskMeta>;

/// Per-worker state visible to other threads.
#[derive(Debug)]
pub(crate) struct WorkerShared {
    pub(crate) stealer: Stealer<Runnable>,
    pub(crate) parker: Arc<Parker>,
    pub(crate) metrics: CachePadded<WorkerMetrics>,
    /// The LIFO slot (pushed and taken by the owner; stolen only from a stuck owner).
    pub(crate) lifo: CachePadded<LifoCell<Runnable>>,
    /// The worker's timer wheel. The owner inserts and fires; another worker fires it only
    /// when it is overdue (the owner is stuck in a long poll). Held only briefly.
    pub(crate) wheel: CachePadded<Mutex<Wheel<Arc<TimerEntry>>>>,
    /// Lower bound of the wheel's next deadline tick (`u64::MAX` if empty), kept up to date
    /// under the wheel lock, read without it.
    pub(crate) next_timer: CachePadded<AtomicU64>,
    /// Other workers ordered for stealing: groups of equal distance, nearest first.
    pub(crate) victim_groups: Vec<Vec<usize>>,
}

impl WorkerShared {
    pub(crate) fn new(stealer: Stealer<Runnable>, victim_groups: Vec<Vec<usize>>) -> Self {
        WorkerShared {
            stealer,
            parker: Arc::new(Parker::new()),
            metrics: CachePadded::new(WorkerMetrics::default()),
            lifo: CachePadded::new(LifoCell::new()),
            wheel: CachePadded::new(Mutex::new(Wheel::new())),
            next_timer: CachePadded::new(AtomicU64::new(u64::MAX)),
            victim_groups,
        }
    }

    /// Inserts a timer; gives it back when it is already due.
    pub(crate) fn insert_timer(
        &self,
        when: u64,
        entry: Arc<TimerEntry>,
    ) -> Result<(), Arc<TimerEntry>> {
        let mut wheel = lock(&self.wheel);
        wheel.insert(when, entry)?;
        prune_if_needed(&mut wheel);
        self.next_timer
            .store(wheel.next_deadline(), Ordering::Release);
        Ok(())
    }

    /// Moves the due timers to `fired` (to be fired by the caller, outside the lock). With
    /// `helping` (another worker's wheel) it only `try_lock`s: the owner may be at it.
    pub(crate) fn poll_timers(&self, now: u64, fired: &mut Vec<Arc<TimerEntry>>, helping: bool) {
        if self.next_timer.load(Ordering::Acquire) > now {
            return;
        }
        let mut wheel = if helping {
            match self.wheel.try_lock() {
                Ok(w) => w,
                Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => return,
            }
        } else {
            lock(&self.wheel)
        };
        wheel.poll(now, fired);
        self.next_timer
            .store(wheel.next_deadline(), Ordering::Release);
    }

    /// Removes every timer (shutdown).
    pub(crate) fn drain_timers(&self) -> Vec<Arc<TimerEntry>> {
        let mut wheel = lock(&self.wheel);
        self.next_timer.store(u64::MAX, Ordering::Release);
        wheel.drain()
    }
}

/// State shared by every thread of a runtime.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) cfg: Config,
    pub(crate) injector: Injector<Runnable>,
    pub(crate) workers: Box<[WorkerShared]>,
    pub(crate) idle: Idle,
    pub(crate) shutdown: AtomicBool,
    pub(crate) clock: Clock,
    pub(crate) remote_timers: Mutex<Wheel<Arc<TimerEntry>>>,
    pub(crate) remote_next: AtomicU64,
    pub(crate) hooks: Option<Box<Hooks>>,
    pub(crate) blocking: BlockingPool,
    /// `block_on` threads currently polling (not parked): auto-advance waits for them.
    pub(crate) block_on_active: AtomicUsize,
    /// The current-thread flavour's single core, taken by `block_on` while it runs.
    pub(crate) ct_core: Mutex<Option<Box<Core>>>,
    /// Other `block_on`s of a current-thread runtime waiting for its core (woken when the
    /// `block_on` holding it returns it). Registered and woken under `ct_core`'s lock.
    pub(crate) ct_core_waiters: Mutex<Vec<Waker>>,
    pub(crate) current_thread: bool,
    /// Workers parked with the watchdog timeout (see `worker.rs`).
    pub(crate) watchers: AtomicUsize,
    /// A worker was woken to become a watcher and has not parked yet.
    pub(crate) watchdog_waking: AtomicBool,
}

/// A shard of the task registry: the wakers of the live tasks spawned through it, so shutdown
/// can cancel every task, including those no queue holds. Each worker has its own shard (its
/// spawns and their `Arc` clones stay on its cache lines); spawns from outside use a few
/// remote shards.
#[derive(Debug)]
pub(crate) struct TaskShard {
    pub(crate) shared: Arc<Shared>,
    /// Position in the runtime's shard list.
    pub(crate) index: usize,
    pub(crate) registry: CachePadded<Mutex<Registry>>,
}

/// Slots of live tasks' wakers.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    slots: Vec<Option<Waker>>,
    free: Vec<usize>,
    closed: bool,
    pub(crate) spawned: u64,
    pub(crate) completed: u64,
}

impl Registry {
    /// Reserves a slot; `None` once the registry is closed (runtime shut down).
    pub(crate) fn reserve(&mut self) -> Option<usize> {
        if self.closed {
            return None;
        }
        self.spawned += 1;
        Some(match self.free.pop() {
            Some(k) => k,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        })
    }

    pub(crate) fn fill(&mut self, key: usize, waker: Waker) {
        self.slots[key] = Some(waker);
    }
}

impl TaskShard {
    pub(crate) fn new(shared: Arc<Shared>, index: usize) -> Self {
        TaskShard {
            shared,
            index,
            registry: CachePadded::new(Mutex::new(Registry::default())),
        }
    }

    /// Unregisters a finished task.
    pub(crate) fn remove(&self, key: usize) {
        if key == usize::MAX {
            return;
        }
        let waker = {
            let mut reg = lock(&self.registry);
            if reg.closed {
                return;
            }
            reg.completed += 1;
            reg.free.push(key);
            reg.slots[key].take()
        };
        drop(waker);
    }

    /// Unregisters a batch of finished tasks (removals deferred by another worker, already
    /// counted as completed by it) under one lock.
    pub(crate) fn remove_deferred(&self, keys: &mut Vec<usize>) {
        let wakers: Vec<Waker> = {
            let mut reg = lock(&self.registry);
            if reg.closed {
                keys.clear();
                return;
            }
            let mut out = Vec::with_capacity(keys.len());
            for key in keys.drain(..) {
                reg.free.push(key);
                out.extend(reg.slots[key].take());
            }
            out
        };
        drop(wakers);
    }

    /// Wakes the task registered in slot `key`, if any (`JoinHandle::abort`).
    pub(crate) fn wake_slot(&self, key: usize) {
        let waker = {
            let reg = lock(&self.registry);
            reg.slots.get(key).and_then(|w| w.clone())
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Closes the shard and returns the wakers of every live task.
    pub(crate) fn close(&self) -> Vec<Waker> {
        let mut reg = lock(&self.registry);
        reg.closed = true;
        reg.free.clear();
        let live = reg.slots.iter().filter(|s| s.is_some()).count() as u64;
        reg.completed += live;
        reg.slots.drain(..).flatten().collect()
    }
}

/// Unregisters a finished task. On a worker of the same runtime that does not own the
/// task's shard, the removal is deferred and batched (see `WorkerCtx::defer_remove`): the
/// spawner's registry lock and slots then stay in its cache instead of bouncing per task.
pub(crate) fn remove_task(shard: &Arc<TaskShard>, key: usize) {
    if key == usize::MAX {
        return;
    }
    let deferred = context::with_worker(|w| match w {
        Some(w)
            if !Arc::ptr_eq(&w.shard, shard)
                && std::ptr::eq(
                    Arc::as_ptr(&w.handle.inner.shared),
                    Arc::as_ptr(&shard.shared),
                ) =>
        {
            w.defer_remove(shard.index, key)
        }
        _ => false,
    });
    if !deferred {
        shard.remove(key);
    }
}

/// The schedule function of every runtime task.
///
/// It captures nothing: the runtime comes from the task's metadata. On one of that runtime's
/// workers (the hot path) the worker's own `Handle` keeps the runtime alive while `r` is
/// handed over; elsewhere we hold a clone of `Arc<Shared>` across the call, since once `r`
/// is queued another thread may run and free the task (and its metadata) at any moment.
pub(crate) fn schedule_task(r: Runnable, info: async_task::ScheduleInfo) {
    let Some(shard) = r.metadata().shard.as_ref() else {
        // Not a runtime task (never happens: blocking cells have their own function).
        return;
    };
    let shared_ptr = Arc::as_ptr(&shard.shared);
    let r = context::with_worker(|w| match w {
        Some(w) if std::ptr::eq(Arc::as_ptr(&w.handle.inner.shared), shared_ptr) => {
            w.schedule_local(r, info.woken_while_running);
            None
        }
        _ => Some(r),
    });
    if let Some(r) = r {
        let shared = match r.metadata().shard.as_ref() {
            Some(s) => s.shared.clone(),
            None => return,
        };
        shared.schedule_remote(r);
    }
}

impl Shared {
    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    /// Schedules from outside the runtime's workers: the global injector.
    pub(crate) fn schedule_remote(&self, r: Runnable) {
        if self.is_shutdown() {
            cancel_runnable(r);
            return;
        }
        self.injector.push(r);
        // Pairs with the fence in `begin_shutdown`: either the drainer sees our task or we
        // see the flag and drain it ourselves.
        fence(Ordering::SeqCst);
        if self.shutdown.load(Ordering::Relaxed) {
            self.drain_injector();
            return;
        }
        self.notify_parked();
    }

    /// Wakes one parked worker if nobody is searching (see `queue::idle`).
    pub(crate) fn notify_parked(&self) {
        if let Some(i) = self.idle.notify_parked() {
            self.workers[i].parker.unpark();
        }
    }

    /// [`notify_parked`](Self::notify_parked) for a worker that just pushed to its *own* queue.
    ///
    /// That worker runs the task itself before it parks, so waking another worker only buys
    /// parallelism, never liveness: a relaxed look at the idle word (no fence) skips the
    /// notification when nobody sleeps or somebody already searches. (A stale read can at worst
    /// leave the task to its worker, or to the watchdog, see `worker.rs`.)
    pub(crate) fn notify_parked_local(&self) {
        if self.workers.len() > 1 && self.idle.may_need_notify() {
            self.notify_parked();
        }
    }

    /// A task just entered a LIFO slot: if no idle worker watches (parks with the watchdog
    /// timeout) while some are parked, wake one so that it does; it re-parks as a watcher
    /// because this worker is busy. Two relaxed loads when a watcher exists or nobody sleeps.
    pub(crate) fn ensure_watchdog(&self) {
        if self.workers.len() > 1
            && self.watchers.load(Ordering::Relaxed) == 0
            && self.idle.num_parked_relaxed() > 0
            && !self.watchdog_waking.swap(true, Ordering::AcqRel)
        {
            // `watchdog_waking` stays set until some worker parks again, so a burst of LIFO
            // pushes wakes one worker only.
            match self.idle.unpark_any() {
                Some(i) => self.workers[i].parker.unpark(),
                None => self.watchdog_waking.store(false, Ordering::Release),
            }
        }
    }

    /// Re-scan after the last searcher parked: wake someone if any queue has work.
    pub(crate) fn notify_if_work_pending(&self) {
        let pending =
            !self.injector.is_empty() || self.workers.iter().any(|w| !w.stealer.is_empty());
        if pending {
            self.notify_parked();
        }
    }

    pub(crate) fn drain_injector(&self) {
        loop {
            match self.injector.steal() {
                Steal::Success(r) => cancel_runnable(r),
                Steal::Retry => continue,
                Steal::Empty => break,
            }
        }
    }

    /// Sets the shutdown flag and wakes every worker.
    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        for w in self.workers.iter() {
            w.parker.unpark();
        }
        self.blocking.shutdown_begin();
    }

    /// Fires the remote wheel's due timers (`try_lock`: another thread may be doing it).
    pub(crate) fn process_remote_timers(&self, now: u64, fired: &mut Vec<Arc<TimerEntry>>) {
        if self.remote_next.load(Ordering::Acquire) > now {
            return;
        }
        if let Ok(mut wheel) = self.remote_timers.try_lock() {
            wheel.poll(now, fired);
            self.remote_next
                .store(wheel.next_deadline(), Ordering::Release);
        }
    }

    /// Registers a timer from a thread that is not one of our workers.
    pub(crate) fn register_remote_timer(&self, when: u64, entry: Arc<TimerEntry>) {
        let earlier = {
            let mut wheel = lock(&self.remote_timers);
            if let Err(e) = wheel.insert(when, entry) {
                drop(wheel);
                e.fire();
                return;
            }
            prune_if_needed(&mut wheel);
            let next = wheel.next_deadline();
            self.remote_next.swap(next, Ordering::AcqRel) > next
        };
        if earlier && !self.current_thread {
            // Make a parked worker re-arm its timeout.
            if let Some(i) = self.idle.unpark_any() {
                self.workers[i].parker.unpark();
            }
        } else if earlier {
            self.workers[0].parker.unpark();
        }
    }

    /// Paused clock: when nothing can make progress, jump to the next timer.
    pub(crate) fn maybe_auto_advance(&self) -> bool {
        if !self.clock.is_paused() || !self.cfg.auto_advance || self.is_shutdown() {
            return false;
        }
        if self.idle.num_unparked() != 0
            || self.block_on_active.load(Ordering::SeqCst) != 0
            || self.blocking.active() != 0
        {
            return false;
        }
        let remote = self.remote_next.load(Ordering::Acquire);
        let mut next = remote;
        for w in self.workers.iter() {
            next = next.min(w.next_timer.load(Ordering::Acquire));
        }
        if next == u64::MAX {
            return false;
        }
        self.clock.advance_to_tick(next);
        let mut woke = false;
        for (i, w) in self.workers.iter().enumerate() {
            if w.next_timer.load(Ordering::Acquire) <= next && self.idle.unpark_worker_by_id(i) {
                w.parker.unpark();
                woke = true;
            }
        }
        if remote <= next
            && !woke
            && let Some(i) = self.idle.unpark_any()
        {
            self.workers[i].parker.unpark();
        }
        true
    }

    /// Wakes every parked worker (after a manual clock advance).
    ///
    /// Every parker gets a permit, parked or not: a worker between its last timer check and
    /// its park would otherwise miss the advance and sleep forever on the paused clock.
    pub(crate) fn wake_all_workers(&self) {
        for w in self.workers.iter() {
            w.parker.unpark();
        }
    }
}

/// Reclaims orphaned entries (their `Sleep` was dropped) once the wheel has doubled since the
/// last pass: amortised O(1) per insert, memory bounded by 2× the live timers (+ slack).
pub(crate) fn prune_if_needed(wheel: &mut Wheel<Arc<TimerEntry>>) {
    if wheel.should_prune() {
        wheel.retain(|e| Arc::strong_count(e) > 1 && !e.is_fired());
    }
}
