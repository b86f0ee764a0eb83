//! SPSC ring: Lamport's queue with cached peer indices (the rtrb design), no per-slot stamps.
//!
//! The producer owns the tail line, the consumer the head line; each keeps a private copy of
//! the other's index and reads the real one only when the copy says full (or empty), so the
//! lines cross cores once per burst instead of once per message. Publishing is one CAS on the
//! tail (it also refuses the push if the closed mark is set); freeing is one swap on the head.

use core::mem::MaybeUninit;

use crossbeam_utils::CachePadded;

use super::{CLOSED, ONE, Pop, Push, Queue, alloc_slots, free_slots, slot_bytes};
use crate::chan::{RxShared, TxShared};
use crate::sync::{AtomicUsize, Ordering, UnsafeCell};

type Slot<T> = UnsafeCell<MaybeUninit<T>>;

/// The producer's cache line.
struct TxLine<T> {
    tail: AtomicUsize,
    /// Producer-private copy of the head word.
    head_cache: UnsafeCell<usize>,
    slots: *mut Slot<T>,
    mask: usize,
    shared: TxShared,
}

/// The consumer's cache line.
struct RxLine<T> {
    head: AtomicUsize,
    /// Consumer-private copy of the tail position (closed mark cleared).
    tail_cache: UnsafeCell<usize>,
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
    /// Returns `(tail_word, free_slots)`.
    #[inline(always)]
    fn producer_room(&self, want: usize) -> (usize, usize) {
        let tail = self.tx.tail.load(Ordering::Relaxed);
        let pos = tail & !CLOSED;
        let span = self.span();
        // SAFETY: `head_cache` is only touched by the single producer (Queue contract).
        let mut head = self.tx.head_cache.with(|p| unsafe { *p });
        if span - pos.wrapping_sub(head) < want * ONE {
            head = self.rx.head.load(Ordering::Acquire);
            // SAFETY: as above.
            self.tx.head_cache.with_mut(|p| unsafe { *p = head });
        }
        (tail, (span - pos.wrapping_sub(head)) / ONE)
    }

    /// Positions ready for the consumer, refreshing the cached tail when it shows fewer than
    /// `want` (at least 1). Returns `(head, available, closed)`; `closed` is only meaningful
    /// when `available == 0`.
    #[inline(always)]
    fn consumer_ready(&self, want: usize) -> (usize, usize, bool) {
        let head = self.rx.head.load(Ordering::Relaxed);
        // SAFETY: `tail_cache` is only touched by the single consumer (Queue contract).
        let mut tail = self.rx.tail_cache.with(|p| unsafe { *p });
        let mut closed = false;
        if tail.wrapping_sub(head) / ONE < want.max(1) {
            let word = self.tx.tail.load(Ordering::Acquire);
            tail = word & !CLOSED;
            closed = word & CLOSED != 0;
            // SAFETY: as above.
            self.rx.tail_cache.with_mut(|p| unsafe { *p = tail });
        }
        (head, tail.wrapping_sub(head) / ONE, closed)
    }
}

impl<T: Send> Queue<T> for LamportRing<T> {
    const MULTI_PRODUCER: bool = false;
    const MULTI_CONSUMER: bool = false;
    const CAN_EVICT: bool = false;

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
                slots,
                mask,
                shared: tx,
            }),
            rx: CachePadded::new(RxLine {
                head: AtomicUsize::new(0),
                tail_cache: UnsafeCell::new(0),
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
        self.tx.tail.load(Ordering::Acquire)
    }

    fn head_word(&self) -> usize {
        self.rx.head.load(Ordering::Acquire)
    }

    fn close(&self) -> bool {
        self.tx.tail.fetch_or(CLOSED, Ordering::SeqCst) & CLOSED == 0
    }

    #[inline]
    unsafe fn push(&self, value: T) -> Push<T> {
        let (tail, free) = self.producer_room(1);
        if tail & CLOSED != 0 {
            return Push::Closed(value);
        }
        if free == 0 {
            return Push::Full(value);
        }
        // SAFETY: `tail` is inside the producer's window (free > 0), so the consumer does not
        // read this slot until the tail below is published.
        let slot = unsafe { self.tx_slot(tail) };
        // SAFETY: the slot is free (see above) and only this producer writes it.
        slot.with_mut(|p| unsafe { (*p).write(value) });
        // Publishing CAS: fails only if `close()` set the mark meanwhile. SeqCst: it is also
        // the store-load fence of the waiter handshake (see `chan.rs`).
        match self.tx.tail.compare_exchange(
            tail,
            tail.wrapping_add(ONE),
            Ordering::SeqCst,
            Ordering::Relaxed,
        ) {
            Ok(_) => Push::Done,
            // SAFETY: the write above was never published, so the value is still ours.
            Err(_) => Push::Closed(slot.with(|p| unsafe { (*p).assume_init_read() })),
        }
    }

    unsafe fn push_batch(&self, items: &mut Vec<T>) -> Result<usize, ()> {
        let (tail, free) = self.producer_room(items.len());
        if tail & CLOSED != 0 {
            return Err(());
        }
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
        match self.tx.tail.compare_exchange(
            tail,
            tail.wrapping_add(count * ONE),
            Ordering::SeqCst,
            Ordering::Relaxed,
        ) {
            Ok(_) => Ok(count),
            Err(_) => {
                let back: Vec<T> = (0..count)
                    .map(|i| {
                        // SAFETY: written above and never published: still ours to take back.
                        let slot = unsafe { self.tx_slot(tail.wrapping_add(i * ONE)) };
                        // SAFETY: as above.
                        slot.with(|p| unsafe { (*p).assume_init_read() })
                    })
                    .collect();
                items.splice(0..0, back);
                Err(())
            }
        }
    }

    #[inline]
    unsafe fn pop(&self) -> Pop<T> {
        let (head, ready, closed) = self.consumer_ready(1);
        if ready == 0 {
            return if closed { Pop::Closed } else { Pop::Empty };
        }
        // SAFETY: `head` is published (ready > 0) and only this consumer reads it.
        let value = unsafe { self.rx_slot(head) }.with(|p| unsafe { (*p).assume_init_read() });
        // Freeing swap: SeqCst doubles as the store-load fence of the sender-waiter handshake.
        self.rx.head.swap(head.wrapping_add(ONE), Ordering::SeqCst);
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
            .swap(head.wrapping_add(count * ONE), Ordering::SeqCst);
        Ok(count)
    }

    unsafe fn evict(&self) -> Option<T> {
        // `CAN_EVICT` is false: the builder never asks a Lamport ring to evict.
        None
    }
}

impl<T> Drop for LamportRing<T> {
    fn drop(&mut self) {
        let tail = self.tx.tail.load(Ordering::Relaxed) & !CLOSED;
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
