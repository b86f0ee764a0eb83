//! The user-facing handles: [`Sender`], [`Receiver`] and [`WeakSender`].
//!
//! Operations that move values take `&self` on a side that may be shared (the handle is
//! `Clone`) and `&mut self` on a single side, so one `Sender<T, Spsc>` can never be used by
//! two threads at once — the type system, not a lock, enforces the mode.

use core::fmt;
use std::time::{Duration, Instant};

use crate::chan::RawChan;
use crate::error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TryReserveError,
    TrySendError,
};
use crate::event::Listener;
use crate::future::{RecvBatchFuture, RecvFuture, ReserveFuture, SendBatchFuture, SendFuture};
use crate::mode::{Mode, Mpmc, Mpsc, Spmc, Spsc};
use crate::stats::Stats;
use crate::stream::StreamWait;
use crate::sync::Ordering;
use crate::{Permit, wait};

/// The sending half of a channel of mode `M`.
///
/// Obtained from [`spsc`](crate::spsc()), [`mpsc`](crate::mpsc()), [`spmc`](crate::spmc()),
/// [`mpmc`](crate::mpmc()) or a [`Builder`](crate::Builder). Dropping the last sender closes
/// the channel: receivers drain what is buffered, then see `Closed`.
///
/// ```
/// use nimsync_core_channels::mpsc;
/// let (tx, mut rx) = mpsc::<u32>(8);
/// let tx2 = tx.clone(); // multi-producer: senders clone
/// std::thread::spawn(move || tx2.send_blocking(1).unwrap()).join().unwrap();
/// tx.try_send(2).unwrap();
/// drop(tx);
/// let mut got = vec![rx.recv_blocking().unwrap(), rx.recv_blocking().unwrap()];
/// got.sort();
/// assert_eq!(got, [1, 2]);
/// assert!(rx.recv_blocking().is_err()); // all senders gone, buffer drained
/// ```
pub struct Sender<T: Send, M: Mode> {
    pub(crate) chan: M::Chan<T>,
    /// `Sink` state: whether `poll_ready` holds a reservation, the yields its wait made
    /// before registering (`future::pre_wait`; it fits beside the flag, so the sender is no
    /// bigger for it) and its wait registration.
    pub(crate) sink_reserved: bool,
    #[cfg_attr(not(feature = "sink"), allow(dead_code))]
    pub(crate) sink_yields: u8,
    #[cfg_attr(not(feature = "sink"), allow(dead_code))]
    pub(crate) sink_listener: Option<Listener>,
}

/// The receiving half of a channel of mode `M`.
///
/// Dropping the last receiver closes the channel: senders fail with `Closed` and get their
/// value back. Buffered values are dropped when the channel is freed.
///
/// ```
/// use nimsync_core_channels::spmc;
/// let (mut tx, rx) = spmc::<u32>(8);
/// let rx2 = rx.clone(); // multi-consumer: receivers clone
/// tx.try_send(7).unwrap();
/// assert_eq!(rx2.try_recv(), Ok(7));
/// assert!(rx.try_recv().is_err());
/// ```
pub struct Receiver<T: Send, M: Mode> {
    pub(crate) chan: M::Chan<T>,
    /// `Stream` state between polls.
    pub(crate) stream_wait: StreamWait,
}

/// A sender that does not keep the channel open; [`upgrade`](WeakSender::upgrade) it to send.
///
/// ```
/// use nimsync_core_channels::mpmc;
/// let (tx, _rx) = mpmc::<u8>(1);
/// let weak = tx.downgrade();
/// assert!(weak.upgrade().is_some());
/// drop(tx);
/// assert!(weak.upgrade().is_none()); // the last strong sender closed the channel
/// ```
pub struct WeakSender<T: Send, M: Mode> {
    chan: M::Chan<T>,
}

