//! Ecosystem traits: `futures_core::Stream` for receivers, `futures_sink::Sink` for senders.

use core::mem;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::Stream;
use futures_core::stream::FusedStream;

use crate::Receiver;
use crate::event::Listener;
use crate::future::poll_recv;
use crate::mode::Mode;

/// A receiver's `Stream` state between polls: the yields made before registering
/// (`future::pre_wait`, counted since the last item) or the registration. The count fits
/// beside the listener's tag, so this is no bigger than an `Option<Listener>` (tested): a
/// receiver 8 bytes bigger cost the actors' mailbox throughput about a fifth.
pub(crate) enum StreamWait {
    Idle(u8),
    Waiting(Listener),
}

/// A stream that has neither yielded nor registered.
pub(crate) const IDLE: StreamWait = StreamWait::Idle(0);

/// Every receiver is a `Stream` of its values; it ends when the channel is closed and drained.
/// Cancel-safe like [`recv`](crate::mpmc::Receiver::recv).
///
/// ```
/// use futures_util::StreamExt;
/// use nimsync_core_channels::spsc;
/// let (mut tx, rx) = spsc::<u32>(4);
/// tx.try_send(1).unwrap();
/// tx.try_send(2).unwrap();
/// drop(tx);
/// let all: Vec<u32> = futures_executor::block_on(rx.collect());
/// assert_eq!(all, [1, 2]);
/// ```
impl<T: Send, M: Mode> Stream for Receiver<T, M> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        let (mut listener, mut yields) = match mem::replace(&mut this.stream_wait, IDLE) {
            StreamWait::Idle(yields) => (None, yields),
            // Registered: the yields are spent (a wake-up that finds nothing registers again
            // at once, as `recv()` does).
            StreamWait::Waiting(listener) => (Some(listener), u8::MAX),
        };
        // SAFETY: `Pin<&mut Self>` is exclusive access to this receiver; single-consumer
        // receivers are not `Clone`, so no other consumer call can overlap.
        let polled = unsafe { poll_recv(&this.chan, &mut listener, &mut yields, cx) };
        this.stream_wait = match listener {
            Some(listener) => StreamWait::Waiting(listener),
            // An item (or the end): the next wait starts its yields over.
            None if polled.is_ready() => IDLE,
            None => StreamWait::Idle(yields),
        };
        polled.map(Result::ok)
    }

    /// At least the values buffered now on a single-consumer channel, where only this
    /// receiver takes them (except under `DropOldest`: a send may evict one and then find
    /// the channel closed); 0 where other receivers (or evictions) may take them first.
    fn size_hint(&self) -> (usize, Option<usize>) {
        use crate::chan::RawChan;
        if M::MULTI_CONSUMER || self.chan.policy() == crate::Policy::DropOldest {
            (0, None)
        } else {
            (self.len(), None)
        }
    }
}

impl<T: Send, M: Mode> FusedStream for Receiver<T, M> {
    fn is_terminated(&self) -> bool {
        self.is_closed() && self.is_empty()
    }
}

#[cfg(feature = "sink")]
mod sink {
    use super::*;
    use crate::Sender;
    use crate::chan::RawChan;
    use crate::error::{SendError, TryReserveError, TrySendError};
    use crate::future::poll_wait;

    /// Every sender is a `Sink`. `poll_ready` reserves a slot (a [`Permit`](crate::Permit)
    /// held inside the sender), so `start_send` never fails for lack of room. `poll_close`
    /// closes the channel if this is the last sender, and otherwise only releases this
    /// sender's reservation.
    ///
    /// ```
    /// use futures_util::SinkExt;
    /// use nimsync_core_channels::mpsc;
    /// let (mut tx, mut rx) = mpsc::<u32>(4);
    /// futures_executor::block_on(async {
    ///     tx.send_all(&mut futures_util::stream::iter([1, 2, 3].map(Ok))).await.unwrap();
    /// });
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    impl<T: Send, M: Mode> futures_sink::Sink<T> for Sender<T, M> {
        type Error = SendError<()>;

        fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            let this = self.get_mut();
            if this.sink_reserved {
                return Poll::Ready(Ok(()));
            }
            let mut spins = 0;
            loop {
                match this.chan.try_reserve() {
                    Ok(()) => {
                        this.sink_reserved = true;
                        this.sink_yields = 0;
                        this.sink_listener = None;
                        return Poll::Ready(Ok(()));
                    }
                    Err(TryReserveError::Closed) => return Poll::Ready(Err(SendError(()))),
                    Err(TryReserveError::Full) => {}
                }
                crate::future::before_registering!(
                    <M::Chan<T> as RawChan<T>>::BEFORE_ASYNC_WAIT,
                    this.sink_listener,
                    &mut spins,
                    &mut this.sink_yields,
                    cx
                );
                if poll_wait(&mut this.sink_listener, this.chan.not_full(), cx).is_pending() {
                    return Poll::Pending;
                }
            }
        }

        fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), Self::Error> {
            let this = self.get_mut();
            if this.sink_reserved {
                this.sink_reserved = false;
                // SAFETY: `Pin<&mut Self>` is exclusive access to this sender (single-producer
                // senders are not `Clone`); the reservation was taken in `poll_ready`.
                unsafe { this.chan.send_reserved(item) };
                return Ok(());
            }
            // Called without `poll_ready`: best effort, never waiting.
            // SAFETY: as above.
            match unsafe { this.chan.try_send(item) } {
                Ok(()) => Ok(()),
                Err(TrySendError::Full(_) | TrySendError::Closed(_)) => Err(SendError(())),
            }
        }

        fn poll_flush(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Result<(), Self::Error>> {
            // Values are in the channel as soon as `start_send` returns.
            Poll::Ready(Ok(()))
        }

        fn poll_close(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Result<(), Self::Error>> {
            let this = self.get_mut();
            if this.sink_reserved {
                this.sink_reserved = false;
                this.chan.release_reserved();
            }
            if this.sender_count() == 1 {
                this.chan.close();
            }
            Poll::Ready(Ok(()))
        }
    }
}
