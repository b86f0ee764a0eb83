//! `filter` and `filter_map`: drop items inline (synchronous predicates, no buffering).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;

pin_project_lite::pin_project! {
    /// Stream of [`StreamExt::filter`](crate::StreamExt::filter).
    #[must_use = "streams do nothing unless polled"]
    pub struct Filter<S, F> {
        #[pin]
        stream: S,
        keep: F,
    }
}

impl<S, F> Filter<S, F> {
    pub(crate) fn new(stream: S, keep: F) -> Self {
        Self { stream, keep }
    }
}

impl<S: fmt::Debug, F> fmt::Debug for Filter<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl<S: Stream, F: FnMut(&S::Item) -> bool> Stream for Filter<S, F> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        loop {
            match ready!(this.stream.as_mut().poll_next(cx)) {
                Some(item) if (this.keep)(&item) => return Poll::Ready(Some(item)),
                Some(_) => {}
                None => return Poll::Ready(None),
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, self.stream.size_hint().1)
    }
}

pin_project_lite::pin_project! {
    /// Stream of [`StreamExt::filter_map`](crate::StreamExt::filter_map).
    #[must_use = "streams do nothing unless polled"]
    pub struct FilterMap<S, F> {
        #[pin]
        stream: S,
        f: F,
    }
}

impl<S, F> FilterMap<S, F> {
    pub(crate) fn new(stream: S, f: F) -> Self {
        Self { stream, f }
    }
}

impl<S: fmt::Debug, F> fmt::Debug for FilterMap<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilterMap")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl<S: Stream, U, F: FnMut(S::Item) -> Option<U>> Stream for FilterMap<S, F> {
    type Item = U;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<U>> {
        let mut this = self.project();
        loop {
            match ready!(this.stream.as_mut().poll_next(cx)) {
                Some(item) => {
                    if let Some(out) = (this.f)(item) {
                        return Poll::Ready(Some(out));
                    }
                }
                None => return Poll::Ready(None),
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, self.stream.size_hint().1)
    }
}
