//! [`retry`]: run a fallible async operation again after retryable failures, with backoff,
//! attempt and time limits, and cancellation between attempts (the seed's `withRetry`).

use core::fmt;
use core::future::Future;
use std::sync::Arc;
use std::time::Duration;

use nimsync_cancel::{CancelScope, CancelToken, checkpoint, with_cancel};

use crate::{Backoff, ConfigError, RetryError};

/// How [`retry`] retries.
///
/// ```
/// use std::time::Duration;
/// use nimsync_supervision::{Backoff, RetryPolicy};
/// let p = RetryPolicy::<std::io::Error>::new(5)
///     .unwrap()
///     .backoff(Backoff::exponential(Duration::from_millis(10), Duration::from_secs(1)))
///     .max_elapsed(Duration::from_secs(30))
///     .retry_if(|e| e.kind() != std::io::ErrorKind::PermissionDenied);
/// assert_eq!(p.max_attempts(), 5);
/// assert!(RetryPolicy::<std::io::Error>::new(0).is_err());
/// ```
pub struct RetryPolicy<E> {
    max_attempts: u32,
    max_elapsed: Option<Duration>,
    backoff: Backoff,
    retryable: Arc<dyn Fn(&E) -> bool + Send + Sync>,
    token: Option<CancelToken>,
    seed: Option<u64>,
}

impl<E> Clone for RetryPolicy<E> {
    fn clone(&self) -> Self {
        RetryPolicy {
            max_attempts: self.max_attempts,
            max_elapsed: self.max_elapsed,
            backoff: self.backoff,
            retryable: self.retryable.clone(),
            token: self.token.clone(),
            seed: self.seed,
        }
    }
}

impl<E> RetryPolicy<E> {
    /// Up to `max_attempts` (≥ 1) attempts, the default [`Backoff`], every error retryable.
    pub fn new(max_attempts: u32) -> Result<Self, ConfigError> {
        if max_attempts == 0 {
            return Err(ConfigError("a retry policy needs at least 1 attempt"));
        }
        Ok(RetryPolicy {
            max_attempts,
            max_elapsed: None,
            backoff: Backoff::default(),
            retryable: Arc::new(|_| true),
            token: None,
            seed: None,
        })
    }

    /// Sets the backoff between attempts.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Gives up instead of sleeping past `limit` since the first attempt started.
    pub fn max_elapsed(mut self, limit: Duration) -> Self {
        self.max_elapsed = Some(limit);
        self
    }

    /// Retries only errors for which `pred` is true.
    pub fn retry_if(mut self, pred: impl Fn(&E) -> bool + Send + Sync + 'static) -> Self {
        self.retryable = Arc::new(pred);
        self
    }

    /// Also stops retrying when `token` is cancelled (the enclosing cancel scope always
    /// counts).
    pub fn cancel_token(mut self, token: CancelToken) -> Self {
        self.token = Some(token);
        self
    }

    /// Seeds the jitter (for reproducible tests).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Attempts allowed.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }
}

impl<E> fmt::Debug for RetryPolicy<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("max_elapsed", &self.max_elapsed)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

/// Runs `op` until it succeeds, fails with a non-retryable error, runs out of attempts or
/// time, or is cancelled. Delays run on the scheduler's clock (paused clocks make tests
/// exact); cancellation is checked before every retry and interrupts a backoff sleep.
///
/// ```
/// use std::time::Duration;
/// use nimsync_supervision::{Backoff, RetryError, RetryPolicy, retry};
///
/// let rt = nimsync_scheduler::Builder::new_current_thread().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let policy = RetryPolicy::new(5).unwrap()
///         .backoff(Backoff::exponential(Duration::from_millis(100), Duration::from_secs(1)));
///     let t0 = nimsync_scheduler::now();
///     let mut calls = 0;
///     let r = retry(&policy, || {
///         calls += 1;
///         let n = calls;
///         async move { if n < 3 { Err("flaky") } else { Ok(n) } }
///     })
///     .await;
///     assert_eq!(r, Ok(3));
///     assert_eq!(nimsync_scheduler::now() - t0, Duration::from_millis(300)); // 100 + 200
///
///     let never = retry(&policy, || async { Err::<(), _>("down") }).await;
///     assert_eq!(never, Err(RetryError::Exhausted { attempts: 5, last: "down" }));
/// });
/// ```
pub async fn retry<T, E, F, Fut>(policy: &RetryPolicy<E>, mut op: F) -> Result<T, RetryError<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut rng = match policy.seed {
        Some(s) => fastrand::Rng::with_seed(s),
        None => fastrand::Rng::new(),
    };
    let start = nimsync_scheduler::now();
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let err = match op().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        if !(policy.retryable)(&err) {
            return Err(RetryError::NotRetryable(err));
        }
        if attempts >= policy.max_attempts {
            return Err(RetryError::Exhausted {
                attempts,
                last: err,
            });
        }
        let delay = policy.backoff.delay(attempts - 1, &mut rng);
        if let Some(limit) = policy.max_elapsed
            && nimsync_scheduler::now()
                .saturating_duration_since(start)
                .saturating_add(delay)
                > limit
        {
            return Err(RetryError::Exhausted {
                attempts,
                last: err,
            });
        }
        let cancelled = |cause| RetryError::Cancelled { attempts, cause };
        checkpoint().map_err(cancelled)?;
        let sleep = nimsync_scheduler::sleep(delay);
        let slept = match &policy.token {
            Some(token) => with_cancel(token, sleep).await,
            None => CancelScope::new().run(sleep).await,
        };
        slept.map_err(cancelled)?;
        checkpoint().map_err(cancelled)?;
    }
}
