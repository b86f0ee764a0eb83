//! SPSC ring: Lamport's queue with cached peer indices (the rtrb design), no per-slot stamps.
//!
//! Each handle keeps its own position and a copy of the other side's in its [`Cursor`], and
//! reads the real one only when the copy says full (or empty), so the lines cross cores once
//! per burst instead of once per message.
//!
//! # Layout
//! Each side's 128-byte block is two lines. The first holds what the *other* side polls (the
//! published tail or head) plus cold state; the second what this side reads on every message
//! (slot array, its wait-queue event, the detour word, the spill and permit counts, the
//! producer's copy of the closed flag), which nobody writes on the fast path. A producer that
//! read anything from the line the caught-up consumer keeps pulling would stall on every
//! message (measured: about half the cross-thread throughput), so the closed flag exists
//! twice. Publishing is a plain Release store of the tail, freeing a plain Release store of
//! the head; each is followed by the *light* half of an asymmetric barrier
//! ([`crate::barrier`]), whose heavy half runs on the rare paths: a waiter registering (see
//! `chan.rs`) and a consumer deciding "closed".
//!
//! # Closing without a mark in the tail word
//! The closed flag is its own word (two: `close()` sets the producer's copy, then the
//! consumer's). A producer checks its copy before writing (so a closed channel refuses sends;
//! on the send fast path the channel's `detour` word, which `close()` raises after the flags,
//! stands in for this check: [`Queue::push_open`]) and again after publishing (after the light
//! barrier). A concurrent `close()` can still slip between the two checks, so once the
//! channel is closed the two sides agree on the final tail position with one CAS on `end`:
//! the consumer proposes the tail it read after a heavy barrier, a producer that published and
//! then saw the flag proposes its new tail. Whoever loses adopts the winner's value; a
//! producer whose values lie beyond it takes them back (the consumer never reads past `end`)
//! and reports `Closed`, and raises the detour word itself, so it never publishes past the end
//! again. So a send either lands before the end and is received, or fails and returns its
//! value.

use core::mem::MaybeUninit;

use crossbeam_utils::CachePadded;

use super::{BeforeAsyncWait, CLOSED, ONE, Pop, Push, Queue, alloc_slots, free_slots, slot_bytes};
use crate::barrier;
use crate::chan::{RxShared, TxShared};
use crate::sync::{AtomicUsize, Ordering, UnsafeCell};

type Slot<T> = UnsafeCell<MaybeUninit<T>>;

/// `end` before the two sides agreed on a final position (positions are even).
const OPEN: usize = 1;

/// The producer's 128 bytes (`repr(C)`: the field order is the layout; see the module doc).
///
/// The first 64 bytes are the line the consumer polls when it has caught up (`tail`, `closed`)
/// plus cold state; the second 64 bytes are what the producer reads on every send (the hot
/// fields at the end of [`TxShared`], its own copy of the closed flag, the slot array), and
/// nobody writes them on the fast path.
#[repr(C)]
struct TxBlock<T> {
    tail: AtomicUsize,
    /// Non-zero once the channel is closed (the consumer's copy).
    closed: AtomicUsize,
    /// The final tail position agreed after close, or [`OPEN`].
    end: AtomicUsize,
    /// Puts the hot fields of `shared` at the start of the second line.
    _align_shared: usize,
    shared: TxShared,
    /// Non-zero once the channel is closed (the producer's copy, set before `closed`).
    sender_closed: AtomicUsize,
    slots: *mut Slot<T>,
    /// `(capacity - 1) * ONE`: a position masked with it is its slot index times `ONE`.
    pos_mask: usize,
}

/// The consumer's 128 bytes (`repr(C)`). The first line holds `head`, which a producer that
/// found the ring full polls, and cold state; the consumer's per-message reads (the wait
/// queue of senders at the end of [`RxShared`], the slot array) are in the second.
#[repr(C)]
struct RxBlock<T> {
    head: AtomicUsize,
    shared: RxShared<T>,
    slots: *mut Slot<T>,
    /// As in [`TxBlock`].
    pos_mask: usize,
}

/// A bounded single-producer single-consumer ring.
pub struct LamportRing<T> {
    tx: CachePadded<TxBlock<T>>,
    rx: CachePadded<RxBlock<T>>,
}

