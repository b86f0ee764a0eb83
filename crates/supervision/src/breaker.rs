//! [`CircuitBreaker`]: stop calling a failing dependency for a while, then probe it.
//!
//! The state machine is a plain struct driven by explicit instants (so tests run it on a
//! hand-moved clock); the breaker wraps it in a mutex held only for a few comparisons.

use core::fmt;
use core::future::Future;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{BreakerError, ConfigError};

/// The breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through; outcomes are counted.
    Closed,
    /// Calls are rejected until the reset timeout passes.
    Open,
    /// A limited number of trial calls go through; their outcomes decide.
    HalfOpen,
}

/// When a closed breaker opens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TripRule {
    /// After this many failures in a row.
    ConsecutiveFailures(u32),
    /// When, over the last `window` calls (and at least `min_calls` of them), the share of
    /// failures reaches `threshold` (0 < threshold ≤ 1).
    FailureRate {
        /// Failure share that trips the breaker.
        threshold: f64,
        /// Calls in the sliding window.
        window: u32,
        /// Calls needed before the rate counts.
        min_calls: u32,
    },
}

/// A breaker's configuration.
///
/// ```
/// use std::time::Duration;
/// use nimsync_supervision::{BreakerConfig, TripRule};
/// let c = BreakerConfig::new(TripRule::ConsecutiveFailures(3), Duration::from_secs(10));
/// assert_eq!(c.half_open_trials, 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerConfig {
    /// When to open.
    pub trip: TripRule,
    /// How long to stay open before letting trial calls through.
    pub reset_timeout: Duration,
    /// Trial calls in half-open; all must succeed to close, one failure reopens.
    pub half_open_trials: u32,
}

impl BreakerConfig {
    /// `trip` and `reset_timeout`, one half-open trial.
    pub fn new(trip: TripRule, reset_timeout: Duration) -> Self {
        BreakerConfig {
            trip,
            reset_timeout,
            half_open_trials: 1,
        }
    }

    /// Sets the number of half-open trial calls.
    pub fn half_open_trials(mut self, n: u32) -> Self {
        self.half_open_trials = n;
        self
    }

    fn validate(&self) -> Result<(), ConfigError> {
        match self.trip {
            TripRule::ConsecutiveFailures(0) => {
                return Err(ConfigError(
                    "consecutive-failure threshold must be at least 1",
                ));
            }
            TripRule::FailureRate {
                threshold,
                window,
                min_calls,
            } => {
                if !(threshold > 0.0 && threshold <= 1.0) {
                    return Err(ConfigError("failure-rate threshold must be in (0, 1]"));
                }
                if window == 0 || min_calls == 0 || min_calls > window {
                    return Err(ConfigError(
                        "failure-rate window and min_calls must be at least 1, min_calls ≤ window",
                    ));
                }
            }
            TripRule::ConsecutiveFailures(_) => {}
        }
        if self.half_open_trials == 0 {
            return Err(ConfigError("half-open trials must be at least 1"));
        }
        Ok(())
    }
}

/// Something observable that happened to a breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerEvent {
    /// The state changed.
    StateChanged {
        /// Before.
        from: BreakerState,
        /// After.
        to: BreakerState,
    },
    /// A call was rejected without being made.
    Rejected,
}

/// A breaker's counters since it was built ([`CircuitBreaker::stats`]).
///
/// ```
/// use std::time::Duration;
/// use nimsync_supervision::{BreakerConfig, CircuitBreaker, TripRule};
/// let cfg = BreakerConfig::new(TripRule::ConsecutiveFailures(1), Duration::from_secs(60));
/// let breaker = CircuitBreaker::new(cfg).unwrap();
/// breaker.acquire().unwrap().success();
/// breaker.acquire().unwrap().failure(); // trips the breaker
/// assert!(breaker.acquire().is_err()); // rejected while open
/// let s = breaker.stats();
/// assert_eq!((s.successes, s.failures, s.rejected, s.opened, s.transitions), (1, 1, 1, 1, 1));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BreakerStats {
    /// Calls reported as succeeded.
    pub successes: u64,
    /// Calls reported as failed.
    pub failures: u64,
    /// Calls rejected without being made (open, or half-open with every trial taken).
    pub rejected: u64,
    /// Times the breaker opened.
    pub opened: u64,
    /// State changes of any kind.
    pub transitions: u64,
}

/// The state machine, on explicit instants.
#[derive(Debug)]
pub(crate) struct Core {
    config: BreakerConfig,
    stats: BreakerStats,
    state: BreakerState,
    /// Bumped on every state change; outcomes of calls admitted before it are ignored.
    epoch: u64,
    consecutive: u32,
    window: VecDeque<bool>,
    open_until: Instant,
    trials_started: u32,
    trials_succeeded: u32,
}

impl Core {
    pub(crate) fn new(config: BreakerConfig, now: Instant) -> Self {
        Core {
            config,
            stats: BreakerStats::default(),
            state: BreakerState::Closed,
            epoch: 0,
            consecutive: 0,
            window: VecDeque::new(),
            open_until: now,
            trials_started: 0,
            trials_succeeded: 0,
        }
    }

