//! The LIFO slot: the task a worker woke most recently runs next (message-passing fast path).
//!
//! When task A, running on a worker, wakes task B (typically by sending it a message), B goes
//! into the worker's LIFO slot instead of the back of its queue, so B runs right after A while
//! the message is still in cache. Two guards keep it from starving the queue:
//!
//! * at most `max_polls` tasks run from the slot per scheduler tick; after that the slot's task
//!   is moved to the back of the queue (a ping-pong pair cannot monopolise the worker);
//! * a task that wakes *itself* (e.g. `yield_now`) never enters the slot.
//!
//! **Stealing.** The slot is a [`LifoCell`]: one atomic pointer, so the owner's push and take
//! are a single uncontended swap each. Other workers do *not* steal from it in normal
//! operation (tokio made its slot freely stealable and lost up to 29 % of message-passing
//! throughput to the migrations, tokio#8065); but a task left in the slot of a worker that is
//! stuck in one long poll would otherwise be stranded until that poll ends, so an idle worker
//! steals it once the owner has made no progress (no new poll started) for a while — see the
//! watchdog in `worker.rs`. The cell's swap makes owner-take vs thief-steal exactly-once.
//!
//! The policy ([`LifoSlot`]) is a plain value type over the cell so the loom model can drive
//! it; it can be switched off with `Builder::lifo_slot(false)`.

use crate::sync::{AtomicPtr, Ordering};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

/// A task handle that can travel through a raw pointer (`async_task::Runnable`, or `Box` in
/// the loom models).
pub trait RawHandle: Sized {
    /// Gives up ownership as a pointer.
    fn into_raw(self) -> NonNull<()>;
    /// Takes ownership back.
    ///
    /// # Safety
    /// `ptr` must come from [`into_raw`](Self::into_raw) of the same type and be consumed once.
    unsafe fn from_raw(ptr: NonNull<()>) -> Self;
}

impl<M> RawHandle for async_task::Runnable<M> {
    fn into_raw(self) -> NonNull<()> {
        async_task::Runnable::into_raw(self)
    }
    unsafe fn from_raw(ptr: NonNull<()>) -> Self {
        // SAFETY: the caller passes a pointer from `into_raw` of a `Runnable<M>`, consumed once.
        unsafe { async_task::Runnable::from_raw(ptr) }
    }
}

impl<T> RawHandle for Box<T> {
    fn into_raw(self) -> NonNull<()> {
        NonNull::from(Box::leak(self)).cast()
    }
    unsafe fn from_raw(ptr: NonNull<()>) -> Self {
        // SAFETY: the pointer came from `Box::leak` of a `Box<T>` and is consumed once.
        unsafe { Box::from_raw(ptr.cast::<T>().as_ptr()) }
    }
}

/// One task slot shared between its owner (push / take) and thieves (steal): an atomic
/// pointer that owns the task it points to.
#[derive(Debug)]
pub struct LifoCell<T: RawHandle> {
    ptr: AtomicPtr<()>,
    _owns: PhantomData<T>,
}

// SAFETY: the cell owns at most one `T` and hands it to exactly one thread (every transfer is
// an atomic swap), so sharing the cell is sharing the ability to move a `T` between threads.
unsafe impl<T: RawHandle + Send> Sync for LifoCell<T> {}
// SAFETY: as above; moving the cell moves the `T` it may own.
unsafe impl<T: RawHandle + Send> Send for LifoCell<T> {}

impl<T: RawHandle> Default for LifoCell<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: RawHandle> LifoCell<T> {
    /// An empty cell.
    pub fn new() -> Self {
        LifoCell {
            ptr: AtomicPtr::new(ptr::null_mut()),
            _owns: PhantomData,
        }
    }

    fn decode(p: *mut ()) -> Option<T> {
        // SAFETY: every non-null pointer stored in the cell came from `T::into_raw`, and the
        // swap that removed it from the cell gave it to us alone.
        NonNull::new(p).map(|p| unsafe { T::from_raw(p) })
    }

    /// Owner: puts `task` in the cell, returning the previous occupant (if a thief did not
    /// take it first).
    pub fn push(&self, task: T) -> Option<T> {
        let new = task.into_raw().as_ptr();
        // AcqRel: publish the new task to thieves; acquire the old one (ours, or left by us).
        Self::decode(self.ptr.swap(new, Ordering::AcqRel))
    }

