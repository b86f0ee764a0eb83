//! `take_until`: ends the stream when a cancel token is cancelled (or any stop future
//! completes). Items still upstream are left there, not drained.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

pin_project_lite::pin_project! {
    /// Stream of [`StreamExt::take_until`](crate::StreamExt::take_until) (with `F` =
    /// [`WaitForCancel`](nimsync_cancel::WaitForCancel)) and
    /// [`StreamExt::take_until_future`](crate::StreamExt::take_until_future).
    #[must_use = "streams do nothing unless polled"]
    pub struct TakeUntil<S, F> {
        #[pin]
        stream: S,
        #[pin]
        stop: F,
        stopped: bool,
    }
}

impl<S, F> TakeUntil<S, F> {
    pub(crate) fn new(stream: S, stop: F) -> Self {
        Self {
            stream,
            stop,
            stopped: false,
        }
    }

    /// Whether the stop signal ended the stream.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }
}

impl<S: fmt::Debug, F> fmt::Debug for TakeUntil<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TakeUntil")
            .field("stream", &self.stream)
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}

impl<S: Stream, F: Future> Stream for TakeUntil<S, F> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        if *this.stopped {
            return Poll::Ready(None);
        }
        // The stop signal wins over a ready item: once cancelled, nothing more is yielded.
        if this.stop.poll(cx).is_ready() {
            *this.stopped = true;
            return Poll::Ready(None);
        }
        this.stream.poll_next(cx)
    }
}
