//! Blocking operations: try, spin and yield for a bounded time, then park on a wait queue.
//!
//! Waking a parked thread costs tens of microseconds on small VMs, so a bounded spin comes
//! first ([`Patience`]: fine checks and a doubling spin, then `yield_now` for about the price
//! of one park/unpark round; the spin is cut short when the thread's last wait showed its peer
//! on the same core); after a wake-up the waiter is patient again.

use std::time::Instant;

use crate::sync::{Patience, yield_thread};

use crate::chan::RawChan;
use crate::error::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use crate::event::Listener;

/// Sleeps on `listener` until notified (or `deadline`) and makes the waiter patient again;
/// but if the peer's operation on the slot the waiter needs is `in_flight` (its notifier may
/// have looked for waiters before this one registered), only yields, for the caller to retry.
fn sleep_unless(
    listener: Listener,
    in_flight: bool,
    deadline: Option<Instant>,
    patience: &Patience,
) {
    if in_flight {
        yield_thread();
        return;
    }
    match deadline {
        None => listener.wait(),
        Some(d) => {
            listener.wait_deadline(d);
        }
    }
    patience.after_park();
}

/// Sends `value`, waiting for room until `deadline` (forever if `None`).
///
/// The first attempt is inlined into the caller; only a full (or closed) ring calls the
/// out-of-line waiting loop. A cross-thread producer is bound by its store buffer (the consumer
/// keeps pulling the line the tail lives in), so a call frame per message (register saves,
/// the waiting state's initialisation) cost it a third of its throughput or more (see
/// `docs/design/channels.md`).
///
/// # Safety
/// Producer-side contract of [`RawChan`].
#[inline(always)]
pub(crate) unsafe fn send<T, C: RawChan<T>>(
    chan: &C,
    value: T,
    deadline: Option<Instant>,
) -> Result<(), SendTimeoutError<T>> {
    // SAFETY: forwarded contract.
    match unsafe { chan.try_send(value) } {
        Ok(()) => Ok(()),
        Err(TrySendError::Closed(v)) => Err(SendTimeoutError::Closed(v)),
        // SAFETY: forwarded contract.
        Err(TrySendError::Full(v)) => unsafe { send_waiting(chan, v, deadline) },
    }
}

/// [`send`]'s waiting loop, entered after an attempt found the ring full.
///
/// # Safety
/// Producer-side contract of [`RawChan`].
#[inline(never)]
unsafe fn send_waiting<T, C: RawChan<T>>(
    chan: &C,
    mut value: T,
    deadline: Option<Instant>,
) -> Result<(), SendTimeoutError<T>> {
    let patience = Patience::new();
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(SendTimeoutError::Timeout(value));
        }
        if !patience.snooze() {
            let listener = chan.not_full().listen_owner();
            // Re-check after registering (see the handshake in `chan.rs`).
            // SAFETY: forwarded contract.
            match unsafe { chan.try_send(value) } {
                Ok(()) => return Ok(()),
                Err(TrySendError::Closed(v)) => return Err(SendTimeoutError::Closed(v)),
                Err(TrySendError::Full(v)) => value = v,
            }
            // Room about to appear: retry rather than sleep (see `Queue::room_in_flight`).
            sleep_unless(listener, chan.room_in_flight(), deadline, &patience);
        }
        // SAFETY: forwarded contract.
        match unsafe { chan.try_send(value) } {
            Ok(()) => return Ok(()),
            Err(TrySendError::Closed(v)) => return Err(SendTimeoutError::Closed(v)),
            Err(TrySendError::Full(v)) => value = v,
        }
    }
}

/// Receives a value, waiting until `deadline` (forever if `None`).
///
/// As in [`send`], the first attempt is inlined and only an empty ring calls the waiting loop.
///
/// # Safety
/// Consumer-side contract of [`RawChan`].
#[inline(always)]
pub(crate) unsafe fn recv<T, C: RawChan<T>>(
    chan: &C,
    deadline: Option<Instant>,
) -> Result<T, RecvTimeoutError> {
    // SAFETY: forwarded contract.
    match unsafe { chan.try_recv() } {
        Ok(v) => Ok(v),
        Err(TryRecvError::Closed) => Err(RecvTimeoutError::Closed),
        // SAFETY: forwarded contract.
        Err(TryRecvError::Empty) => unsafe { recv_waiting(chan, deadline) },
    }
}

