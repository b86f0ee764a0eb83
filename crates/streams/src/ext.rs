//! `StreamExt`: every nimsync stage as a method on any `futures_core::Stream`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use futures_sink::Sink;
use nimsync_cancel::{CancelToken, WaitForCancel};
use nimsync_core_channels::{Mode, Sender};

use crate::batch::Batch;
use crate::batch_timeout::BatchTimeout;
use crate::broadcast::{self, Broadcast};
use crate::buffered::{BufferUnordered, Buffered};
use crate::error::{StageError, or_panic};
use crate::fan_out::{self, FanOut};
use crate::filter::{Filter, FilterMap};
use crate::forward::Forward;
use crate::map::{Map, Then};
use crate::merge::{Merge, merge};
use crate::spawn_stage::{self, SpawnStage};
use crate::take_until::TakeUntil;
use crate::throttle::{Rate, Throttle};

/// Bounded stream stages for every `futures_core::Stream` (so for futures-util and
/// tokio-stream streams and nimsync channel receivers alike).
///
/// Every stage is pull-based and holds a fixed, documented number of items at most, so a
/// slow consumer slows the producer and memory stays flat. Stages run inline on the
/// consumer's task; [`spawn_stage`](Self::spawn_stage) is the explicit boundary that moves
/// the upstream onto its own task.
///
/// The method names match futures-util's `StreamExt` where the meaning matches; import one
/// of the two traits in a scope, not both. Sizes of zero (`batch(0)`, `buffered(0)`, ...)
/// would stall forever, so they panic at construction with a message saying so.
pub trait StreamExt: Stream + Sized {
    /// Transforms each item with `f`.
    ///
    /// ```
    /// use nimsync_streams::{StreamExt, iter};
    /// let v = futures_executor::block_on(iter([1, 2]).map(|x| x + 1).collect_vec());
    /// assert_eq!(v, [2, 3]);
    /// ```
    fn map<U, F: FnMut(Self::Item) -> U>(self, f: F) -> Map<Self, F> {
        Map::new(self, f)
    }

    /// Transforms each item with an async `f`, one at a time (see
    /// [`buffered`](Self::buffered) for concurrency).
    ///
    /// ```
    /// use nimsync_streams::{StreamExt, iter};
    /// let v = futures_executor::block_on(iter([1, 2]).then(|x| async move { x * 10 }).collect_vec());
    /// assert_eq!(v, [10, 20]);
    /// ```
    fn then<Fut: Future, F: FnMut(Self::Item) -> Fut>(self, f: F) -> Then<Self, F, Fut> {
        Then::new(self, f)
    }

    /// Keeps the items for which `keep` returns true (a synchronous predicate).
    ///
    /// ```
    /// use nimsync_streams::{StreamExt, iter};
    /// let v = futures_executor::block_on(iter(0..6).filter(|x| x % 2 == 0).collect_vec());
    /// assert_eq!(v, [0, 2, 4]);
    /// ```
    fn filter<F: FnMut(&Self::Item) -> bool>(self, keep: F) -> Filter<Self, F> {
        Filter::new(self, keep)
    }

    /// Maps and filters in one step.
    ///
    /// ```
    /// use nimsync_streams::{StreamExt, iter};
    /// let v = futures_executor::block_on(iter(["1", "x", "3"]).filter_map(|s| s.parse::<u8>().ok()).collect_vec());
    /// assert_eq!(v, [1, 3]);
    /// ```
    fn filter_map<U, F: FnMut(Self::Item) -> Option<U>>(self, f: F) -> FilterMap<Self, F> {
        FilterMap::new(self, f)
    }

    /// Merges with `other` fairly; for more inputs use [`merge`](crate::merge) (one fair
    /// rotation over all of them, not a chain of pairs).
    ///
    /// ```
    /// use nimsync_streams::{StreamExt, iter};
    /// let v = futures_executor::block_on(iter([1, 1]).merge(iter([2, 2])).collect_vec());
    /// assert_eq!(v, [1, 2, 1, 2]);
    /// ```
    fn merge(self, other: Self) -> Merge<Self>
    where
        Self: Unpin,
    {
        merge([self, other])
    }

    /// Groups items into `Vec`s of `size`; the last batch may be shorter. Holds at most
    /// `size` items.
    ///
    /// ```
    /// use nimsync_streams::{StreamExt, iter};
    /// let v = futures_executor::block_on(iter(0..5).batch(2).collect_vec());
    /// assert_eq!(v, [vec![0, 1], vec![2, 3], vec![4]]);
    /// ```
    ///
    /// # Panics
    /// If `size` is 0; [`try_batch`](Self::try_batch) returns the error instead.
    #[track_caller]
    fn batch(self, size: usize) -> Batch<Self> {
        or_panic(Batch::new(self, size))
    }

