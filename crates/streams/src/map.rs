//! `map` (sync) and `then` (async) stages: one item in, one item out, no buffering.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;

pin_project_lite::pin_project! {
    /// Stream of [`StreamExt::map`](crate::StreamExt::map).
    #[must_use = "streams do nothing unless polled"]
    pub struct Map<S, F> {
        #[pin]
        stream: S,
        f: F,
    }
}

impl<S, F> Map<S, F> {
    pub(crate) fn new(stream: S, f: F) -> Self {
        Self { stream, f }
    }
}

impl<S: fmt::Debug, F> fmt::Debug for Map<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl<S: Stream, U, F: FnMut(S::Item) -> U> Stream for Map<S, F> {
    type Item = U;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<U>> {
        let this = self.project();
        Poll::Ready(ready!(this.stream.poll_next(cx)).map(this.f))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.stream.size_hint()
    }
}

pin_project_lite::pin_project! {
    /// Stream of [`StreamExt::then`](crate::StreamExt::then).
    #[must_use = "streams do nothing unless polled"]
    pub struct Then<S, F, Fut> {
        #[pin]
        stream: S,
        f: F,
        #[pin]
        pending: Option<Fut>,
    }
}

impl<S, F, Fut> Then<S, F, Fut> {
    pub(crate) fn new(stream: S, f: F) -> Self {
        Self {
            stream,
            f,
            pending: None,
        }
    }
}

impl<S: fmt::Debug, F, Fut> fmt::Debug for Then<S, F, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Then")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl<S, F, Fut> Stream for Then<S, F, Fut>
where
    S: Stream,
    F: FnMut(S::Item) -> Fut,
    Fut: Future,
{
    type Item = Fut::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Fut::Output>> {
        let mut this = self.project();
        loop {
            if let Some(fut) = this.pending.as_mut().as_pin_mut() {
                let out = ready!(fut.poll(cx));
                this.pending.set(None);
                return Poll::Ready(Some(out));
            }
            match ready!(this.stream.as_mut().poll_next(cx)) {
                Some(item) => this.pending.set(Some((this.f)(item))),
                None => return Poll::Ready(None),
            }
        }
    }
}
