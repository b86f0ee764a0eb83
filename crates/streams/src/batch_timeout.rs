//! `batch_timeout(n, dur)`: a batch is emitted when it holds `n` items or when its oldest
//! item has waited `dur`, whichever comes first.
//!
//! Timer semantics (documented because every library picks differently): the timer is armed
//! when the first item of a batch arrives (not at the previous emission), so an idle stream
//! never emits; batches are never empty; a full batch is emitted at once and disarms the
//! timer; when the input ends the remainder is emitted immediately. The timer is the
//! scheduler's (`nimsync_scheduler::sleep`), so a paused runtime clock tests it exactly.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use nimsync_scheduler::{Sleep, sleep};

use crate::error::{StageError, at_least_one, initial_capacity};

pin_project_lite::pin_project! {
    /// Stream of [`StreamExt::batch_timeout`](crate::StreamExt::batch_timeout).
    #[must_use = "streams do nothing unless polled"]
    pub struct BatchTimeout<S: Stream> {
        #[pin]
        stream: S,
        items: Vec<S::Item>,
        size: usize,
        timeout: Duration,
        timer: Option<Sleep>,
        done: bool,
    }
}

impl<S: Stream> BatchTimeout<S> {
    pub(crate) fn new(stream: S, size: usize, timeout: Duration) -> Result<Self, StageError> {
        let size = at_least_one(size, "batch size")?;
        Ok(Self {
            stream,
            items: Vec::with_capacity(initial_capacity(size)),
            size,
            timeout,
            timer: None,
            done: false,
        })
    }
}

impl<S: Stream + fmt::Debug> fmt::Debug for BatchTimeout<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchTimeout")
            .field("stream", &self.stream)
            .field("size", &self.size)
            .field("timeout", &self.timeout)
            .field("held", &self.items.len())
            .finish()
    }
}

impl<S: Stream> Stream for BatchTimeout<S> {
    type Item = Vec<S::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Vec<S::Item>>> {
        let mut this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        loop {
            match this.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    if this.items.is_empty() {
                        *this.timer = Some(sleep(*this.timeout));
                    }
                    this.items.push(item);
                    if this.items.len() == *this.size {
                        *this.timer = None;
                        let full = std::mem::replace(
                            this.items,
                            Vec::with_capacity(initial_capacity(*this.size)),
                        );
                        return Poll::Ready(Some(full));
                    }
                }
                Poll::Ready(None) => {
                    *this.done = true;
                    *this.timer = None;
                    if this.items.is_empty() {
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(std::mem::take(this.items)));
                }
                Poll::Pending => {
                    let Some(timer) = this.timer.as_mut() else {
                        return Poll::Pending;
                    };
                    if Pin::new(timer).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    *this.timer = None;
                    let partial = std::mem::replace(
                        this.items,
                        Vec::with_capacity(initial_capacity(*this.size)),
                    );
                    return Poll::Ready(Some(partial));
                }
            }
        }
    }
}
