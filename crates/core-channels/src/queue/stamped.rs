//! Sequence-stamped ring (Dmitry Vyukov's bounded queue), specialised per side.
//!
//! Each slot carries a stamp: `pos` means "free for the push at `pos`", `pos | 1` means "holds
//! the value pushed at `pos`", and a pop at `pos` frees the slot for `pos + capacity`. The
//! const parameters pick each side's algorithm:
//!
//! * `MP = true`: producers race for the tail with a CAS loop; `false`: the single producer's
//!   CAS can only fail because of `close()`, so it never retries.
//! * `MC = true`: consumers race for the head with a CAS loop; `false`: the single consumer
//!   claims with a plain swap and never retries — unless the ring was built `evicting`
//!   (DropOldest), where producers pop too and every pop arbitrates with a CAS.
//!
//! As in Vyukov's queue, a slot not yet written at this lap means "empty" and one not yet
//! freed means "full", even while a peer that claimed it is still mid-operation (that send
//! or receive has not completed): judging from the slot alone, a side never reads the
//! other side's position line on its fast path. A consumer polling an empty ring would
//! otherwise pull the producers' tail line away from them on every check, and their next
//! claim would fetch it back, a cross-core round trip per message. No message is skipped:
//! a value is only ever taken at the head position, in order.
//!
//! # Layout
//! Each side's block is two cache lines (`repr(C)`). The first holds the position the side
//! claims with a read-modify-write, plus cold state; the second what the side reads on every
//! operation and the other side may read too (slot array, counts, wait queue), which nobody
//! writes on the fast path. The consumers' closed flag is a copy of the tail's mark on their
//! own line, so an empty ring is told from a closed one without reading the tail; only once
//! the flag is set does a consumer read the tail, to tell "drained" from "a last value still
//! being written".

use core::mem::MaybeUninit;

use crossbeam_utils::CachePadded;

use crate::sync::Backoff;

use super::{BeforeAsyncWait, CLOSED, ONE, Pop, Push, Queue, alloc_slots, free_slots, slot_bytes};
use crate::chan::{RxShared, TxShared};
use crate::sync::{AtomicBool, AtomicUsize, Ordering, UnsafeCell, rmw_barrier, spin_hint};

struct Slot<T> {
    stamp: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// The producers' 128 bytes: `tail` and cold counters in the first line; the fields of
/// [`TxShared`] read on every send (the detour word, the consumers' wait queue) start the
/// second, where consumers read the spill count too without disturbing the tail.
#[repr(C)]
struct TxLine<T> {
    tail: AtomicUsize,
    slots: *mut Slot<T>,
    mask: usize,
    /// Puts the hot fields of `shared` at the start of the second line.
    _align_shared: usize,
    shared: TxShared,
}

/// The consumers' 128 bytes: `head` first; the rest is read on every receive.
#[repr(C)]
struct RxLine<T> {
    head: AtomicUsize,
    slots: *mut Slot<T>,
    mask: usize,
    /// A copy of the tail's [`CLOSED`] mark, set by `close()` right after the mark.
    closed: AtomicBool,
    evicting: bool,
    shared: RxShared<T>,
}

/// A bounded ring with per-slot sequence stamps.
pub struct StampedRing<T, const MP: bool, const MC: bool> {
    tx: CachePadded<TxLine<T>>,
    rx: CachePadded<RxLine<T>>,
}

// SAFETY: values move between threads (needs `T: Send`); no `&T` is ever shared. The raw slot
// pointer is owned by the ring.
unsafe impl<T: Send, const MP: bool, const MC: bool> Send for StampedRing<T, MP, MC> {}
// SAFETY: every slot access is arbitrated by its stamp and the head/tail atomics; single sides
// are exclusive by the `Queue` contract.
unsafe impl<T: Send, const MP: bool, const MC: bool> Sync for StampedRing<T, MP, MC> {}

/// Signed distance `a - b` between two wrapping stamp/position words.
#[inline(always)]
fn distance(a: usize, b: usize) -> isize {
    a.wrapping_sub(b) as isize
}

impl<T, const MP: bool, const MC: bool> StampedRing<T, MP, MC> {
    /// Slot lookup for producers (reads only the producer's line).
    #[inline(always)]
    fn slot(&self, pos: usize) -> &Slot<T> {
        // SAFETY: the index is masked into `0..capacity`; the array lives as long as `self`.
        unsafe { &*self.tx.slots.add((pos / ONE) & self.tx.mask) }
    }

