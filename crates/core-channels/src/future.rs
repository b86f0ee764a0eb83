//! Futures for async sends and receives. They need no executor: wakers do all the waiting.
//!
//! Cancel safety: dropping a [`RecvFuture`] never loses a message (a value is only taken in
//! the poll that returns it) and a wake-up it received is passed on to another waiter.
//! Dropping a [`SendFuture`] drops its value without ever having enqueued it; use
//! [`reserve`](crate::mpmc::Sender::reserve) to send from a `select` without that risk.

use core::future::Future;
use core::marker::PhantomData;
use core::pin::Pin;
use core::task::{Context, Poll};

use crate::Permit;
use crate::chan::RawChan;
use crate::error::{RecvError, SendError, TryRecvError, TryReserveError, TrySendError};
use crate::event::Listener;
use crate::mode::Mode;
use crate::queue::BeforeAsyncWait;
use crate::sync::{spin_before_wait, spin_hint};

/// Self-wakes an async wait on a [`BeforeAsyncWait::Yield`] ring allows itself before it
/// registers: each costs one trip through the executor (a few hundred ns), while pairing a
/// registration on the Lamport ring may cost a `membarrier` (15-50 µs measured on this
/// project's 2-core VM). None under loom, to keep the models small.
#[cfg(not(nimsync_loom))]
const ASYNC_YIELDS: u8 = 8;
#[cfg(nimsync_loom)]
const ASYNC_YIELDS: u8 = 0;

/// What an async wait that found the ring full or empty does next, before it registers.
pub(crate) enum PreWait {
    /// Re-check now (a spin).
    Retry,
    /// The task woke itself: return `Pending` and re-check on the next poll.
    Yielded,
    /// Register a waker.
    Register,
}

/// Decides [`PreWait`] for a wait with no registration yet: spins in place on a
/// [`BeforeAsyncWait::Spin`] ring (`spins`: this poll's count), yields to the executor on a
/// [`BeforeAsyncWait::Yield`] ring (`yields`: kept by the caller across polls, until a
/// value or room is found). Called with a constant `kind`, so only one branch is left.
#[inline(always)]
pub(crate) fn pre_wait(
    kind: BeforeAsyncWait,
    spins: &mut u32,
    yields: &mut u8,
    cx: &mut Context<'_>,
) -> PreWait {
    match kind {
        BeforeAsyncWait::Spin if spin_before_wait(spins) => PreWait::Retry,
        BeforeAsyncWait::Yield if *yields < ASYNC_YIELDS => {
            *yields += 1;
            cx.waker().wake_by_ref();
            PreWait::Yielded
        }
        _ => PreWait::Register,
    }
}

/// In a wait's retry loop, after the operation found the ring full or empty: while the wait
/// has no registration (`$listener` is `None`), runs [`pre_wait`] with the channel's
/// `$kind` and `continue`s the loop to re-check, or returns `Poll::Pending` after a yield;
/// falls through when the wait should register (or is registered).
macro_rules! before_registering {
    ($kind:expr, $listener:expr, $spins:expr, $yields:expr, $cx:expr) => {
        if $listener.is_none() {
            match $crate::future::pre_wait($kind, $spins, $yields, $cx) {
                $crate::future::PreWait::Retry => continue,
                $crate::future::PreWait::Yielded => return ::core::task::Poll::Pending,
                $crate::future::PreWait::Register => {}
            }
        }
    };
}
#[cfg(feature = "sink")]
pub(crate) use before_registering;