/// [`recv`]'s waiting loop, entered after an attempt found the ring empty.
///
/// # Safety
/// Consumer-side contract of [`RawChan`].
#[inline(never)]
unsafe fn recv_waiting<T, C: RawChan<T>>(
    chan: &C,
    deadline: Option<Instant>,
) -> Result<T, RecvTimeoutError> {
    let patience = Patience::new();
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(RecvTimeoutError::Timeout);
        }
        if !patience.snooze() {
            let listener = chan.not_empty().listen_owner();
            // SAFETY: forwarded contract.
            match unsafe { chan.try_recv() } {
                Ok(v) => return Ok(v),
                Err(TryRecvError::Closed) => return Err(RecvTimeoutError::Closed),
                Err(TryRecvError::Empty) => {}
            }
            // A value about to land: retry rather than sleep (see `Queue::value_in_flight`).
            sleep_unless(listener, chan.value_in_flight(), deadline, &patience);
        }
        // SAFETY: forwarded contract.
        match unsafe { chan.try_recv() } {
            Ok(v) => return Ok(v),
            Err(TryRecvError::Closed) => return Err(RecvTimeoutError::Closed),
            Err(TryRecvError::Empty) => {}
        }
    }
}

/// Sends every value of `iter`, in batches of up to the channel's capacity, waiting for room
/// (only under `Block`: under the other policies `try_send_batch` takes every value). On
/// close, returns the values not sent.
///
/// # Safety
/// Producer-side contract of [`RawChan`].
pub(crate) unsafe fn send_batch<T, C: RawChan<T>>(
    chan: &C,
    iter: impl IntoIterator<Item = T>,
) -> Result<(), Vec<T>> {
    let mut iter = iter.into_iter();
    let chunk = chan.capacity().min(4096);
    // Sized by the first `extend` (exactly, for iterators that know their length), not by
    // the chunk: a short batch into a big ring allocates only what it holds.
    let mut buf: Vec<T> = Vec::new();
    let patience = Patience::new();
    loop {
        if buf.len() < chunk {
            buf.extend(iter.by_ref().take(chunk - buf.len()));
        }
        if buf.is_empty() {
            return Ok(());
        }
        // SAFETY: forwarded contract.
        match unsafe { chan.try_send_batch(&mut buf) } {
            Err(()) => {
                buf.extend(iter);
                return Err(buf);
            }
            Ok(n) if n > 0 => {
                patience.reset();
                continue;
            }
            Ok(_) => {}
        }
        if patience.snooze() {
            continue;
        }
        let listener = chan.not_full().listen_owner();
        // SAFETY: forwarded contract.
        match unsafe { chan.try_send_batch(&mut buf) } {
            Err(()) => {
                buf.extend(iter);
                return Err(buf);
            }
            // Room about to appear: retry rather than sleep (see `Queue::room_in_flight`).
            Ok(0) if chan.room_in_flight() => yield_thread(),
            Ok(0) => {
                listener.wait();
                patience.after_park();
            }
            Ok(_) => {}
        }
    }
}

/// Receives at least one and at most `max` values into `out`, waiting for the first. With
/// `max == 0` it takes nothing and does not wait: the answer of `try_recv_batch(out, 0)`.
///
/// # Safety
/// Consumer-side contract of [`RawChan`].
pub(crate) unsafe fn recv_batch<T, C: RawChan<T>>(
    chan: &C,
    out: &mut Vec<T>,
    max: usize,
    deadline: Option<Instant>,
) -> Result<usize, RecvTimeoutError> {
    if max == 0 {
        // SAFETY: forwarded contract.
        return unsafe { chan.try_recv_batch(out, 0) }.map_err(|()| RecvTimeoutError::Closed);
    }
    let patience = Patience::new();
    loop {
        // SAFETY: forwarded contract.
        match unsafe { chan.try_recv_batch(out, max) } {
            Ok(0) => {}
            Ok(n) => return Ok(n),
            Err(()) => return Err(RecvTimeoutError::Closed),
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(RecvTimeoutError::Timeout);
        }
        if patience.snooze() {
            continue;
        }
        let listener = chan.not_empty().listen_owner();
        // SAFETY: forwarded contract.
        match unsafe { chan.try_recv_batch(out, max) } {
            Ok(0) => {}
            Ok(n) => return Ok(n),
            Err(()) => return Err(RecvTimeoutError::Closed),
        }
        // A value about to land: retry rather than sleep (see `Queue::value_in_flight`).
        sleep_unless(listener, chan.value_in_flight(), deadline, &patience);
    }
}