    /// [`batch`](Self::batch) for a size that may be 0 (say, from configuration).
    ///
    /// ```
    /// use nimsync_streams::{StageError, StreamExt, iter};
    /// assert!(iter(0..3).try_batch(2).is_ok());
    /// assert_eq!(iter(0..3).try_batch(0).unwrap_err(), StageError::Zero { what: "batch size" });
    /// ```
    fn try_batch(self, size: usize) -> Result<Batch<Self>, StageError> {
        Batch::new(self, size)
    }

    /// Groups items into `Vec`s of up to `size`, emitting a partial batch once its first
    /// item has waited `timeout` (on the scheduler's timer). Never emits an empty batch; an
    /// idle stream emits nothing; the remainder is emitted when the input ends.
    ///
    /// ```
    /// use std::time::Duration;
    /// use nimsync_core_channels::mpsc;
    /// use nimsync_scheduler::{Builder, now};
    /// use nimsync_streams::StreamExt;
    ///
    /// let rt = Builder::new_current_thread().start_paused(true).build().unwrap();
    /// rt.block_on(async {
    ///     let (tx, rx) = mpsc::<u32>(16);
    ///     let mut batches = rx.batch_timeout(10, Duration::from_millis(50));
    ///     tx.try_send(1).unwrap();
    ///     tx.try_send(2).unwrap();
    ///     let t0 = now();
    ///     assert_eq!(batches.next().await.unwrap(), [1, 2]); // not full: the timer fired
    ///     assert_eq!(now() - t0, Duration::from_millis(50));
    /// });
    /// ```
    ///
    /// # Panics
    /// If `size` is 0; [`try_batch_timeout`](Self::try_batch_timeout) returns the error
    /// instead.
    #[track_caller]
    fn batch_timeout(self, size: usize, timeout: Duration) -> BatchTimeout<Self> {
        or_panic(BatchTimeout::new(self, size, timeout))
    }

    /// [`batch_timeout`](Self::batch_timeout) for a size that may be 0.
    ///
    /// ```
    /// use std::time::Duration;
    /// use nimsync_streams::{StreamExt, iter};
    /// let err = iter(0..3).try_batch_timeout(0, Duration::from_millis(5)).unwrap_err();
    /// assert_eq!(err.to_string(), "batch size must not be zero");
    /// ```
    fn try_batch_timeout(
        self,
        size: usize,
        timeout: Duration,
    ) -> Result<BatchTimeout<Self>, StageError> {
        BatchTimeout::new(self, size, timeout)
    }

    /// Runs up to `n` of the stream's futures at once, yielding outputs in input order.
    ///
    /// ```
    /// use nimsync_streams::{StreamExt, iter};
    /// let v = futures_executor::block_on(
    ///     iter(1..=4).map(|x| async move { x * x }).buffered(2).collect_vec(),
    /// );
    /// assert_eq!(v, [1, 4, 9, 16]);
    /// ```
    ///
    /// # Panics
    /// If `n` is 0; [`try_buffered`](Self::try_buffered) returns the error instead.
    #[track_caller]
    fn buffered(self, n: usize) -> Buffered<Self>
    where
        Self::Item: Future,
    {
        or_panic(Buffered::<Self>::new(self, n))
    }

    /// [`buffered`](Self::buffered) for a concurrency that may be 0.
    ///
    /// ```
    /// use nimsync_streams::{StageError, StreamExt, iter};
    /// let err = iter(1..=4).map(|x| async move { x }).try_buffered(0).unwrap_err();
    /// assert_eq!(err, StageError::Zero { what: "buffered concurrency" });
    /// ```
    fn try_buffered(self, n: usize) -> Result<Buffered<Self>, StageError>
    where
        Self::Item: Future,
    {
        Buffered::<Self>::new(self, n)
    }

    /// Runs up to `n` of the stream's futures at once, yielding outputs as they finish.
    ///
    /// ```
    /// use nimsync_streams::{StreamExt, iter};
    /// let mut v = futures_executor::block_on(
    ///     iter(1..=4).map(|x| async move { x * x }).buffer_unordered(3).collect_vec(),
    /// );
    /// v.sort();
    /// assert_eq!(v, [1, 4, 9, 16]);
    /// ```
    ///
    /// # Panics
    /// If `n` is 0; [`try_buffer_unordered`](Self::try_buffer_unordered) returns the error
    /// instead.
    #[track_caller]
    fn buffer_unordered(self, n: usize) -> BufferUnordered<Self>
    where
        Self::Item: Future,
    {
        or_panic(BufferUnordered::<Self>::new(self, n))
    }