/// Inspection and closing, the same on both halves.
macro_rules! common_ops {
    () => {
        /// Closes the channel. Returns `true` if this call closed it.
        ///
        /// Further sends fail with `Closed` (the value comes back); values already buffered
        /// can still be received.
        pub fn close(&self) -> bool {
            self.chan.close()
        }

        /// Whether the channel is closed (values may still be buffered).
        pub fn is_closed(&self) -> bool {
            self.chan.is_closed()
        }

        /// Values buffered right now (a snapshot).
        pub fn len(&self) -> usize {
            self.chan.len()
        }

        /// Whether nothing is buffered right now.
        pub fn is_empty(&self) -> bool {
            self.chan.len() == 0
        }

        /// Whether the ring is full right now.
        pub fn is_full(&self) -> bool {
            self.chan.len() >= self.chan.capacity()
        }

        /// The ring's capacity (the requested capacity rounded up to a power of two).
        pub fn capacity(&self) -> usize {
            self.chan.capacity()
        }

        /// The channel's counters.
        pub fn stats(&self) -> Stats {
            self.chan.stats()
        }

        /// Live senders.
        pub fn sender_count(&self) -> usize {
            self.chan.senders().load(Ordering::Relaxed)
        }

        /// Live receivers.
        pub fn receiver_count(&self) -> usize {
            self.chan.receivers().load(Ordering::Relaxed)
        }

        /// The memory of the channel's slot array (the ring's values and, for most modes,
        /// their sequence stamps), as bytes: its address and length, for tools that place
        /// memory, such as binding it to a NUMA node (hwloc's area binding, `mbind`). The
        /// view reads nothing; reading or writing through it needs `unsafe` and is never
        /// sound while the channel is in use. The array is allocated once, when the channel
        /// is built, and never moves. The shared header and the `Overflow` spill queue are
        /// separate allocations and not included.
        ///
        /// ```
        /// let (tx, rx) = nimsync_core_channels::mpmc::<u64>(1024);
        /// let slots = tx.slot_memory();
        /// assert!(slots.len() >= 1024 * 8); // at least one u64 per slot
        /// assert_eq!(slots.as_ptr(), rx.slot_memory().as_ptr()); // one array per channel
        /// ```
        pub fn slot_memory(&self) -> &crate::SlotMemory {
            self.chan.slot_memory()
        }
    };
}

impl<T: Send, M: Mode> Sender<T, M> {
    pub(crate) fn from_chan(chan: M::Chan<T>) -> Self {
        Self {
            chan,
            sink_reserved: false,
            sink_yields: 0,
            sink_listener: None,
        }
    }

    common_ops!();

    /// Whether `self` and `other` belong to the same channel.
    pub fn same_channel(&self, other: &Sender<T, M>) -> bool {
        self.chan.addr() == other.chan.addr()
    }

    /// Whether this sender and `receiver` belong to the same channel.
    pub fn same_channel_as(&self, receiver: &Receiver<T, M>) -> bool {
        self.chan.addr() == receiver.chan.addr()
    }
}

impl<T: Send, M: Mode> Receiver<T, M> {
    pub(crate) fn from_chan(chan: M::Chan<T>) -> Self {
        Self {
            chan,
            stream_wait: crate::stream::IDLE,
        }
    }

    common_ops!();

    /// Whether `self` and `other` belong to the same channel.
    pub fn same_channel(&self, other: &Receiver<T, M>) -> bool {
        self.chan.addr() == other.chan.addr()
    }
}

