//! `buffered(n)` / `buffer_unordered(n)`: run up to `n` of the stream's futures at once,
//! inline (on the consumer's task), yielding outputs in input order or as they finish.
//!
//! The in-flight set is futures-util's `FuturesOrdered` / `FuturesUnordered` (well-tested
//! and fair: it yields to the executor after a bounded number of polls). Every poll first
//! tops the set up to `n` from the input, then polls it, so `n` stay in flight as long as
//! the consumer keeps polling. Inline futures only make progress while the consumer polls;
//! put `.spawn_stage(k)` in front of a slow consumer to keep them running meanwhile.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_util::stream::{FuturesOrdered, FuturesUnordered};

use crate::error::{StageError, at_least_one};

/// The in-flight set: ordered or unordered.
pub(crate) trait InFlight<F: Future>: Stream<Item = F::Output> + Unpin + Default {
    fn push(&mut self, fut: F);
    fn len(&self) -> usize;
}

impl<F: Future> InFlight<F> for FuturesOrdered<F> {
    fn push(&mut self, fut: F) {
        self.push_back(fut);
    }
    fn len(&self) -> usize {
        FuturesOrdered::len(self)
    }
}

impl<F: Future> InFlight<F> for FuturesUnordered<F> {
    fn push(&mut self, fut: F) {
        FuturesUnordered::push(self, fut);
    }
    fn len(&self) -> usize {
        FuturesUnordered::len(self)
    }
}

pin_project_lite::pin_project! {
    /// Stream of [`StreamExt::buffered`](crate::StreamExt::buffered) (`Q` =
    /// `FuturesOrdered`) and [`StreamExt::buffer_unordered`](crate::StreamExt::buffer_unordered)
    /// (`Q` = `FuturesUnordered`).
    #[must_use = "streams do nothing unless polled"]
    pub struct BufferedWith<S, Q> {
        #[pin]
        stream: S,
        in_flight: Q,
        limit: usize,
        input_done: bool,
    }
}

/// Ordered outputs, up to `n` futures in flight.
pub type Buffered<S> = BufferedWith<S, FuturesOrdered<<S as Stream>::Item>>;
/// Outputs as they complete, up to `n` futures in flight.
pub type BufferUnordered<S> = BufferedWith<S, FuturesUnordered<<S as Stream>::Item>>;

impl<S, Q: Default> BufferedWith<S, Q> {
    pub(crate) fn new(stream: S, limit: usize) -> Result<Self, StageError> {
        let limit = at_least_one(limit, "buffered concurrency")?;
        Ok(Self {
            stream,
            in_flight: Q::default(),
            limit,
            input_done: false,
        })
    }
}

impl<S: fmt::Debug, Q> fmt::Debug for BufferedWith<S, Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Buffered")
            .field("stream", &self.stream)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl<S, Q> Stream for BufferedWith<S, Q>
where
    S: Stream,
    S::Item: Future,
    Q: InFlight<S::Item>,
{
    type Item = <S::Item as Future>::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        while !*this.input_done && this.in_flight.len() < *this.limit {
            match this.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(fut)) => this.in_flight.push(fut),
                Poll::Ready(None) => *this.input_done = true,
                Poll::Pending => break,
            }
        }
        match Pin::new(&mut *this.in_flight).poll_next(cx) {
            Poll::Ready(Some(out)) => Poll::Ready(Some(out)),
            Poll::Ready(None) if *this.input_done => Poll::Ready(None),
            // Empty set but input still open: the input registered our waker above.
            Poll::Ready(None) | Poll::Pending => Poll::Pending,
        }
    }
}
