//! [`Select`]: wait until one of several channels is ready, blocking or async, fairly.
//!
//! Selection is readiness-based: `ready()` returns the index of an arm whose channel has a
//! value to receive (or room to send, not held by permits; always, under a policy other
//! than `Block`), or is closed; the caller then performs the operation
//! with `try_recv`/`try_send`. Nothing is taken from a channel by the selection itself, so an
//! abandoned or cancelled select loses nothing. On multi-consumer channels another receiver
//! may win the value in between: `try_recv` then reports `Empty` and the caller selects
//! again. Arms are scanned from a random start, so no arm starves.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::sync::Backoff;

use crate::chan::RawChan;
use crate::event::{Event, Listener};
use crate::mode::Mode;
use crate::park;
use crate::{Receiver, Sender};

/// Type-erased readiness of one arm. Holds a clone of the channel's `Arc`, not a borrow of
/// the handle, so the caller keeps `&mut` access to its receivers and senders.
trait Arm: Send + Sync {
    fn is_ready(&self) -> bool;
    fn event(&self) -> &Event;
}

struct RecvArm<C>(C);
struct SendArm<C>(C);

impl<T, C: RawChan<T>> Arm for (RecvArm<C>, core::marker::PhantomData<fn() -> T>) {
    fn is_ready(&self) -> bool {
        self.0.0.len() > 0 || self.0.0.is_closed()
    }
    fn event(&self) -> &Event {
        self.0.0.not_empty()
    }
}

impl<T, C: RawChan<T>> Arm for (SendArm<C>, core::marker::PhantomData<fn() -> T>) {
    fn is_ready(&self) -> bool {
        // Counts the capacity permits hold; under a policy other than `Block` a send never
        // finds the channel full.
        self.0.0.send_ready()
    }
    fn event(&self) -> &Event {
        self.0.0.not_full()
    }
}

/// Error of [`Select::ready_timeout`]: no arm became ready in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelectTimeout;

impl core::fmt::Display for SelectTimeout {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("no channel became ready before the deadline")
    }
}

impl std::error::Error for SelectTimeout {}

/// A set of channel operations to wait on.
///
/// ```
/// use nimsync_core_channels::{mpmc, spsc, Select, TryRecvError};
/// let (mut tx_a, mut rx_a) = spsc::<&str>(4);
/// let (tx_b, rx_b) = mpmc::<u32>(4);
///
/// let mut sel = Select::new();
/// let a = sel.recv(&rx_a);
/// let b = sel.recv(&rx_b);
/// assert_eq!(sel.try_ready(), None); // the "default" arm: nothing ready
///
/// tx_b.try_send(42).unwrap();
/// let i = sel.ready(); // blocks until an arm is ready
/// assert_eq!(i, b);
/// assert_eq!(rx_b.try_recv(), Ok(42));
///
/// tx_a.try_send("hi").unwrap();
/// assert_eq!(sel.ready(), a);
/// assert_eq!(rx_a.try_recv(), Ok("hi")); // `rx_a` is still usable mutably
/// ```
#[derive(Default)]
pub struct Select {
    arms: Vec<Box<dyn Arm>>,
}

impl core::fmt::Debug for Select {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Select")
            .field("arms", &self.arms.len())
            .finish()
    }
}

impl Select {
    /// An empty selection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a receive arm; returns its index. Ready when a value is buffered or the channel
    /// is closed.
    pub fn recv<T: Send + 'static, M: Mode>(&mut self, receiver: &Receiver<T, M>) -> usize
    where
        M::Chan<T>: 'static,
    {
        self.arms.push(Box::new((
            RecvArm(receiver.chan.clone()),
            core::marker::PhantomData::<fn() -> T>,
        )));
        self.arms.len() - 1
    }

    /// Adds a send arm; returns its index. Ready when a `try_send` would not report `Full`:
    /// the ring has room that no [`Permit`](crate::Permit) holds, the channel's policy is not
    /// `Block` (a send then succeeds at once: it drops, evicts or spills), or the channel is
    /// closed. Use [`try_reserve`](crate::mpmc::Sender::try_reserve) after it to send
    /// without racing other senders.
    pub fn send<T: Send + 'static, M: Mode>(&mut self, sender: &Sender<T, M>) -> usize
    where
        M::Chan<T>: 'static,
    {
        self.arms.push(Box::new((
            SendArm(sender.chan.clone()),
            core::marker::PhantomData::<fn() -> T>,
        )));
        self.arms.len() - 1
    }

