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
    /// Marks the timer fired and wakes its waiter. A waker that panics (it may run user
    /// code: e.g. a cancel scope's deadline runs its `on_cancel` callbacks) is contained here:
    /// the thread that fires timers is a worker or a `block_on`, which must go on.
    pub(crate) fn fire(&self) {
        self.fired.store(true, Ordering::Release);
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.waker.wake()));
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
