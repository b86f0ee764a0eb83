//! `Builder`: configures and builds a [`Runtime`](crate::Runtime).
//!
//! Every scheduler heuristic has an off switch here (DESIGN.md §4b: tokio's stealable LIFO
//! slot cost up to 29 % and had to be reverted): the LIFO slot, the searching-worker throttle,
//! spinning before parking, the global-queue check interval, the local-queue cap.

use crate::hooks::{Hooks, SpawnInfo, TaskInfo, TaskOutcome};
use crate::placement::{Placement, RoundRobin};
use crate::runtime::Runtime;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

type ThreadHook = Arc<dyn Fn() + Send + Sync>;
type NameFn = Arc<dyn Fn(usize) -> String + Send + Sync>;

/// Why [`Builder::build`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// `workers(0)`: a multi-threaded runtime needs at least one worker.
    ZeroWorkers,
    /// A setting is out of range (the message says which).
    InvalidConfig(&'static str),
    /// The OS refused to start a worker thread.
    ThreadSpawn(std::io::Error),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::ZeroWorkers => write!(
                f,
                "a runtime needs at least one worker thread (got workers(0)); use \
                 `Runtime::current_thread()` for a runtime without worker threads"
            ),
            BuildError::InvalidConfig(m) => write!(f, "invalid runtime configuration: {m}"),
            BuildError::ThreadSpawn(e) => write!(f, "could not spawn a worker thread: {e}"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::ThreadSpawn(e) => Some(e),
            _ => None,
        }
    }
}

/// Resolved configuration (internal).
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) workers: usize,
    pub(crate) pin_cores: bool,
    pub(crate) placement: Arc<dyn Placement>,
    pub(crate) thread_name: NameFn,
    pub(crate) stack_size: Option<usize>,
    pub(crate) on_thread_start: Option<ThreadHook>,
    pub(crate) on_thread_stop: Option<ThreadHook>,
    pub(crate) lifo_slot: bool,
    pub(crate) max_lifo_polls: u32,
    pub(crate) global_queue_interval: u32,
    pub(crate) event_interval: u32,
    pub(crate) local_queue_capacity: usize,
    pub(crate) search_throttle: bool,
    pub(crate) spin_before_park: bool,
    pub(crate) start_paused: bool,
    pub(crate) auto_advance: bool,
    pub(crate) max_blocking_threads: usize,
    pub(crate) blocking_keep_alive: Duration,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("workers", &self.workers)
            .field("pin_cores", &self.pin_cores)
            .field("lifo_slot", &self.lifo_slot)
            .field("max_lifo_polls", &self.max_lifo_polls)
            .field("global_queue_interval", &self.global_queue_interval)
            .field("event_interval", &self.event_interval)
            .field("local_queue_capacity", &self.local_queue_capacity)
            .field("search_throttle", &self.search_throttle)
            .field("spin_before_park", &self.spin_before_park)
            .field("start_paused", &self.start_paused)
            .field("auto_advance", &self.auto_advance)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("blocking_keep_alive", &self.blocking_keep_alive)
            .finish_non_exhaustive()
    }
}

/// Configures a runtime. Start from [`Runtime::builder`] (multi-threaded) or
/// [`Builder::new_current_thread`].
///
/// ```
/// use nimsync_scheduler::Runtime;
/// let rt = Runtime::builder()
///     .workers(2)
///     .thread_name("my-worker")
///     .lifo_slot(true)
///     .build()
///     .expect("runtime");
/// assert_eq!(rt.metrics().workers.len(), 2);
/// ```
pub struct Builder {
    cfg: Config,
    current_thread: bool,
    hooks: Hooks,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("cfg", &self.cfg)
            .field("current_thread", &self.current_thread)
            .field("hooks", &self.hooks)
            .finish()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Self::new_multi_thread()
    }
}

impl Builder {
    /// A multi-threaded work-stealing runtime (default: one worker per available core).
    pub fn new_multi_thread() -> Self {
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        Builder {
            cfg: Config {
                workers,
                pin_cores: false,
                placement: Arc::new(RoundRobin),
                thread_name: Arc::new(|i| format!("nimsync-worker-{i}")),
                stack_size: None,
                on_thread_start: None,
                on_thread_stop: None,
                lifo_slot: true,
                max_lifo_polls: 3,
                global_queue_interval: 61,
                event_interval: 61,
                local_queue_capacity: if cfg!(nimsync_loom) { 4 } else { 1 << 16 },
                search_throttle: true,
                spin_before_park: true,
                start_paused: false,
                auto_advance: true,
                max_blocking_threads: 512,
                blocking_keep_alive: Duration::from_secs(10),
            },
            current_thread: false,
            hooks: Hooks::default(),
        }
    }