/// One handle's private view of a [`LamportRing`] ([`Queue::Cursor`]): a producer uses the
/// first two fields, a consumer the last three. Living in the handle, these never share a
/// cache line with what the other side reads, and the compiler may keep them in registers.
pub struct Cursor {
    /// Producer: the tail it last published.
    tail: UnsafeCell<usize>,
    /// Producer: the tail position at which the ring is full as far as it knows: the head
    /// position as last read plus the span (so "full?" is one comparison with the tail).
    limit: UnsafeCell<usize>,
    /// Consumer: the head it last published.
    head: UnsafeCell<usize>,
    /// Consumer: the tail position as last read (the agreed end once `ended`).
    tail_cache: UnsafeCell<usize>,
    /// Consumer: `tail_cache` holds the agreed end; never read the tail again.
    ended: UnsafeCell<bool>,
}

// SAFETY: a cursor is only touched by the ring operations of the one handle that owns it,
// and the `Queue` contract (enforced by `&mut self` on single-side handles) keeps two such
// operations from overlapping; moving it between threads moves plain integers.
unsafe impl Send for Cursor {}
// SAFETY: as above: shared references to a cursor exist, but never two uses at once.
unsafe impl Sync for Cursor {}

// SAFETY: the ring owns its values and hands each to exactly one thread; the raw slot pointer
// is owned by the ring. Moving values between threads needs `T: Send`, nothing more, because
// no `&T` is ever shared.
unsafe impl<T: Send> Send for LamportRing<T> {}
// SAFETY: shared access is coordinated by the atomics below and the single-producer /
// single-consumer contract of `Queue`, which the channel handles enforce with `&mut self`.
unsafe impl<T: Send> Sync for LamportRing<T> {}

impl<T> LamportRing<T> {
    #[inline(always)]
    fn span(&self) -> usize {
        self.tx.pos_mask + ONE
    }

    /// Slot count (from the producer's block: the producer's paths and cold ones).
    #[inline(always)]
    fn slot_count(&self) -> usize {
        self.tx.pos_mask / ONE + 1
    }

    /// # Safety
    /// `pos` must be a position inside the ring's current window for the calling side.
    #[inline(always)]
    unsafe fn tx_slot(&self, pos: usize) -> &Slot<T> {
        let pos_mask = self.tx.pos_mask;
        // SAFETY: `pos_mask` is a multiple of `ONE` (set once in `new`). Telling the compiler
        // makes the division below exact, so it folds into the address scale.
        unsafe { core::hint::assert_unchecked(pos_mask.is_multiple_of(ONE)) };
        // SAFETY: the index is masked into `0..capacity`, and the array lives as long as `self`.
        unsafe { &*self.tx.slots.add((pos & pos_mask) / ONE) }
    }

    /// # Safety
    /// As for [`Self::tx_slot`].
    #[inline(always)]
    unsafe fn rx_slot(&self, pos: usize) -> &Slot<T> {
        let pos_mask = self.rx.pos_mask;
        // SAFETY: as in `tx_slot`.
        unsafe { core::hint::assert_unchecked(pos_mask.is_multiple_of(ONE)) };
        // SAFETY: as in `tx_slot`.
        unsafe { &*self.rx.slots.add((pos & pos_mask) / ONE) }
    }

    /// Moves the first `count` values of `items` into the slots from position `tail` on, as at
    /// most two contiguous copies (the ring may wrap), and removes them from `items`.
    ///
    /// # Safety
    /// The `count` positions from `tail` are free slots owned by the producer;
    /// `count <= items.len()`.
    unsafe fn write_front(&self, tail: usize, items: &mut Vec<T>, count: usize) {
        #[cfg(not(nimsync_loom))]
        {
            let start = (tail & self.tx.pos_mask) / ONE;
            let first = count.min(self.slot_count() - start);
            let rest = items.len() - count;
            let src = items.as_mut_ptr();
            // SAFETY: a slot has `T`'s layout (`repr(transparent)` cells around
            // `MaybeUninit<T>`); slots `start..start + first` and `0..count - first` are the
            // free positions (caller contract), disjoint from the vector's buffer. The values
            // move: the vector forgets them by shifting its tail down over them and shrinking.
            unsafe {
                let slots = self.tx.slots.cast::<T>();
                core::ptr::copy_nonoverlapping(src, slots.add(start), first);
                core::ptr::copy_nonoverlapping(src.add(first), slots, count - first);
                core::ptr::copy(src.add(count), src, rest);
                items.set_len(rest);
            }
        }
        #[cfg(nimsync_loom)]
        for (i, value) in items.drain(..count).enumerate() {
            // SAFETY: caller contract; loom needs the cells' access tracking.
            let slot = unsafe { self.tx_slot(tail.wrapping_add(i * ONE)) };
            // SAFETY: free slot, written only by this producer.
            slot.with_mut(|p| unsafe { (*p).write(value) });
        }
    }

