//! Switch between `std` and `loom` synchronisation primitives (`--cfg nimsync_loom`).
//!
//! Every atomic, cell and lock the channels use comes from here, so the loom models in
//! `tests/loom.rs` exercise exactly the production code.

#[cfg(not(nimsync_loom))]
pub(crate) use std::sync::Mutex;
#[cfg(not(nimsync_loom))]
pub(crate) use std::sync::atomic::{AtomicUsize, Ordering};

#[cfg(nimsync_loom)]
pub(crate) use loom::sync::Mutex;
#[cfg(nimsync_loom)]
pub(crate) use loom::sync::atomic::{AtomicUsize, Ordering};

/// An `UnsafeCell` with loom's closure-based access API, backed by std's cell normally.
#[cfg(not(nimsync_loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(nimsync_loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(core::cell::UnsafeCell::new(value))
    }

    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(nimsync_loom)]
pub(crate) use loom::cell::UnsafeCell;

/// Spin-wait hint; under loom it yields to the model scheduler so spin loops terminate.
#[inline(always)]
pub(crate) fn spin_hint() {
    #[cfg(not(nimsync_loom))]
    core::hint::spin_loop();
    #[cfg(nimsync_loom)]
    loom::thread::yield_now();
}

/// Exponential backoff for spin-then-park waits: crossbeam's `Backoff` normally; under loom
/// a single yield, so models do not explode exploring spin iterations.
#[cfg(not(nimsync_loom))]
pub(crate) use crossbeam_utils::Backoff;

/// Loom stand-in for crossbeam's `Backoff`.
#[cfg(nimsync_loom)]
#[derive(Debug, Default)]
pub(crate) struct Backoff;

#[cfg(nimsync_loom)]
impl Backoff {
    pub(crate) fn new() -> Self {
        Self
    }
    pub(crate) fn spin(&self) {
        loom::thread::yield_now();
    }
    pub(crate) fn snooze(&self) {
        loom::thread::yield_now();
    }
    pub(crate) fn reset(&self) {}
    pub(crate) fn is_completed(&self) -> bool {
        true
    }
}
