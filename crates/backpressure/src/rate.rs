//! `RateLimiter`: GCRA (the generic cell rate algorithm) on the scheduler's clock.
//!
//! One `AtomicU64` holds the theoretical arrival time (TAT) in nanoseconds since the
//! limiter's creation; a check is one CAS. Waiting uses the scheduler's `sleep_until`, so
//! there is no timer thread of its own, and a runtime built with `start_paused(true)` tests
//! it exactly. (`governor` was considered: its async waiting pulls in `futures-timer`, a
//! second timer thread, so the dozen lines of GCRA live here instead.)

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nimsync_scheduler::{Sleep, now, sleep_until};

use crate::error::{ConfigError, NotUntil};

/// Admits `rate` cells per `period` on average, with bursts of up to `burst` cells. Cheap to
/// clone (clones share the budget).
///
/// ```
/// use std::time::Duration;
/// use nimsync_backpressure::RateLimiter;
/// use nimsync_scheduler::{Builder, now};
///
/// let rt = Builder::new_current_thread().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     // 10 per second, bursts of 2.
///     let rl = RateLimiter::new(10, Duration::from_secs(1), 2).unwrap();
///     assert!(rl.check().is_ok());
///     assert!(rl.check().is_ok());
///     assert!(rl.check().is_err()); // burst spent: shed, or wait:
///     let t0 = now();
///     rl.until_ready().await;
///     assert_eq!(now() - t0, Duration::from_millis(100));
/// });
/// ```
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    origin: Instant,
    /// Theoretical arrival time, nanoseconds since `origin`.
    tat: AtomicU64,
    /// Nanoseconds between cells at the sustained rate.
    interval: u64,
    /// `burst × interval`: how far ahead of now the TAT may run.
    tolerance: u64,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("interval", &Duration::from_nanos(self.inner.interval))
            .field("burst", &(self.inner.tolerance / self.inner.interval))
            .finish()
    }
}

impl RateLimiter {
    /// `rate` cells per `period`, bursts of up to `burst`. Zero values are errors, as is a
    /// rate so high that one cell would take less than a nanosecond.
    ///
    /// ```
    /// use std::time::Duration;
    /// use nimsync_backpressure::{ConfigError, RateLimiter};
    /// assert_eq!(
    ///     RateLimiter::new(0, Duration::from_secs(1), 1).unwrap_err(),
    ///     ConfigError::Zero("rate")
    /// );
    /// ```
    pub fn new(rate: u32, period: Duration, burst: u32) -> Result<Self, ConfigError> {
        if rate == 0 {
            return Err(ConfigError::Zero("rate"));
        }
        if period.is_zero() {
            return Err(ConfigError::Zero("period"));
        }
        if burst == 0 {
            return Err(ConfigError::Zero("burst"));
        }
        let interval = u64::try_from(period.as_nanos() / u128::from(rate)).unwrap_or(u64::MAX);
        if interval == 0 {
            return Err(ConfigError::InvalidParameter {
                name: "rate",
                value: f64::from(rate),
                expected: "at most one cell per nanosecond of the period",
            });
        }
        Ok(Self {
            inner: Arc::new(Inner {
                origin: now(),
                tat: AtomicU64::new(0),
                interval,
                tolerance: interval.saturating_mul(u64::from(burst)),
            }),
        })
    }

    /// `rate` cells per second, bursts of up to `burst`.
    ///
    /// ```
    /// let rl = nimsync_backpressure::RateLimiter::per_second(100, 10).unwrap();
    /// assert!(rl.check().is_ok());
    /// ```
    pub fn per_second(rate: u32, burst: u32) -> Result<Self, ConfigError> {
        Self::new(rate, Duration::from_secs(1), burst)
    }

    /// Takes one cell if the rate allows it now; otherwise says when the next one frees.
    pub fn check(&self) -> Result<(), NotUntil> {
        self.check_n(1)
    }

    /// Takes `n` cells at once (all or none). `n` above the burst can never pass: it is
    /// rejected with the instant at which it would be admitted if the burst allowed it.
    ///
    /// ```
    /// let rl = nimsync_backpressure::RateLimiter::per_second(10, 5).unwrap();
    /// assert!(rl.check_n(5).is_ok());
    /// assert!(rl.check_n(1).is_err());
    /// ```
    pub fn check_n(&self, n: u32) -> Result<(), NotUntil> {
        let inner = &*self.inner;
        let t = u64::try_from(now().saturating_duration_since(inner.origin).as_nanos())
            .unwrap_or(u64::MAX);
        let cost = inner.interval.saturating_mul(u64::from(n));
        let mut tat = inner.tat.load(Ordering::Acquire);
        loop {
            let new_tat = tat.max(t).saturating_add(cost);
            if new_tat - t > inner.tolerance {
                let ready = new_tat - inner.tolerance;
                return Err(NotUntil(inner.origin + Duration::from_nanos(ready)));
            }
            match inner
                .tat
                .compare_exchange_weak(tat, new_tat, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ok(()),
                Err(cur) => tat = cur,
            }
        }
    }

    /// Waits (on the scheduler's timer) until a cell is free and takes it.
    pub async fn until_ready(&self) {
        let mut sleep = None;
        std::future::poll_fn(|cx| self.poll_ready(&mut sleep, cx)).await;
    }

    /// The polling form of [`until_ready`](Self::until_ready): takes a cell or arms `sleep`.
    pub(crate) fn poll_ready(
        &self,
        sleep: &mut Option<Sleep>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        use std::future::Future;
        use std::pin::Pin;
        use std::task::Poll;
        loop {
            if let Some(s) = sleep {
                if Pin::new(s).poll(cx).is_pending() {
                    return Poll::Pending;
                }
                *sleep = None;
            }
            match self.check() {
                Ok(()) => return Poll::Ready(()),
                Err(NotUntil(at)) => *sleep = Some(sleep_until(at)),
            }
        }
    }
}
