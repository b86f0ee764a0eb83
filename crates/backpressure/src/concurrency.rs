//! `ConcurrencyLimiter`: admits requests up to a [`Limiter`]'s current limit and hands out
//! [`Permit`]s that feed the algorithm when they finish.
//!
//! Admission is a CAS on an in-flight counter (no lock); only a permit that reports a sample
//! takes the algorithm's mutex. Waiters park on an `event-listener` queue and each release
//! wakes one more waiter (plus one per unit the limit grew), so no wake-up is lost. A count
//! of waiters lets a release with nobody waiting skip the queue: the releaser decrements
//! `inflight` then reads `waiters`, a waiter increments `waiters` then re-reads `inflight`,
//! all `SeqCst`, so at least one of them sees the other. A permit
//! releases its slot exactly once: on `success`, `dropped`, `ignore` or drop — also when the
//! future holding it is cancelled.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use event_listener::{Event, EventListener, IntoNotification};

use crate::error::Rejected;
use crate::limit::{Limiter, Sample};

struct Shared {
    inflight: AtomicUsize,
    limit: AtomicUsize,
    /// Registered `Waiting`s.
    waiters: AtomicUsize,
    algorithm: Mutex<Box<dyn Limiter>>,
    released: Event,
}

/// Bounds how many requests run at once, by an adaptive [`Limiter`]. Cheap to clone (all
/// clones share one limit).
///
/// ```
/// use std::time::Duration;
/// use nimsync_backpressure::{ConcurrencyLimiter, Fixed};
///
/// let limiter = ConcurrencyLimiter::new(Fixed::new(2).unwrap());
/// let a = limiter.try_acquire().unwrap();
/// let _b = limiter.try_acquire().unwrap();
/// assert!(limiter.try_acquire().is_err()); // load shedding: full, reject at once
/// a.success(Duration::from_millis(3));
/// let c = futures_executor::block_on(limiter.acquire()); // a slot is free again
/// assert_eq!(limiter.inflight(), 2);
/// drop(c);
/// assert_eq!(limiter.inflight(), 1);
/// ```
#[derive(Clone)]
pub struct ConcurrencyLimiter {
    shared: Arc<Shared>,
}

impl fmt::Debug for ConcurrencyLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConcurrencyLimiter")
            .field("limit", &self.limit())
            .field("inflight", &self.inflight())
            .finish()
    }
}

impl ConcurrencyLimiter {
    /// A limiter driven by `algorithm`, starting at its current limit.
    pub fn new(algorithm: impl Limiter) -> Self {
        let limit = algorithm.limit().max(1);
        Self {
            shared: Arc::new(Shared {
                inflight: AtomicUsize::new(0),
                limit: AtomicUsize::new(limit),
                waiters: AtomicUsize::new(0),
                algorithm: Mutex::new(Box::new(algorithm)),
                released: Event::new(),
            }),
        }
    }

    /// The current limit.
    pub fn limit(&self) -> usize {
        self.shared.limit.load(Ordering::Acquire)
    }

    /// Permits currently held.
    pub fn inflight(&self) -> usize {
        self.shared.inflight.load(Ordering::Acquire)
    }

    /// Takes a permit if one is free now; otherwise sheds the request with [`Rejected`].
    ///
    /// ```
    /// use nimsync_backpressure::{ConcurrencyLimiter, Fixed};
    /// let limiter = ConcurrencyLimiter::new(Fixed::new(1).unwrap());
    /// let _p = limiter.try_acquire().unwrap();
    /// let err = limiter.try_acquire().unwrap_err();
    /// assert_eq!((err.limit, err.inflight), (1, 1));
    /// ```
    pub fn try_acquire(&self) -> Result<Permit, Rejected> {
        let s = &self.shared;
        let mut cur = s.inflight.load(Ordering::SeqCst);
        loop {
            let limit = s.limit.load(Ordering::SeqCst);
            if cur >= limit {
                return Err(Rejected {
                    limit,
                    inflight: cur,
                });
            }
            match s.inflight.compare_exchange_weak(
                cur,
                cur + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    return Ok(Permit {
                        shared: Some(self.shared.clone()),
                        inflight: cur + 1,
                    });
                }
                Err(now) => cur = now,
            }
        }
    }

    /// Waits for a permit. Cancel-safe: dropping the future takes no permit (and passes on
    /// a wake-up it may have received).
    ///
    /// ```
    /// use nimsync_backpressure::{ConcurrencyLimiter, Fixed};
    /// let limiter = ConcurrencyLimiter::new(Fixed::new(1).unwrap());
    /// let permit = futures_executor::block_on(limiter.acquire());
    /// assert_eq!(permit.inflight_at_admission(), 1);
    /// ```
    pub fn acquire(&self) -> Acquire<'_> {
        Acquire {
            limiter: self,
            listener: None,
        }
    }

    /// Feeds a sample that did not come from a permit (e.g. a latency measured elsewhere).
    ///
    /// ```
    /// use std::time::Duration;
    /// use nimsync_backpressure::{Aimd, ConcurrencyLimiter, Sample};
    /// let limiter = ConcurrencyLimiter::new(Aimd::default());
    /// limiter.record(Sample::success(Duration::from_millis(1), 20));
    /// assert_eq!(limiter.limit(), 21);
    /// ```
    pub fn record(&self, sample: Sample) {
        record(&self.shared, &sample);
    }
}

