//! `broadcast(k, capacity)`: `k` consumer streams that each see every item (`Clone`), through
//! one bounded buffer; the slowest consumer sets the pace.
//!
//! Items live once in a ring of at most `capacity` items with a cursor per consumer. A
//! consumer reads at its cursor; at the end of the buffer it pulls the next item from the
//! upstream (under the lock) unless the buffer is full, in which case it waits until the
//! slowest consumer moves on. So the upstream is never more than `capacity` items ahead of
//! the slowest live consumer, and memory is bounded by `capacity`. A dropped consumer stops
//! counting.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use futures_core::Stream;

use crate::error::{StageError, at_least_one, initial_capacity};
use crate::wakers::WakerList;

struct State<S: Stream> {
    stream: Pin<Box<S>>,
    buffer: VecDeque<S::Item>,
    /// Sequence number of `buffer[0]`.
    base: u64,
    /// Next sequence number per consumer; `None` once it is dropped.
    cursors: Vec<Option<u64>>,
    capacity: usize,
    done: bool,
}

impl<S: Stream> State<S> {
    /// Frees the items every live consumer has read; returns whether any were freed.
    fn trim(&mut self) -> bool {
        let slowest = self.cursors.iter().flatten().min().copied();
        let end = self.base + self.buffer.len() as u64;
        let keep_from = slowest.unwrap_or(end);
        let mut freed = false;
        while self.base < keep_from {
            self.buffer.pop_front();
            self.base += 1;
            freed = true;
        }
        freed
    }
}

struct Shared<S: Stream> {
    state: Mutex<State<S>>,
    waiters: Arc<WakerList>,
    upstream_waker: Waker,
}

/// One consumer of [`StreamExt::broadcast`](crate::StreamExt::broadcast).
#[must_use = "streams do nothing unless polled"]
pub struct Broadcast<S: Stream> {
    shared: Arc<Shared<S>>,
    index: usize,
}

impl<S: Stream> fmt::Debug for Broadcast<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Broadcast")
            .field("index", &self.index)
            .finish()
    }
}

pub(crate) fn broadcast<S: Stream>(
    stream: S,
    consumers: usize,
    capacity: usize,
) -> Result<Vec<Broadcast<S>>, StageError>
where
    S::Item: Clone,
{
    let consumers = at_least_one(consumers, "broadcast consumers")?;
    let capacity = at_least_one(capacity, "broadcast capacity")?;
    let waiters = WakerList::new(consumers);
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            stream: Box::pin(stream),
            buffer: VecDeque::with_capacity(initial_capacity(capacity)),
            base: 0,
            cursors: vec![Some(0); consumers],
            capacity,
            done: false,
        }),
        upstream_waker: Waker::from(waiters.clone()),
        waiters,
    });
    Ok((0..consumers)
        .map(|index| Broadcast {
            shared: shared.clone(),
            index,
        })
        .collect())
}

impl<S: Stream> Broadcast<S> {
    /// Items buffered for the slowest consumer (at most the capacity).
    pub fn buffered_len(&self) -> usize {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .buffer
            .len()
    }
}

impl<S: Stream> Stream for Broadcast<S>
where
    S::Item: Clone,
{
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let shared = &*self.shared;
        let i = self.index;
        let mut st = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(cursor) = st.cursors[i] else {
            return Poll::Ready(None);
        };
        let end = st.base + st.buffer.len() as u64;
        if cursor < end {
            let offset = usize::try_from(cursor - st.base).unwrap_or(usize::MAX);
            let item = st.buffer[offset].clone();
            st.cursors[i] = Some(cursor + 1);
            if st.trim() {
                drop(st);
                shared.waiters.wake_all(); // room for whoever waited on a full buffer
            }
            return Poll::Ready(Some(item));
        }
        if st.done {
            return Poll::Ready(None);
        }
        shared.waiters.register(i, cx.waker());
        if st.buffer.len() >= st.capacity {
            return Poll::Pending; // the slowest consumer must move first
        }
        let mut upstream_cx = Context::from_waker(&shared.upstream_waker);
        match st.stream.as_mut().poll_next(&mut upstream_cx) {
            Poll::Ready(Some(item)) => {
                shared.waiters.clear(i);
                st.cursors[i] = Some(cursor + 1);
                st.buffer.push_back(item.clone());
                st.trim(); // frees it at once when this is the only live consumer
                drop(st);
                shared.waiters.wake_all(); // others want this item too
                Poll::Ready(Some(item))
            }
            Poll::Ready(None) => {
                st.done = true;
                drop(st);
                shared.waiters.wake_all();
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: Stream> Drop for Broadcast<S> {
    fn drop(&mut self) {
        let mut st = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        st.cursors[self.index] = None;
        let freed = st.trim();
        drop(st);
        self.shared.waiters.clear(self.index);
        if freed {
            self.shared.waiters.wake_all();
        }
    }
}