/// Producer operations; `$($m)?` is `mut` on single-producer modes.
macro_rules! sender_ops {
    ($mode:ty $(, $m:tt)?) => {
        /// Sends without waiting, applying the channel's [`Policy`](crate::Policy).
        ///
        /// Returns `Full(value)` (only under `Block`) or `Closed(value)`. On the MPSC, SPMC
        /// and MPMC rings `Full` also covers a slot that a concurrent receive has claimed and
        /// is still reading (that receive has not returned yet); the waiting operations wait
        /// for it.
        #[inline(always)]
        pub fn try_send(&$($m)? self, value: T) -> Result<(), TrySendError<T>> {
            // SAFETY: single-producer senders are neither `Clone` nor usable through `&self`
            // here (`&mut self`), so producer calls never overlap.
            unsafe { self.chan.try_send(value) }
        }

        /// Sends, parking the thread while the channel is full (a short spin first).
        #[inline(always)]
        pub fn send_blocking(&$($m)? self, value: T) -> Result<(), SendError<T>> {
            // SAFETY: as in `try_send`.
            unsafe { wait::send(&self.chan, value, None) }.map_err(|e| SendError(e.into_inner()))
        }

        /// Sends, waiting at most `timeout` for room.
        pub fn send_timeout(&$($m)? self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
            let deadline = Instant::now().checked_add(timeout);
            // SAFETY: as in `try_send`.
            unsafe { wait::send(&self.chan, value, deadline) }
        }

        /// Sends, waiting until `deadline` for room.
        pub fn send_deadline(&$($m)? self, value: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
            // SAFETY: as in `try_send`.
            unsafe { wait::send(&self.chan, value, Some(deadline)) }
        }

        /// Sends asynchronously, waiting (through the task's waker) while the channel is full.
        ///
        /// Dropping the future before it completes drops the value without enqueuing it.
        pub fn send(&$($m)? self, value: T) -> SendFuture<'_, T, $mode> {
            SendFuture::new(&self.chan, value)
        }

        /// Sends values from the front of `items`, as many as fit with one publication, and
        /// applies the channel's [`Policy`](crate::Policy) to the rest, as the same
        /// [`try_send`](Self::try_send)s in a row would: under `Block` the rest stays in
        /// `items`; under `DropNewest` it is dropped (counted in `stats().dropped`), under
        /// `DropOldest` each value evicts the oldest, under `Overflow` it is spilled in order.
        /// Returns how many values it took from `items` (so under a policy other than
        /// `Block`, all of them; 0 under `Block` if full); `Err` if the channel is closed
        /// (nothing taken).
        pub fn try_send_batch(&$($m)? self, items: &mut Vec<T>) -> Result<usize, SendError<()>> {
            // SAFETY: as in `try_send`.
            unsafe { self.chan.try_send_batch(items) }.map_err(|()| SendError(()))
        }

        /// Sends every value, in batches ([`try_send_batch`](Self::try_send_batch)), parking
        /// while full; only under `Block` does it ever wait (the other policies make room,
        /// drop or spill). The iterator is read a chunk (up to the capacity) at a time. On
        /// close, the values not sent come back in the error, with the rest of the iterator.
        pub fn send_batch_blocking(&$($m)? self, values: impl IntoIterator<Item = T>) -> Result<(), SendError<Vec<T>>> {
            // SAFETY: as in `try_send`.
            unsafe { wait::send_batch(&self.chan, values) }.map_err(SendError)
        }

        /// Sends every value asynchronously, in batches
        /// ([`try_send_batch`](Self::try_send_batch)); only under `Block` does it ever wait.
        /// On close, the values not sent come back in the error.
        ///
        /// The whole iterator is collected into a `Vec` when this is called, before the
        /// future is polled: an unbounded iterator never returns (it allocates until memory
        /// runs out), so send those with [`send`](Self::send) in a loop (or
        /// [`send_batch_blocking`](Self::send_batch_blocking), which reads a chunk at a
        /// time). Dropping the future before it completes drops the values not yet sent.
        pub fn send_batch(&$($m)? self, values: impl IntoIterator<Item = T>) -> SendBatchFuture<'_, T, $mode> {
            SendBatchFuture::new(&self.chan, values.into_iter().collect())
        }

        /// Reserves one slot now, if there is room.
        pub fn try_reserve(&$($m)? self) -> Result<Permit<'_, T, $mode>, TryReserveError> {
            self.chan.try_reserve().map(|()| Permit::new(&self.chan))
        }

        /// Waits for room and reserves one slot.
        pub fn reserve(&$($m)? self) -> ReserveFuture<'_, T, $mode> {
            ReserveFuture::new(&self.chan)
        }
    };
}