    /// Takes the task out (owner or thief); `None` when empty. An empty cell costs one load.
    pub fn take(&self) -> Option<T> {
        if self.ptr.load(Ordering::Relaxed).is_null() {
            return None;
        }
        Self::decode(self.ptr.swap(ptr::null_mut(), Ordering::Acquire))
    }

    /// Whether a task is in the cell (a snapshot).
    pub fn is_occupied(&self) -> bool {
        !self.ptr.load(Ordering::Relaxed).is_null()
    }
}

impl<T: RawHandle> Drop for LifoCell<T> {
    fn drop(&mut self) {
        drop(self.take());
    }
}

/// LIFO slot with a per-tick poll cap (see the module docs).
#[derive(Debug)]
pub struct LifoSlot {
    polls_this_tick: u32,
    max_polls: u32,
    enabled: bool,
}

/// What the worker should do with the task it asked the slot for.
#[derive(Debug, PartialEq, Eq)]
pub enum LifoNext<T> {
    /// Nothing in the slot.
    Empty,
    /// Run this task now.
    Run(T),
    /// The per-tick cap is reached: push this task to the back of the run queue.
    Requeue(T),
}

impl LifoSlot {
    /// A slot allowing `max_polls` LIFO polls per tick; `enabled = false` turns it off.
    pub fn new(enabled: bool, max_polls: u32) -> Self {
        LifoSlot {
            polls_this_tick: 0,
            max_polls,
            enabled: enabled && max_polls > 0,
        }
    }

    /// Offers a freshly woken task. Returns the task that must go to the run queue instead:
    /// the previous occupant (evicted by the newer one), or `task` itself if the slot is off.
    pub fn push<T: RawHandle>(&self, cell: &LifoCell<T>, task: T) -> Option<T> {
        if !self.enabled {
            return Some(task);
        }
        cell.push(task)
    }

    /// Starts a new scheduler tick (a task taken from the run queue).
    pub fn start_tick(&mut self) {
        self.polls_this_tick = 0;
    }

    /// The next task to run from the slot, honouring the per-tick cap.
    pub fn next<T: RawHandle>(&mut self, cell: &LifoCell<T>) -> LifoNext<T> {
        match cell.take() {
            None => LifoNext::Empty,
            Some(t) if self.polls_this_tick >= self.max_polls => LifoNext::Requeue(t),
            Some(t) => {
                self.polls_this_tick += 1;
                LifoNext::Run(t)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(v: u32) -> Box<u32> {
        Box::new(v)
    }

    #[test]
    fn newer_task_evicts_older() {
        let c = LifoCell::new();
        let mut s = LifoSlot::new(true, 3);
        assert_eq!(s.push(&c, b(1)), None);
        assert_eq!(s.push(&c, b(2)), Some(b(1)));
        assert_eq!(s.next(&c), LifoNext::Run(b(2)));
        assert_eq!(s.next(&c), LifoNext::Empty);
    }

    #[test]
    fn cap_per_tick_requeues() {
        let c = LifoCell::new();
        let mut s = LifoSlot::new(true, 2);
        s.start_tick();
        for i in 0..2 {
            assert_eq!(s.push(&c, b(i)), None);
            assert_eq!(s.next(&c), LifoNext::Run(b(i)));
        }
        s.push(&c, b(9));
        assert_eq!(s.next(&c), LifoNext::Requeue(b(9)));
        s.start_tick();
        s.push(&c, b(10));
        assert_eq!(s.next(&c), LifoNext::Run(b(10)));
    }

    #[test]
    fn disabled_slot_passes_through() {
        let c = LifoCell::new();
        let s = LifoSlot::new(false, 3);
        assert_eq!(s.push(&c, b(5)), Some(b(5)));
        assert!(!c.is_occupied());
    }

    #[test]
    fn thief_takes_and_cell_drops_leftover() {
        let c = LifoCell::new();
        assert!(c.push(b(1)).is_none());
        assert!(c.is_occupied());
        assert_eq!(c.take(), Some(b(1)));
        assert_eq!(c.take(), None);
        let counted = std::sync::Arc::new(());
        let c2 = LifoCell::new();
        c2.push(Box::new(counted.clone()));
        drop(c2);
        assert_eq!(std::sync::Arc::strong_count(&counted), 1);
    }
}
