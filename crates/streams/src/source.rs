//! Sources: streams from iterators, channel receivers and intervals.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;
use nimsync_core_channels::{Mode, Receiver};
use nimsync_scheduler::Interval;

use crate::error::{StageError, or_panic};

/// A stream of an iterator's items (always ready).
///
/// ```
/// use nimsync_streams::{StreamExt, iter};
/// let v = futures_executor::block_on(iter(1..=3).map(|x| x * 2).collect_vec());
/// assert_eq!(v, [2, 4, 6]);
/// ```
pub fn iter<I: IntoIterator>(items: I) -> Iter<I::IntoIter> {
    Iter {
        iter: items.into_iter(),
    }
}

/// Stream of [`iter`].
#[derive(Debug, Clone)]
#[must_use = "streams do nothing unless polled"]
pub struct Iter<I> {
    iter: I,
}

impl<I> Unpin for Iter<I> {}

impl<I: Iterator> Stream for Iter<I> {
    type Item = I::Item;

    fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<I::Item>> {
        Poll::Ready(self.get_mut().iter.next())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.size_hint()
    }
}

/// A nimsync channel receiver as a stream. Receivers already implement `Stream` (this is
/// the identity, for discoverability); the stream ends when the channel is closed and
/// drained, and a dropped `next()` loses no value.
///
/// ```
/// use nimsync_core_channels::mpsc;
/// use nimsync_streams::{StreamExt, from_receiver};
/// let (tx, rx) = mpsc::<u32>(8);
/// tx.try_send(1).unwrap();
/// tx.try_send(2).unwrap();
/// drop(tx);
/// let v = futures_executor::block_on(from_receiver(rx).collect_vec());
/// assert_eq!(v, [1, 2]);
/// ```
pub fn from_receiver<T: Send, M: Mode>(rx: Receiver<T, M>) -> Receiver<T, M> {
    rx
}

/// A stream of the scheduler's interval ticks (the scheduled instants), the first at once.
/// It never ends; bound it with `take_until` or a consumer that stops.
///
/// ```
/// use std::time::Duration;
/// use nimsync_scheduler::Builder;
/// use nimsync_streams::{StreamExt, ticks};
///
/// let rt = Builder::new_current_thread().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let mut t = ticks(Duration::from_millis(10));
///     let a = t.next().await.unwrap();
///     let b = t.next().await.unwrap();
///     assert_eq!(b - a, Duration::from_millis(10));
/// });
/// ```
///
/// # Panics
/// If `period` is zero (as `nimsync_scheduler::interval`); [`try_ticks`] returns the error
/// instead.
#[track_caller]
pub fn ticks(period: Duration) -> Ticks {
    or_panic(try_ticks(period))
}

/// [`ticks`] for a period that may be zero.
///
/// ```
/// use std::time::Duration;
/// use nimsync_streams::{StageError, try_ticks};
/// assert_eq!(try_ticks(Duration::ZERO).unwrap_err(), StageError::Zero { what: "ticks period" });
/// ```
pub fn try_ticks(period: Duration) -> Result<Ticks, StageError> {
    if period.is_zero() {
        return Err(StageError::Zero {
            what: "ticks period",
        });
    }
    Ok(Ticks {
        interval: nimsync_scheduler::interval(period),
    })
}

/// Stream of [`ticks`].
#[must_use = "streams do nothing unless polled"]
pub struct Ticks {
    interval: Interval,
}

impl fmt::Debug for Ticks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticks")
            .field("period", &self.interval.period())
            .finish()
    }
}

impl Stream for Ticks {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().interval.poll_tick(cx).map(Some)
    }
}