    /// Moves the `count` values from position `head` on to the end of `out`, as at most two
    /// contiguous copies.
    ///
    /// # Safety
    /// The `count` positions from `head` are published and owned by the consumer, and the
    /// caller publishes the head past them afterwards (each value is read once).
    unsafe fn read_into(&self, head: usize, count: usize, out: &mut Vec<T>) {
        out.reserve(count);
        #[cfg(not(nimsync_loom))]
        {
            // The consumer's own copy of the mask: the producer's block stays off this path.
            let pos_mask = self.rx.pos_mask;
            let start = (head & pos_mask) / ONE;
            let first = count.min(pos_mask / ONE + 1 - start);
            let len = out.len();
            // SAFETY: slots have `T`'s layout (see `write_front`); the positions hold initialised
            // values (caller contract) and `out` has room for `count` more after `reserve`.
            unsafe {
                let slots = self.rx.slots.cast::<T>();
                let dst = out.as_mut_ptr().add(len);
                core::ptr::copy_nonoverlapping(slots.add(start), dst, first);
                core::ptr::copy_nonoverlapping(slots, dst.add(first), count - first);
                out.set_len(len + count);
            }
        }
        #[cfg(nimsync_loom)]
        for i in 0..count {
            // SAFETY: caller contract; loom needs the cells' access tracking.
            let slot = unsafe { self.rx_slot(head.wrapping_add(i * ONE)) };
            // SAFETY: as above; each value is read exactly once.
            out.push(slot.with(|p| unsafe { (*p).assume_init_read() }));
        }
    }

    /// Free positions as seen by the producer, refreshing the cached head when needed.
    /// Returns `(tail, free_slots)`.
    ///
    /// # Safety
    /// Producer side of the `Queue` contract; `cur` is the producer's cursor.
    #[inline(always)]
    unsafe fn producer_room(&self, cur: &Cursor, want: usize) -> (usize, usize) {
        // SAFETY: the producer's cursor fields are only touched by the single producer.
        let tail = cur.tail.with(|p| unsafe { *p });
        // SAFETY: as above.
        let mut limit = cur.limit.with(|p| unsafe { *p });
        // Saturating: a batch of zero-sized values may hold up to `usize::MAX` of them.
        if limit.wrapping_sub(tail) < want.saturating_mul(ONE) {
            // SAFETY: forwarded contract.
            limit = unsafe { self.refresh_limit(cur) };
        }
        (tail, limit.wrapping_sub(tail) / ONE)
    }

    /// [`Self::producer_room`] for one value: the tail position if there is a free slot. One
    /// comparison (of the tail with the cursor's `limit`) while the cached head shows room,
    /// instead of computing the free count.
    ///
    /// # Safety
    /// Producer side of the `Queue` contract; `cur` is the producer's cursor.
    #[inline(always)]
    unsafe fn producer_slot(&self, cur: &Cursor) -> Option<usize> {
        // SAFETY: the producer's cursor fields are only touched by the single producer.
        let tail = cur.tail.with(|p| unsafe { *p });
        // SAFETY: as above.
        if tail != cur.limit.with(|p| unsafe { *p }) {
            return Some(tail);
        }
        // SAFETY: forwarded contract.
        let limit = unsafe { self.refresh_limit(cur) };
        (tail != limit).then_some(tail)
    }

    /// Producer side: reads the consumer's head and makes the cursor's `limit` the head plus
    /// the span; returns it.
    ///
    /// # Safety
    /// Producer side of the `Queue` contract; `cur` is the producer's cursor.
    #[inline(always)]
    unsafe fn refresh_limit(&self, cur: &Cursor) -> usize {
        let limit = self
            .rx
            .head
            .load(Ordering::Acquire)
            .wrapping_add(self.span());
        // SAFETY: the producer's cursor fields are only touched by the single producer.
        cur.limit.with_mut(|p| unsafe { *p = limit });
        limit
    }

