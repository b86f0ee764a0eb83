//! `Runtime` and `Handle`: building, `block_on`, spawning, clock control, metrics, shutdown.

use crate::blocking::BlockingPool;
use crate::builder::{BuildError, Builder, Config};
use crate::context;
use crate::hooks::Hooks;
use crate::join::JoinHandle;
use crate::metrics::RuntimeMetrics;
use crate::park::Parker;
use crate::placement::victim_groups;
use crate::queue::idle::Idle;
use crate::shared::{Shared, TaskShard, WorkerShared};
use crate::sync::std_lock as lock;
use crate::task::spawn_on_shard;
use crate::timer::clock::Clock;
use crate::timer::wheel::Wheel;
use crate::worker::{Core, WorkerCtx, run_worker};
use crossbeam_deque::{Injector, Worker};
use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// Registry shards for spawns from outside the workers.
const REMOTE_SHARDS: usize = 4;

pub(crate) struct HandleInner {
    pub(crate) shared: Arc<Shared>,
    /// One shard per worker, then `REMOTE_SHARDS` for outside spawns.
    pub(crate) shards: Box<[Arc<TaskShard>]>,
}

/// A cheap, clonable reference to a runtime: spawn onto it from anywhere.
///
/// ```
/// let rt = nimsync_scheduler::Runtime::builder().workers(1).build().unwrap();
/// let handle = rt.handle().clone();
/// let j = std::thread::spawn(move || handle.spawn(async { 5 }));
/// let task = j.join().unwrap();
/// assert_eq!(rt.block_on(task).unwrap(), 5);
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: Arc<HandleInner>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.inner.shared.workers.len())
            .field("current_thread", &self.inner.shared.current_thread)
            .field("shutdown", &self.inner.shared.is_shutdown())
            .finish()
    }
}

impl Handle {
    /// The runtime entered on this thread (worker, `block_on` or blocking thread), if any.
    ///
    /// ```
    /// assert!(nimsync_scheduler::Handle::try_current().is_none());
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// rt.block_on(async { assert!(nimsync_scheduler::Handle::try_current().is_some()) });
    /// ```
    pub fn try_current() -> Option<Handle> {
        context::current_handle()
    }

    /// The runtime entered on this thread, or the global default runtime.
    pub fn current() -> Handle {
        Self::try_current().unwrap_or_else(|| crate::global::global().handle().clone())
    }

    /// Spawns a task onto this runtime.
    pub fn spawn<F>(&self, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with(context::task_context, fut)
    }

    /// Spawns a task onto this runtime whose context slot starts as `ctx` instead of a clone
    /// of the spawner's (see [`crate::spawn_with_context`]).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// let h = rt.handle().spawn_with_context(Some(Arc::new(5u8)), async {
    ///     *nimsync_scheduler::task_context().unwrap().downcast_ref::<u8>().unwrap()
    /// });
    /// assert_eq!(rt.block_on(h).unwrap(), 5);
    /// ```
    pub fn spawn_with_context<F>(
        &self,
        ctx: Option<context::TaskContextValue>,
        fut: F,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with(move || ctx, fut)
    }

    /// Spawns `fut` with the context slot `ctx()` gives: into the current worker's own shard
    /// when this thread is one of this runtime's workers, into a remote shard otherwise.
    pub(crate) fn spawn_with<F, C>(&self, ctx: C, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
        C: FnOnce() -> Option<context::TaskContextValue>,
    {
        let shared_ptr = Arc::as_ptr(&self.inner.shared);
        let mut args = Some((ctx, fut));
        let local = context::with_worker(|w| match w {
            Some(w) if std::ptr::eq(Arc::as_ptr(&w.handle.inner.shared), shared_ptr) => {
                let (ctx, fut) = args.take().expect("arguments");
                Some(spawn_on_shard(&w.shard, ctx, fut))
            }
            _ => None,
        });
        match local {
            Some(handle) => handle,
            None => {
                let (ctx, fut) = args.take().expect("arguments");
                spawn_on_shard(self.remote_shard(), ctx, fut)
            }
        }
    }

    fn remote_shard(&self) -> &Arc<TaskShard> {
        thread_local! {
            static PICK: Cell<usize> = Cell::new(fastrand::usize(..REMOTE_SHARDS));
        }
        let n = self.inner.shared.workers.len();
        &self.inner.shards[n + PICK.with(|p| p.get())]
    }

    /// Runs `f` on the blocking pool.
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        BlockingPool::spawn(self, f)
    }