    /// A current-thread runtime: tasks run on the thread that calls `block_on` (no worker
    /// threads). Tasks spawned while no `block_on` runs wait for the next one.
    ///
    /// ```
    /// let rt = nimsync_scheduler::Builder::new_current_thread().start_paused(true).build().unwrap();
    /// rt.block_on(async { nimsync_scheduler::sleep(std::time::Duration::from_secs(3600)).await });
    /// ```
    pub fn new_current_thread() -> Self {
        let mut b = Self::new_multi_thread();
        b.current_thread = true;
        b.cfg.workers = 1;
        b.cfg.spin_before_park = false;
        b
    }

    /// Number of worker threads (multi-threaded flavour). `0` makes `build` fail with
    /// [`BuildError::ZeroWorkers`].
    pub fn workers(mut self, n: usize) -> Self {
        self.cfg.workers = n;
        self
    }

    /// Pins worker `i` to the core the [placement](Self::placement) chooses (default: round
    /// robin over the available cores).
    pub fn pin_cores(mut self, pin: bool) -> Self {
        self.cfg.pin_cores = pin;
        self
    }

    /// Sets the placement policy (core per worker, distance between workers).
    pub fn placement(mut self, placement: impl Placement) -> Self {
        self.cfg.placement = Arc::new(placement);
        self
    }