    /// Producer side: makes `tail` the published tail position.
    #[inline(always)]
    fn publish_tail(&self, cur: &Cursor, tail: usize) {
        // SAFETY: producer-private cursor field (Queue contract).
        cur.tail.with_mut(|p| unsafe { *p = tail });
        self.tx.tail.store(tail, Ordering::Release);
    }

    /// Positions ready for the consumer, refreshing the cached tail when it shows fewer than
    /// `want` (at least 1). Returns `(head, available, closed)`; `closed` is only meaningful
    /// when `available == 0`.
    ///
    /// # Safety
    /// Consumer side of the `Queue` contract; `cur` is the consumer's cursor.
    #[inline(always)]
    unsafe fn consumer_ready(&self, cur: &Cursor, want: usize) -> (usize, usize, bool) {
        // SAFETY: the consumer's cursor fields are only touched by the single consumer.
        let head = cur.head.with(|p| unsafe { *p });
        // SAFETY: as above.
        let mut tail = cur.tail_cache.with(|p| unsafe { *p });
        if tail.wrapping_sub(head) / ONE >= want.max(1) {
            return (head, tail.wrapping_sub(head) / ONE, false);
        }
        // SAFETY: as above.
        if cur.ended.with(|p| unsafe { *p }) {
            return (head, tail.wrapping_sub(head) / ONE, true);
        }
        tail = self.tx.tail.load(Ordering::Acquire);
        if tail == head && self.tx.closed.load(Ordering::SeqCst) != 0 {
            // SAFETY: forwarded contract.
            tail = unsafe { self.agree_end(cur) };
            return (head, tail.wrapping_sub(head) / ONE, true);
        }
        // SAFETY: as above.
        cur.tail_cache.with_mut(|p| unsafe { *p = tail });
        (head, tail.wrapping_sub(head) / ONE, false)
    }

    /// Consumer side: makes `head` the published head position.
    #[inline(always)]
    fn publish_head(&self, cur: &Cursor, head: usize) {
        // SAFETY: consumer-private cursor field (Queue contract).
        cur.head.with_mut(|p| unsafe { *p = head });
        self.rx.head.store(head, Ordering::Release);
    }

    /// Consumer side, once it found the ring empty and the channel closed: agrees on the
    /// final tail position and never reads the tail again.
    ///
    /// # Safety
    /// Consumer side of the `Queue` contract; `cur` is the consumer's cursor.
    #[cold]
    unsafe fn agree_end(&self, cur: &Cursor) -> usize {
        // Pairs with the producer's light barrier between publishing and re-reading `closed`:
        // either this read sees its publish, or the producer sees the flag and joins the CAS.
        barrier::heavy();
        let end = self.propose_end(self.tx.tail.load(Ordering::Acquire));
        // SAFETY: consumer-private cursor fields (Queue contract).
        cur.tail_cache.with_mut(|p| unsafe { *p = end });
        // SAFETY: as above.
        cur.ended.with_mut(|p| unsafe { *p = true });
        end
    }

    /// Producer side: published `tail..tail + count` and then saw the channel closed. Returns
    /// how many of those values count as sent; the others are taken back (see the module doc)
    /// and pushed back to the front of `back` in order.
    #[cold]
    fn after_close(&self, tail: usize, count: usize, back: &mut impl FnMut(T)) -> usize {
        // This producer has seen the channel closed: from now on its sends leave the fast
        // path (`push_open` skips the closed test, and `close()` may not have raised the
        // detour word yet), so it never publishes past the agreed end again. Its own
        // read-modify-write is visible to its later reads.
        self.tx
            .shared
            .detour
            .fetch_or(crate::chan::DETOUR_CLOSED, Ordering::SeqCst);
        let end = self.propose_end(tail.wrapping_add(count * ONE));
        // `end` is at least `tail`: a consumer that proposed earlier read the tail after every
        // earlier publish (heavy/light pairing), and this producer proposes only once.
        let sent = end.wrapping_sub(tail) / ONE;
        for i in sent..count {
            // SAFETY: positions from `end` on were published but the consumer never reads
            // past `end`, so the values are still this producer's to take back, once each.
            let slot = unsafe { self.tx_slot(tail.wrapping_add(i * ONE)) };
            // SAFETY: as above; written by this producer and never read.
            back(slot.with(|p| unsafe { (*p).assume_init_read() }));
        }
        sent
    }