/// Polls `listener` (registering one first) so that a retry happens after every change.
/// Returns `Ready` when the caller should retry its operation now.
#[inline]
pub(crate) fn poll_wait(
    slot: &mut Option<Listener>,
    event: &crate::event::Event,
    cx: &mut Context<'_>,
) -> Poll<()> {
    match slot {
        None => {
            // Register, then let the caller re-check before sleeping.
            *slot = Some(event.listen_owner());
            Poll::Ready(())
        }
        Some(listener) => match Pin::new(listener).poll(cx) {
            Poll::Ready(()) => {
                *slot = None;
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        },
    }
}

/// Ends a poll that is registered and found nothing to do (after [`poll_wait`] returned
/// `Pending`). If the peer's operation on the slot this side waits for is still in flight
/// (`RawChan::value_in_flight` / `room_in_flight`), its notifier may have looked for waiters
/// before this registration and will not come back: the task wakes itself to poll again.
#[inline]
pub(crate) fn sleep_unless<T>(in_flight: bool, cx: &mut Context<'_>) -> Poll<T> {
    if in_flight {
        // (Under loom a model yield, so the peer gets to finish.)
        spin_hint();
        cx.waker().wake_by_ref();
    }
    Poll::Pending
}

/// Future of `send(value)`; resolves to `Err(SendError(value))` if the channel closes.
#[must_use = "futures do nothing unless awaited"]
pub struct SendFuture<'a, T: Send, M: Mode> {
    chan: &'a M::Chan<T>,
    value: Option<T>,
    listener: Option<Listener>,
    yields: u8,
}

impl<'a, T: Send, M: Mode> SendFuture<'a, T, M> {
    pub(crate) fn new(chan: &'a M::Chan<T>, value: T) -> Self {
        Self {
            chan,
            value: Some(value),
            listener: None,
            yields: 0,
        }
    }
}

// The value is moved in and out, never pinned.
impl<T: Send, M: Mode> Unpin for SendFuture<'_, T, M> {}

impl<T: Send, M: Mode> Future for SendFuture<'_, T, M> {
    type Output = Result<(), SendError<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut spins = 0;
        loop {
            let Some(value) = this.value.take() else {
                panic!("SendFuture polled after completion");
            };
            // SAFETY: the future was created from `&mut Sender` on single-producer modes, so
            // it holds the exclusive producer borrow for its whole life.
            match unsafe { this.chan.try_send(value) } {
                Ok(()) => return Poll::Ready(Ok(())),
                Err(TrySendError::Closed(v)) => return Poll::Ready(Err(SendError(v))),
                Err(TrySendError::Full(v)) => this.value = Some(v),
            }
            before_registering!(
                <M::Chan<T> as RawChan<T>>::BEFORE_ASYNC_WAIT,
                this.listener,
                &mut spins,
                &mut this.yields,
                cx
            );
            if poll_wait(&mut this.listener, this.chan.not_full(), cx).is_pending() {
                return sleep_unless(this.chan.room_in_flight(), cx);
            }
        }
    }
}

/// Future of `recv()`; resolves to `Err(RecvError)` once the channel is closed and drained.
#[must_use = "futures do nothing unless awaited"]
pub struct RecvFuture<'a, T: Send, M: Mode> {
    chan: &'a M::Chan<T>,
    listener: Option<Listener>,
    yields: u8,
    _value: PhantomData<fn() -> T>,
}

impl<'a, T: Send, M: Mode> RecvFuture<'a, T, M> {
    pub(crate) fn new(chan: &'a M::Chan<T>) -> Self {
        Self {
            chan,
            listener: None,
            yields: 0,
            _value: PhantomData,
        }
    }
}

/// Polls one receive with a persistent listener slot and [`pre_wait`] yield count (shared by
/// `RecvFuture` and `Stream`; a `Stream` starts its count over after each item).
///
/// # Safety
/// Consumer-side contract of [`RawChan`].
pub(crate) unsafe fn poll_recv<T, C: RawChan<T>>(
    chan: &C,
    listener: &mut Option<Listener>,
    yields: &mut u8,
    cx: &mut Context<'_>,
) -> Poll<Result<T, RecvError>> {
    let mut spins = 0;
    loop {
        // SAFETY: forwarded contract.
        match unsafe { chan.try_recv() } {
            Ok(v) => {
                // A listener registered earlier may have been notified for this value: drop
                // it now (a notified listener dropped unused passes the wake-up on).
                *listener = None;
                return Poll::Ready(Ok(v));
            }
            Err(TryRecvError::Closed) => {
                *listener = None;
                return Poll::Ready(Err(RecvError));
            }
            Err(TryRecvError::Empty) => {}
        }
        before_registering!(C::BEFORE_ASYNC_WAIT, listener, &mut spins, yields, cx);
        if poll_wait(listener, chan.not_empty(), cx).is_pending() {
            return sleep_unless(chan.value_in_flight(), cx);
        }
    }
}

