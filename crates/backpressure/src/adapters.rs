//! Adapters: a sink (e.g. a channel sender) whose sends are admitted by a
//! [`ConcurrencyLimiter`], and stream stages [`limit`](LimitStreamExt::limit) and
//! [`rate_limit`](LimitStreamExt::rate_limit) over any `futures_core::Stream`.
//!
//! An admitted value travels with its [`Permit`] as an [`Admitted`]; whoever finishes the
//! work reports the outcome (or just drops it), which frees the slot. So the limit spans the
//! whole path from admission to completion, across a channel or a pipeline.

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use futures_sink::Sink;
use nimsync_scheduler::Sleep;

use crate::concurrency::{ConcurrencyLimiter, Permit, Waiting, poll_acquire};
use crate::error::Rejected;
use crate::rate::RateLimiter;

/// A value admitted by a limiter, carrying its permit.
#[derive(Debug)]
pub struct Admitted<T> {
    value: T,
    permit: Permit,
}

impl<T> Admitted<T> {
    /// Pairs a value with its permit.
    pub fn new(value: T, permit: Permit) -> Self {
        Self { value, permit }
    }

    /// The value.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The value, mutably.
    pub fn value_mut(&mut self) -> &mut T {
        &mut self.value
    }

    /// Splits into the value and the permit (report on the permit later).
    pub fn into_parts(self) -> (T, Permit) {
        (self.value, self.permit)
    }

    /// Takes the value and releases the slot without a sample.
    pub fn into_inner(self) -> T {
        self.value
    }

    /// Reports success after `latency` and returns the value.
    pub fn success(self, latency: Duration) -> T {
        self.permit.success(latency);
        self.value
    }

    /// Reports a drop and returns the value (see [`Permit::dropped`]).
    pub fn dropped(self) -> T {
        self.permit.dropped();
        self.value
    }

    /// Reports a drop after `latency` and returns the value (see [`Permit::dropped_after`]).
    pub fn dropped_after(self, latency: Duration) -> T {
        self.permit.dropped_after(latency);
        self.value
    }
}

/// Why a [`LimitedSender`] send failed; the value comes back.
#[derive(Debug, PartialEq, Eq)]
pub enum LimitedSendError<T> {
    /// Shed: the limiter is full (only from `try_send`).
    Rejected(T, Rejected),
    /// The sink was not ready (for a channel: closed or, from `try_send`, no room).
    NotReady(T),
    /// The sink accepted readiness but then failed to take the value (it consumed it). A
    /// nimsync channel sender never does this.
    StartSend,
}

impl<T> fmt::Display for LimitedSendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected(_, r) => r.fmt(f),
            Self::NotReady(_) => f.write_str("the sink is not ready (closed or full)"),
            Self::StartSend => f.write_str("the sink failed to take the value"),
        }
    }
}

impl<T: fmt::Debug> std::error::Error for LimitedSendError<T> {}

/// A sink of [`Admitted`] values (typically a nimsync channel sender) that admits each value
/// through a [`ConcurrencyLimiter`] first: at most `limit` values are between `send` and the
/// receiver finishing with them.
///
/// ```
/// use std::time::Duration;
/// use nimsync_backpressure::{Admitted, ConcurrencyLimiter, Fixed, LimitedSender};
/// use nimsync_core_channels::mpsc;
///
/// let limiter = ConcurrencyLimiter::new(Fixed::new(2).unwrap());
/// let (tx, mut rx) = mpsc::<Admitted<u32>>(64);
/// let mut tx = LimitedSender::new(tx, limiter.clone());
/// futures_executor::block_on(async {
///     tx.send(1).await.unwrap();
///     tx.send(2).await.unwrap();
///     assert!(tx.try_send(3).is_err()); // two in flight: shed
///     let first = rx.recv().await.unwrap();
///     assert_eq!(first.success(Duration::from_millis(1)), 1); // frees a slot
///     tx.send(3).await.unwrap();
/// });
/// assert_eq!(limiter.inflight(), 2);
/// ```
pub struct LimitedSender<S> {
    sink: S,
    limiter: ConcurrencyLimiter,
}

impl<S> fmt::Debug for LimitedSender<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LimitedSender")
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

impl<S> LimitedSender<S> {
    /// Wraps `sink`.
    pub fn new(sink: S, limiter: ConcurrencyLimiter) -> Self {
        Self { sink, limiter }
    }

    /// The limiter.
    pub fn limiter(&self) -> &ConcurrencyLimiter {
        &self.limiter
    }

    /// Unwraps the sink.
    pub fn into_inner(self) -> S {
        self.sink
    }

    /// Waits for a permit, then for the sink, and sends. Cancel-safe: a dropped future
    /// releases its permit and sends nothing.
    pub async fn send<T>(&mut self, value: T) -> Result<(), LimitedSendError<T>>
    where
        S: Sink<Admitted<T>> + Unpin,
    {
        let permit = self.limiter.acquire().await;
        if poll_fn(|cx| Pin::new(&mut self.sink).poll_ready(cx))
            .await
            .is_err()
        {
            return Err(LimitedSendError::NotReady(value));
        }
        Pin::new(&mut self.sink)
            .start_send(Admitted::new(value, permit))
            .map_err(|_| LimitedSendError::StartSend)
    }