    /// Moves a paused clock forward by `dur` and wakes the workers so due timers fire.
    /// Returns `false` (and does nothing) when the clock is not paused.
    pub fn advance(&self, dur: Duration) -> bool {
        let shared = &self.inner.shared;
        if !shared.clock.advance(dur) {
            return false;
        }
        shared.wake_all_workers();
        true
    }

    /// The runtime's current time (the paused clock's time when paused).
    pub fn now(&self) -> Instant {
        self.inner.shared.clock.now()
    }

    /// Whether the runtime has been shut down.
    pub fn is_shutdown(&self) -> bool {
        self.inner.shared.is_shutdown()
    }

    /// A metrics snapshot.
    pub fn metrics(&self) -> RuntimeMetrics {
        let shared = &self.inner.shared;
        let workers = shared
            .workers
            .iter()
            .map(|w| w.metrics.snapshot(w.stealer.len()))
            .collect();
        let (mut spawned, mut completed) = (0, 0);
        for s in self.inner.shards.iter() {
            let reg = lock(&s.registry);
            spawned += reg.spawned;
            completed += reg.completed;
        }
        // Removals a worker deferred (batched) are counted by that worker.
        completed += shared
            .workers
            .iter()
            .map(|w| w.metrics.deferred_removals.load(Ordering::Relaxed))
            .sum::<u64>();
        let alive = usize::try_from(spawned.saturating_sub(completed)).unwrap_or(usize::MAX);
        let (threads, idle, depth) = shared.blocking.stats();
        RuntimeMetrics {
            workers,
            injector_depth: shared.injector.len(),
            spawned,
            completed,
            alive,
            blocking_threads: threads,
            blocking_idle_threads: idle,
            blocking_queue_depth: depth,
        }
    }
}

/// A nimsync runtime: work-stealing worker threads (or the current thread), timers, a
/// blocking pool. Dropping it shuts it down (see [`shutdown_timeout`](Self::shutdown_timeout)).
///
/// ```
/// use nimsync_scheduler::Runtime;
/// let rt = Runtime::builder().workers(2).build().unwrap();
/// let sum = rt.block_on(async {
///     let hs: Vec<_> = (0..10u64).map(|i| nimsync_scheduler::spawn(async move { i })).collect();
///     let mut s = 0;
///     for h in hs { s += h.await.unwrap(); }
///     s
/// });
/// assert_eq!(sum, 45);
/// ```
pub struct Runtime {
    handle: Handle,
    threads: Vec<std::thread::JoinHandle<()>>,
    exited: Arc<(Mutex<usize>, std::sync::Condvar)>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("handle", &self.handle)
            .finish()
    }
}

impl Runtime {
    /// A builder for a multi-threaded runtime.
    pub fn builder() -> Builder {
        Builder::new_multi_thread()
    }

    /// A current-thread runtime with default settings (tasks run inside `block_on`).
    ///
    /// ```
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
    /// ```
    pub fn current_thread() -> Runtime {
        Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime starts no thread and cannot fail to build")
    }