fn record(shared: &Shared, sample: &Sample) {
    let new = {
        let mut alg = shared
            .algorithm
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        alg.update(sample).max(1)
    };
    let old = shared.limit.swap(new, Ordering::SeqCst);
    if new > old && shared.waiters.load(Ordering::SeqCst) > 0 {
        shared.released.notify((new - old).additional());
    }
}

/// Future of [`ConcurrencyLimiter::acquire`].
#[must_use = "futures do nothing unless awaited"]
pub struct Acquire<'a> {
    limiter: &'a ConcurrencyLimiter,
    listener: Option<Waiting>,
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire").finish_non_exhaustive()
    }
}

impl Future for Acquire<'_> {
    type Output = Permit;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Permit> {
        let this = self.get_mut();
        poll_acquire(this.limiter, &mut this.listener, cx)
    }
}

/// A registered waiter: its listener, counted in `Shared::waiters` while it exists.
pub(crate) struct Waiting {
    listener: EventListener,
    shared: Arc<Shared>,
}

impl Waiting {
    fn new(shared: &Arc<Shared>) -> Self {
        shared.waiters.fetch_add(1, Ordering::SeqCst);
        Self {
            listener: shared.released.listen(),
            shared: shared.clone(),
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.shared.waiters.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The acquire loop shared by [`Acquire`] and the adapters: try, register, re-try, wait.
pub(crate) fn poll_acquire(
    limiter: &ConcurrencyLimiter,
    waiting: &mut Option<Waiting>,
    cx: &mut Context<'_>,
) -> Poll<Permit> {
    loop {
        if let Ok(permit) = limiter.try_acquire() {
            *waiting = None;
            return Poll::Ready(permit);
        }
        match waiting {
            None => *waiting = Some(Waiting::new(&limiter.shared)),
            Some(w) => {
                if Pin::new(&mut w.listener).poll(cx).is_pending() {
                    return Poll::Pending;
                }
                *waiting = None;
            }
        }
    }
}

/// One admitted request. Report how it went with [`success`](Self::success) or
/// [`dropped`](Self::dropped); [`ignore`](Self::ignore) or dropping it releases the slot
/// without teaching the algorithm anything. The slot is released exactly once.
pub struct Permit {
    shared: Option<Arc<Shared>>,
    inflight: usize,
}

impl fmt::Debug for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("inflight_at_admission", &self.inflight)
            .finish()
    }
}

impl Permit {
    /// Requests in flight when this one was admitted (itself included).
    pub fn inflight_at_admission(&self) -> usize {
        self.inflight
    }

    /// The request succeeded after `latency`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use nimsync_backpressure::{Aimd, ConcurrencyLimiter};
    /// let limiter = ConcurrencyLimiter::new(Aimd::default());
    /// let permits: Vec<_> = (0..20).map(|_| limiter.try_acquire().unwrap()).collect();
    /// for p in permits {
    ///     p.success(Duration::from_millis(2));
    /// }
    /// assert!(limiter.limit() > 20);
    /// ```
    pub fn success(mut self, latency: Duration) {
        self.finish(Some(Sample::success(latency, self.inflight)));
    }

    /// The request was dropped or timed out: a congestion signal, with no latency (the
    /// permit keeps no clock reading: admission stays a compare-and-swap). Every limiter
    /// backs off on it; none learns a latency from it. Use
    /// [`dropped_after`](Self::dropped_after) when the time spent is known.
    ///
    /// ```
    /// use nimsync_backpressure::{Aimd, AimdConfig, ConcurrencyLimiter};
    /// let aimd = Aimd::new(AimdConfig { min_limit: 1, initial_limit: 10, ..Default::default() }).unwrap();
    /// let limiter = ConcurrencyLimiter::new(aimd);
    /// limiter.try_acquire().unwrap().dropped();
    /// assert_eq!(limiter.limit(), 9);
    /// ```
    pub fn dropped(mut self) {
        self.finish(Some(Sample::dropped(Duration::ZERO, self.inflight)));
    }

    /// The request was dropped or timed out after `latency` (e.g. the timeout that gave
    /// up on it): a congestion signal that carries the time spent.
    ///
    /// ```
    /// use std::time::Duration;
    /// use nimsync_backpressure::{ConcurrencyLimiter, Vegas};
    /// let limiter = ConcurrencyLimiter::new(Vegas::default());
    /// let before = limiter.limit();
    /// limiter.try_acquire().unwrap().dropped_after(Duration::from_millis(250));
    /// assert!(limiter.limit() <= before);
    /// ```
    pub fn dropped_after(mut self, latency: Duration) {
        self.finish(Some(Sample::dropped(latency, self.inflight)));
    }

    /// Releases the slot without a sample (the outcome says nothing about capacity).
    ///
    /// ```
    /// use nimsync_backpressure::{ConcurrencyLimiter, Fixed};
    /// let limiter = ConcurrencyLimiter::new(Fixed::new(1).unwrap());
    /// limiter.try_acquire().unwrap().ignore();
    /// assert_eq!(limiter.inflight(), 0);
    /// ```
    pub fn ignore(mut self) {
        self.finish(None);
    }

    fn finish(&mut self, sample: Option<Sample>) {
        let Some(shared) = self.shared.take() else {
            return;
        };
        shared.inflight.fetch_sub(1, Ordering::SeqCst);
        if let Some(sample) = sample {
            record(&shared, &sample);
        }
        if shared.waiters.load(Ordering::SeqCst) > 0 {
            shared.released.notify(1.additional());
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.finish(None);
    }
}
