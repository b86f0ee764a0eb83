//! The lock-free ring buffers behind each channel mode, and the contract they share.
//!
//! Positions are counted in units of [`ONE`] (= 2): the low bit of a tail word is the
//! [`CLOSED`] mark. The stamped rings keep it in the tail itself, so a producer learns
//! atomically, in the CAS that claims its position, whether the channel was closed first. The
//! SPSC ring keeps a separate flag and an agreed end position instead (see `lamport.rs`) so
//! that publishing needs no read-modify-write; its [`Queue::tail_word`] still reports the mark.
//! Either way no message is ever accepted after `close()` and then stranded. Head words never
//! carry the mark. All position arithmetic wraps.
//!
//! * [`lamport::LamportRing`]: SPSC, Lamport ring with cached peer indices, no stamps.
//! * [`stamped::StampedRing`]: Vyukov sequence-stamped slots, specialised per side by const
//!   generics (`MP`: several producers CAS the tail; `MC`: several consumers CAS the head).

pub(crate) mod lamport;
pub(crate) mod stamped;

use core::mem::MaybeUninit;

use crate::chan::{RxShared, TxShared};

/// One position step (the low bit is reserved for [`CLOSED`]).
pub(crate) const ONE: usize = 2;
/// Mark bit in a tail word: the channel is closed, no further pushes succeed.
pub(crate) const CLOSED: usize = 1;

/// Outcome of a single push.
pub enum Push<T> {
    /// The value is in the queue.
    Done,
    /// No room; the value comes back.
    Full(T),
    /// The tail carries the closed mark; the value comes back.
    Closed(T),
}

/// Outcome of a single pop.
pub enum Pop<T> {
    /// A value was taken.
    Item(T),
    /// Nothing buffered, not closed.
    Empty,
    /// Nothing buffered and the tail carries the closed mark: nothing will ever arrive.
    Closed,
}

/// What an async send or receive does on a full or empty ring before it registers a waker
/// (see [`crate::future::pre_wait`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BeforeAsyncWait {
    /// Re-check in place a few times ([`crate::sync::spin_before_wait`]): for rings whose
    /// full and empty checks read the slot, which the peer writes once.
    Spin,
    /// Yield to the executor a few times (wake itself and return `Pending`): for rings whose
    /// checks read the position line the peer writes on every publish (a re-check in place
    /// pulls it away from the running peer) and whose registration is costly to pair (the
    /// Lamport ring's `membarrier`, see [`crate::event`]).
    Yield,
}

/// A bounded ring buffer with the channel's shared state embedded in its two cache lines.
///
/// # Safety contract
/// Single-producer queues ([`Queue::MULTI_PRODUCER`] = false) require that no two producer
/// operations (`push`, `push_batch`) run at the same time; single-consumer queues likewise for
/// `pop` and `pop_batch`. The channel handles enforce this with `&mut self` on single sides.
/// Each call passes the calling handle's own [`Queue::Cursor`], made by [`Queue::cursor`] for
/// that handle. `evict` is a consumer-side operation run by a producer; it is only allowed on queues built
/// with `evicting = true`, which makes every pop arbitrate with a CAS.
pub trait Queue<T>: Send + Sync + Sized {
    /// Whether several producers may push concurrently.
    const MULTI_PRODUCER: bool;
    /// Whether several consumers may pop concurrently.
    const MULTI_CONSUMER: bool;
    /// Whether this queue type can evict (DropOldest) at all.
    const CAN_EVICT: bool;
    /// Whether publishing (push, pop) ends with only the light half of an asymmetric barrier
    /// ([`crate::barrier`]) instead of a SeqCst read-modify-write; waiters on such a queue
    /// must then run the heavy half after registering.
    const ASYMMETRIC: bool;
    /// What an async send or receive that finds the ring full or empty does before it
    /// registers a waker.
    const BEFORE_ASYNC_WAIT: BeforeAsyncWait;

    /// One handle's private view of the ring (its own position and a cached copy of the other
    /// side's), kept in the handle so a side's fast path reads nothing the other side writes
    /// or polls. `()` for rings whose positions are shared.
    type Cursor: Send + Sync + Unpin;

    /// Builds a queue of `capacity` slots (a power of two, at least 1).
    fn new(capacity: usize, evicting: bool, tx: TxShared, rx: RxShared<T>) -> Self;
    /// Producer-side shared state (lives in the producer's cache line).
    fn tx(&self) -> &TxShared;
    /// Consumer-side shared state (lives in the consumer's cache line).
    fn rx(&self) -> &RxShared<T>;
    /// Wait queue of senders (in the consumer line).
    fn not_full(&self) -> &crate::event::Event;
    /// Live receivers (in the consumer line).
    fn receivers(&self) -> &crate::sync::AtomicUsize;
    /// Slot count.
    fn capacity(&self) -> usize;
    /// The slot array's memory, as bytes (see [`slot_bytes`]).
    fn slot_memory(&self) -> &crate::SlotMemory;
    /// The tail word (position and closed mark; the position of values that count as sent).
    fn tail_word(&self) -> usize;
    /// The head word (position).
    fn head_word(&self) -> usize;
    /// Sets the closed mark; returns `true` if this call set it.
    fn close(&self) -> bool;
    /// A cursor in step with the ring as it is now, for a new handle of either side.
    fn cursor(&self) -> Self::Cursor;