    /// [`buffer_unordered`](Self::buffer_unordered) for a concurrency that may be 0.
    ///
    /// ```
    /// use nimsync_streams::{StreamExt, iter};
    /// let s = iter(1..=4).map(|x| async move { x });
    /// assert!(s.try_buffer_unordered(0).is_err());
    /// ```
    fn try_buffer_unordered(self, n: usize) -> Result<BufferUnordered<Self>, StageError>
    where
        Self::Item: Future,
    {
        BufferUnordered::<Self>::new(self, n)
    }

    /// Paces items to `rate` (a token bucket: bursts up to `rate`'s burst, then one item per
    /// interval), waiting on the scheduler's timer. Holds at most one item.
    ///
    /// ```
    /// use std::time::Duration;
    /// use nimsync_scheduler::{Builder, now};
    /// use nimsync_streams::{Rate, StreamExt, iter};
    ///
    /// let rt = Builder::new_current_thread().start_paused(true).build().unwrap();
    /// rt.block_on(async {
    ///     let rate = Rate::new(10, Duration::from_secs(1)).unwrap().burst(2).unwrap();
    ///     let t0 = now();
    ///     let v = iter(0..4).throttle(rate).collect_vec().await;
    ///     assert_eq!(v, [0, 1, 2, 3]);
    ///     assert_eq!(now() - t0, Duration::from_millis(200)); // 2 at once, then every 100 ms
    /// });
    /// ```
    fn throttle(self, rate: Rate) -> Throttle<Self> {
        Throttle::new(self, rate)
    }

    /// Ends the stream once `token` is cancelled (checked before every item).
    ///
    /// ```
    /// use nimsync_cancel::CancelToken;
    /// use nimsync_streams::{StreamExt, iter};
    /// let token = CancelToken::new();
    /// let mut s = iter(0..).take_until(token.clone());
    /// futures_executor::block_on(async {
    ///     assert_eq!(s.next().await, Some(0));
    ///     token.cancel();
    ///     assert_eq!(s.next().await, None);
    /// });
    /// assert!(s.is_stopped());
    /// ```
    fn take_until(self, token: CancelToken) -> TakeUntil<Self, WaitForCancel> {
        TakeUntil::new(self, token.cancelled())
    }

    /// Ends the stream once `stop` completes (any future: a timer, a oneshot, ...).
    ///
    /// ```
    /// use nimsync_streams::{StreamExt, iter};
    /// let v = futures_executor::block_on(iter(0..3).take_until_future(std::future::pending::<()>()).collect_vec());
    /// assert_eq!(v, [0, 1, 2]);
    /// ```
    fn take_until_future<F: Future>(self, stop: F) -> TakeUntil<Self, F> {
        TakeUntil::new(self, stop)
    }

    /// Splits into `consumers` streams that share the items: each item goes to exactly one
    /// consumer, whichever asks first (work distribution; a busy consumer takes less).
    /// Nothing is buffered.
    ///
    /// ```
    /// use nimsync_streams::{StreamExt, iter};
    /// let mut parts = iter(0..4).fan_out(2);
    /// let (mut b, mut a) = (parts.pop().unwrap(), parts.pop().unwrap());
    /// futures_executor::block_on(async {
    ///     assert_eq!(a.next().await, Some(0));
    ///     assert_eq!(b.next().await, Some(1));
    ///     assert_eq!(a.next().await, Some(2));
    ///     assert_eq!(a.next().await, Some(3));
    ///     assert_eq!(b.next().await, None);
    /// });
    /// ```
    ///
    /// # Panics
    /// If `consumers` is 0; [`try_fan_out`](Self::try_fan_out) returns the error instead.
    #[track_caller]
    fn fan_out(self, consumers: usize) -> Vec<FanOut<Self>> {
        or_panic(fan_out::fan_out(self, consumers))
    }

    /// [`fan_out`](Self::fan_out) for a consumer count that may be 0.
    ///
    /// ```
    /// use nimsync_streams::{StreamExt, iter};
    /// assert_eq!(iter(0..4).try_fan_out(3).unwrap().len(), 3);
    /// assert!(iter(0..4).try_fan_out(0).is_err());
    /// ```
    fn try_fan_out(self, consumers: usize) -> Result<Vec<FanOut<Self>>, StageError> {
        fan_out::fan_out(self, consumers)
    }

