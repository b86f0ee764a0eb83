//! Switch between `std` and `loom` synchronisation primitives (`--cfg nimsync_loom`).
//!
//! The token tree's state word and entry lock come from here, so the loom model in
//! `tests/loom.rs` explores exactly the production protocol (cancel vs register vs drop).
//! `Arc`/`Weak` stay `std`: the tree needs `Weak`, and an `Arc<Node>` is stored in the
//! scheduler's task context slot as `Arc<dyn Any>`.

#[cfg(not(nimsync_loom))]
pub(crate) use std::sync::atomic::{AtomicUsize, Ordering};
#[cfg(not(nimsync_loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};

#[cfg(nimsync_loom)]
pub(crate) use loom::sync::atomic::{AtomicUsize, Ordering};
#[cfg(nimsync_loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};

/// Locks a mutex, ignoring poisoning: no user code ever runs while a node's lock is held
/// (callbacks and wakers run after it is released), so the data is always consistent.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}
