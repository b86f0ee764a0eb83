//! The owner's wait slot: how the one handle of a single side waits, without a listener list.
//!
//! A single side (the receiver of an SPSC or MPSC channel, the sender of an SPSC or SPMC one)
//! has exactly one handle, used through `&mut self`, so at most one of its own operations waits
//! at a time. Registering that waiter in `event_listener`'s list costs an allocation and a lock,
//! and every notifier then takes the same lock until the waiter runs again; with an async
//! consumer that catches up with its producers thousands of times a second, that lock was most
//! of the cost. The owner waits in this slot instead: an [`OWNER`] bit in the event's waiter
//! word, and a "notified" flag with the waker under a small lock that only the owner and the
//! one notifier that claims the bit ever take.
//!
//! * Register: bump the generation, clear the flag, set [`OWNER`] (SeqCst); the event then runs
//!   the same handshake fence as for a list listener, and the caller re-checks the ring.
//! * Notify (a publisher that saw [`OWNER`] after its own fence): clear [`OWNER`]; whoever
//!   cleared it sets the flag and wakes the stored waker. Later publishers see no bit and
//!   pay one load, as with nobody waiting.
//! * Wait: under the lock, check the flag and, if unset, store the task's waker (or a waker
//!   that unparks the thread); the notifier sets the flag and takes the waker under the same
//!   lock, so no wake-up is lost between the two.
//!
//! Other waiters on the same event (a [`Select`](crate::Select) arm holds a clone of the
//! channel, not the handle) still use the list; a notifier serves both. A listener left over
//! from an earlier wait (a `Stream`'s stored listener, say) is recognised by its generation: it
//! reports ready, so the caller re-checks and registers afresh, and dropping it leaves the
//! current registration alone.

use core::task::{Context, Poll, Waker};
use std::time::Instant;

use crate::park;
use crate::sync::{AtomicUsize, Mutex, Ordering};

/// The owner-waiting bit of an event's waiter word (the top bit: the count below never
/// reaches it).
pub(crate) const OWNER: usize = 1 << (usize::BITS - 1);

/// The slot's shared state, next to the event's waiter word.
pub(crate) struct OwnerState {
    /// Registrations so far; written only by the owner (exclusive `&mut` handle access).
    generation: AtomicUsize,
    /// The notification and the waker, under one small lock: taken once per wait by the
    /// owner and once per notification by the notifier that cleared [`OWNER`], never by a
    /// publisher that finds nobody waiting.
    slot: Mutex<Slot>,
}

#[derive(Default)]
struct Slot {
    /// The current registration was notified.
    notified: bool,
    waker: Option<Waker>,
}

impl OwnerState {
    pub(crate) fn new() -> Self {
        Self {
            generation: AtomicUsize::new(0),
            slot: Mutex::new(Slot::default()),
        }
    }

    fn slot(&self) -> crate::sync::MutexGuard<'_, Slot> {
        // The lock guards plain data with no invariant a panic could break.
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where an event keeps its waiter word and owner slot (an `Arc` of the event's shared part).
pub(crate) trait Host: Clone + Send + Sync + 'static {
    /// The event's waiter word, which carries [`OWNER`].
    fn word(&self) -> &AtomicUsize;
    /// The owner slot.
    fn owner(&self) -> &OwnerState;
}

/// The owner's registration; completes once notified (or once superseded).
pub(crate) struct OwnerListener<H: Host> {
    host: H,
    generation: usize,
}

/// Registers the owner. The caller must follow with a SeqCst fence and re-check its condition
/// before waiting (the handshake in `chan.rs`).
pub(crate) fn register<H: Host>(host: &H) -> OwnerListener<H> {
    let state = host.owner();
    let generation = state.generation.load(Ordering::Relaxed).wrapping_add(1);
    state.generation.store(generation, Ordering::Relaxed);
    state.slot().notified = false;
    host.word().fetch_or(OWNER, Ordering::SeqCst);
    OwnerListener {
        host: host.clone(),
        generation,
    }
}

/// Notifier side, after a publish and its fence showed [`OWNER`] in the word.
#[cold]
pub(crate) fn notify(host: &impl Host) {
    if host.word().fetch_and(!OWNER, Ordering::AcqRel) & OWNER != 0 {
        let waker = {
            let mut slot = host.owner().slot();
            slot.notified = true;
            slot.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<H: Host> OwnerListener<H> {
    /// Whether this is still the owner's latest registration.
    fn is_current(&self) -> bool {
        self.host.owner().generation.load(Ordering::Relaxed) == self.generation
    }

    /// Ready once notified; a superseded registration is ready at once (the caller re-checks).
    pub(crate) fn poll_notified(&mut self, waker: &Waker) -> Poll<()> {
        if !self.is_current() {
            return Poll::Ready(());
        }
        let mut slot = self.host.owner().slot();
        if slot.notified {
            return Poll::Ready(());
        }
        match &mut slot.waker {
            Some(current) if current.will_wake(waker) => {}
            other => *other = Some(waker.clone()),
        }
        Poll::Pending
    }

    /// Polls as a future.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_notified(cx.waker())
    }

    /// Blocks the thread until notified, or until `deadline`; `true` if notified.
    pub(crate) fn wait_until(mut self, deadline: Option<Instant>) -> bool {
        let waker = park::waker();
        loop {
            if self.poll_notified(&waker).is_ready() {
                return true;
            }
            if !park::park_until(deadline) {
                return self.poll_notified(&waker).is_ready();
            }
        }
    }
}

impl<H: Host> Drop for OwnerListener<H> {
    fn drop(&mut self) {
        if self.is_current() {
            // Withdraw, so publishers go back to a single load, and let the waker go (it may
            // keep a task alive). A stale bit would only cost one spurious wake-up.
            self.host.word().fetch_and(!OWNER, Ordering::Relaxed);
            let waker = self.host.owner().slot().waker.take();
            drop(waker);
        }
    }
}