// Nothing inside is ever pinned.
impl<T: Send, M: Mode> Unpin for RecvFuture<'_, T, M> {}

impl<T: Send, M: Mode> Future for RecvFuture<'_, T, M> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        // SAFETY: created from `&mut Receiver` on single-consumer modes (exclusive borrow).
        unsafe { poll_recv(this.chan, &mut this.listener, &mut this.yields, cx) }
    }
}

/// Future of `recv_batch(out, max)`: waits for at least one value, then takes up to `max`
/// (with `max == 0`, nothing: ready at once, as `try_recv_batch(out, 0)`).
#[must_use = "futures do nothing unless awaited"]
pub struct RecvBatchFuture<'a, T: Send, M: Mode> {
    chan: &'a M::Chan<T>,
    out: &'a mut Vec<T>,
    max: usize,
    listener: Option<Listener>,
    yields: u8,
}

impl<'a, T: Send, M: Mode> RecvBatchFuture<'a, T, M> {
    pub(crate) fn new(chan: &'a M::Chan<T>, out: &'a mut Vec<T>, max: usize) -> Self {
        Self {
            chan,
            out,
            max,
            listener: None,
            yields: 0,
        }
    }
}

// Nothing inside is ever pinned.
impl<T: Send, M: Mode> Unpin for RecvBatchFuture<'_, T, M> {}

impl<T: Send, M: Mode> Future for RecvBatchFuture<'_, T, M> {
    type Output = Result<usize, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if this.max == 0 {
            // Takes nothing and does not wait: `try_recv_batch(out, 0)`'s answer.
            // SAFETY: created from `&mut Receiver` on single-consumer modes.
            let polled = unsafe { this.chan.try_recv_batch(this.out, 0) };
            return Poll::Ready(polled.map_err(|()| RecvError));
        }
        let mut spins = 0;
        loop {
            // SAFETY: created from `&mut Receiver` on single-consumer modes.
            match unsafe { this.chan.try_recv_batch(this.out, this.max) } {
                Ok(0) => {}
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(()) => return Poll::Ready(Err(RecvError)),
            }
            before_registering!(
                <M::Chan<T> as RawChan<T>>::BEFORE_ASYNC_WAIT,
                this.listener,
                &mut spins,
                &mut this.yields,
                cx
            );
            if poll_wait(&mut this.listener, this.chan.not_empty(), cx).is_pending() {
                return sleep_unless(this.chan.value_in_flight(), cx);
            }
        }
    }
}

/// Future of `send_batch(iter)`: sends every value, waiting for room (only under `Block`);
/// on close returns the values that were not sent. Dropping it drops the values not sent.
#[must_use = "futures do nothing unless awaited"]
pub struct SendBatchFuture<'a, T: Send, M: Mode> {
    chan: &'a M::Chan<T>,
    pending: Vec<T>,
    listener: Option<Listener>,
    yields: u8,
}

impl<'a, T: Send, M: Mode> SendBatchFuture<'a, T, M> {
    pub(crate) fn new(chan: &'a M::Chan<T>, values: Vec<T>) -> Self {
        Self {
            chan,
            pending: values,
            listener: None,
            yields: 0,
        }
    }
}

// Nothing inside is ever pinned.
impl<T: Send, M: Mode> Unpin for SendBatchFuture<'_, T, M> {}