    /// Slot lookup for consumers (reads only the consumer's line).
    #[inline(always)]
    fn rslot(&self, pos: usize) -> &Slot<T> {
        // SAFETY: as in `slot`.
        unsafe { &*self.rx.slots.add((pos / ONE) & self.rx.mask) }
    }

    /// Position span of one lap, from the producer's line.
    #[inline(always)]
    fn span(&self) -> usize {
        (self.tx.mask + 1) * ONE
    }

    /// Position span of one lap, from the consumer's line.
    #[inline(always)]
    fn rspan(&self) -> usize {
        (self.rx.mask + 1) * ONE
    }

    /// Whether pops must arbitrate with a CAS.
    #[inline(always)]
    fn shared_pop(&self) -> bool {
        MC || self.rx.evicting
    }

    /// Claims the head position `head` for a pop. Returns the position claimed, `Err(true)`
    /// if the queue is empty and closed, `Err(false)` if empty.
    #[inline(always)]
    fn claim_pop(&self) -> Result<usize, bool> {
        let backoff = Backoff::new();
        let mut head = self.rx.head.load(Ordering::Relaxed);
        loop {
            let stamp = self.rslot(head).stamp.load(Ordering::Acquire);
            let d = distance(stamp, head | 1);
            if d == 0 {
                if !self.shared_pop() {
                    self.rx.head.swap(head.wrapping_add(ONE), Ordering::SeqCst);
                    rmw_barrier();
                    return Ok(head);
                }
                match self.rx.head.compare_exchange_weak(
                    head,
                    head.wrapping_add(ONE),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        rmw_barrier();
                        return Ok(head);
                    }
                    Err(now) => {
                        head = now;
                        backoff.spin();
                    }
                }
            } else if d < 0 {
                // Not written yet at this lap: empty, or a producer claimed it and is still
                // writing (its send has not completed). Empty either way, unless closed.
                if !self.rx.closed.load(Ordering::SeqCst) {
                    return Err(false);
                }
                // Closed: drained, or a last value is still being written; wait for it.
                let tail = self.tx.tail.load(Ordering::SeqCst);
                if tail & !CLOSED == head {
                    return Err(true);
                }
                backoff.snooze();
                spin_hint();
                head = self.rx.head.load(Ordering::Relaxed);
            } else {
                // Another consumer (or an evicting producer) took it; catch up.
                head = self.rx.head.load(Ordering::Relaxed);
            }
        }
    }

    /// Reads the value at a claimed head position and frees the slot for the next lap.
    #[inline(always)]
    fn take(&self, head: usize) -> T {
        let slot = self.rslot(head);
        // SAFETY: the claim gave this thread exclusive ownership of the written value at `head`.
        let value = slot.value.with(|p| unsafe { (*p).assume_init_read() });
        slot.stamp
            .store(head.wrapping_add(self.rspan()), Ordering::Release);
        value
    }

    /// Claims `count` tail positions starting at the current tail. `Err(())` if closed;
    /// `Ok((tail, 0))` if full.
    fn claim_push(&self, want: usize) -> Result<(usize, usize), ()> {
        let backoff = Backoff::new();
        let mut tail = self.tx.tail.load(Ordering::Relaxed);
        loop {
            if tail & CLOSED != 0 {
                return Err(());
            }
            let head = self.rx.head.load(Ordering::SeqCst);
            let free = (self.span() - tail.wrapping_sub(head).min(self.span())) / ONE;
            let count = free.min(want);
            if count == 0 {
                return Ok((tail, 0));
            }
            match self.tx.tail.compare_exchange_weak(
                tail,
                tail.wrapping_add(count * ONE),
                Ordering::SeqCst,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    rmw_barrier();
                    return Ok((tail, count));
                }
                Err(now) => {
                    tail = now;
                    backoff.spin();
                }
            }
        }
    }

    /// The capacity taken, in slots, with the head at `head`: positions claimed by sends
    /// and not by receives, plus spilled values and outstanding permits (both own capacity).
    /// SeqCst loads: a waiter reads this after its registration fence, and it pairs with the
    /// claims' read-modify-writes.
    fn claimed_fill(&self, head: usize) -> usize {
        let tail = self.tx.tail.load(Ordering::SeqCst) & !CLOSED;
        let shared = &self.tx.shared;
        tail.wrapping_sub(head) / ONE
            + shared.spilled.load(Ordering::SeqCst)
            + shared.reserved.load(Ordering::SeqCst)
    }

    /// Writes `value` into the claimed position `pos`, waiting out a consumer still reading
    /// the previous lap's value.
    #[inline(always)]
    fn put(&self, pos: usize, value: T) {
        let slot = self.slot(pos);
        let backoff = Backoff::new();
        while slot.stamp.load(Ordering::Acquire) != pos {
            backoff.snooze();
            spin_hint();
        }
        // SAFETY: the stamp says the slot is free for `pos`, and the claim made this thread
        // the only writer of `pos`.
        slot.value.with_mut(|p| unsafe { (*p).write(value) });
        slot.stamp.store(pos | 1, Ordering::Release);
    }
}

