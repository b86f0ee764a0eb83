//! `Builder`: validated pool configuration (sizes, timeouts, health checks, leak detection).

use crate::error::BuildError;
use crate::leak::LeakReport;
use crate::manager::Manager;
use crate::pool::Pool;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub(crate) type LeakHandler = Arc<dyn Fn(&LeakReport) + Send + Sync>;

/// Which idle connection a checkout takes.
///
/// ```
/// use nimsync_pool::QueueMode;
/// assert_eq!(QueueMode::default(), QueueMode::Fifo);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueMode {
    /// The connection idle the longest (spreads use over every connection).
    #[default]
    Fifo,
    /// The connection returned last (keeps a hot set; the rest can expire).
    Lifo,
}

/// Resolved configuration (internal).
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) max_size: usize,
    pub(crate) min_idle: usize,
    pub(crate) acquire_timeout: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) max_lifetime: Option<Duration>,
    pub(crate) test_on_checkout: bool,
    pub(crate) queue_mode: QueueMode,
    pub(crate) leak_threshold: Option<Duration>,
    pub(crate) on_leak: Option<LeakHandler>,
    pub(crate) reaper_interval: Duration,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("max_size", &self.max_size)
            .field("min_idle", &self.min_idle)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_lifetime", &self.max_lifetime)
            .field("test_on_checkout", &self.test_on_checkout)
            .field("queue_mode", &self.queue_mode)
            .field("leak_threshold", &self.leak_threshold)
            .field("reaper_interval", &self.reaper_interval)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Whether the background reaper has any work to do.
    pub(crate) fn needs_reaper(&self) -> bool {
        self.min_idle > 0
            || self.idle_timeout.is_some()
            || self.max_lifetime.is_some()
            || self.leak_threshold.is_some()
    }
}

/// Configures a [`Pool`]; start from [`Pool::builder`].
///
/// Defaults: `max_size` 10, `min_idle` 0, no acquire timeout, no idle timeout, no max
/// lifetime, health check on checkout, FIFO idle queue, no leak detection, reaper every 30 s
/// (started only when `min_idle`, an idle timeout, a max lifetime or a leak threshold is set).
///
/// ```
/// use std::time::Duration;
/// use nimsync_pool::{Pool, QueueMode};
/// # struct M;
/// # impl nimsync_pool::Manager for M {
/// #     type Connection = ();
/// #     type Error = std::convert::Infallible;
/// #     async fn create(&self) -> Result<(), Self::Error> { Ok(()) }
/// # }
/// let rt = nimsync_scheduler::Runtime::current_thread();
/// rt.block_on(async {
///     let pool = Pool::builder(M)
///         .max_size(8)
///         .min_idle(2)
///         .acquire_timeout(Duration::from_secs(5))
///         .idle_timeout(Duration::from_secs(600))
///         .max_lifetime(Duration::from_secs(3600))
///         .queue_mode(QueueMode::Lifo)
///         .leak_threshold(Duration::from_secs(60))
///         .build()
///         .unwrap();
///     assert_eq!(pool.status().max_size, 8);
/// });
/// ```
pub struct Builder<M: Manager> {
    manager: M,
    cfg: Config,
}

impl<M: Manager> fmt::Debug for Builder<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl<M: Manager> Builder<M> {
    pub(crate) fn new(manager: M) -> Self {
        Builder {
            manager,
            cfg: Config {
                max_size: 10,
                min_idle: 0,
                acquire_timeout: None,
                idle_timeout: None,
                max_lifetime: None,
                test_on_checkout: true,
                queue_mode: QueueMode::Fifo,
                leak_threshold: None,
                on_leak: None,
                reaper_interval: Duration::from_secs(30),
            },
        }
    }

    /// Most connections alive at once, idle or in use (default 10; 0 is a [`BuildError`]).
    pub fn max_size(mut self, n: usize) -> Self {
        self.cfg.max_size = n;
        self
    }

    /// Idle connections the reaper keeps ready (default 0; must not exceed `max_size`).
    pub fn min_idle(mut self, n: usize) -> Self {
        self.cfg.min_idle = n;
        self
    }

    /// Upper bound of a whole checkout by [`Pool::get`] and [`Pool::get_with_cancel`]:
    /// waiting, creating and checking (default none). [`Pool::get_timeout`] overrides it per
    /// call. [`Duration::ZERO`] means "try once without waiting": every checkout is polled
    /// once and fails with [`PoolError::Timeout`](crate::PoolError::Timeout) unless that
    /// completes it (see [`Pool::get_timeout`] for what can).
    pub fn acquire_timeout(mut self, d: Duration) -> Self {
        self.cfg.acquire_timeout = Some(d);
        self
    }

    /// Idle connections unused this long are closed (keeping `min_idle`); checked on
    /// checkout and by the reaper.
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.cfg.idle_timeout = Some(d);
        self
    }

    /// Connections older than this are closed: on checkout, on return and by the reaper.
    pub fn max_lifetime(mut self, d: Duration) -> Self {
        self.cfg.max_lifetime = Some(d);
        self
    }

    /// Run [`Manager::is_valid`] on every checkout of an idle connection (default on).
    pub fn test_on_checkout(mut self, on: bool) -> Self {
        self.cfg.test_on_checkout = on;
        self
    }

    /// Which idle connection a checkout takes (default [`QueueMode::Fifo`]).
    pub fn queue_mode(mut self, mode: QueueMode) -> Self {
        self.cfg.queue_mode = mode;
        self
    }

    /// A guard held longer than this is a suspected leak: listed by [`Pool::leaks`] and
    /// reported once by the reaper to the [`on_leak`](Self::on_leak) handler (default: a
    /// line on stderr) with where it was acquired.
    pub fn leak_threshold(mut self, d: Duration) -> Self {
        self.cfg.leak_threshold = Some(d);
        self
    }

    /// Replaces the default leak report (a line on stderr).
    pub fn on_leak(mut self, f: impl Fn(&LeakReport) + Send + Sync + 'static) -> Self {
        self.cfg.on_leak = Some(Arc::new(f));
        self
    }

    /// How often the background reaper runs [`Pool::maintain`] (default 30 s).
    pub fn reaper_interval(mut self, d: Duration) -> Self {
        self.cfg.reaper_interval = d;
        self
    }

    /// Validates the configuration and builds the pool. When the reaper is needed (see
    /// [`Builder`]) it is spawned on the runtime entered on this thread (or the global one),
    /// and it first fills the pool up to `min_idle`; build the pool inside the runtime that
    /// uses it.
    pub fn build(self) -> Result<Pool<M>, BuildError> {
        let cfg = &self.cfg;
        if cfg.max_size == 0 {
            return Err(BuildError::ZeroMaxSize);
        }
        if cfg.min_idle > cfg.max_size {
            return Err(BuildError::MinIdleAboveMaxSize {
                min_idle: cfg.min_idle,
                max_size: cfg.max_size,
            });
        }
        for (d, what) in [
            (Some(cfg.reaper_interval), "reaper_interval"),
            (cfg.idle_timeout, "idle_timeout"),
            (cfg.max_lifetime, "max_lifetime"),
            (cfg.leak_threshold, "leak_threshold"),
        ] {
            if d == Some(Duration::ZERO) {
                return Err(BuildError::ZeroDuration(what));
            }
        }
        Ok(Pool::from_parts(self.manager, self.cfg))
    }
}