/// Consumer operations; `$($m)?` is `mut` on single-consumer modes.
macro_rules! receiver_ops {
    ($mode:ty $(, $m:tt)?) => {
        /// Receives without waiting: `Empty` if nothing is buffered, `Closed` once the channel
        /// is closed and drained. On the MPSC, SPMC and MPMC rings `Empty` also covers a value
        /// that a concurrent send has claimed a slot for and is still writing (that send has
        /// not returned yet; a value sent after it may already be written behind it, and is
        /// received after it, in order); the waiting operations wait for it.
        #[inline(always)]
        pub fn try_recv(&$($m)? self) -> Result<T, TryRecvError> {
            // SAFETY: single-consumer receivers are neither `Clone` nor usable through
            // `&self` here (`&mut self`), so consumer calls never overlap.
            unsafe { self.chan.try_recv() }
        }

        /// Receives, parking the thread while the channel is empty (a short spin first).
        #[inline(always)]
        pub fn recv_blocking(&$($m)? self) -> Result<T, RecvError> {
            // SAFETY: as in `try_recv`.
            unsafe { wait::recv(&self.chan, None) }.map_err(|_| RecvError)
        }

        /// Receives, waiting at most `timeout`.
        pub fn recv_timeout(&$($m)? self, timeout: Duration) -> Result<T, RecvTimeoutError> {
            let deadline = Instant::now().checked_add(timeout);
            // SAFETY: as in `try_recv`.
            unsafe { wait::recv(&self.chan, deadline) }
        }

        /// Receives, waiting until `deadline`.
        pub fn recv_deadline(&$($m)? self, deadline: Instant) -> Result<T, RecvTimeoutError> {
            // SAFETY: as in `try_recv`.
            unsafe { wait::recv(&self.chan, Some(deadline)) }
        }

        /// Receives asynchronously. Cancel-safe: dropping the future loses no value.
        pub fn recv(&$($m)? self) -> RecvFuture<'_, T, $mode> {
            RecvFuture::new(&self.chan)
        }

        /// Appends up to `max` buffered values to `out` with one publication; `Ok(0)` if
        /// empty, `Err` once closed and drained. With `max == 0` it takes nothing and answers
        /// the same: `Ok(0)`, or `Err` once closed and drained (as every batch receive does).
        pub fn try_recv_batch(&$($m)? self, out: &mut Vec<T>, max: usize) -> Result<usize, RecvError> {
            // SAFETY: as in `try_recv`.
            unsafe { self.chan.try_recv_batch(out, max) }.map_err(|()| RecvError)
        }

        /// Waits for at least one value, then appends up to `max` to `out`; `Err` once the
        /// channel is closed and drained. With `max == 0` it takes nothing and does not wait:
        /// `Ok(0)`, or `Err` once closed and drained, as
        /// [`try_recv_batch`](Self::try_recv_batch).
        pub fn recv_batch_blocking(&$($m)? self, out: &mut Vec<T>, max: usize) -> Result<usize, RecvError> {
            // SAFETY: as in `try_recv`.
            unsafe { wait::recv_batch(&self.chan, out, max, None) }.map_err(|_| RecvError)
        }

        /// Like [`recv_batch_blocking`](Self::recv_batch_blocking), giving up after `timeout`
        /// (`max == 0`: no wait, `Ok(0)` or `Err(Closed)`).
        pub fn recv_batch_timeout(&$($m)? self, out: &mut Vec<T>, max: usize, timeout: Duration) -> Result<usize, RecvTimeoutError> {
            let deadline = Instant::now().checked_add(timeout);
            // SAFETY: as in `try_recv`.
            unsafe { wait::recv_batch(&self.chan, out, max, deadline) }
        }

        /// Asynchronously waits for at least one value, then appends up to `max` to `out`;
        /// `Err` once the channel is closed and drained. With `max == 0` the future is ready
        /// at once with [`try_recv_batch`](Self::try_recv_batch)'s answer.
        pub fn recv_batch<'a>(&'a $($m)? self, out: &'a mut Vec<T>, max: usize) -> RecvBatchFuture<'a, T, $mode> {
            RecvBatchFuture::new(&self.chan, out, max)
        }

        /// A blocking iterator over received values; ends when the channel is closed and drained.
        pub fn iter(&$($m)? self) -> impl Iterator<Item = T> + '_ {
            core::iter::from_fn(move || self.recv_blocking().ok())
        }

        /// An iterator over the values buffered right now.
        pub fn try_iter(&$($m)? self) -> impl Iterator<Item = T> + '_ {
            core::iter::from_fn(move || self.try_recv().ok())
        }
    };
}