    pub(crate) fn from_config(
        cfg: Config,
        current_thread: bool,
        hooks: Option<Box<Hooks>>,
    ) -> Result<Runtime, BuildError> {
        let n = cfg.workers;
        let locals: Vec<Worker<crate::shared::Runnable>> =
            (0..n).map(|_| Worker::new_fifo()).collect();
        let workers: Box<[WorkerShared]> = locals
            .iter()
            .enumerate()
            .map(|(i, w)| {
                WorkerShared::new(w.stealer(), victim_groups(cfg.placement.as_ref(), i, n))
            })
            .collect();
        let mut cores: Vec<Box<Core>> = locals
            .into_iter()
            .enumerate()
            .map(|(i, w)| Box::new(Core::new(i, w, cfg.lifo_slot, cfg.max_lifo_polls)))
            .collect();
        let shared = Arc::new(Shared {
            idle: Idle::new(n, cfg.search_throttle),
            clock: Clock::new(cfg.start_paused),
            cfg,
            injector: Injector::new(),
            workers,
            shutdown: AtomicBool::new(false),
            remote_timers: Mutex::new(Wheel::new()),
            remote_next: AtomicU64::new(u64::MAX),
            hooks,
            blocking: BlockingPool::default(),
            block_on_active: AtomicUsize::new(0),
            ct_core: Mutex::new(None),
            ct_core_waiters: Mutex::new(Vec::new()),
            current_thread,
            watchers: AtomicUsize::new(0),
            watchdog_waking: AtomicBool::new(false),
        });
        let shards = (0..n + REMOTE_SHARDS)
            .map(|i| Arc::new(TaskShard::new(shared.clone(), i)))
            .collect();
        let handle = Handle {
            inner: Arc::new(HandleInner { shared, shards }),
        };
        let exited = Arc::new((Mutex::new(0usize), std::sync::Condvar::new()));
        let mut rt = Runtime {
            handle,
            threads: Vec::new(),
            exited,
        };
        if current_thread {
            *lock(&rt.handle.inner.shared.ct_core) = cores.pop();
            return Ok(rt);
        }
        let cfg = rt.handle.inner.shared.cfg.clone();
        for (i, core) in cores.into_iter().enumerate() {
            let h = rt.handle.clone();
            let exited = rt.exited.clone();
            let cfg2 = cfg.clone();
            let mut b = std::thread::Builder::new().name((cfg.thread_name)(i));
            if let Some(sz) = cfg.stack_size {
                b = b.stack_size(sz);
            }
            let spawned = b.spawn(move || {
                if cfg2.pin_cores
                    && let Some(id) = cfg2.placement.core_for_worker(i, cfg2.workers)
                    && pin_current_thread(id)
                {
                    // Reported in the metrics: a refused pin leaves the worker unpinned.
                    h.inner.shared.workers[i]
                        .metrics
                        .pinned_core
                        .store(id + 1, Ordering::Relaxed);
                }
                if let Some(f) = &cfg2.on_thread_start {
                    f();
                }
                run_worker(h, core);
                if let Some(f) = &cfg2.on_thread_stop {
                    f();
                }
                let (m, c) = &*exited;
                *lock_std(m) += 1;
                c.notify_all();
            });
            match spawned {
                Ok(t) => rt.threads.push(t),
                Err(e) => {
                    // Dropping `rt` shuts down the workers started so far.
                    return Err(BuildError::ThreadSpawn(e));
                }
            }
        }
        Ok(rt)
    }

    /// The runtime's handle.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Spawns a task (see [`Handle::spawn`]).
    pub fn spawn<F>(&self, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(fut)
    }

