//! `interval`: a periodic ticker with a documented missed-tick behaviour.

use crate::timer::sleep::{Sleep, far_future, instant_after, now, sleep_until};
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// What an [`Interval`] does when ticks were missed (the consumer was slower than the period).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks back to back until caught up, keeping the original schedule
    /// (`start + k·period`). The default, like tokio.
    #[default]
    Burst,
    /// Start a new schedule: the next tick is one period after the late tick was observed.
    Delay,
    /// Skip the missed ticks: the next tick is the next multiple of the period on the
    /// original schedule after now.
    Skip,
}

/// Ticks every `period`; the first tick completes immediately.
///
/// ```
/// use std::time::Duration;
/// let rt = nimsync_scheduler::Builder::new_current_thread().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let mut iv = nimsync_scheduler::interval(Duration::from_millis(10));
///     let t0 = iv.tick().await;
///     let t1 = iv.tick().await;
///     assert_eq!(t1 - t0, Duration::from_millis(10));
/// });
/// ```
///
/// # Panics
/// If `period` is zero.
pub fn interval(period: Duration) -> Interval {
    interval_at(now(), period)
}

/// Like [`interval`] with the first tick at `start`.
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(!period.is_zero(), "`interval` period must be non-zero");
    Interval {
        next: start,
        period,
        sleep: Box::pin(sleep_until(start)),
        behavior: MissedTickBehavior::default(),
    }
}

/// A periodic timer (see [`interval`]).
#[derive(Debug)]
pub struct Interval {
    next: Instant,
    period: Duration,
    sleep: Pin<Box<Sleep>>,
    behavior: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled instant.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if self.sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let scheduled = self.next;
        let now = now();
        let next = match self.behavior {
            MissedTickBehavior::Burst => instant_after(scheduled, self.period),
            MissedTickBehavior::Delay => {
                let after = instant_after(scheduled, self.period);
                if now > after {
                    instant_after(now, self.period)
                } else {
                    after
                }
            }
            MissedTickBehavior::Skip => {
                let after = instant_after(scheduled, self.period);
                if now >= after {
                    let behind = now.duration_since(scheduled).as_nanos();
                    let periods = behind / self.period.as_nanos() + 1;
                    let k = u32::try_from(periods).unwrap_or(u32::MAX);
                    self.period
                        .checked_mul(k)
                        .and_then(|d| scheduled.checked_add(d))
                        .unwrap_or_else(|| far_future(now))
                } else {
                    after
                }
            }
        };
        self.next = next;
        self.sleep.as_mut().reset(next);
        Poll::Ready(scheduled)
    }

    /// Sets the missed-tick behaviour.
    pub fn set_missed_tick_behavior(&mut self, b: MissedTickBehavior) {
        self.behavior = b;
    }

    /// The missed-tick behaviour.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.behavior
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.next = instant_after(now(), self.period);
        self.sleep.as_mut().reset(self.next);
    }
}

use std::future::Future;