impl<T: Send> Sender<T, Spsc> {
    sender_ops!(Spsc, mut);
}
impl<T: Send> Sender<T, Spmc> {
    sender_ops!(Spmc, mut);
}
impl<T: Send> Sender<T, Mpsc> {
    sender_ops!(Mpsc);
}
impl<T: Send> Sender<T, Mpmc> {
    sender_ops!(Mpmc);
}

impl<T: Send> Receiver<T, Spsc> {
    receiver_ops!(Spsc, mut);
}
impl<T: Send> Receiver<T, Mpsc> {
    receiver_ops!(Mpsc, mut);
}
impl<T: Send> Receiver<T, Spmc> {
    receiver_ops!(Spmc);
}
impl<T: Send> Receiver<T, Mpmc> {
    receiver_ops!(Mpmc);
}

/// Cloning and weak senders, for the modes with a shared producer side.
macro_rules! multi_producer {
    ($mode:ty) => {
        impl<T: Send> Clone for Sender<T, $mode> {
            fn clone(&self) -> Self {
                self.chan.senders().fetch_add(1, Ordering::Relaxed);
                Self::from_chan(self.chan.clone())
            }
        }

        impl<T: Send> Sender<T, $mode> {
            /// A [`WeakSender`] that does not keep the channel open.
            pub fn downgrade(&self) -> WeakSender<T, $mode> {
                WeakSender {
                    chan: self.chan.clone(),
                }
            }
        }

        impl<T: Send> WeakSender<T, $mode> {
            /// A sender again, unless every strong sender is gone (the channel then closed).
            pub fn upgrade(&self) -> Option<Sender<T, $mode>> {
                let senders = self.chan.senders();
                let mut n = senders.load(Ordering::Relaxed);
                loop {
                    if n == 0 {
                        return None;
                    }
                    match senders.compare_exchange_weak(
                        n,
                        n + 1,
                        Ordering::AcqRel,
                        Ordering::Relaxed,
                    ) {
                        Ok(_) => return Some(Sender::from_chan(self.chan.clone())),
                        Err(now) => n = now,
                    }
                }
            }
        }

        impl<T: Send> Clone for WeakSender<T, $mode> {
            fn clone(&self) -> Self {
                Self {
                    chan: self.chan.clone(),
                }
            }
        }
    };
}

multi_producer!(Mpsc);
multi_producer!(Mpmc);

macro_rules! multi_consumer {
    ($mode:ty) => {
        impl<T: Send> Clone for Receiver<T, $mode> {
            fn clone(&self) -> Self {
                self.chan.receivers().fetch_add(1, Ordering::Relaxed);
                Self::from_chan(self.chan.clone())
            }
        }
    };
}

multi_consumer!(Spmc);
multi_consumer!(Mpmc);

impl<T: Send, M: Mode> Drop for Sender<T, M> {
    fn drop(&mut self) {
        if self.sink_reserved {
            self.chan.release_reserved();
        }
        if self.chan.senders().fetch_sub(1, Ordering::AcqRel) == 1 {
            self.chan.close();
        }
    }
}

impl<T: Send, M: Mode> Drop for Receiver<T, M> {
    fn drop(&mut self) {
        if self.chan.receivers().fetch_sub(1, Ordering::AcqRel) == 1 {
            self.chan.close();
        }
    }
}

impl<T: Send, M: Mode> fmt::Debug for Sender<T, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("mode", &M::NAME)
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T: Send, M: Mode> fmt::Debug for Receiver<T, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("mode", &M::NAME)
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T: Send, M: Mode> fmt::Debug for WeakSender<T, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSender")
            .field("mode", &M::NAME)
            .finish()
    }
}
