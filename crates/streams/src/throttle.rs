//! `throttle(rate)`: a token bucket (GCRA) on the scheduler's clock, with bursts.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use futures_core::Stream;
use nimsync_scheduler::{Sleep, now, sleep_until};

/// A rate: `count` items per `period`, in bursts of up to `burst` items.
///
/// ```
/// use std::time::Duration;
/// use nimsync_streams::Rate;
/// let r = Rate::new(100, Duration::from_secs(1)).unwrap().burst(10).unwrap();
/// assert_eq!(r.interval(), Duration::from_millis(10));
/// assert!(Rate::new(0, Duration::from_secs(1)).is_none());
/// assert!(Rate::new(1, Duration::MAX).is_none()); // one item per 584 billion years
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    interval: Duration,
    burst: u32,
}

/// The longest span a rate may cover, one interval times the burst (100 years): the throttle
/// adds it to `Instant`s, which must hold the result.
const MAX_SPAN: Duration = Duration::from_secs(100 * 365 * 86_400);

impl Rate {
    /// `count` items per `period`, no bursts; `None` if either is zero, if one item would
    /// take less than a nanosecond, or more than 100 years.
    pub fn new(count: u32, period: Duration) -> Option<Self> {
        if count == 0 || period.is_zero() {
            return None;
        }
        let interval = period / count;
        (!interval.is_zero() && interval <= MAX_SPAN).then_some(Self { interval, burst: 1 })
    }

    /// Allows bursts of up to `burst` items (≥ 1); `None` for 0, or when `burst` intervals
    /// would span more than 100 years.
    ///
    /// ```
    /// use std::time::Duration;
    /// use nimsync_streams::Rate;
    /// let daily = Rate::new(1, Duration::from_secs(86_400)).unwrap();
    /// assert!(daily.burst(7).is_some());
    /// assert!(daily.burst(0).is_none());
    /// assert!(daily.burst(u32::MAX).is_none()); // 11 million years of credit
    /// ```
    pub fn burst(self, burst: u32) -> Option<Self> {
        let span = self.interval.checked_mul(burst)?;
        (burst > 0 && span <= MAX_SPAN).then_some(Self { burst, ..self })
    }

    /// The time between items at the sustained rate.
    pub fn interval(&self) -> Duration {
        self.interval
    }
}

pin_project_lite::pin_project! {
    /// Stream of [`StreamExt::throttle`](crate::StreamExt::throttle).
    #[must_use = "streams do nothing unless polled"]
    pub struct Throttle<S: Stream> {
        #[pin]
        stream: S,
        rate: Rate,
        // Theoretical arrival time of the next item (GCRA).
        tat: Option<Instant>,
        held: Option<S::Item>,
        timer: Option<Sleep>,
    }
}

impl<S: Stream> Throttle<S> {
    pub(crate) fn new(stream: S, rate: Rate) -> Self {
        Self {
            stream,
            rate,
            tat: None,
            held: None,
            timer: None,
        }
    }
}

impl<S: Stream + fmt::Debug> fmt::Debug for Throttle<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Throttle")
            .field("stream", &self.stream)
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

impl<S: Stream> Stream for Throttle<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        if this.held.is_none() {
            match ready!(this.stream.poll_next(cx)) {
                Some(item) => *this.held = Some(item),
                None => return Poll::Ready(None),
            }
        }
        loop {
            if let Some(timer) = this.timer.as_mut() {
                ready!(Pin::new(timer).poll(cx));
                *this.timer = None;
            }
            let t = now();
            let interval = this.rate.interval;
            let tolerance = interval * this.rate.burst;
            let next_tat = this.tat.map_or(t, |tat| tat.max(t)) + interval;
            if next_tat.saturating_duration_since(t) <= tolerance {
                *this.tat = Some(next_tat);
                return Poll::Ready(this.held.take());
            }
            *this.timer = Some(sleep_until(next_tat - tolerance));
        }
    }
}
