//! The [`Doorbell`] an idle actor parks on and every send rings: its task's waker and a
//! `sleeping` flag, a single-waiter handshake in place of the channel's wait queue.
//!
//! Under `--cfg nimsync_loom` the atomics, the fence and the waker slot are loom's, and
//! `tests/loom.rs` checks the handshake over every interleaving (this file is included there
//! as a module).

use core::task::Waker;

#[cfg(not(nimsync_loom))]
use atomic_waker::AtomicWaker;
#[cfg(nimsync_loom)]
use loom::future::AtomicWaker;
#[cfg(nimsync_loom)]
use loom::sync::atomic::{AtomicBool, Ordering, fence};
#[cfg(not(nimsync_loom))]
use std::sync::atomic::{AtomicBool, Ordering, fence};

/// How senders wake an idle actor: its task's waker and a `sleeping` flag.
///
/// An actor has exactly one receiving task, so it does not need the channel's general wait
/// queue (a listener allocation and a lock per wait): it parks with [`park`](Self::park)
/// (register the waker, raise the flag, then re-check both lanes) and every send rings
/// [`ring`](Self::ring) after enqueuing (a fence and one load when the actor is busy).
///
/// No lost wake-up (Dekker's store-load pairing, with a SeqCst fence on each side): the
/// actor stores the flag, fences and re-checks the lanes; a sender enqueues, fences and loads
/// the flag. The two fences are totally ordered, so either the actor's re-check sees the
/// message or the sender sees the flag. The sender's fence is its own, not borrowed from how
/// the channel happens to publish a value, so a change inside core-channels cannot break it.
///
/// Aligned to its own cache line pair: senders read it on every send, and it must not share a
/// line with the counters the actor writes per message.
#[repr(align(128))]
pub(crate) struct Doorbell {
    waker: AtomicWaker,
    sleeping: AtomicBool,
}

impl Doorbell {
    pub(crate) fn new() -> Self {
        Doorbell {
            waker: AtomicWaker::new(),
            sleeping: AtomicBool::new(false),
        }
    }

    /// Called by the actor before re-checking its lanes and returning `Pending`.
    pub(crate) fn park(&self, waker: &Waker) {
        #[cfg(not(nimsync_loom))]
        self.waker.register(waker);
        #[cfg(nimsync_loom)]
        self.waker.register_by_ref(waker);
        self.sleeping.store(true, Ordering::Relaxed);
        // Orders the flag before the re-check's loads (the store-load half of the handshake).
        fence(Ordering::SeqCst);
    }

    /// Called by the actor when its re-check after [`park`](Self::park) found work (a wake
    /// already under way is harmless: the task polls once more).
    #[inline]
    pub(crate) fn unpark(&self) {
        self.sleeping.store(false, Ordering::Relaxed);
    }

    /// Called by every sender after enqueuing (and when the mailbox closes).
    #[inline]
    pub(crate) fn ring(&self) {
        // Orders the enqueue before the flag load (the sender's half of the handshake).
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::Relaxed) && self.sleeping.swap(false, Ordering::AcqRel) {
            self.waker.wake();
        }
    }
}