    /// Proposes `end` as the final tail position; returns the agreed one (this proposal, or
    /// the other side's if it came first).
    fn propose_end(&self, end: usize) -> usize {
        match self
            .tx
            .end
            .compare_exchange(OPEN, end, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => end,
            Err(agreed) => agreed,
        }
    }

    /// Closes a ring nothing was ever sent on, with the end agreed at once (see
    /// [`crate::chan::sealed_lamport_chan`]).
    pub(crate) fn seal(&self) {
        debug_assert_eq!(self.tx.tail.load(Ordering::Relaxed), 0);
        // As `close()` does, the producer's copy first.
        self.tx.sender_closed.store(1, Ordering::SeqCst);
        self.tx.closed.store(1, Ordering::SeqCst);
        self.propose_end(0);
    }

    /// The tail position that counts: the agreed end once there is one.
    fn effective_tail(&self) -> usize {
        let end = self.tx.end.load(Ordering::Acquire);
        if end == OPEN {
            self.tx.tail.load(Ordering::Acquire)
        } else {
            end
        }
    }
}

impl<T: Send> Queue<T> for LamportRing<T> {
    const MULTI_PRODUCER: bool = false;
    const MULTI_CONSUMER: bool = false;
    const CAN_EVICT: bool = false;
    const ASYMMETRIC: bool = true;
    // Empty and full are read from the peer's position (the tail or head line), and a
    // registration may run the heavy barrier.
    const BEFORE_ASYNC_WAIT: BeforeAsyncWait = BeforeAsyncWait::Yield;
    type Cursor = Cursor;

    fn new(capacity: usize, evicting: bool, tx: TxShared, rx: RxShared<T>) -> Self {
        debug_assert!(capacity.is_power_of_two());
        debug_assert!(
            !evicting,
            "the Lamport ring cannot evict; use a stamped ring"
        );
        let slots = alloc_slots(capacity, |_| UnsafeCell::new(MaybeUninit::uninit()));
        let pos_mask = (capacity - 1) * ONE;
        Self {
            tx: CachePadded::new(TxBlock {
                tail: AtomicUsize::new(0),
                closed: AtomicUsize::new(0),
                end: AtomicUsize::new(OPEN),
                _align_shared: 0,
                shared: tx,
                sender_closed: AtomicUsize::new(0),
                slots,
                pos_mask,
            }),
            rx: CachePadded::new(RxBlock {
                head: AtomicUsize::new(0),
                shared: rx,
                slots,
                pos_mask,
            }),
        }
    }

    fn tx(&self) -> &TxShared {
        &self.tx.shared
    }

    fn rx(&self) -> &RxShared<T> {
        &self.rx.shared
    }

    fn not_full(&self) -> &crate::event::Event {
        &self.rx.shared.not_full
    }

    fn receivers(&self) -> &AtomicUsize {
        &self.rx.shared.receivers
    }

    fn capacity(&self) -> usize {
        self.slot_count()
    }

    fn slot_memory(&self) -> &crate::SlotMemory {
        // SAFETY: pointer and length come from `alloc_slots` in `new`; the array lives until
        // the ring is dropped, which `&self` outlasts.
        unsafe { slot_bytes(self.tx.slots, self.slot_count()) }
    }

    fn tail_word(&self) -> usize {
        let closed = self.tx.closed.load(Ordering::SeqCst) != 0;
        self.effective_tail() | if closed { CLOSED } else { 0 }
    }

    fn head_word(&self) -> usize {
        self.rx.head.load(Ordering::Acquire)
    }

    fn close(&self) -> bool {
        // The producer's copy first: a consumer that sees `closed` (and then runs the heavy
        // barrier in `agree_end`) knows every later producer check sees the flag too.
        self.tx.sender_closed.store(1, Ordering::SeqCst);
        self.tx.closed.swap(1, Ordering::SeqCst) == 0
    }

    fn cursor(&self) -> Cursor {
        let head = self.rx.head.load(Ordering::Acquire);
        let tail = self.tx.tail.load(Ordering::Acquire);
        // Once the two sides agreed on the end, a new consumer cursor starts ended: it never
        // reads the tail (values past the end may sit there until their producer takes them
        // back), and it answers `Closed` with no barrier once drained.
        let end = self.tx.end.load(Ordering::Acquire);
        let ended = end != OPEN;
        Cursor {
            tail: UnsafeCell::new(tail),
            limit: UnsafeCell::new(head.wrapping_add(self.span())),
            head: UnsafeCell::new(head),
            tail_cache: UnsafeCell::new(if ended { end } else { head }),
            ended: UnsafeCell::new(ended),
        }
    }