impl<T: Send, const MP: bool, const MC: bool> Queue<T> for StampedRing<T, MP, MC> {
    const MULTI_PRODUCER: bool = MP;
    const MULTI_CONSUMER: bool = MC;
    const CAN_EVICT: bool = true;
    const ASYMMETRIC: bool = false;
    // Empty and full are read from the slot's stamp.
    const BEFORE_ASYNC_WAIT: BeforeAsyncWait = BeforeAsyncWait::Spin;
    type Cursor = ();

    fn new(capacity: usize, evicting: bool, tx: TxShared, rx: RxShared<T>) -> Self {
        debug_assert!(capacity.is_power_of_two());
        let slots = alloc_slots(capacity, |i| Slot {
            stamp: AtomicUsize::new(i * ONE),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        });
        let mask = capacity - 1;
        Self {
            tx: CachePadded::new(TxLine {
                tail: AtomicUsize::new(0),
                slots,
                mask,
                _align_shared: 0,
                shared: tx,
            }),
            rx: CachePadded::new(RxLine {
                head: AtomicUsize::new(0),
                slots,
                mask,
                closed: AtomicBool::new(false),
                evicting,
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
        let closed = self.tx.tail.fetch_or(CLOSED, Ordering::SeqCst) & CLOSED == 0;
        // After the mark: a consumer that sees the flag finds the mark in the tail.
        self.rx.closed.store(true, Ordering::SeqCst);
        closed
    }

    fn cursor(&self) {}

    #[inline]
    unsafe fn push(&self, _: &(), value: T) -> Push<T> {
        let backoff = Backoff::new();
        let mut tail = self.tx.tail.load(Ordering::Relaxed);
        loop {
            if tail & CLOSED != 0 {
                return Push::Closed(value);
            }
            let stamp = self.slot(tail).stamp.load(Ordering::Acquire);
            let d = distance(stamp, tail);
            if d == 0 {
                match self.tx.tail.compare_exchange_weak(
                    tail,
                    tail.wrapping_add(ONE),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        rmw_barrier();
                        self.put(tail, value);
                        return Push::Done;
                    }
                    Err(now) => {
                        tail = now;
                        if MP {
                            backoff.spin();
                        }
                    }
                }
            } else if d < 0 {
                // The slot still holds last lap's value: full, or a consumer claimed it and
                // is still reading (its receive has not completed). Full either way.
                return Push::Full(value);
            } else {
                // Another producer already pushed here; catch up.
                tail = self.tx.tail.load(Ordering::Relaxed);
            }
        }
    }

    fn value_in_flight(&self, _: &()) -> bool {
        // SeqCst after the waiter's registration fence; the claiming CAS is SeqCst.
        let tail = self.tx.tail.load(Ordering::SeqCst) & !CLOSED;
        let head = self.rx.head.load(Ordering::SeqCst);
        distance(tail, head) > 0
    }

    fn room_in_flight(&self, _: &()) -> bool {
        // Room by the positions and the counts of spilled values and permits, which own
        // capacity too (a sender held back by permits sleeps).
        self.claimed_fill(self.rx.head.load(Ordering::SeqCst)) < self.tx.mask + 1
    }

    unsafe fn push_batch(&self, _: &(), items: &mut Vec<T>) -> Result<usize, ()> {
        if items.is_empty() {
            return if self.tx.tail.load(Ordering::Relaxed) & CLOSED != 0 {
                Err(())
            } else {
                Ok(0)
            };
        }
        let (tail, count) = self.claim_push(items.len())?;
        for (i, value) in items.drain(..count).enumerate() {
            self.put(tail.wrapping_add(i * ONE), value);
        }
        Ok(count)
    }

    #[inline]
    unsafe fn pop(&self, _: &()) -> Pop<T> {
        match self.claim_pop() {
            Ok(head) => Pop::Item(self.take(head)),
            Err(true) => Pop::Closed,
            Err(false) => Pop::Empty,
        }
    }

    unsafe fn pop_batch(&self, _: &(), out: &mut Vec<T>, max: usize) -> Result<usize, ()> {
        if max == 0 {
            return Ok(0);
        }
        if self.shared_pop() {
            // Arbitrated: claim one position per CAS (each value must be claimed before it is
            // read, or two consumers could read the same value).
            let mut n = 0;
            while n < max {
                match self.claim_pop() {
                    Ok(head) => {
                        out.push(self.take(head));
                        n += 1;
                    }
                    Err(closed) if n == 0 && closed => return Err(()),
                    Err(_) => break,
                }
            }
            return Ok(n);
        }
        // Single consumer: read every consecutive written slot, then publish the head once.
        let head = self.rx.head.load(Ordering::Relaxed);
        let mut n = 0;
        while n < max {
            let pos = head.wrapping_add(n * ONE);
            if self.rslot(pos).stamp.load(Ordering::Acquire) != pos | 1 {
                break;
            }
            let slot = self.rslot(pos);
            // SAFETY: the stamp says `pos` is written, and the single consumer owns the head.
            out.push(slot.value.with(|p| unsafe { (*p).assume_init_read() }));
            slot.stamp
                .store(pos.wrapping_add(self.rspan()), Ordering::Release);
            n += 1;
        }
        if n == 0 {
            // Nothing written yet; fall back to the one-by-one path, which tells empty from
            // closed and waits out a producer caught mid-write.
            return match self.claim_pop() {
                Ok(head) => {
                    out.push(self.take(head));
                    Ok(1)
                }
                Err(true) => Err(()),
                Err(false) => Ok(0),
            };
        }
        self.rx
            .head
            .swap(head.wrapping_add(n * ONE), Ordering::SeqCst);
        rmw_barrier();
        Ok(n)
    }

    unsafe fn evict(&self) -> Option<T> {
        debug_assert!(self.shared_pop(), "evict on a ring not built for eviction");
        let backoff = Backoff::new();
        loop {
            // Only the oldest value of a full channel: if a receive (or another eviction) took
            // a value since the push found it full, there is room and nothing to evict. The
            // CAS below succeeds only with the head read here, so the positions are still
            // full when the value is claimed (the tail only grows).
            let head = self.rx.head.load(Ordering::SeqCst);
            // Only a value in the ring can be evicted: a position claimed by a send (its
            // value is written, or about to be). Permits and spilled values fill the channel
            // too, but a permit's value is not in the ring until it is sent, and spilled
            // values are never evicted; with nothing in the ring there is nothing to wait
            // for (waiting would spin until a permit resolves, forever if its holder waits
            // for this send), and the caller decides (`chan::on_full` drops the new value).
            if self.tx.tail.load(Ordering::SeqCst) & !CLOSED == head {
                return None;
            }
            if self.claimed_fill(head) < self.tx.mask + 1 {
                return None;
            }
            if self.rslot(head).stamp.load(Ordering::Acquire) != head | 1 {
                // The oldest value is still being written (its send has claimed it).
                backoff.snooze();
                spin_hint();
                continue;
            }
            if self
                .rx
                .head
                .compare_exchange_weak(
                    head,
                    head.wrapping_add(ONE),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                )
                .is_ok()
            {
                rmw_barrier();
                return Some(self.take(head));
            }
        }
    }
}

impl<T, const MP: bool, const MC: bool> Drop for StampedRing<T, MP, MC> {
    fn drop(&mut self) {
        let tail = self.tx.tail.load(Ordering::Relaxed) & !CLOSED;
        let mut head = self.rx.head.load(Ordering::Relaxed);
        while head != tail {
            let slot = self.slot(head);
            if slot.stamp.load(Ordering::Relaxed) == head | 1 {
                // SAFETY: `&mut self`: no concurrent access; the stamp says this slot holds an
                // initialised value that nobody took.
                slot.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
            }
            head = head.wrapping_add(ONE);
        }
        // SAFETY: pointer and length come from `alloc_slots` in `new`; freed once, here.
        unsafe { free_slots(self.tx.slots, self.tx.mask + 1) };
    }
}

#[cfg(all(test, not(nimsync_loom)))]
mod tests {
    use core::mem::{offset_of, size_of};

    use super::{RxLine, TxLine};
    use crate::chan::TxShared;
    use crate::queue::assert_in_line;

    #[test]
    fn what_consumers_read_is_off_the_tail_line() {
        type Tx = TxLine<u64>;
        assert!(size_of::<Tx>() <= 128 && size_of::<RxLine<u64>>() <= 128);
        let word = size_of::<usize>();
        let shared = offset_of!(Tx, shared);
        // Written by every claim.
        assert_in_line(0, &[("tail", offset_of!(Tx, tail), word)]);
        // Read by every send, and by a consumer that found the ring empty (the spill count).
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
            ],
        );
    }
}