    /// Names worker threads `"{name}-{index}"`.
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.cfg.thread_name = Arc::new(move |i| format!("{name}-{i}"));
        self
    }

    /// Names worker threads with a function of their index.
    pub fn thread_name_fn(mut self, f: impl Fn(usize) -> String + Send + Sync + 'static) -> Self {
        self.cfg.thread_name = Arc::new(f);
        self
    }

    /// Stack size of worker and blocking threads.
    pub fn thread_stack_size(mut self, bytes: usize) -> Self {
        self.cfg.stack_size = Some(bytes);
        self
    }

    /// Runs `f` on every worker and blocking thread when it starts.
    pub fn on_thread_start(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.cfg.on_thread_start = Some(Arc::new(f));
        self
    }

    /// Runs `f` on every worker and blocking thread before it exits.
    pub fn on_thread_stop(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.cfg.on_thread_stop = Some(Arc::new(f));
        self
    }

    /// Enables the LIFO slot (default on): a task woken by the running task runs next.
    pub fn lifo_slot(mut self, on: bool) -> Self {
        self.cfg.lifo_slot = on;
        self
    }

    /// Maximum tasks run from the LIFO slot per scheduler tick (default 3).
    pub fn max_lifo_polls(mut self, n: u32) -> Self {
        self.cfg.max_lifo_polls = n;
        self
    }

    /// Every `n` ticks a worker takes from the global injector before its own queue, so
    /// spawns from outside cannot starve (default 61; must be ≥ 1).
    pub fn global_queue_interval(mut self, n: u32) -> Self {
        self.cfg.global_queue_interval = n;
        self
    }

    /// Every `n` ticks a busy worker checks its timers (default 61; must be ≥ 1).
    pub fn event_interval(mut self, n: u32) -> Self {
        self.cfg.event_interval = n;
        self
    }

    /// Cap of a worker's local queue (default 65 536, at least 2); on overflow half of it
    /// moves to the global injector. The deque grows on demand, so the cap only decides when
    /// excess work is pushed to the injector one task at a time; below it, idle workers take
    /// work by stealing half a queue in one batch, which is much cheaper (a low cap, like
    /// tokio's 256, sent most of a spawn burst or of a 1000-task `yield_now` load through the
    /// injector). Lower it to make a hoarding worker's backlog visible to the injector sooner.
    pub fn local_queue_capacity(mut self, n: usize) -> Self {
        self.cfg.local_queue_capacity = n;
        self
    }

    /// Limits searching (stealing) workers to half of all workers (default on).
    pub fn search_throttle(mut self, on: bool) -> Self {
        self.cfg.search_throttle = on;
        self
    }

    /// Spins (with exponential backoff, then `yield`) re-checking the queues before parking
    /// (default on for multi-threaded runtimes).
    pub fn spin_before_park(mut self, on: bool) -> Self {
        self.cfg.spin_before_park = on;
        self
    }

    /// Starts with a paused test clock: time moves only through
    /// [`Runtime::advance`](crate::Runtime::advance) or, when
    /// [`auto_advance`](Self::auto_advance) is on (default), by jumping to the next timer
    /// whenever every worker, every `block_on` and the blocking pool are idle.
    pub fn start_paused(mut self, paused: bool) -> Self {
        self.cfg.start_paused = paused;
        self
    }

    /// With a paused clock, jump to the next timer when the runtime is idle (default on).
    pub fn auto_advance(mut self, on: bool) -> Self {
        self.cfg.auto_advance = on;
        self
    }

    /// Upper bound of the blocking pool's threads (default 512).
    pub fn max_blocking_threads(mut self, n: usize) -> Self {
        self.cfg.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking thread waits for work before exiting (default 10 s).
    pub fn blocking_keep_alive(mut self, d: Duration) -> Self {
        self.cfg.blocking_keep_alive = d;
        self
    }

    /// Hook called when a task is spawned, on the spawning thread, with the child's id and
    /// (inherited) context slot, which it may replace, and its hook data slot.
    pub fn on_spawn(mut self, f: impl Fn(&mut SpawnInfo<'_>) + Send + Sync + 'static) -> Self {
        self.hooks.on_spawn = Some(Box::new(f));
        self
    }

    /// Hook called before every poll of a task (the task's context is installed; its hook
    /// data is in the [`TaskInfo`]).
    pub fn before_poll(mut self, f: impl Fn(&TaskInfo<'_>) + Send + Sync + 'static) -> Self {
        self.hooks.before_poll = Some(Box::new(f));
        self
    }

    /// Hook called after every poll of a task (the task's context is installed; its hook
    /// data is in the [`TaskInfo`]).
    pub fn after_poll(mut self, f: impl Fn(&TaskInfo<'_>) + Send + Sync + 'static) -> Self {
        self.hooks.after_poll = Some(Box::new(f));
        self
    }

    /// Hook called once when a task ends (completed, panicked or cancelled), after its future
    /// was dropped, with its context installed (and its hook data, dropped after the hook).
    pub fn on_terminate(
        mut self,
        f: impl Fn(&TaskInfo<'_>, TaskOutcome) + Send + Sync + 'static,
    ) -> Self {
        self.hooks.on_terminate = Some(Box::new(f));
        self
    }

    /// Hook called on a thread that polls tasks when it stops polling them for now: before a
    /// worker parks and when it exits its run loop, before a current-thread
    /// [`block_on`](crate::Runtime::block_on) polls its own future (which is not a task), and
    /// before a task's future is dropped without a poll (abort, cancel, shutdown). A
    /// `before_poll` hook may leave per-thread state in place from one poll to the next (e.g.
    /// a context kept entered while consecutive tasks share it, instead of leaving it in
    /// `after_poll` and entering it again) and release it here.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// let idles = Arc::new(AtomicUsize::new(0));
    /// let i = idles.clone();
    /// let rt = nimsync_scheduler::Builder::new_current_thread()
    ///     .on_idle(move || { i.fetch_add(1, Ordering::Relaxed); })
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async { nimsync_scheduler::spawn(async {}).await.unwrap() });
    /// assert!(idles.load(Ordering::Relaxed) >= 1);
    /// ```
    pub fn on_idle(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.hooks.on_idle = Some(Box::new(f));
        self
    }

    /// Builds the runtime (starting its worker threads).
    ///
    /// ```
    /// use nimsync_scheduler::{BuildError, Runtime};
    /// assert!(matches!(Runtime::builder().workers(0).build(), Err(BuildError::ZeroWorkers)));
    /// ```
    pub fn build(self) -> Result<Runtime, BuildError> {
        let Builder {
            cfg,
            current_thread,
            hooks,
        } = self;
        if cfg.workers == 0 {
            return Err(BuildError::ZeroWorkers);
        }
        if cfg.workers > 4096 {
            return Err(BuildError::InvalidConfig("workers must be at most 4096"));
        }
        if cfg.local_queue_capacity < 2 {
            return Err(BuildError::InvalidConfig(
                "local_queue_capacity must be at least 2",
            ));
        }
        if cfg.global_queue_interval == 0 || cfg.event_interval == 0 {
            return Err(BuildError::InvalidConfig(
                "global_queue_interval and event_interval must be at least 1",
            ));
        }
        if cfg.max_blocking_threads == 0 {
            return Err(BuildError::InvalidConfig(
                "max_blocking_threads must be at least 1",
            ));
        }
        let hooks = if hooks.is_empty() {
            None
        } else {
            Some(Box::new(hooks))
        };
        Runtime::from_config(cfg, current_thread, hooks)
    }
}
