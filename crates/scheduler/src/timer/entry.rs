//! A registered timer: shared between its `Sleep` and the wheel that will fire it.

use atomic_waker::AtomicWaker;
use std::sync::atomic::{AtomicBool, Ordering};

/// Shared timer state. The wheel holds one `Arc`, the `Sleep` another; when the `Sleep` is
/// dropped its waker is taken out at once and the wheel's `Arc` becomes an orphan that the
/// wheel reclaims lazily.
#[derive(Debug, Default)]
pub(crate) struct TimerEntry {
    fired: AtomicBool,
    waker: AtomicWaker,
}

impl TimerEntry {
    pub(crate) fn fire(&self) {
        self.fired.store(true, Ordering::Release);
        self.waker.wake();
    }

    pub(crate) fn is_fired(&self) -> bool {
        self.fired.load(Ordering::Acquire)
    }

    pub(crate) fn register(&self, waker: &std::task::Waker) {
        self.waker.register(waker);
    }

    /// Deregisters: drops the stored waker (the `Sleep` went away).
    pub(crate) fn cancel(&self) {
        drop(self.waker.take());
    }
}
