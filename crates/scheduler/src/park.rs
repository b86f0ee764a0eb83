//! Thread parking for idle workers and `block_on` threads.
//!
//! A [`Parker`] is a one-permit semaphore: `unpark` stores a permit (waking the thread if it is
//! parked), `park` consumes the permit or sleeps until one arrives (or the timeout elapses).
//! The fast paths are a single atomic operation; the slow path uses a mutex + condition variable
//! (a futex on Linux). It is the classic three-state protocol (`EMPTY`, `PARKED`, `NOTIFIED`)
//! and is loom-modelled in `tests/loom.rs`.

use crate::sync::{AtomicUsize, Condvar, Mutex, Ordering, lock};
use std::time::Duration;

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;

/// A one-permit parker (see the module docs).
#[derive(Debug)]
pub struct Parker {
    state: AtomicUsize,
    lock: Mutex<()>,
    cvar: Condvar,
}

impl Default for Parker {
    fn default() -> Self {
        Self::new()
    }
}

impl Parker {
    /// Creates a parker with no permit.
    pub fn new() -> Self {
        Parker {
            state: AtomicUsize::new(EMPTY),
            lock: Mutex::new(()),
            cvar: Condvar::new(),
        }
    }

    /// Blocks until a permit is available (consuming it) or `timeout` elapses.
    /// Spurious returns are possible; callers re-check their condition.
    pub fn park(&self, timeout: Option<Duration>) {
        // Fast path: a permit is already there.
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
        if timeout == Some(Duration::ZERO) {
            return;
        }
        let mut guard = lock(&self.lock);
        match self
            .state
            .compare_exchange(EMPTY, PARKED, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => {}
            Err(NOTIFIED) => {
                // A permit arrived while we took the lock: consume it. A swap, not a store:
                // it must read (and synchronise with) the *latest* unpark, or a second
                // unpark racing with us would be erased without its writes becoming visible
                // (found by the loom model).
                let old = self.state.swap(EMPTY, Ordering::SeqCst);
                debug_assert_eq!(old, NOTIFIED);
                return;
            }
            Err(actual) => unreachable!("inconsistent park state: {actual}"),
        }
        loop {
            guard = match timeout {
                None => match self.cvar.wait(guard) {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                },
                Some(t) => {
                    let g = match self.cvar.wait_timeout(guard, t) {
                        Ok((g, _)) => g,
                        Err(p) => p.into_inner().0,
                    };
                    // Timed out or notified: either way leave, consuming a permit if present
                    // (a swap, to synchronise with the latest unpark).
                    self.state.swap(EMPTY, Ordering::SeqCst);
                    drop(g);
                    return;
                }
            };
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                return;
            }
            // Spurious wake-up: wait again.
        }
    }

    /// Makes a permit available, waking the parked thread if there is one.
    pub fn unpark(&self) {
        match self.state.swap(NOTIFIED, Ordering::SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED => {
                // Taking the lock orders this notification after the parker's wait started.
                drop(lock(&self.lock));
                self.cvar.notify_one();
            }
            actual => unreachable!("inconsistent park state: {actual}"),
        }
    }
}