    /// Sends only if a permit is free now (load shedding) and the sink is ready at once.
    pub fn try_send<T>(&mut self, value: T) -> Result<(), LimitedSendError<T>>
    where
        S: Sink<Admitted<T>> + Unpin,
    {
        let permit = match self.limiter.try_acquire() {
            Ok(p) => p,
            Err(r) => return Err(LimitedSendError::Rejected(value, r)),
        };
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        match Pin::new(&mut self.sink).poll_ready(&mut cx) {
            Poll::Ready(Ok(())) => {}
            _ => return Err(LimitedSendError::NotReady(value)),
        }
        Pin::new(&mut self.sink)
            .start_send(Admitted::new(value, permit))
            .map_err(|_| LimitedSendError::StartSend)
    }
}

/// Stream stages that bound a pipeline: [`limit`](Self::limit) (concurrency) and
/// [`rate_limit`](Self::rate_limit) (rate), for any `futures_core::Stream`.
pub trait LimitStreamExt: Stream + Sized {
    /// Pulls the next upstream item only once a permit is free, and yields it with its
    /// permit as an [`Admitted`]. The permit is taken before the item is pulled, so a full
    /// limiter stops the upstream (nothing is buffered).
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use nimsync_backpressure::{ConcurrencyLimiter, Fixed, LimitStreamExt};
    ///
    /// let limiter = ConcurrencyLimiter::new(Fixed::new(2).unwrap());
    /// let mut s = futures_util::stream::iter(0..10).limit(limiter.clone());
    /// futures_executor::block_on(async {
    ///     let a = s.next().await.unwrap();
    ///     let _b = s.next().await.unwrap();
    ///     assert_eq!(limiter.inflight(), 2); // a third `next` would wait
    ///     assert_eq!(a.into_inner(), 0);
    ///     assert_eq!(s.next().await.unwrap().into_inner(), 2);
    /// });
    /// ```
    fn limit(self, limiter: ConcurrencyLimiter) -> Limit<Self> {
        Limit {
            stream: self,
            limiter,
            listener: None,
            permit: None,
        }
    }

    /// Yields items no faster than `limiter` allows: each pulled item waits (on the
    /// scheduler's timer) for a cell before it is yielded, so at most one item is held and
    /// the end of the stream is seen at once. The limiter may be shared.
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_util::StreamExt;
    /// use nimsync_backpressure::{LimitStreamExt, RateLimiter};
    /// use nimsync_scheduler::{Builder, now};
    ///
    /// let rt = Builder::new_current_thread().start_paused(true).build().unwrap();
    /// rt.block_on(async {
    ///     let rl = RateLimiter::per_second(10, 1).unwrap();
    ///     let t0 = now();
    ///     let all: Vec<u32> = futures_util::stream::iter(0..5).rate_limit(rl).collect().await;
    ///     assert_eq!(all, [0, 1, 2, 3, 4]);
    ///     assert_eq!(now() - t0, Duration::from_millis(400));
    /// });
    /// ```
    fn rate_limit(self, limiter: RateLimiter) -> RateLimit<Self> {
        RateLimit {
            stream: self,
            limiter,
            sleep: None,
            pending: None,
        }
    }
}

impl<S: Stream> LimitStreamExt for S {}

pin_project_lite::pin_project! {
    /// Stream of [`LimitStreamExt::limit`].
    #[must_use = "streams do nothing unless polled"]
    pub struct Limit<S> {
        #[pin]
        stream: S,
        limiter: ConcurrencyLimiter,
        listener: Option<Waiting>,
        permit: Option<Permit>,
    }
}

impl<S: fmt::Debug> fmt::Debug for Limit<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limit")
            .field("stream", &self.stream)
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

impl<S: Stream> Stream for Limit<S> {
    type Item = Admitted<S::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        let permit = match this.permit.take() {
            Some(p) => p,
            None => match poll_acquire(this.limiter, this.listener, cx) {
                Poll::Ready(p) => p,
                Poll::Pending => return Poll::Pending,
            },
        };
        match this.stream.poll_next(cx) {
            Poll::Ready(Some(item)) => Poll::Ready(Some(Admitted::new(item, permit))),
            // The permit is released here: nothing more will come.
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                *this.permit = Some(permit); // keep it for the item we wait for
                Poll::Pending
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// Stream of [`LimitStreamExt::rate_limit`].
    #[must_use = "streams do nothing unless polled"]
    pub struct RateLimit<S: Stream> {
        #[pin]
        stream: S,
        limiter: RateLimiter,
        sleep: Option<Sleep>,
        pending: Option<S::Item>,
    }
}

impl<S: Stream + fmt::Debug> fmt::Debug for RateLimit<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimit")
            .field("stream", &self.stream)
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

impl<S: Stream> Stream for RateLimit<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        if this.pending.is_none() {
            match std::task::ready!(this.stream.poll_next(cx)) {
                Some(item) => *this.pending = Some(item),
                None => return Poll::Ready(None),
            }
        }
        std::task::ready!(this.limiter.poll_ready(this.sleep, cx));
        Poll::Ready(this.pending.take())
    }
}