    fn set(&mut self, to: BreakerState, now: Instant, events: &mut Vec<BreakerEvent>) {
        let from = self.state;
        self.state = to;
        self.epoch += 1;
        self.consecutive = 0;
        self.window.clear();
        self.trials_started = 0;
        self.trials_succeeded = 0;
        if to == BreakerState::Open {
            // A reset timeout beyond `Instant`'s range (e.g. `Duration::MAX`, "stay open")
            // opens it for decades instead of overflowing.
            self.open_until = nimsync_scheduler::instant_after(now, self.config.reset_timeout);
            self.stats.opened += 1;
        }
        self.stats.transitions += 1;
        events.push(BreakerEvent::StateChanged { from, to });
    }

    pub(crate) fn state(&mut self, now: Instant, events: &mut Vec<BreakerEvent>) -> BreakerState {
        if self.state == BreakerState::Open && now >= self.open_until {
            self.set(BreakerState::HalfOpen, now, events);
        }
        self.state
    }

    /// Admits a call (its epoch) or says how long until a trial may go through.
    pub(crate) fn acquire(
        &mut self,
        now: Instant,
        events: &mut Vec<BreakerEvent>,
    ) -> Result<u64, Duration> {
        let verdict = match self.state(now, events) {
            BreakerState::Closed => Ok(self.epoch),
            BreakerState::Open => Err(self.open_until - now),
            BreakerState::HalfOpen if self.trials_started < self.config.half_open_trials => {
                self.trials_started += 1;
                Ok(self.epoch)
            }
            BreakerState::HalfOpen => Err(Duration::ZERO),
        };
        if verdict.is_err() {
            self.stats.rejected += 1;
            events.push(BreakerEvent::Rejected);
        }
        verdict
    }

    /// Records the outcome of a call admitted in `epoch` (`None`: abandoned, no outcome).
    pub(crate) fn record(
        &mut self,
        epoch: u64,
        ok: Option<bool>,
        now: Instant,
        events: &mut Vec<BreakerEvent>,
    ) {
        match ok {
            Some(true) => self.stats.successes += 1,
            Some(false) => self.stats.failures += 1,
            None => {}
        }
        if epoch != self.epoch {
            return;
        }
        match (self.state, ok) {
            (BreakerState::Closed, Some(ok)) => {
                let trip = match self.config.trip {
                    TripRule::ConsecutiveFailures(n) => {
                        self.consecutive = if ok { 0 } else { self.consecutive + 1 };
                        self.consecutive >= n
                    }
                    TripRule::FailureRate {
                        threshold,
                        window,
                        min_calls,
                    } => {
                        self.window.push_back(ok);
                        if self.window.len() > window as usize {
                            self.window.pop_front();
                        }
                        let calls = self.window.len();
                        let failures = self.window.iter().filter(|&&ok| !ok).count();
                        calls >= min_calls as usize && failures as f64 >= threshold * calls as f64
                    }
                };
                if trip {
                    self.set(BreakerState::Open, now, events);
                }
            }
            (BreakerState::HalfOpen, Some(false)) => self.set(BreakerState::Open, now, events),
            (BreakerState::HalfOpen, Some(true)) => {
                self.trials_succeeded += 1;
                if self.trials_succeeded >= self.config.half_open_trials {
                    self.set(BreakerState::Closed, now, events);
                }
            }
            (BreakerState::HalfOpen, None) => {
                // An abandoned trial frees its place.
                self.trials_started -= 1;
            }
            _ => {}
        }
    }
}

type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;
type Listener = Arc<dyn Fn(BreakerEvent) + Send + Sync>;

struct Shared {
    core: Mutex<Core>,
    clock: Clock,
    listener: Option<Listener>,
}

/// A circuit breaker. Cheap to clone (clones share the state).
///
/// ```
/// use std::time::Duration;
/// use nimsync_supervision::{BreakerConfig, BreakerError, BreakerState, CircuitBreaker, TripRule};
///
/// let rt = nimsync_scheduler::Builder::new_current_thread().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let cfg = BreakerConfig::new(TripRule::ConsecutiveFailures(2), Duration::from_secs(30));
///     let breaker = CircuitBreaker::new(cfg).unwrap();
///     for _ in 0..2 {
///         let r: Result<(), _> = breaker.call(async { Err::<(), _>("down") }).await;
///         assert!(matches!(r, Err(BreakerError::Failed("down"))));
///     }
///     assert_eq!(breaker.state(), BreakerState::Open);
///     let r = breaker.call(async { Ok::<_, &str>(1) }).await; // not even called
///     assert!(matches!(r, Err(BreakerError::Open { .. })));
///
///     nimsync_scheduler::sleep(Duration::from_secs(30)).await;
///     assert_eq!(breaker.state(), BreakerState::HalfOpen);
///     assert_eq!(breaker.call(async { Ok::<_, &str>(1) }).await, Ok(1)); // the trial succeeds
///     assert_eq!(breaker.state(), BreakerState::Closed);
/// });
/// ```
#[derive(Clone)]
pub struct CircuitBreaker {
    shared: Arc<Shared>,
}

