//! SPSC ring: Lamport's queue with cached peer indices (the rtrb design), no per-slot stamps.
//!
//! The producer owns the tail line, the consumer the head line; each keeps a private copy of
//! the other's index and reads the real one only when the copy says full (or empty), so the
//! lines cross cores once per burst instead of once per message. Publishing is a plain
//! Release store of the tail, freeing a plain Release store of the head; each is followed by
//! the *light* half of an asymmetric barrier ([`crate::barrier`]), whose heavy half runs on
//! the rare paths: a waiter registering (see `chan.rs`) and a consumer deciding "closed".
//!
//! # Closing without a mark in the tail word
//! The closed flag is its own word. A producer checks it before writing (so a closed channel
//! refuses sends) and again after publishing (after the light barrier). A concurrent `close()`
//! can still slip between the two checks, so once the channel is closed the two sides agree
//! on the final tail position with one CAS on `end`: the consumer proposes the tail it read
//! after a heavy barrier, a producer that published and then saw the flag proposes its new
//! tail. Whoever loses adopts the winner's value; a producer whose values lie beyond it takes
//! them back (the consumer never reads past `end`) and reports `Closed`. So a send either
//! lands before the end and is received, or fails and returns its value.

use core::mem::MaybeUninit;

use crossbeam_utils::CachePadded;

use super::{CLOSED, ONE, Pop, Push, Queue, alloc_slots, free_slots, slot_bytes};
use crate::barrier;
use crate::chan::{RxShared, TxShared};
use crate::sync::{AtomicUsize, Ordering, UnsafeCell};

type Slot<T> = UnsafeCell<MaybeUninit<T>>;

/// `end` before the two sides agreed on a final position (positions are even).
const OPEN: usize = 1;

/// The producer's cache line.
struct TxLine<T> {
    tail: AtomicUsize,
    /// Producer-private copy of the head word.
    head_cache: UnsafeCell<usize>,
    /// Non-zero once the channel is closed.
    closed: AtomicUsize,
    /// The final tail position agreed after close, or [`OPEN`].
    end: AtomicUsize,
    slots: *mut Slot<T>,
    mask: usize,
    shared: TxShared,
}

/// The consumer's cache line.
struct RxLine<T> {
    head: AtomicUsize,
    /// Consumer-private copy of the tail position (the agreed end once `ended`).
    tail_cache: UnsafeCell<usize>,
    /// Consumer-private: `tail_cache` holds the agreed end; never read the tail again.
    ended: UnsafeCell<bool>,
    slots: *mut Slot<T>,
    mask: usize,
    shared: RxShared<T>,
}