    /// Splits into `consumers` streams that each see every item, through one buffer of
    /// `capacity` items: the upstream never runs more than `capacity` items ahead of the
    /// slowest consumer, so **the slowest consumer sets the pace** (a dropped consumer no
    /// longer counts).
    ///
    /// ```
    /// use nimsync_streams::{StreamExt, iter};
    /// let mut subs = iter(0..3).broadcast(2, 4);
    /// let (b, a) = (subs.pop().unwrap(), subs.pop().unwrap());
    /// let (x, y) = futures_executor::block_on(async { (a.collect_vec().await, b.collect_vec().await) });
    /// assert_eq!(x, [0, 1, 2]);
    /// assert_eq!(y, [0, 1, 2]);
    /// ```
    ///
    /// # Panics
    /// If `consumers` or `capacity` is 0; [`try_broadcast`](Self::try_broadcast) returns
    /// the error instead.
    #[track_caller]
    fn broadcast(self, consumers: usize, capacity: usize) -> Vec<Broadcast<Self>>
    where
        Self::Item: Clone,
    {
        or_panic(broadcast::broadcast(self, consumers, capacity))
    }

    /// [`broadcast`](Self::broadcast) for counts that may be 0.
    ///
    /// ```
    /// use nimsync_streams::{StageError, StreamExt, iter};
    /// let err = iter(0..3).try_broadcast(2, 0).unwrap_err();
    /// assert_eq!(err, StageError::Zero { what: "broadcast capacity" });
    /// ```
    fn try_broadcast(
        self,
        consumers: usize,
        capacity: usize,
    ) -> Result<Vec<Broadcast<Self>>, StageError>
    where
        Self::Item: Clone,
    {
        broadcast::broadcast(self, consumers, capacity)
    }

    /// Sends every item into a nimsync channel, waiting for room before pulling the next
    /// item (a full channel stops the stream). Resolves to the count sent, or an error once
    /// the receivers are gone. The sender is dropped at the end (the channel closes when it
    /// was the last one).
    ///
    /// ```
    /// use nimsync_core_channels::mpsc;
    /// use nimsync_streams::{StreamExt, iter};
    /// let (tx, mut rx) = mpsc::<u32>(4);
    /// let producer = std::thread::spawn(move || futures_executor::block_on(iter(0..100).into_channel(tx)));
    /// let sum: u32 = rx.iter().sum();
    /// assert_eq!(producer.join().unwrap(), Ok(100));
    /// assert_eq!(sum, 4950);
    /// ```
    fn into_channel<M: Mode>(
        self,
        sender: Sender<Self::Item, M>,
    ) -> Forward<Self, Sender<Self::Item, M>>
    where
        Self::Item: Send,
    {
        Forward::new(self, sender)
    }

    /// Sends every item into any `futures_sink::Sink`, respecting its readiness.
    ///
    /// ```
    /// use nimsync_core_channels::spsc;
    /// use nimsync_streams::{StreamExt, iter};
    /// let (tx, mut rx) = spsc::<u8>(8);
    /// assert_eq!(futures_executor::block_on(iter([1, 2]).into_sink(tx)), Ok(2));
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    fn into_sink<K: Sink<Self::Item> + Unpin>(self, sink: K) -> Forward<Self, K> {
        Forward::new(self, sink)
    }