    /// Runs `f` on the blocking pool (see [`crate::spawn_blocking`]).
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle.spawn_blocking(f)
    }

    /// Moves a paused clock forward (see [`Handle::advance`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = nimsync_scheduler::Builder::new_current_thread()
    ///     .start_paused(true).auto_advance(false).build().unwrap();
    /// let t0 = rt.now();
    /// rt.advance(Duration::from_secs(5));
    /// assert_eq!(rt.now() - t0, Duration::from_secs(5));
    /// ```
    pub fn advance(&self, dur: Duration) -> bool {
        self.handle.advance(dur)
    }

    /// The runtime's current time (paused clock aware).
    pub fn now(&self) -> Instant {
        self.handle.now()
    }

    /// A metrics snapshot (see [`RuntimeMetrics`]).
    pub fn metrics(&self) -> RuntimeMetrics {
        self.handle.metrics()
    }

    /// Runs a future to completion on the current thread, driving the runtime.
    ///
    /// On a multi-threaded runtime, spawned tasks run on the workers while this thread polls
    /// `fut`; on a current-thread runtime, this thread runs the tasks too.
    ///
    /// # Panics
    /// When called from inside a runtime worker or another `block_on` (that would stall the
    /// executor); the message says so. Use `.await` or `spawn_blocking` instead.
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        let _guard = context::enter_block_on();
        let _enter = context::enter(self.handle.clone());
        let fut = pin!(fut);
        // The future's task context slot, kept across its polls.
        let mut slot = None;
        if self.handle.inner.shared.current_thread {
            let core = lock(&self.handle.inner.shared.ct_core).take();
            if let Some(core) = core {
                return self.block_on_current_thread(core, fut, &mut slot);
            }
        }
        self.block_on_polling(fut, &mut slot)
    }

    /// Multi-threaded flavour (or a second concurrent `block_on` on a current-thread
    /// runtime, which takes the core over once the `block_on` holding it returns it): poll
    /// `fut` here, park in between.
    fn block_on_polling<F: Future>(
        &self,
        mut fut: Pin<&mut F>,
        slot: &mut Option<context::TaskContextValue>,
    ) -> F::Output {
        let shared = &self.handle.inner.shared;
        let notify = Arc::new(ThreadNotify {
            parker: Parker::new(),
            parked: AtomicBool::new(false),
            shared: shared.clone(),
        });
        let waker = Waker::from(notify.clone());
        let mut cx = Context::from_waker(&waker);
        let mut fired = Vec::new();
        shared.block_on_active.fetch_add(1, Ordering::SeqCst);
        struct Inactive<'a>(&'a Shared);
        impl Drop for Inactive<'_> {
            fn drop(&mut self) {
                self.0.block_on_active.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let inactive = Inactive(shared);
        loop {
            if shared.current_thread
                && let Some(core) = take_core_or_wait(shared, &waker)
            {
                // The runtime's core is free: run its tasks and timers here from now on.
                drop(inactive);
                return self.block_on_current_thread(core, fut, slot);
            }
            crate::coop::reset_budget();
            let prev = context::swap_task_context(slot.take());
            let res = fut.as_mut().poll(&mut cx);
            *slot = context::swap_task_context(prev);
            if let Poll::Ready(v) = res {
                return v;
            }
            // Drive the remote timer wheel (timers registered by this thread live there).
            let now = shared.clock.now_ticks();
            shared.process_remote_timers(now, &mut fired);
            if !fired.is_empty() {
                for e in fired.drain(..) {
                    e.fire();
                }
                continue;
            }
            // Inactive while parked; a wake makes it active again at once (see
            // `ThreadNotify`), so the paused clock never jumps while it is runnable.
            notify.parked.store(true, Ordering::SeqCst);
            shared.block_on_active.fetch_sub(1, Ordering::SeqCst);
            shared.maybe_auto_advance();
            let timeout = shared
                .clock
                .timeout_until_tick(shared.remote_next.load(Ordering::Acquire));
            notify.parker.park(timeout);
            if notify.parked.swap(false, Ordering::SeqCst) {
                // Not woken (a timeout): nobody counted it active again.
                shared.block_on_active.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    /// Current-thread flavour: this thread is worker 0.
    fn block_on_current_thread<F: Future>(
        &self,
        core: Box<Core>,
        mut fut: Pin<&mut F>,
        slot: &mut Option<context::TaskContextValue>,
    ) -> F::Output {
        let shared = self.handle.inner.shared.clone();
        let ctx = Rc::new(WorkerCtx::new(self.handle.clone(), core));
        context::set_worker(Some(ctx.clone()));
        struct Restore {
            ctx: Option<Rc<WorkerCtx>>,
            shared: Arc<Shared>,
        }
        impl Drop for Restore {
            fn drop(&mut self) {
                if let Some(ctx) = &self.ctx {
                    ctx.flush_removals();
                }
                context::set_worker(None);
                if let Some(ctx) = self.ctx.take()
                    && let Ok(ctx) = Rc::try_unwrap(ctx)
                {
                    let mut core = lock(&self.shared.ct_core);
                    *core = Some(ctx.core);
                    // Another `block_on` may be waiting to take it over.
                    for w in lock(&self.shared.ct_core_waiters).drain(..) {
                        w.wake();
                    }
                    drop(core);
                }
            }
        }
        let restore = Restore {
            ctx: Some(ctx),
            shared: shared.clone(),
        };
        let ctx: &WorkerCtx = restore.ctx.as_deref().expect("worker context");
        let main = Arc::new(MainNotify {
            woken: AtomicBool::new(true),
            parker: shared.workers[0].parker.clone(),
        });
        let waker = Waker::from(main.clone());
        let mut cx = Context::from_waker(&waker);
        const BUDGET: usize = 128;
        loop {
            if main.woken.swap(false, Ordering::AcqRel) {
                // The main future is not a task: let the poll hooks release what they kept.
                crate::hooks::run_idle(shared.hooks.as_deref());
                crate::coop::reset_budget();
                let prev = context::swap_task_context(slot.take());
                let res = fut.as_mut().poll(&mut cx);
                *slot = context::swap_task_context(prev);
                if let Poll::Ready(v) = res {
                    return v;
                }
            }
            let mut progressed = false;
            for _ in 0..BUDGET {
                if !ctx.step(false) {
                    break;
                }
                progressed = true;
                if main.woken.load(Ordering::Acquire) {
                    break;
                }
            }
            if progressed || main.woken.load(Ordering::Acquire) {
                continue;
            }
            if shared.is_shutdown() {
                // The runtime is going away under us (only possible through a Handle):
                // keep polling the main future alone.
                shared.workers[0]
                    .parker
                    .park(Some(Duration::from_millis(1)));
                main.woken.store(true, Ordering::Release);
                continue;
            }
            ctx.park();
        }
    }

    /// Shuts the runtime down: stops the workers, cancels every pending task (each future is
    /// dropped exactly once), and waits up to `timeout` for worker and blocking threads to
    /// exit (threads still busy after that — a task stuck in a long poll, a blocking job —
    /// are detached).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = nimsync_scheduler::Runtime::builder().workers(1).build().unwrap();
    /// let h = rt.spawn(std::future::pending::<()>());
    /// rt.shutdown_timeout(Duration::from_secs(5));
    /// assert!(h.is_finished());
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shutdown(Some(Instant::now() + timeout));
    }

    fn shutdown(&mut self, deadline: Option<Instant>) {
        let shared = self.handle.inner.shared.clone();
        if shared.shutdown.load(Ordering::Acquire) && self.threads.is_empty() {
            return;
        }
        shared.begin_shutdown();
        // Join the workers (bounded by the deadline).
        let me = std::thread::current().id();
        let threads = std::mem::take(&mut self.threads);
        let expected = threads.iter().filter(|t| t.thread().id() != me).count();
        let all_exited = {
            let (m, c) = &*self.exited;
            let mut n = lock_std(m);
            while *n < expected {
                match deadline {
                    None => n = c.wait(n).unwrap_or_else(|p| p.into_inner()),
                    Some(d) => {
                        let now = Instant::now();
                        if now >= d {
                            break;
                        }
                        n = c
                            .wait_timeout(n, d - now)
                            .map(|(g, _)| g)
                            .unwrap_or_else(|p| p.into_inner().0);
                    }
                }
            }
            *n >= expected
        };
        // Every worker has left its loop: join them all, so their thread-locals and stacks
        // are freed before shutdown returns (a leak check right after it sees 0 bytes).
        // Otherwise (deadline hit) join only those already gone and detach the rest.
        for t in threads {
            if t.thread().id() != me && (all_exited || t.is_finished()) {
                let _ = t.join();
            }
        }
        // The current-thread core, if no block_on holds it.
        let core = lock(&shared.ct_core).take();
        if let Some(core) = core {
            core.drain(&shared);
        }
        // Cancel every task still alive, wherever it waits.
        for shard in self.handle.inner.shards.iter() {
            for w in shard.close() {
                w.wake();
            }
        }
        shared.drain_injector();
        let timers = lock(&shared.remote_timers).drain();
        drop(timers);
        for w in shared.workers.iter() {
            drop(w.drain_timers());
        }
        shared.blocking.shutdown_join(deadline);
        shared.drain_injector();
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

/// A current-thread runtime's core for a polling `block_on`, if free; otherwise registers
/// `waker` to be woken when the `block_on` holding it returns it (under the core's lock, so
/// the return cannot slip in between).
fn take_core_or_wait(shared: &Shared, waker: &Waker) -> Option<Box<Core>> {
    let mut core = lock(&shared.ct_core);
    if let Some(core) = core.take() {
        return Some(core);
    }
    let mut waiters = lock(&shared.ct_core_waiters);
    if !waiters.iter().any(|w| w.will_wake(waker)) {
        waiters.push(waker.clone());
    }
    None
}

/// Pins the calling thread to core `id` if the process may run there: `false` (nothing
/// done) otherwise. (`core_affinity` indexes a fixed-size CPU set with the id, which aborts
/// the process for an id past its end, so a placement's answer is checked first.)
fn pin_current_thread(id: usize) -> bool {
    let allowed = core_affinity::get_core_ids().unwrap_or_default();
    allowed.iter().any(|c| c.id == id)
        && core_affinity::set_for_current(core_affinity::CoreId { id })
}

fn lock_std<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Waker of a multi-threaded `block_on`: unparks the blocked thread.
struct ThreadNotify {
    parker: Parker,
    /// Set while the `block_on` thread is (about to be) parked and counted inactive.
    parked: AtomicBool,
    shared: Arc<Shared>,
}

impl ThreadNotify {
    fn notify(&self) {
        // Counted active before it is unparked: whoever woke it (a task, a blocking job) and
        // then looks whether everything is idle to auto-advance the paused clock sees it.
        if self.parked.swap(false, Ordering::SeqCst) {
            self.shared.block_on_active.fetch_add(1, Ordering::SeqCst);
        }
        self.parker.unpark();
    }
}

impl Wake for ThreadNotify {
    fn wake(self: Arc<Self>) {
        self.notify();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.notify();
    }
}

/// Waker of a current-thread `block_on`'s main future.
struct MainNotify {
    woken: AtomicBool,
    parker: Arc<Parker>,
}

impl Wake for MainNotify {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.parker.unpark();
    }
}
