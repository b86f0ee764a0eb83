//! `into_sink` / `into_channel`: drive a stream into a sink (a nimsync channel sender or any
//! `futures_sink::Sink`), waiting for the sink's readiness before pulling each item, so a
//! full channel stops the stream.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use futures_sink::Sink;

pin_project_lite::pin_project! {
    /// Future of [`StreamExt::into_sink`](crate::StreamExt::into_sink) and
    /// [`StreamExt::into_channel`](crate::StreamExt::into_channel): resolves to the number of
    /// items delivered, or the sink's error. On success the sink is flushed and dropped (for
    /// a channel sender: the channel closes when its last sender goes).
    ///
    /// The stream is never polled again once it has returned `None`, even when the final
    /// flush is pending (streams such as futures-util's `unfold` or `once` panic if they are).
    #[must_use = "futures do nothing unless awaited"]
    pub struct Forward<S, K> {
        #[pin]
        stream: S,
        sink: Option<K>,
        sent: u64,
        // The stream returned `None`: only the final flush is left.
        stream_done: bool,
    }
}

impl<S, K> Forward<S, K> {
    pub(crate) fn new(stream: S, sink: K) -> Self {
        Self {
            stream,
            sink: Some(sink),
            sent: 0,
            stream_done: false,
        }
    }
}

impl<S: fmt::Debug, K> fmt::Debug for Forward<S, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Forward")
            .field("stream", &self.stream)
            .field("sent", &self.sent)
            .finish_non_exhaustive()
    }
}

impl<S, K> Future for Forward<S, K>
where
    S: Stream,
    K: Sink<S::Item> + Unpin,
{
    type Output = Result<u64, K::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let Some(sink) = this.sink.as_mut() else {
            return Poll::Ready(Ok(*this.sent));
        };
        loop {
            if *this.stream_done {
                // Finished: flush what was sent (this poll or a later one), never pull again.
                ready!(Pin::new(&mut *sink).poll_flush(cx))?;
                *this.sink = None;
                return Poll::Ready(Ok(*this.sent));
            }
            // Room first, then pull: an item is never taken from the stream without a place.
            ready!(Pin::new(&mut *sink).poll_ready(cx))?;
            match this.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    Pin::new(&mut *sink).start_send(item)?;
                    *this.sent += 1;
                }
                Poll::Ready(None) => *this.stream_done = true,
                Poll::Pending => {
                    // Flush what was sent so far while waiting for more.
                    ready!(Pin::new(&mut *sink).poll_flush(cx))?;
                    return Poll::Pending;
                }
            }
        }
    }
}
