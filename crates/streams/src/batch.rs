//! `batch(n)`: groups items into `Vec`s of exactly `n` (the last may be shorter). Holds at
//! most `n` items.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;

use crate::error::{StageError, at_least_one, initial_capacity};

pin_project_lite::pin_project! {
    /// Stream of [`StreamExt::batch`](crate::StreamExt::batch).
    #[must_use = "streams do nothing unless polled"]
    pub struct Batch<S: Stream> {
        #[pin]
        stream: S,
        items: Vec<S::Item>,
        size: usize,
        done: bool,
    }
}

impl<S: Stream> Batch<S> {
    pub(crate) fn new(stream: S, size: usize) -> Result<Self, StageError> {
        let size = at_least_one(size, "batch size")?;
        Ok(Self {
            stream,
            items: Vec::with_capacity(initial_capacity(size)),
            size,
            done: false,
        })
    }
}

impl<S: Stream + fmt::Debug> fmt::Debug for Batch<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch")
            .field("stream", &self.stream)
            .field("size", &self.size)
            .field("held", &self.items.len())
            .finish()
    }
}

impl<S: Stream> Stream for Batch<S> {
    type Item = Vec<S::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Vec<S::Item>>> {
        let mut this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        loop {
            match ready!(this.stream.as_mut().poll_next(cx)) {
                Some(item) => {
                    this.items.push(item);
                    if this.items.len() == *this.size {
                        let full = std::mem::replace(
                            this.items,
                            Vec::with_capacity(initial_capacity(*this.size)),
                        );
                        return Poll::Ready(Some(full));
                    }
                }
                None => {
                    *this.done = true;
                    if this.items.is_empty() {
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(std::mem::take(this.items)));
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (lo, hi) = self.stream.size_hint();
        let held = self.items.len();
        (
            (lo + held) / self.size,
            hi.and_then(|h| h.checked_add(held))
                .map(|h| h.div_ceil(self.size)),
        )
    }
}