    #[inline]
    unsafe fn push(&self, cur: &Cursor, value: T) -> Push<T> {
        if self.tx.sender_closed.load(Ordering::Relaxed) != 0 {
            return Push::Closed(value);
        }
        // SAFETY: forwarded contract.
        unsafe { self.push_open(cur, value) }
    }

    #[inline(always)]
    unsafe fn push_open(&self, cur: &Cursor, value: T) -> Push<T> {
        // SAFETY: forwarded contract.
        let Some(tail) = (unsafe { self.producer_slot(cur) }) else {
            return Push::Full(value);
        };
        // SAFETY: `tail` is a free slot (`producer_slot`), so the consumer does not
        // read this slot until the tail below is published.
        let slot = unsafe { self.tx_slot(tail) };
        // SAFETY: the slot is free (see above) and only this producer writes it.
        slot.with_mut(|p| unsafe { (*p).write(value) });
        self.publish_tail(cur, tail.wrapping_add(ONE));
        // Store→load barrier (light half) before the caller checks for waiters and before
        // re-reading the closed flag.
        barrier::light();
        if barrier::load_after_light(&self.tx.sender_closed) != 0 {
            let mut back = None;
            if self.after_close(tail, 1, &mut |v| back = Some(v)) == 0
                && let Some(v) = back
            {
                return Push::Closed(v);
            }
        }
        Push::Done
    }

    unsafe fn push_batch(&self, cur: &Cursor, items: &mut Vec<T>) -> Result<usize, ()> {
        if self.tx.sender_closed.load(Ordering::Relaxed) != 0 {
            return Err(());
        }
        // SAFETY: forwarded contract.
        let (tail, free) = unsafe { self.producer_room(cur, items.len()) };
        let count = free.min(items.len());
        if count == 0 {
            return Ok(0);
        }
        // SAFETY: positions tail..tail+count are inside the producer's window (free slots, written
        // only by this producer); `count <= items.len()`.
        unsafe { self.write_front(tail, items, count) };
        self.publish_tail(cur, tail.wrapping_add(count * ONE));
        barrier::light();
        if barrier::load_after_light(&self.tx.sender_closed) == 0 {
            return Ok(count);
        }
        let mut back = Vec::new();
        let sent = self.after_close(tail, count, &mut |v| back.push(v));
        items.splice(0..0, back);
        if sent == 0 { Err(()) } else { Ok(sent) }
    }

    #[inline]
    unsafe fn pop(&self, cur: &Cursor) -> Pop<T> {
        // `consumer_ready(cur, 1)`, with the questions asked in the order a consumer that
        // keeps catching up meets them (its cached tail is used up on every call). Written
        // out: going through `consumer_ready`'s `(head, ready, closed)` answer (or a `Result`
        // form of it) cost 4-5 more instructions per same-thread pair (callgrind).
        // SAFETY: the consumer's cursor fields are only touched by the single consumer.
        let head = cur.head.with(|p| unsafe { *p });
        // SAFETY: as above.
        if cur.tail_cache.with(|p| unsafe { *p }) == head {
            // SAFETY: as above.
            if cur.ended.with(|p| unsafe { *p }) {
                return Pop::Closed;
            }
            let tail = self.tx.tail.load(Ordering::Acquire);
            if tail != head {
                // SAFETY: as above.
                cur.tail_cache.with_mut(|p| unsafe { *p = tail });
            } else if self.tx.closed.load(Ordering::SeqCst) == 0 {
                return Pop::Empty;
            } else {
                // SAFETY: forwarded contract (consumer side, the consumer's cursor).
                let end = unsafe { self.agree_end(cur) };
                if end == head {
                    return Pop::Closed;
                }
            }
        }
        // SAFETY: `head` is published (the cached tail, or the agreed end, is past it) and
        // only this consumer reads it.
        let value = unsafe { self.rx_slot(head) }.with(|p| unsafe { (*p).assume_init_read() });
        self.publish_head(cur, head.wrapping_add(ONE));
        // Store→load barrier (light half) before the caller checks for waiting senders.
        barrier::light();
        Pop::Item(value)
    }