    /// Moves everything upstream onto its own scheduler task, handing items over through a
    /// bounded channel of `capacity` slots (rounded up to a power of two): the upstream runs
    /// concurrently with the consumer, at most `capacity` items ahead. Dropping the stage
    /// stops the task.
    ///
    /// **Which runtime.** The task is spawned right here, when `spawn_stage` is called (not
    /// at the first poll), with [`nimsync_scheduler::spawn`]: on the runtime entered on this
    /// thread (a task of it, or inside its `block_on`), or on the global default runtime
    /// when none is. So build the pipeline inside the runtime it should run on:
    /// `rt.block_on(async { s.spawn_stage(n)...await })`, not `rt.block_on(s.spawn_stage(n)...)`
    /// (whose argument is built before `block_on` enters `rt`).
    ///
    /// ```
    /// use nimsync_scheduler::Runtime;
    /// use nimsync_streams::{StreamExt, iter};
    /// let rt = Runtime::builder().workers(2).build().unwrap();
    /// // Built inside `block_on`: the upstream task runs on `rt`.
    /// let v = rt.block_on(async {
    ///     iter(0..1000).map(|x| x * 2).spawn_stage(64).filter(|x| x % 3 == 0).collect_vec().await
    /// });
    /// assert_eq!(v.len(), 334);
    /// ```
    ///
    /// # Panics
    /// If `capacity` is 0 or above the channels' maximum;
    /// [`try_spawn_stage`](Self::try_spawn_stage) returns the error instead.
    ///
    /// A panic upstream (on the stage's task) is not an end of stream: once the items sent
    /// before it have been yielded, polling the stage re-raises that panic in the consumer
    /// (`std::panic::resume_unwind` with the original payload), so the consumer's task
    /// panics as the upstream did. If the upstream task is cancelled instead (its runtime
    /// shut down), the stage ends after the items already sent.
    ///
    /// ```
    /// use nimsync_scheduler::{Runtime, spawn};
    /// use nimsync_streams::{StreamExt, iter};
    /// let rt = Runtime::builder().workers(2).build().unwrap();
    /// let err = rt.block_on(async {
    ///     spawn(async {
    ///         let failing = iter(0..10).map(|x| if x == 5 { panic!("bad item") } else { x });
    ///         failing.spawn_stage(4).collect_vec().await
    ///     })
    ///     .await
    ///     .unwrap_err()
    /// });
    /// assert_eq!(err.panic_message(), Some("bad item")); // the consumer task panicked
    /// ```
    #[track_caller]
    fn spawn_stage(self, capacity: usize) -> SpawnStage<Self::Item>
    where
        Self: Send + 'static,
        Self::Item: Send + 'static,
    {
        or_panic(spawn_stage::spawn_stage(self, capacity))
    }

    /// [`spawn_stage`](Self::spawn_stage) for a capacity that may be invalid. Nothing is
    /// spawned when it fails.
    ///
    /// ```
    /// use nimsync_core_channels::BuildError;
    /// use nimsync_streams::{StageError, StreamExt, iter};
    /// let err = iter(0..3).try_spawn_stage(usize::MAX).unwrap_err();
    /// assert!(matches!(err, StageError::Channel(BuildError::CapacityTooLarge { .. })));
    /// ```
    fn try_spawn_stage(self, capacity: usize) -> Result<SpawnStage<Self::Item>, StageError>
    where
        Self: Send + 'static,
        Self::Item: Send + 'static,
    {
        spawn_stage::spawn_stage(self, capacity)
    }

    /// The next item (for `Unpin` streams; pin others with `Box::pin` or `std::pin::pin!`).
    ///
    /// ```
    /// use nimsync_streams::{StreamExt, iter};
    /// let mut s = iter([7]);
    /// assert_eq!(futures_executor::block_on(s.next()), Some(7));
    /// ```
    fn next(&mut self) -> Next<'_, Self>
    where
        Self: Unpin,
    {
        Next { stream: self }
    }

    /// Collects every item into a `Vec` (holds them all: for tests and small streams).
    ///
    /// ```
    /// use nimsync_streams::{StreamExt, iter};
    /// assert_eq!(futures_executor::block_on(iter(0..3).collect_vec()), [0, 1, 2]);
    /// ```
    fn collect_vec(self) -> CollectVec<Self> {
        CollectVec {
            stream: Box::pin(self),
            items: Vec::new(),
        }
    }
}

impl<S: Stream> StreamExt for S {}

/// Future of [`StreamExt::next`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Next<'a, S> {
    stream: &'a mut S,
}

impl<S: Stream + Unpin> Future for Next<'_, S> {
    type Output = Option<S::Item>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        Pin::new(&mut *self.get_mut().stream).poll_next(cx)
    }
}

/// Future of [`StreamExt::collect_vec`].
#[must_use = "futures do nothing unless awaited"]
pub struct CollectVec<S: Stream> {
    stream: Pin<Box<S>>,
    items: Vec<S::Item>,
}

impl<S: Stream> std::fmt::Debug for CollectVec<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CollectVec")
            .field("collected", &self.items.len())
            .finish()
    }
}

// The items are never pinned; only the stream is (and it is boxed).
impl<S: Stream> Unpin for CollectVec<S> {}

impl<S: Stream> Future for CollectVec<S> {
    type Output = Vec<S::Item>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<S::Item>> {
        let this = self.get_mut();
        loop {
            match this.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => this.items.push(item),
                Poll::Ready(None) => return Poll::Ready(std::mem::take(&mut this.items)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