    /// Pushes one value.
    ///
    /// # Safety
    /// See the trait's safety contract.
    unsafe fn push(&self, cur: &Self::Cursor, value: T) -> Push<T>;
    /// [`push`](Self::push) on the send fast path, called after the channel's
    /// [`detour`](crate::chan::TxShared::detour) word read zero (the channel was open then):
    /// a ring may skip its own closed test before writing. A close racing with the push is
    /// still handled as in `push`: the value is delivered, or comes back as `Closed`.
    ///
    /// # Safety
    /// See the trait's safety contract.
    #[inline(always)]
    unsafe fn push_open(&self, cur: &Self::Cursor, value: T) -> Push<T> {
        // SAFETY: forwarded contract.
        unsafe { self.push(cur, value) }
    }
    /// Moves as many values as fit from the front of `items`, publishing them at once.
    /// Returns how many moved, or `Err(())` if the channel is closed (nothing moved).
    ///
    /// # Safety
    /// See the trait's safety contract.
    unsafe fn push_batch(&self, cur: &Self::Cursor, items: &mut Vec<T>) -> Result<usize, ()>;
    /// Pops one value.
    ///
    /// # Safety
    /// See the trait's safety contract.
    unsafe fn pop(&self, cur: &Self::Cursor) -> Pop<T>;
    /// Appends up to `max` values to `out`; `Ok(0)` when empty, `Err(())` when closed and empty.
    ///
    /// # Safety
    /// See the trait's safety contract.
    unsafe fn pop_batch(
        &self,
        cur: &Self::Cursor,
        out: &mut Vec<T>,
        max: usize,
    ) -> Result<usize, ()>;
    /// Consumer side, registered as a waiter after a pop found nothing: whether a producer
    /// has claimed the head position and is still writing it. A pop judges "empty" from the
    /// slot alone, whose stamp the producer writes *after* the read-modify-write that
    /// claimed it, and after which it checks for waiters; so a waiter that saw the slot
    /// empty may have registered too late for that check. This reads the claimed position
    /// itself, which pairs with the claim (either the producer saw the registration, or this
    /// sees the claim) and tells the waiter not to sleep: the value is about to land.
    fn value_in_flight(&self, _cur: &Self::Cursor) -> bool {
        false
    }
    /// Producer side, registered as a waiter after a push found no room: whether a consumer
    /// has claimed the slot at the tail and is still reading it (as
    /// [`Queue::value_in_flight`], for room).
    fn room_in_flight(&self, _cur: &Self::Cursor) -> bool {
        false
    }
    /// Removes the oldest value on behalf of a producer (DropOldest).
    ///
    /// # Safety
    /// Only on queues built with `evicting = true`; producer exclusivity as for `push`.
    unsafe fn evict(&self) -> Option<T>;

    /// Buffered values (a snapshot).
    ///
    /// The head is read first: a tail read before it may be older than a head that has
    /// passed it since (values sent and received in between), and the wrapped difference
    /// then read as a full ring (an empty channel refused a reservation: loom,
    /// `a_spilled_permit_value_is_never_received_ahead_of_the_ring`). Read in this order the
    /// tail is at least the head; a difference below zero still counts as empty.
    fn len(&self) -> usize {
        let head = self.head_word();
        let tail = self.tail_word() & !CLOSED;
        let positions = tail.wrapping_sub(head);
        if (positions as isize) < 0 {
            return 0;
        }
        (positions / ONE).min(self.capacity())
    }
}

/// Asserts that each field's `(name, offset, length)` byte range lies in cache line `line`
/// (0 or 1) of its block (the layout tests of the rings).
#[cfg(all(test, not(nimsync_loom)))]
pub(crate) fn assert_in_line(line: usize, fields: &[(&str, usize, usize)]) {
    for &(name, start, len) in fields {
        let end = start + len - 1;
        assert!(
            start / 64 == line && end / 64 == line,
            "{name} at {start}..={end} is not in line {line}"
        );
    }
}

/// Allocates `capacity` uninitialised slots built by `make`.
pub(crate) fn alloc_slots<S>(capacity: usize, make: impl FnMut(usize) -> S) -> *mut S {
    let slots: Box<[S]> = (0..capacity).map(make).collect();
    Box::into_raw(slots).cast::<S>()
}

/// Frees a slot array made by [`alloc_slots`] (values inside must already be dropped).
///
/// # Safety
/// `ptr` and `capacity` must come from one `alloc_slots` call, and the array is not used again.
pub(crate) unsafe fn free_slots<S>(ptr: *mut S, capacity: usize) {
    // SAFETY: the caller passes back exactly the pointer and length `alloc_slots` produced from
    // a boxed slice, so rebuilding the box is sound and frees it once.
    drop(unsafe { Box::from_raw(core::ptr::slice_from_raw_parts_mut(ptr, capacity)) });
}

/// Views the slot array made by [`alloc_slots`] as its bytes (for memory placement tools such
/// as hwloc's area binding, which only need the address range).
///
/// # Safety
/// `ptr` and `capacity` must come from one `alloc_slots` call, and the array must outlive `'a`.
pub(crate) unsafe fn slot_bytes<'a, S>(ptr: *mut S, capacity: usize) -> &'a crate::SlotMemory {
    let len = capacity * core::mem::size_of::<S>();
    // SAFETY: the array is one live allocation of `len` bytes (caller contract). Every byte is
    // viewed through `UnsafeCell<MaybeUninit<u8>>`, which allows the ring to keep writing the
    // slots through its own pointers and allows uninitialised bytes; the view itself reads and
    // writes nothing (doing either through it requires `unsafe`).
    unsafe {
        core::slice::from_raw_parts(ptr.cast::<core::cell::UnsafeCell<MaybeUninit<u8>>>(), len)
    }
}
