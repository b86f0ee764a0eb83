//! `merge`: N inputs into one, fairly — each poll starts from the input after the one that
//! last produced, so a busy input cannot starve the others (unlike chained two-way merges,
//! where the first input's share halves with every level).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

/// Merges `streams` fairly (round robin from a rotating start); ends when all have ended.
///
/// ```
/// use nimsync_streams::{StreamExt, iter, merge};
/// let merged = merge(vec![iter([1, 1, 1]), iter([2, 2, 2]), iter([3, 3, 3])]);
/// let all: Vec<u32> = futures_executor::block_on(merged.collect_vec());
/// assert_eq!(all, [1, 2, 3, 1, 2, 3, 1, 2, 3]); // every input gets its turn
/// ```
pub fn merge<S: Stream + Unpin>(streams: impl IntoIterator<Item = S>) -> Merge<S> {
    Merge {
        streams: streams.into_iter().map(Some).collect(),
        next: 0,
    }
}

/// Stream of [`merge`] and [`StreamExt::merge`](crate::StreamExt::merge).
#[must_use = "streams do nothing unless polled"]
pub struct Merge<S> {
    streams: Vec<Option<S>>,
    next: usize,
}

impl<S> fmt::Debug for Merge<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Merge")
            .field("live", &self.streams.iter().filter(|s| s.is_some()).count())
            .finish()
    }
}

impl<S> Merge<S> {
    /// Adds another input (it joins the rotation).
    pub fn push(&mut self, stream: S) {
        self.streams.push(Some(stream));
    }
}

impl<S: Stream + Unpin> Stream for Merge<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.get_mut();
        let n = this.streams.len();
        let mut live = 0;
        for k in 0..n {
            let i = (this.next + k) % n;
            let Some(s) = &mut this.streams[i] else {
                continue;
            };
            match Pin::new(s).poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    this.next = (i + 1) % n;
                    return Poll::Ready(Some(item));
                }
                Poll::Ready(None) => this.streams[i] = None,
                Poll::Pending => live += 1,
            }
        }
        if live == 0 {
            this.streams.clear();
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }
}