/// A bounded single-producer single-consumer ring.
pub struct LamportRing<T> {
    tx: CachePadded<TxLine<T>>,
    rx: CachePadded<RxLine<T>>,
}

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
        (self.tx.mask + 1) * ONE
    }

    /// # Safety
    /// `pos` must be a position inside the ring's current window for the calling side.
    #[inline(always)]
    unsafe fn tx_slot(&self, pos: usize) -> &Slot<T> {
        // SAFETY: the index is masked into `0..capacity`, and the array lives as long as `self`.
        unsafe { &*self.tx.slots.add((pos / ONE) & self.tx.mask) }
    }

    /// # Safety
    /// As for [`Self::tx_slot`].
    #[inline(always)]
    unsafe fn rx_slot(&self, pos: usize) -> &Slot<T> {
        // SAFETY: as in `tx_slot`.
        unsafe { &*self.rx.slots.add((pos / ONE) & self.rx.mask) }
    }

    /// Free positions as seen by the producer, refreshing the cached head when needed.
    /// Returns `(tail, free_slots)`.
    #[inline(always)]
    fn producer_room(&self, want: usize) -> (usize, usize) {
        let tail = self.tx.tail.load(Ordering::Relaxed);
        let span = self.span();
        // SAFETY: `head_cache` is only touched by the single producer (Queue contract).
        let mut head = self.tx.head_cache.with(|p| unsafe { *p });
        if span - tail.wrapping_sub(head) < want * ONE {
            head = self.rx.head.load(Ordering::Acquire);
            // SAFETY: as above.
            self.tx.head_cache.with_mut(|p| unsafe { *p = head });
        }
        (tail, (span - tail.wrapping_sub(head)) / ONE)
    }

    /// Positions ready for the consumer, refreshing the cached tail when it shows fewer than
    /// `want` (at least 1). Returns `(head, available, closed)`; `closed` is only meaningful
    /// when `available == 0`.
    #[inline(always)]
    fn consumer_ready(&self, want: usize) -> (usize, usize, bool) {
        let head = self.rx.head.load(Ordering::Relaxed);
        // SAFETY: `tail_cache` is only touched by the single consumer (Queue contract).
        let mut tail = self.rx.tail_cache.with(|p| unsafe { *p });
        if tail.wrapping_sub(head) / ONE >= want.max(1) {
            return (head, tail.wrapping_sub(head) / ONE, false);
        }
        // SAFETY: consumer-private, as above.
        if self.rx.ended.with(|p| unsafe { *p }) {
            return (head, tail.wrapping_sub(head) / ONE, true);
        }
        tail = self.tx.tail.load(Ordering::Acquire);
        if tail == head && self.tx.closed.load(Ordering::SeqCst) != 0 {
            tail = self.agree_end();
            return (head, tail.wrapping_sub(head) / ONE, true);
        }
        // SAFETY: as above.
        self.rx.tail_cache.with_mut(|p| unsafe { *p = tail });
        (head, tail.wrapping_sub(head) / ONE, false)
    }

    /// Consumer side, once it found the ring empty and the channel closed: agrees on the
    /// final tail position and never reads the tail again.
    #[cold]
    fn agree_end(&self) -> usize {
        // Pairs with the producer's light barrier between publishing and re-reading `closed`:
        // either this read sees its publish, or the producer sees the flag and joins the CAS.
        barrier::heavy();
        let end = self.propose_end(self.tx.tail.load(Ordering::Acquire));
        // SAFETY: consumer-private cells (Queue contract).
        self.rx.tail_cache.with_mut(|p| unsafe { *p = end });
        // SAFETY: as above.
        self.rx.ended.with_mut(|p| unsafe { *p = true });
        end
    }

    /// Producer side: published `tail..tail + count` and then saw the channel closed. Returns
    /// how many of those values count as sent; the others are taken back (see the module doc)
    /// and pushed back to the front of `back` in order.
    #[cold]
    fn after_close(&self, tail: usize, count: usize, back: &mut impl FnMut(T)) -> usize {
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

    fn new(capacity: usize, evicting: bool, tx: TxShared, rx: RxShared<T>) -> Self {
        debug_assert!(capacity.is_power_of_two());
        debug_assert!(
            !evicting,
            "the Lamport ring cannot evict; use a stamped ring"
        );
        let slots = alloc_slots(capacity, |_| UnsafeCell::new(MaybeUninit::uninit()));
        let mask = capacity - 1;
        Self {
            tx: CachePadded::new(TxLine {
                tail: AtomicUsize::new(0),
                head_cache: UnsafeCell::new(0),
                closed: AtomicUsize::new(0),
                end: AtomicUsize::new(OPEN),
                slots,
                mask,
                shared: tx,
            }),
            rx: CachePadded::new(RxLine {
                head: AtomicUsize::new(0),
                tail_cache: UnsafeCell::new(0),
                ended: UnsafeCell::new(false),
                slots,
                mask,
                shared: rx,
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
        self.tx.mask + 1
    }

    fn slot_memory(&self) -> &crate::SlotMemory {
        // SAFETY: pointer and length come from `alloc_slots` in `new`; the array lives until
        // the ring is dropped, which `&self` outlasts.
        unsafe { slot_bytes(self.tx.slots, self.tx.mask + 1) }
    }

    fn tail_word(&self) -> usize {
        let closed = self.tx.closed.load(Ordering::SeqCst) != 0;
        self.effective_tail() | if closed { CLOSED } else { 0 }
    }

    fn head_word(&self) -> usize {
        self.rx.head.load(Ordering::Acquire)
    }

    fn close(&self) -> bool {
        self.tx.closed.swap(1, Ordering::SeqCst) == 0
    }

    #[inline]
    unsafe fn push(&self, value: T) -> Push<T> {
        if self.tx.closed.load(Ordering::Relaxed) != 0 {
            return Push::Closed(value);
        }
        let (tail, free) = self.producer_room(1);
        if free == 0 {
            return Push::Full(value);
        }
        // SAFETY: `tail` is inside the producer's window (free > 0), so the consumer does not
        // read this slot until the tail below is published.
        let slot = unsafe { self.tx_slot(tail) };
        // SAFETY: the slot is free (see above) and only this producer writes it.
        slot.with_mut(|p| unsafe { (*p).write(value) });
        self.tx
            .tail
            .store(tail.wrapping_add(ONE), Ordering::Release);
        // Store→load barrier (light half) before the caller checks for waiters and before
        // re-reading the closed flag.
        barrier::light();
        if self.tx.closed.load(Ordering::Relaxed) != 0 {
            let mut back = None;
            if self.after_close(tail, 1, &mut |v| back = Some(v)) == 0
                && let Some(v) = back
            {
                return Push::Closed(v);
            }
        }
        Push::Done
    }

    unsafe fn push_batch(&self, items: &mut Vec<T>) -> Result<usize, ()> {
        if self.tx.closed.load(Ordering::Relaxed) != 0 {
            return Err(());
        }
        let (tail, free) = self.producer_room(items.len());
        let count = free.min(items.len());
        if count == 0 {
            return Ok(0);
        }
        for (i, value) in items.drain(..count).enumerate() {
            // SAFETY: positions tail..tail+count are inside the producer's window.
            let slot = unsafe { self.tx_slot(tail.wrapping_add(i * ONE)) };
            // SAFETY: free slot, written only by this producer.
            slot.with_mut(|p| unsafe { (*p).write(value) });
        }
        self.tx
            .tail
            .store(tail.wrapping_add(count * ONE), Ordering::Release);
        barrier::light();
        if self.tx.closed.load(Ordering::Relaxed) == 0 {
            return Ok(count);
        }
        let mut back = Vec::new();
        let sent = self.after_close(tail, count, &mut |v| back.push(v));
        items.splice(0..0, back);
        if sent == 0 { Err(()) } else { Ok(sent) }
    }

    #[inline]
    unsafe fn pop(&self) -> Pop<T> {
        let (head, ready, closed) = self.consumer_ready(1);
        if ready == 0 {
            return if closed { Pop::Closed } else { Pop::Empty };
        }
        // SAFETY: `head` is published (ready > 0) and only this consumer reads it.
        let value = unsafe { self.rx_slot(head) }.with(|p| unsafe { (*p).assume_init_read() });
        self.rx
            .head
            .store(head.wrapping_add(ONE), Ordering::Release);
        // Store→load barrier (light half) before the caller checks for waiting senders.
        barrier::light();
        Pop::Item(value)
    }

    unsafe fn pop_batch(&self, out: &mut Vec<T>, max: usize) -> Result<usize, ()> {
        let (head, ready, closed) = self.consumer_ready(max);
        if ready == 0 {
            return if closed { Err(()) } else { Ok(0) };
        }
        let count = ready.min(max);
        out.reserve(count);
        for i in 0..count {
            // SAFETY: positions head..head+count are published and owned by this consumer.
            let slot = unsafe { self.rx_slot(head.wrapping_add(i * ONE)) };
            // SAFETY: as above; each value is read exactly once.
            out.push(slot.with(|p| unsafe { (*p).assume_init_read() }));
        }
        self.rx
            .head
            .store(head.wrapping_add(count * ONE), Ordering::Release);
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
        unsafe { free_slots(self.tx.slots, self.tx.mask + 1) };
    }
}