    unsafe fn pop_batch(&self, cur: &Cursor, out: &mut Vec<T>, max: usize) -> Result<usize, ()> {
        // SAFETY: forwarded contract.
        let (head, ready, closed) = unsafe { self.consumer_ready(cur, max) };
        if ready == 0 {
            return if closed { Err(()) } else { Ok(0) };
        }
        let count = ready.min(max);
        // SAFETY: positions head..head+count are published and owned by this consumer.
        unsafe { self.read_into(head, count, out) };
        self.publish_head(cur, head.wrapping_add(count * ONE));
        barrier::light();
        Ok(count)
    }

    unsafe fn evict(&self) -> Option<T> {
        // `CAN_EVICT` is false: the builder never asks a Lamport ring to evict.
        None
    }
}

impl<T> Drop for LamportRing<T> {
    fn drop(&mut self) {
        // Values taken back after close lie beyond the agreed end: not ours to drop.
        let tail = self.effective_tail();
        let mut head = self.rx.head.load(Ordering::Relaxed);
        while head != tail {
            // SAFETY: `&mut self`: no other access; positions head..tail hold initialised values.
            unsafe { self.rx_slot(head) }.with_mut(|p| unsafe { (*p).assume_init_drop() });
            head = head.wrapping_add(ONE);
        }
        // SAFETY: the pointer and length come from `alloc_slots` in `new`; freed once, here.
        unsafe { free_slots(self.tx.slots, self.slot_count()) };
    }
}

#[cfg(all(test, not(nimsync_loom)))]
mod tests {
    use core::mem::{offset_of, size_of};

    use super::{LamportRing, RxBlock, TxBlock};
    use crate::Policy;
    use crate::chan::{RxShared, TxShared};
    use crate::queue::{Pop, Push, Queue, assert_in_line};

    #[test]
    fn a_consumer_cursor_made_after_the_end_was_agreed_never_reads_past_it() {
        let ring = LamportRing::<u64>::new(
            4,
            false,
            TxShared::new(Policy::Block, true, true),
            RxShared::new(true, true),
        );
        let producer = ring.cursor();
        // SAFETY: one thread plays the single producer, then the single consumer.
        let pushed = unsafe { ring.push_open(&producer, 1) };
        assert!(matches!(pushed, Push::Done));
        // The two sides agreed on an end before that publish (its producer takes it back).
        assert_eq!(ring.propose_end(0), 0);
        let consumer = ring.cursor();
        // SAFETY: as above.
        let closed = matches!(unsafe { ring.pop(&consumer) }, Pop::Closed);
        if !closed {
            // A read past the end leaves the positions inconsistent for `Drop`.
            core::mem::forget(ring);
        }
        assert!(closed, "read past the agreed end");
    }

    #[test]
    fn per_message_fields_are_off_the_polled_lines() {
        type Tx = TxBlock<u64>;
        type Rx = RxBlock<u64>;
        assert!(size_of::<Tx>() <= 128 && size_of::<Rx>() <= 128);
        let word = size_of::<usize>();
        let shared = offset_of!(Tx, shared);
        // What the consumer polls when caught up.
        assert_in_line(
            0,
            &[
                ("tail", offset_of!(Tx, tail), word),
                ("closed", offset_of!(Tx, closed), word),
            ],
        );
        // What the producer reads on every send.
        assert_in_line(
            1,
            &[
                ("detour", shared + offset_of!(TxShared, detour), word),
                ("spilled", shared + offset_of!(TxShared, spilled), word),
                ("reserved", shared + offset_of!(TxShared, reserved), word),
                (
                    "not_empty",
                    shared + offset_of!(TxShared, not_empty),
                    size_of::<crate::event::Event>(),
                ),
                ("sender_closed", offset_of!(Tx, sender_closed), word),
                ("tx slots", offset_of!(Tx, slots), word),
                ("tx pos_mask", offset_of!(Tx, pos_mask), word),
            ],
        );
        // What a producer polls when the ring is full, and what the consumer reads per message.
        let rx_shared = offset_of!(Rx, shared);
        assert_in_line(0, &[("head", offset_of!(Rx, head), word)]);
        assert_in_line(
            1,
            &[
                (
                    "not_full",
                    rx_shared + offset_of!(RxShared<u64>, not_full),
                    size_of::<crate::event::Event>(),
                ),
                ("rx slots", offset_of!(Rx, slots), word),
                ("rx pos_mask", offset_of!(Rx, pos_mask), word),
            ],
        );
    }
}