    /// The index of a ready arm, if any, scanning from a random start (the "default arm").
    pub fn try_ready(&self) -> Option<usize> {
        let n = self.arms.len();
        if n == 0 {
            return None;
        }
        let start = fastrand::usize(..n);
        (0..n)
            .map(|k| (start + k) % n)
            .find(|&i| self.arms[i].is_ready())
    }

    /// Blocks until an arm is ready and returns its index.
    ///
    /// # Panics
    /// If the selection has no arms (it would wait forever).
    pub fn ready(&self) -> usize {
        assert!(
            !self.arms.is_empty(),
            "Select::ready on an empty selection would never return"
        );
        match self.ready_until(None) {
            Some(i) => i,
            None => unreachable!("no deadline was given"),
        }
    }

    /// Blocks until an arm is ready or `timeout` passes (a timeout too large for an
    /// `Instant`, such as `Duration::MAX`, never passes).
    ///
    /// An empty selection is never ready: it returns `Err(SelectTimeout)` at once, whatever
    /// the timeout (no panic, unlike [`ready`](Self::ready)).
    pub fn ready_timeout(&self, timeout: Duration) -> Result<usize, SelectTimeout> {
        if self.arms.is_empty() {
            return Err(SelectTimeout);
        }
        let deadline = Instant::now().checked_add(timeout);
        self.ready_until(deadline).ok_or(SelectTimeout)
    }

    /// Blocks until an arm is ready or `deadline` passes.
    ///
    /// An empty selection is never ready: it returns `Err(SelectTimeout)` at once.
    pub fn ready_deadline(&self, deadline: Instant) -> Result<usize, SelectTimeout> {
        if self.arms.is_empty() {
            return Err(SelectTimeout);
        }
        self.ready_until(Some(deadline)).ok_or(SelectTimeout)
    }

    /// Waits asynchronously until an arm is ready and returns its index. Cancel-safe.
    ///
    /// # Panics
    /// When polled, if the selection has no arms (it would never complete).
    pub fn ready_async(&self) -> ReadyFuture<'_> {
        ReadyFuture {
            select: self,
            listeners: Vec::new(),
        }
    }

    fn ready_until(&self, deadline: Option<Instant>) -> Option<usize> {
        let backoff = Backoff::new();
        loop {
            if let Some(i) = self.try_ready() {
                return Some(i);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return None;
            }
            if !backoff.is_completed() {
                backoff.snooze();
                continue;
            }
            // Register on every arm, re-check, then park until any listener fires.
            let waker = park::waker();
            let mut cx = Context::from_waker(&waker);
            let mut listeners: Vec<Listener> =
                self.arms.iter().map(|a| a.event().listen()).collect();
            if let Some(i) = self.try_ready() {
                return Some(i);
            }
            let fired = listeners
                .iter_mut()
                .any(|l| Pin::new(l).poll(&mut cx).is_ready());
            if !fired {
                // A passed deadline is caught at the top of the loop.
                park::park_until(deadline);
            }
        }
    }
}

/// Future of [`Select::ready_async`].
#[must_use = "futures do nothing unless awaited"]
pub struct ReadyFuture<'a> {
    select: &'a Select,
    listeners: Vec<Listener>,
}

impl Future for ReadyFuture<'_> {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let this = &mut *self;
        assert!(
            !this.select.arms.is_empty(),
            "Select::ready_async on an empty selection would never complete"
        );
        loop {
            if let Some(i) = this.select.try_ready() {
                this.listeners.clear();
                return Poll::Ready(i);
            }
            if this.listeners.is_empty() {
                this.listeners = this
                    .select
                    .arms
                    .iter()
                    .map(|a| a.event().listen())
                    .collect();
                continue;
            }
            let mut fired = false;
            for listener in &mut this.listeners {
                fired |= Pin::new(listener).poll(cx).is_ready();
            }
            if !fired {
                return Poll::Pending;
            }
            this.listeners.clear();
        }
    }
}
