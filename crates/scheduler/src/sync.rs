//! Switch between `std` and `loom` synchronisation primitives.
//!
//! The small concurrent protocols of the scheduler (the idle/searching bookkeeping in
//! [`crate::queue::idle`], the thread [`crate::park::Parker`] and the LIFO-slot hand-off policy)
//! import their atomics, mutexes and condition variables from here, so that the loom models in
//! `tests/loom.rs` (run with `RUSTFLAGS="--cfg nimsync_loom"`) explore them exhaustively. The
//! rest of the runtime uses `std` directly: it is exercised by ordinary multi-threaded tests.

#[cfg(not(nimsync_loom))]
pub(crate) use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering, fence};
#[cfg(not(nimsync_loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};

#[cfg(nimsync_loom)]
pub(crate) use loom::sync::atomic::{AtomicPtr, AtomicUsize, Ordering, fence};
#[cfg(nimsync_loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};

/// Locks a mutex, ignoring poisoning: the scheduler never panics while holding its own locks,
/// and user code never runs under them, so a poisoned lock still guards consistent data.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// [`lock`] for the `std` mutexes of the runtime (never loom-modelled).
pub(crate) fn std_lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}