impl CircuitBreaker {
    /// A closed breaker on the scheduler's clock (`nimsync_scheduler::now`, so paused test
    /// clocks drive it).
    pub fn new(config: BreakerConfig) -> Result<Self, ConfigError> {
        Self::with_clock(config, nimsync_scheduler::now)
    }

    /// A closed breaker reading time from `clock` (for deterministic tests).
    pub fn with_clock(
        config: BreakerConfig,
        clock: impl Fn() -> Instant + Send + Sync + 'static,
    ) -> Result<Self, ConfigError> {
        Self::build(config, Arc::new(clock), None)
    }

    /// A fresh closed breaker with this one's configuration and clock that calls `listener`
    /// with every event, after the state changed (use it at construction; keep it short).
    pub fn with_listener(self, listener: impl Fn(BreakerEvent) + Send + Sync + 'static) -> Self {
        let core = self.shared.core.lock().unwrap_or_else(|e| e.into_inner());
        let config = core.config;
        drop(core);
        let clock = self.shared.clock.clone();
        match Self::build(config, clock, Some(Arc::new(listener))) {
            Ok(b) => b,
            Err(_) => self, // the config was validated already
        }
    }

    fn build(
        config: BreakerConfig,
        clock: Clock,
        listener: Option<Listener>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let now = clock();
        Ok(CircuitBreaker {
            shared: Arc::new(Shared {
                core: Mutex::new(Core::new(config, now)),
                clock,
                listener,
            }),
        })
    }

    fn with_core<R>(&self, f: impl FnOnce(&mut Core, Instant, &mut Vec<BreakerEvent>) -> R) -> R {
        let mut events = Vec::new();
        let now = (self.shared.clock)();
        let r = {
            let mut core = self.shared.core.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut core, now, &mut events)
        };
        if let Some(l) = &self.shared.listener {
            for e in events {
                l(e);
            }
        }
        r
    }

    /// The current state (an open breaker whose timeout passed reports half-open).
    pub fn state(&self) -> BreakerState {
        self.with_core(|c, now, ev| c.state(now, ev))
    }

    /// The breaker's counters so far (calls reported, rejected, state changes).
    ///
    /// ```
    /// use std::time::Duration;
    /// use nimsync_supervision::{BreakerConfig, CircuitBreaker, TripRule};
    /// let cfg = BreakerConfig::new(TripRule::ConsecutiveFailures(3), Duration::from_secs(1));
    /// let breaker = CircuitBreaker::new(cfg).unwrap();
    /// assert_eq!(breaker.stats().successes, 0);
    /// ```
    pub fn stats(&self) -> BreakerStats {
        self.shared
            .core
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .stats
    }

    /// Asks to make one call: a permit to report its outcome with, or `Err(retry_after)`.
    pub fn acquire(&self) -> Result<BreakerPermit, Duration> {
        self.with_core(|c, now, ev| c.acquire(now, ev))
            .map(|epoch| BreakerPermit {
                breaker: self.clone(),
                epoch,
                done: false,
            })
    }

    /// Runs `fut` if the breaker lets it: `Err(Open)` at once when open, otherwise its
    /// result, counted as a success (`Ok`) or failure (`Err`). A call dropped before it
    /// finishes counts as neither.
    pub async fn call<T, E, F>(&self, fut: F) -> Result<T, BreakerError<E>>
    where
        F: Future<Output = Result<T, E>>,
    {
        let permit = self
            .acquire()
            .map_err(|retry_after| BreakerError::Open { retry_after })?;
        match fut.await {
            Ok(v) => {
                permit.success();
                Ok(v)
            }
            Err(e) => {
                permit.failure();
                Err(BreakerError::Failed(e))
            }
        }
    }
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

/// Permission to make one call; report its outcome. Dropped without one, it counts as
/// neither (a half-open trial place is freed).
#[must_use = "report the outcome with success() or failure()"]
pub struct BreakerPermit {
    breaker: CircuitBreaker,
    epoch: u64,
    done: bool,
}

impl BreakerPermit {
    /// The call succeeded.
    pub fn success(mut self) {
        self.finish(Some(true));
    }

    /// The call failed.
    pub fn failure(mut self) {
        self.finish(Some(false));
    }

    fn finish(&mut self, ok: Option<bool>) {
        self.done = true;
        let epoch = self.epoch;
        self.breaker
            .with_core(|c, now, ev| c.record(epoch, ok, now, ev));
    }
}

impl Drop for BreakerPermit {
    fn drop(&mut self) {
        if !self.done {
            self.finish(None);
        }
    }
}

impl fmt::Debug for BreakerPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerPermit")
            .field("epoch", &self.epoch)
            .finish()
    }
}
