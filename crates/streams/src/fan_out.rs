//! `fan_out(k)`: `k` consumer streams that share one upstream, each item going to exactly
//! one of them (work distribution, like Akka's `Balance`).
//!
//! There is no task and no buffer: a consumer that wants an item pulls it from the upstream
//! under a lock, so an item goes to whichever consumer asks first and a busy consumer simply
//! does not ask. Consumers waiting while the upstream is pending are all woken when it
//! becomes ready. Consumers may live on different tasks and threads.

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use futures_core::Stream;

use crate::error::{StageError, at_least_one};
use crate::wakers::WakerList;

struct Upstream<S> {
    stream: Pin<Box<S>>,
    done: bool,
}

struct Shared<S> {
    upstream: Mutex<Upstream<S>>,
    waiters: Arc<WakerList>,
    upstream_waker: Waker,
}

/// One consumer of [`StreamExt::fan_out`](crate::StreamExt::fan_out).
#[must_use = "streams do nothing unless polled"]
pub struct FanOut<S> {
    shared: Arc<Shared<S>>,
    index: usize,
}

impl<S> fmt::Debug for FanOut<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FanOut")
            .field("index", &self.index)
            .finish()
    }
}

pub(crate) fn fan_out<S: Stream>(
    stream: S,
    consumers: usize,
) -> Result<Vec<FanOut<S>>, StageError> {
    let consumers = at_least_one(consumers, "fan_out consumers")?;
    let waiters = WakerList::new(consumers);
    let shared = Arc::new(Shared {
        upstream: Mutex::new(Upstream {
            stream: Box::pin(stream),
            done: false,
        }),
        upstream_waker: Waker::from(waiters.clone()),
        waiters,
    });
    Ok((0..consumers)
        .map(|index| FanOut {
            shared: shared.clone(),
            index,
        })
        .collect())
}

impl<S: Stream> Stream for FanOut<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let shared = &*self.shared;
        let mut up = shared
            .upstream
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if up.done {
            return Poll::Ready(None);
        }
        // Register before polling, so a wake-up between the poll and the registration is
        // not lost.
        shared.waiters.register(self.index, cx.waker());
        let mut upstream_cx = Context::from_waker(&shared.upstream_waker);
        match up.stream.as_mut().poll_next(&mut upstream_cx) {
            Poll::Ready(Some(item)) => {
                shared.waiters.clear(self.index);
                Poll::Ready(Some(item))
            }
            Poll::Ready(None) => {
                up.done = true;
                drop(up);
                shared.waiters.wake_all();
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S> Drop for FanOut<S> {
    fn drop(&mut self) {
        self.shared.waiters.clear(self.index);
    }
}