impl<T: Send, M: Mode> Future for SendBatchFuture<'_, T, M> {
    type Output = Result<(), SendError<Vec<T>>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut spins = 0;
        loop {
            if this.pending.is_empty() {
                return Poll::Ready(Ok(()));
            }
            // SAFETY: created from `&mut Sender` on single-producer modes.
            match unsafe { this.chan.try_send_batch(&mut this.pending) } {
                Err(()) => return Poll::Ready(Err(SendError(core::mem::take(&mut this.pending)))),
                Ok(n) if n > 0 => {
                    // Progress: the next wait starts its count over.
                    this.yields = 0;
                    continue;
                }
                Ok(_) => {}
            }
            before_registering!(
                <M::Chan<T> as RawChan<T>>::BEFORE_ASYNC_WAIT,
                this.listener,
                &mut spins,
                &mut this.yields,
                cx
            );
            if poll_wait(&mut this.listener, this.chan.not_full(), cx).is_pending() {
                return sleep_unless(this.chan.room_in_flight(), cx);
            }
        }
    }
}

/// Future of `reserve()`: waits for capacity and resolves to a [`Permit`].
#[must_use = "futures do nothing unless awaited"]
pub struct ReserveFuture<'a, T: Send, M: Mode> {
    chan: Option<&'a M::Chan<T>>,
    listener: Option<Listener>,
    yields: u8,
}

impl<'a, T: Send, M: Mode> ReserveFuture<'a, T, M> {
    pub(crate) fn new(chan: &'a M::Chan<T>) -> Self {
        Self {
            chan: Some(chan),
            listener: None,
            yields: 0,
        }
    }
}

// Nothing inside is ever pinned.
impl<T: Send, M: Mode> Unpin for ReserveFuture<'_, T, M> {}

impl<'a, T: Send, M: Mode> Future for ReserveFuture<'a, T, M> {
    type Output = Result<Permit<'a, T, M>, SendError<()>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let Some(chan) = this.chan else {
            panic!("ReserveFuture polled after completion");
        };
        let mut spins = 0;
        loop {
            match chan.try_reserve() {
                Ok(()) => {
                    this.chan = None;
                    return Poll::Ready(Ok(Permit::new(chan)));
                }
                Err(TryReserveError::Closed) => return Poll::Ready(Err(SendError(()))),
                Err(TryReserveError::Full) => {}
            }
            before_registering!(
                <M::Chan<T> as RawChan<T>>::BEFORE_ASYNC_WAIT,
                this.listener,
                &mut spins,
                &mut this.yields,
                cx
            );
            if poll_wait(&mut this.listener, chan.not_full(), cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

#[cfg(all(test, not(nimsync_loom)))]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};

    use super::*;
    use crate::Spsc;

    /// A waker that counts its wake-ups.
    struct Counting(AtomicUsize);

    impl Wake for Counting {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Polls `fut` while it yields (each poll `Pending` with one self-wake), then once more:
    /// `Pending` with no wake-up, registered. Returns the yields seen.
    fn poll_until_registered<F: Future + Unpin>(fut: &mut F, counting: &Arc<Counting>) -> usize {
        let waker = Waker::from(counting.clone());
        let mut cx = Context::from_waker(&waker);
        let mut yields = 0;
        loop {
            let before = counting.0.load(Ordering::SeqCst);
            assert!(Pin::new(&mut *fut).poll(&mut cx).is_pending());
            match counting.0.load(Ordering::SeqCst) - before {
                0 => return yields,
                1 => yields += 1,
                n => panic!("{n} wake-ups in one poll"),
            }
            assert!(yields <= usize::from(ASYNC_YIELDS), "yields without end");
        }
    }

    #[test]
    fn an_async_recv_yields_on_a_yield_ring_then_registers_and_is_woken_by_a_send() {
        let (mut tx, mut rx) = crate::spsc::<u32>(4);
        let counting = Arc::new(Counting(AtomicUsize::new(0)));
        let mut fut = rx.recv();
        assert_eq!(
            poll_until_registered(&mut fut, &counting),
            usize::from(ASYNC_YIELDS)
        );
        let registered = counting.0.load(Ordering::SeqCst);
        tx.try_send(7).unwrap();
        assert_eq!(counting.0.load(Ordering::SeqCst), registered + 1);
        let waker = Waker::from(counting.clone());
        let mut cx = Context::from_waker(&waker);
        assert_eq!(Pin::new(&mut fut).poll(&mut cx), Poll::Ready(Ok(7)));
    }

    #[test]
    fn an_async_send_yields_on_a_yield_ring_then_registers_and_is_woken_by_a_recv() {
        let (mut tx, mut rx) = crate::spsc::<u32>(1);
        tx.try_send(1).unwrap();
        let counting = Arc::new(Counting(AtomicUsize::new(0)));
        let mut fut = tx.send(2);
        assert_eq!(
            poll_until_registered(&mut fut, &counting),
            usize::from(ASYNC_YIELDS)
        );
        let registered = counting.0.load(Ordering::SeqCst);
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(counting.0.load(Ordering::SeqCst), registered + 1);
        let waker = Waker::from(counting.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut fut).poll(&mut cx).is_ready());
        drop(fut);
        assert_eq!(rx.try_recv(), Ok(2));
    }

    #[test]
    fn batch_and_reserve_waits_yield_on_a_yield_ring_then_register_and_are_woken() {
        let counting = Arc::new(Counting(AtomicUsize::new(0)));
        let waker = Waker::from(counting.clone());
        let mut cx = Context::from_waker(&waker);
        let yields = usize::from(ASYNC_YIELDS);
        let (mut tx, mut rx) = crate::spsc::<u32>(2);

        // `recv_batch` on an empty ring, woken by a send.
        let mut out = Vec::new();
        let mut fut = rx.recv_batch(&mut out, 4);
        assert_eq!(poll_until_registered(&mut fut, &counting), yields);
        let registered = counting.0.load(Ordering::SeqCst);
        tx.try_send(5).unwrap();
        assert_eq!(counting.0.load(Ordering::SeqCst), registered + 1);
        assert_eq!(Pin::new(&mut fut).poll(&mut cx), Poll::Ready(Ok(1)));
        drop(fut);
        assert_eq!(out, [5]);

        // `send_batch` on a full ring, woken by a receive.
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        let mut fut = tx.send_batch([3]);
        assert_eq!(poll_until_registered(&mut fut, &counting), yields);
        let registered = counting.0.load(Ordering::SeqCst);
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(counting.0.load(Ordering::SeqCst), registered + 1);
        assert!(Pin::new(&mut fut).poll(&mut cx).is_ready());
        drop(fut);

        // `reserve` on a full ring (2, 3), woken by a receive.
        let mut fut = tx.reserve();
        assert_eq!(poll_until_registered(&mut fut, &counting), yields);
        let registered = counting.0.load(Ordering::SeqCst);
        assert_eq!(rx.try_recv(), Ok(2));
        assert_eq!(counting.0.load(Ordering::SeqCst), registered + 1);
        match Pin::new(&mut fut).poll(&mut cx) {
            Poll::Ready(Ok(permit)) => permit.send(4),
            other => panic!("reserve: {:?}", other.map(|r| r.is_ok())),
        }
        drop(fut);
        assert_eq!(rx.try_recv(), Ok(3));
        assert_eq!(rx.try_recv(), Ok(4));
    }

    #[test]
    fn batch_and_reserve_waits_on_a_spin_ring_register_without_yielding() {
        let counting = Arc::new(Counting(AtomicUsize::new(0)));
        let (tx, mut rx) = crate::mpsc::<u32>(1);
        let mut out = Vec::new();
        assert_eq!(
            poll_until_registered(&mut rx.recv_batch(&mut out, 4), &counting),
            0
        );
        tx.try_send(1).unwrap();
        assert_eq!(poll_until_registered(&mut tx.send_batch([2]), &counting), 0);
        assert_eq!(poll_until_registered(&mut tx.reserve(), &counting), 0);
    }

    /// A sender's `Sink::poll_ready`, as a future.
    #[cfg(feature = "sink")]
    struct Ready<'a>(&'a mut crate::Sender<u32, Spsc>);

    #[cfg(feature = "sink")]
    impl Future for Ready<'_> {
        type Output = Result<(), crate::SendError<()>>;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            futures_sink::Sink::poll_ready(Pin::new(&mut *self.0), cx)
        }
    }

    #[test]
    #[cfg(feature = "sink")]
    fn a_sink_waits_like_send_and_starts_over_once_ready() {
        let counting = Arc::new(Counting(AtomicUsize::new(0)));
        let waker = Waker::from(counting.clone());
        let mut cx = Context::from_waker(&waker);
        let (mut tx, mut rx) = crate::spsc::<u32>(1);
        for value in [1, 2] {
            tx.try_send(value).unwrap();
            // The count is kept in the sender between polls (a new `Ready` each time).
            assert_eq!(
                poll_until_registered(&mut Ready(&mut tx), &counting),
                usize::from(ASYNC_YIELDS)
            );
            let registered = counting.0.load(Ordering::SeqCst);
            assert_eq!(rx.try_recv(), Ok(value));
            assert_eq!(counting.0.load(Ordering::SeqCst), registered + 1);
            assert_eq!(
                Pin::new(&mut Ready(&mut tx)).poll(&mut cx),
                Poll::Ready(Ok(()))
            );
            futures_sink::Sink::start_send(Pin::new(&mut tx), value + 10).unwrap();
            assert_eq!(rx.try_recv(), Ok(value + 10));
        }
    }

    /// The receiver's `Stream`, as a future of its next item.
    struct Next<'a>(&'a mut crate::Receiver<u32, Spsc>);

    impl Future for Next<'_> {
        type Output = Option<u32>;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u32>> {
            futures_core::Stream::poll_next(Pin::new(&mut *self.0), cx)
        }
    }

    #[test]
    fn a_stream_yields_like_recv_and_starts_over_after_each_value() {
        let (mut tx, mut rx) = crate::spsc::<u32>(4);
        let counting = Arc::new(Counting(AtomicUsize::new(0)));
        let waker = Waker::from(counting.clone());
        let mut cx = Context::from_waker(&waker);
        for value in [3, 4] {
            // The count is kept in the receiver between polls (a new `Next` each time).
            assert_eq!(
                poll_until_registered(&mut Next(&mut rx), &counting),
                usize::from(ASYNC_YIELDS)
            );
            let registered = counting.0.load(Ordering::SeqCst);
            tx.try_send(value).unwrap();
            assert_eq!(counting.0.load(Ordering::SeqCst), registered + 1);
            assert_eq!(
                Pin::new(&mut Next(&mut rx)).poll(&mut cx),
                Poll::Ready(Some(value))
            );
        }
    }

    #[test]
    fn handles_hold_only_their_channel_and_their_wait_state() {
        fn check<M: Mode>() {
            // The stream's yield count shares the listener's space (`stream::StreamWait`): 8
            // more bytes per receiver cost the actors' mailbox throughput about a fifth.
            assert_eq!(
                size_of::<crate::Receiver<u64, M>>(),
                size_of::<M::Chan<u64>>() + size_of::<Option<Listener>>(),
                "{}",
                M::NAME
            );
            // The sink's yield count sits beside its reservation flag.
            assert_eq!(
                size_of::<crate::Sender<u64, M>>(),
                size_of::<M::Chan<u64>>() + size_of::<Option<Listener>>() + size_of::<usize>(),
                "{}",
                M::NAME
            );
        }
        check::<Spsc>();
        check::<crate::Mpsc>();
        check::<crate::Spmc>();
        check::<crate::Mpmc>();
    }

    #[test]
    fn spsc_channels_yield_and_the_shared_modes_spin() {
        fn kind<M: Mode>() -> BeforeAsyncWait {
            <M::Chan<u32> as RawChan<u32>>::BEFORE_ASYNC_WAIT
        }
        assert_eq!(kind::<Spsc>(), BeforeAsyncWait::Yield);
        assert_eq!(kind::<crate::Mpsc>(), BeforeAsyncWait::Spin);
        assert_eq!(kind::<crate::Spmc>(), BeforeAsyncWait::Spin);
        assert_eq!(kind::<crate::Mpmc>(), BeforeAsyncWait::Spin);
    }
}
