//! The channel proper: a ring plus policy, spill queue, reservations, counters and wait queues.
//!
//! Everything here is non-blocking; `wait.rs` and `future.rs` add waiting on top.
//!
//! # The waiter handshake (no lost wake-up)
//! A waiter registers on an [`Event`] (which ends in a SeqCst fence), then re-checks the ring,
//! and only then sleeps. A producer publishes with a SeqCst read-modify-write on the tail (a
//! consumer frees with one on the head) and then checks for waiters. Either the waiter's
//! re-check sees the change, or the notifier sees the waiter: the classic store-load pairing,
//! modelled in `tests/loom.rs`. On the stamped rings the value (or the freed slot) lands
//! after that read-modify-write, in the slot's stamp, and an attempt judges empty (full) from
//! the stamp alone; so a waiter that found nothing also reads the claimed positions before it
//! sleeps (`RawChan::value_in_flight`, `room_in_flight`), which the claim published before
//! its notifier looked for waiters, and retries instead of sleeping when something is on
//! its way. The SPSC ring publishes with a plain Release store followed by
//! the light half of an asymmetric barrier ([`crate::barrier`]); its events run the heavy half
//! after registering, so the pairing holds with no locked instruction per message.
//!
//! # The spill queue
//! A mutex-guarded `VecDeque` beside the ring, used by the `Overflow` policy (values beyond
//! capacity) and by [`Permit`](crate::Permit)s that lose a race for the last slot. While it
//! holds values every send goes to it too, so per-producer FIFO order is kept; receivers take
//! from the ring first, then from the spill. A receive that found the ring empty takes the
//! spill's lock and tries the ring once more before popping the spill: a producer publishes
//! a value in the ring before it takes that lock to spill a later one, so the second pop
//! sees it (a value claimed in the ring and still being written makes the receive answer
//! `Empty` instead; see `take_spilled_locked`). The fast path only reads one counter of it.

use core::marker::PhantomData;
use std::collections::VecDeque;

use crate::Policy;
use crate::error::{TryRecvError, TryReserveError, TrySendError};
use crate::event::Event;
use crate::queue::lamport::LamportRing;
use crate::queue::{BeforeAsyncWait, CLOSED, ONE, Pop, Push, Queue};
use crate::stats::Stats;
use crate::sync::{Arc, AtomicUsize, Backoff, Mutex, Ordering};

/// The part of [`TxShared::detour`] that says "closed" (far above any count of spilled values
/// or permits).
pub(crate) const DETOUR_CLOSED: usize = 1 << (usize::BITS - 1);

/// Shared state in the producers' block. `repr(C)`, cold fields first: the fields a producer
/// reads on every send come last, so a ring can place them apart from what consumers poll.
#[repr(C)]
pub struct TxShared {
    pub(crate) senders: AtomicUsize,
    /// Values discarded by the DropNewest / DropOldest policies.
    pub(crate) dropped: AtomicUsize,
    /// Of those, values evicted from the ring by DropOldest (they advanced the head).
    pub(crate) evicted: AtomicUsize,
    pub(crate) policy: Policy,
    /// Non-zero while a send must leave the fast path: one unit per spilled value and per
    /// outstanding permit, plus [`DETOUR_CLOSED`] once the channel is closed. The fast path
    /// reads this word alone (one load, one branch, instead of one per reason); the slow
    /// paths read the counts themselves. A spilled value's unit is raised before it is
    /// counted and lowered after, so the word is never zero while a spilled value waits; a
    /// permit's unit follows its reservation (a send racing it may take the slot, and the
    /// permit's value then spills, as before).
    pub(crate) detour: AtomicUsize,
    /// Values currently in the spill queue.
    pub(crate) spilled: AtomicUsize,
    /// Outstanding permits.
    pub(crate) reserved: AtomicUsize,
    /// Receivers wait here for values; producers notify.
    pub(crate) not_empty: Event,
}

/// Shared state in the consumers' block. `repr(C)`, cold fields first, as for [`TxShared`].
#[repr(C)]
pub struct RxShared<T> {
    pub(crate) receivers: AtomicUsize,
    pub(crate) spill: Mutex<Spill<T>>,
    /// Senders wait here for room; consumers notify.
    pub(crate) not_full: Event,
}

/// The spill queue and its lifetime totals.
pub struct Spill<T> {
    pub(crate) values: VecDeque<T>,
    pub(crate) pushed: usize,
    pub(crate) popped: usize,
}

impl TxShared {
    /// `asymmetric`: the ring publishes with a light barrier ([`Queue::ASYMMETRIC`]).
    /// `single_consumer`: the receiver waits in the owner slot (see `owner.rs`).
    pub(crate) fn new(policy: Policy, asymmetric: bool, single_consumer: bool) -> Self {
        Self {
            not_empty: Event::new(asymmetric, single_consumer),
            senders: AtomicUsize::new(1),
            detour: AtomicUsize::new(0),
            reserved: AtomicUsize::new(0),
            spilled: AtomicUsize::new(0),
            dropped: AtomicUsize::new(0),
            evicted: AtomicUsize::new(0),
            policy,
        }
    }
}

impl<T> RxShared<T> {
    /// `asymmetric`: as for [`TxShared::new`]; `single_producer`: the sender waits in the
    /// owner slot.
    pub(crate) fn new(asymmetric: bool, single_producer: bool) -> Self {
        Self {
            not_full: Event::new(asymmetric, single_producer),
            receivers: AtomicUsize::new(1),
            spill: Mutex::new(Spill {
                values: VecDeque::new(),
                pushed: 0,
                popped: 0,
            }),
        }
    }
}

/// A handle's channel: the shared ring and the handle's own [`Queue::Cursor`] into it.
///
/// Cloning shares the ring and gives the clone a fresh cursor in step with the ring.
#[doc(hidden)]
pub struct Chan<T, Q: Queue<T>> {
    ring: Arc<Q>,
    cursor: Q::Cursor,
    _values: PhantomData<fn() -> T>,
}

impl<T, Q: Queue<T>> Clone for Chan<T, Q> {
    fn clone(&self) -> Self {
        chan_over(self.ring.clone())
    }
}

/// Builds a channel over queue type `Q`.
pub(crate) fn new_chan<T: Send, Q: Queue<T>>(capacity: usize, policy: Policy) -> Chan<T, Q> {
    // An asymmetric ring's light barrier is only compiler ordering: never build one without
    // the heavy half (`Spsc::new_chan` picks the stamped ring then).
    assert!(
        !Q::ASYMMETRIC || crate::barrier::init(),
        "asymmetric ring built without membarrier"
    );
    chan_over(new_ring(capacity, policy))
}

/// The shared ring of a new channel over `Q` (no `membarrier` check: see [`new_chan`]).
fn new_ring<T: Send, Q: Queue<T>>(capacity: usize, policy: Policy) -> Arc<Q> {
    Arc::new(Q::new(
        capacity,
        policy == Policy::DropOldest,
        TxShared::new(policy, Q::ASYMMETRIC, !Q::MULTI_CONSUMER),
        RxShared::new(Q::ASYMMETRIC, !Q::MULTI_PRODUCER),
    ))
}

/// A handle's view of `ring`, with a cursor of its own.
fn chan_over<T, Q: Queue<T>>(ring: Arc<Q>) -> Chan<T, Q> {
    Chan {
        cursor: ring.cursor(),
        ring,
        _values: PhantomData,
    }
}

impl<T: Send, Q: Queue<T>> Chan<T, Q> {
    /// [`RawChan::try_send`] with `detour` in place of the slow path: it takes the value
    /// when the `detour` word is raised (spilled values, permits, a closed channel), and its
    /// answer is the send's.
    ///
    /// # Safety
    /// As for [`RawChan::try_send`].
    #[inline(always)]
    pub(crate) unsafe fn try_send_or(
        &self,
        value: T,
        detour: impl FnOnce(T) -> Result<(), TrySendError<T>>,
    ) -> Result<(), TrySendError<T>> {
        let tx = self.ring.tx();
        // Spilled values, permits and a closed channel all show in one word: the fast path
        // pays one load and a branch for the three.
        if tx.detour.load(Ordering::Relaxed) != 0 {
            return detour(value);
        }
        // SAFETY: forwarded contract; the channel was open when `detour` was read.
        match unsafe { self.ring.push_open(&self.cursor, value) } {
            Push::Done => {
                tx.not_empty.notify_one_after_claim();
                Ok(())
            }
            // SAFETY: forwarded contract.
            Push::Full(value) => unsafe { on_full(&*self.ring, &self.cursor, value) },
            Push::Closed(value) => Err(TrySendError::Closed(value)),
        }
    }

    /// The slow path of [`RawChan::try_send`] (the `detour` word is raised).
    ///
    /// # Safety
    /// As for [`RawChan::try_send`].
    #[inline(always)]
    pub(crate) unsafe fn send_detour(&self, value: T) -> Result<(), TrySendError<T>> {
        // SAFETY: forwarded contract.
        unsafe { send_slow(&*self.ring, &self.cursor, value) }
    }

    /// [`RawChan::try_send_batch`] while the `detour` word is raised (spilled values,
    /// permits, a closed channel): one by one, so spill order and reservations apply.
    /// Under `Block` it stops when no room is left; under the other policies every value is
    /// sent as by [`RawChan::try_send`] (`Overflow`: behind the spill, the rest in one go).
    ///
    /// # Safety
    /// As for [`RawChan::try_send`].
    #[cold]
    unsafe fn send_batch_one_by_one(&self, items: &mut Vec<T>) -> Result<usize, ()> {
        let tx = self.ring.tx();
        if self.is_closed() {
            return Err(());
        }
        // Taken from the back: the front value is last.
        items.reverse();
        let mut n = 0;
        let mut closed = false;
        while let Some(value) = items.pop() {
            let spilling = match tx.policy {
                Policy::Block => {
                    if !self.has_unreserved_room() {
                        items.push(value);
                        break;
                    }
                    false
                }
                // Each single send would queue behind the spill.
                Policy::Overflow => tx.spilled.load(Ordering::SeqCst) != 0,
                Policy::DropNewest | Policy::DropOldest => false,
            };
            if spilling {
                items.push(value);
                items.reverse();
                return match spill_batch(&*self.ring, items) {
                    Ok(m) => Ok(n + m),
                    Err(()) if n == 0 => Err(()),
                    Err(()) => Ok(n),
                };
            }
            // SAFETY: forwarded contract.
            match unsafe { RawChan::try_send(self, value) } {
                Ok(()) => n += 1,
                Err(TrySendError::Full(v)) => {
                    items.push(v);
                    break;
                }
                Err(TrySendError::Closed(v)) => {
                    items.push(v);
                    closed = true;
                    break;
                }
            }
        }
        items.reverse();
        if closed && n == 0 { Err(()) } else { Ok(n) }
    }

    /// The rest of a batch that found the ring full on the fast path, under a policy other
    /// than `Block`: applies the policy as the same single sends in a row would (DropNewest
    /// drops and counts them, Overflow spills them in order, DropOldest sends them one by
    /// one, each evicting). Returns how many values it took from `items`; it leaves them
    /// all there only if the channel is closed.
    ///
    /// # Safety
    /// As for [`RawChan::try_send`].
    #[cold]
    unsafe fn send_batch_rest(&self, items: &mut Vec<T>) -> usize {
        let tx = self.ring.tx();
        if self.is_closed() {
            // Closed beats full: the values come back (a send after the close fails).
            return 0;
        }
        match tx.policy {
            Policy::Block => 0,
            Policy::DropNewest => {
                let n = items.len();
                tx.dropped.fetch_add(n, Ordering::Relaxed);
                items.clear();
                n
            }
            Policy::Overflow => spill_batch(&*self.ring, items).unwrap_or(0),
            // SAFETY: forwarded contract.
            Policy::DropOldest => unsafe { self.send_batch_one_by_one(items) }.unwrap_or(0),
        }
    }

    /// Whether the ring has room that no permit holds (spilled values count as full): a
    /// snapshot, for a send under `Block` deciding whether to try.
    fn has_unreserved_room(&self) -> bool {
        let tx = self.ring.tx();
        RawChan::len(self) + tx.reserved.load(Ordering::SeqCst) < self.capacity()
    }

    /// [`RawChan::try_recv`] with `closed` answering once the ring is closed and drained.
    ///
    /// # Safety
    /// As for [`RawChan::try_recv`].
    #[inline(always)]
    pub(crate) unsafe fn try_recv_or(
        &self,
        closed: impl FnOnce() -> Result<T, TryRecvError>,
    ) -> Result<T, TryRecvError> {
        // Taken before the pop (when the pop ended with a compiler fence, the handle's fields
        // were read from memory again after it; kept, it costs nothing).
        let rx = self.ring.rx();
        // SAFETY: forwarded contract.
        match unsafe { self.ring.pop(&self.cursor) } {
            Pop::Item(value) => {
                rx.not_full.notify_one_after_claim();
                Ok(value)
            }
            Pop::Empty => {
                // SAFETY: forwarded contract (this consumer's cursor).
                unsafe { take_spilled(&*self.ring, &self.cursor) }.ok_or(TryRecvError::Empty)
            }
            Pop::Closed => closed(),
        }
    }

    /// [`RawChan::try_recv`]'s answer once the ring is closed and drained: a spilled value,
    /// or `Closed`.
    ///
    /// # Safety
    /// As for [`RawChan::try_recv`].
    #[inline(always)]
    pub(crate) unsafe fn recv_closed(&self) -> Result<T, TryRecvError> {
        // SAFETY: forwarded contract.
        unsafe { take_spilled(&*self.ring, &self.cursor) }.ok_or(TryRecvError::Closed)
    }
}

/// A closed, empty one-slot channel on the Lamport ring whose two sides have agreed on the end
/// already: every send fails at once with `Closed` (its `detour` word is raised), every
/// receive too (its cursors start ended), with no barrier and no wait. An SPSC channel on the
/// stamped ring keeps one where its Lamport ring would be (see [`crate::mode::SpscChan`]).
/// Built without the `membarrier` check: nothing is ever published on it.
pub(crate) fn sealed_lamport_chan<T: Send>() -> Chan<T, LamportRing<T>> {
    let ring = new_ring::<T, LamportRing<T>>(1, Policy::Block);
    ring.seal();
    ring.tx().detour.fetch_or(DETOUR_CLOSED, Ordering::SeqCst);
    // The cursor is made after sealing, so it starts ended.
    chan_over(ring)
}

/// The operations every channel offers, whatever its ring.
///
/// This is the seam between the per-mode handles and the rings: each handle holds a
/// `RawChan`, and all waiting logic is written once against it.
///
/// # Safety contract
/// The `unsafe` methods inherit [`Queue`]'s contract: on a single-producer channel no two
/// producer-side calls (`try_send`, `try_send_batch`, `send_reserved`) overlap, and likewise
/// for consumer-side calls on a single-consumer channel.
#[doc(hidden)]
pub trait RawChan<T>: Clone + Send + Sync + Unpin {
    /// Non-blocking send applying the channel's policy.
    ///
    /// # Safety
    /// See the trait's safety contract.
    unsafe fn try_send(&self, value: T) -> Result<(), TrySendError<T>>;
    /// Sends values from the front of `items` and returns how many it took. Under `Block`,
    /// as many as fit (spilled values and permits count as full); under the other policies
    /// all of them, the policy applied to those beyond the room as for the same
    /// [`try_send`](Self::try_send)s in a row. `Err(())` if the channel is closed (nothing
    /// taken); values it could not take (a close meanwhile) stay in `items`.
    ///
    /// # Safety
    /// See the trait's safety contract.
    unsafe fn try_send_batch(&self, items: &mut Vec<T>) -> Result<usize, ()>;
    /// Non-blocking receive.
    ///
    /// # Safety
    /// See the trait's safety contract.
    unsafe fn try_recv(&self) -> Result<T, TryRecvError>;
    /// Appends up to `max` values; `Ok(0)` if empty, `Err(())` if closed and drained.
    ///
    /// # Safety
    /// See the trait's safety contract.
    unsafe fn try_recv_batch(&self, out: &mut Vec<T>, max: usize) -> Result<usize, ()>;
    /// After registering as a receiver and finding nothing: whether a value is about to land
    /// ([`Queue::value_in_flight`]); the waiter must then not sleep.
    fn value_in_flight(&self) -> bool;
    /// After registering as a sender and finding no room: whether room is about to appear
    /// ([`Queue::room_in_flight`]).
    fn room_in_flight(&self) -> bool;
    /// What async waits do before registering ([`Queue::BEFORE_ASYNC_WAIT`]): a constant, so
    /// the futures carry only the branch their channel takes.
    const BEFORE_ASYNC_WAIT: BeforeAsyncWait;
    /// Reserves one unit of capacity.
    fn try_reserve(&self) -> Result<(), TryReserveError>;
    /// Sends using a reservation (never fails for lack of room).
    ///
    /// # Safety
    /// See the trait's safety contract; a reservation must be held.
    unsafe fn send_reserved(&self, value: T);
    /// Gives back an unused reservation.
    fn release_reserved(&self);
    /// Wait queue of receivers.
    fn not_empty(&self) -> &Event;
    /// Wait queue of senders.
    fn not_full(&self) -> &Event;
    /// Closes the channel; `true` if this call closed it.
    fn close(&self) -> bool;
    /// Whether the channel is closed.
    fn is_closed(&self) -> bool;
    /// The channel's policy.
    fn policy(&self) -> Policy;
    /// Whether a send would not find the channel full right now (a snapshot): the policy is
    /// not `Block` (every send then succeeds at once), the channel is closed (it fails at
    /// once), or the ring has room that no permit holds.
    fn send_ready(&self) -> bool;
    /// Buffered values.
    fn len(&self) -> usize;
    /// Capacity of the ring.
    fn capacity(&self) -> usize;
    /// Counters.
    fn stats(&self) -> Stats;
    /// Live sender handles.
    fn senders(&self) -> &AtomicUsize;
    /// Live receiver handles.
    fn receivers(&self) -> &AtomicUsize;
    /// Identity of the channel allocation.
    fn addr(&self) -> *const ();
    /// The slot array's bytes.
    fn slot_memory(&self) -> &crate::SlotMemory;
}

impl<T: Send, Q: Queue<T>> RawChan<T> for Chan<T, Q> {
    const BEFORE_ASYNC_WAIT: BeforeAsyncWait = Q::BEFORE_ASYNC_WAIT;

    #[inline(always)]
    unsafe fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        // SAFETY: forwarded contract.
        unsafe { self.try_send_or(value, |value| self.send_detour(value)) }
    }

    unsafe fn try_send_batch(&self, items: &mut Vec<T>) -> Result<usize, ()> {
        let tx = self.ring.tx();
        if tx.detour.load(Ordering::Relaxed) != 0 {
            // SAFETY: forwarded contract.
            return unsafe { self.send_batch_one_by_one(items) };
        }
        // SAFETY: forwarded contract.
        let n = unsafe { self.ring.push_batch(&self.cursor, items) }?;
        if n > 0 {
            tx.not_empty.notify_n_after_claim(n);
        }
        if !items.is_empty() && tx.policy != Policy::Block {
            // The ring is full by its positions (or closed meanwhile): the policy applies
            // to the rest, as to the same single sends in a row.
            // SAFETY: forwarded contract.
            return Ok(n + unsafe { self.send_batch_rest(items) });
        }
        Ok(n)
    }

    #[inline(always)]
    unsafe fn try_recv(&self) -> Result<T, TryRecvError> {
        // SAFETY: forwarded contract (also for `recv_closed`, called in its place).
        unsafe { self.try_recv_or(|| self.recv_closed()) }
    }

    unsafe fn try_recv_batch(&self, out: &mut Vec<T>, max: usize) -> Result<usize, ()> {
        if max == 0 {
            // Same answer from every ring, spill included: `Err` only once closed and drained.
            return if self.is_closed() && self.len() == 0 {
                Err(())
            } else {
                Ok(0)
            };
        }
        // SAFETY: forwarded contract.
        match unsafe { self.ring.pop_batch(&self.cursor, out, max) } {
            Ok(0) | Err(()) => {
                let closed = self.is_closed();
                // SAFETY: forwarded contract.
                let n = unsafe { take_spilled_batch(&*self.ring, &self.cursor, out, max) };
                // Re-check after the spill: a closed, drained channel reports `Err`.
                if n == 0 && closed && self.len() == 0 {
                    return Err(());
                }
                Ok(n)
            }
            Ok(n) => {
                self.ring.rx().not_full.notify_n_after_claim(n);
                Ok(n)
            }
        }
    }

    fn value_in_flight(&self) -> bool {
        self.ring.value_in_flight(&self.cursor)
    }

    fn room_in_flight(&self) -> bool {
        self.ring.room_in_flight(&self.cursor)
    }

    fn try_reserve(&self) -> Result<(), TryReserveError> {
        if self.is_closed() {
            return Err(TryReserveError::Closed);
        }
        let tx = self.ring.tx();
        let mut reserved = tx.reserved.load(Ordering::SeqCst);
        loop {
            // Never reserve past capacity, not even transiently: a failed attempt changes
            // nothing, so it wakes nobody (and cannot wake itself).
            let used = Queue::len(&*self.ring) + tx.spilled.load(Ordering::SeqCst) + reserved;
            if used >= self.capacity() {
                return Err(TryReserveError::Full);
            }
            match tx.reserved.compare_exchange_weak(
                reserved,
                reserved + 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                // A push racing with this check may still take the last slot; the permit's
                // value then goes to the spill queue, so `Permit::send` never fails.
                Ok(_) => {
                    tx.detour.fetch_add(1, Ordering::SeqCst);
                    return Ok(());
                }
                Err(now) => reserved = now,
            }
        }
    }

    unsafe fn send_reserved(&self, value: T) {
        let tx = self.ring.tx();
        let value = if tx.spilled.load(Ordering::SeqCst) == 0 {
            // SAFETY: forwarded contract.
            match unsafe { self.ring.push(&self.cursor, value) } {
                Push::Done => None,
                Push::Full(v) | Push::Closed(v) => Some(v),
            }
        } else {
            Some(value)
        };
        if let Some(value) = value
            && let Err(value) = spill(&*self.ring, value)
        {
            // Closed after the reservation was made: nobody can receive it.
            tx.dropped.fetch_add(1, Ordering::Relaxed);
            drop(value);
        }
        tx.reserved.fetch_sub(1, Ordering::SeqCst);
        tx.detour.fetch_sub(1, Ordering::SeqCst);
        tx.not_empty.notify_one_after_rmw();
    }

    fn release_reserved(&self) {
        let tx = self.ring.tx();
        tx.reserved.fetch_sub(1, Ordering::SeqCst);
        tx.detour.fetch_sub(1, Ordering::SeqCst);
        self.ring.rx().not_full.notify_one_after_rmw();
    }

    fn not_empty(&self) -> &Event {
        &self.ring.tx().not_empty
    }

    fn not_full(&self) -> &Event {
        Queue::not_full(&*self.ring)
    }

    fn close(&self) -> bool {
        let closed = Queue::close(&*self.ring);
        if closed {
            // After the ring's own mark: a send that reads this still runs into that mark.
            // `fetch_or`: the SPSC producer may have raised it already (see `lamport.rs`).
            self.ring
                .tx()
                .detour
                .fetch_or(DETOUR_CLOSED, Ordering::SeqCst);
            // Serialise with in-flight spill pushes (they check the mark under the lock).
            drop(
                self.ring
                    .rx()
                    .spill
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()),
            );
            self.ring.tx().not_empty.notify_all();
            self.ring.rx().not_full.notify_all();
        }
        closed
    }

    fn is_closed(&self) -> bool {
        self.ring.tail_word() & CLOSED != 0
    }

    fn policy(&self) -> Policy {
        self.ring.tx().policy
    }

    fn send_ready(&self) -> bool {
        self.ring.tx().policy != Policy::Block || self.is_closed() || self.has_unreserved_room()
    }

    fn len(&self) -> usize {
        Queue::len(&*self.ring) + self.ring.tx().spilled.load(Ordering::Acquire)
    }

    fn capacity(&self) -> usize {
        Queue::capacity(&*self.ring)
    }

    fn stats(&self) -> Stats {
        let spill = self
            .ring
            .rx()
            .spill
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let ring_in = (self.ring.tail_word() & !CLOSED) / ONE;
        let ring_out = self.ring.head_word() / ONE;
        Stats {
            sent: ring_in.wrapping_add(spill.pushed) as u64,
            received: ring_out
                .wrapping_add(spill.popped)
                .wrapping_sub(self.ring.tx().evicted.load(Ordering::Relaxed))
                as u64,
            dropped: self.ring.tx().dropped.load(Ordering::Relaxed) as u64,
        }
    }

    fn senders(&self) -> &AtomicUsize {
        &self.ring.tx().senders
    }

    fn receivers(&self) -> &AtomicUsize {
        Queue::receivers(&*self.ring)
    }

    fn addr(&self) -> *const () {
        Arc::as_ptr(&self.ring).cast()
    }

    fn slot_memory(&self) -> &crate::SlotMemory {
        Queue::slot_memory(&*self.ring)
    }
}

/// The ring said full: apply the policy.
///
/// # Safety
/// Producer-side contract of [`Queue`].
#[inline(never)]
unsafe fn on_full<T: Send, Q: Queue<T>>(
    q: &Q,
    cur: &Q::Cursor,
    mut value: T,
) -> Result<(), TrySendError<T>> {
    let tx = q.tx();
    if tx.policy == Policy::Block {
        return Err(TrySendError::Full(value));
    }
    loop {
        // A push judges "full" from its slot alone (see `stamped.rs`); by the positions the
        // ring may have room, with a consumer still reading that slot. The policies apply
        // to a full ring only: wait for the slot rather than drop, evict or spill a value
        // the ring has room for.
        let backoff = Backoff::new();
        while q.room_in_flight(cur) {
            backoff.snooze();
            // SAFETY: forwarded contract.
            match unsafe { push_decided(q, cur, value) } {
                Ok(decided) => return decided,
                Err(v) => value = v,
            }
        }
        match tx.policy {
            Policy::Block => return Err(TrySendError::Full(value)),
            Policy::DropNewest => {
                tx.dropped.fetch_add(1, Ordering::Relaxed);
                drop(value);
                return Ok(());
            }
            Policy::DropOldest => {
                // SAFETY: DropOldest rings are built evicting; producer contract forwarded.
                match unsafe { q.evict() } {
                    Some(old) => {
                        tx.dropped.fetch_add(1, Ordering::Relaxed);
                        tx.evicted.fetch_add(1, Ordering::Relaxed);
                        drop(old);
                    }
                    // Nothing in the ring to evict, and permits (or their spilled values) own
                    // every slot: the new value is dropped, as in `send_slow`. Never a
                    // permit's capacity: its value is not in the ring until it is sent.
                    None if Queue::len(q) == 0 && !q.room_in_flight(cur) => {
                        if q.tail_word() & CLOSED != 0 {
                            return Err(TrySendError::Closed(value));
                        }
                        tx.dropped.fetch_add(1, Ordering::Relaxed);
                        drop(value);
                        return Ok(());
                    }
                    None => {}
                }
                // SAFETY: forwarded contract.
                match unsafe { push_decided(q, cur, value) } {
                    Ok(decided) => return decided,
                    Err(v) => value = v,
                }
            }
            Policy::Overflow => {
                return match spill(q, value) {
                    Ok(()) => {
                        tx.not_empty.notify_one();
                        Ok(())
                    }
                    Err(v) => Err(TrySendError::Closed(v)),
                };
            }
        }
    }
}

/// One push of [`on_full`]'s loops: `Ok` with the send's result once it is decided (sent, and
/// a receiver notified, or closed), `Err(value)` back if the slot is still not free.
///
/// # Safety
/// Producer-side contract of [`Queue`].
unsafe fn push_decided<T: Send, Q: Queue<T>>(
    q: &Q,
    cur: &Q::Cursor,
    value: T,
) -> Result<Result<(), TrySendError<T>>, T> {
    // SAFETY: forwarded contract.
    match unsafe { q.push(cur, value) } {
        Push::Done => {
            q.tx().not_empty.notify_one_after_claim();
            Ok(Ok(()))
        }
        Push::Full(v) => Err(v),
        Push::Closed(v) => Ok(Err(TrySendError::Closed(v))),
    }
}

/// Sends while the spill holds values or permits are outstanding.
///
/// # Safety
/// Producer-side contract of [`Queue`].
#[cold]
unsafe fn send_slow<T: Send, Q: Queue<T>>(
    q: &Q,
    cur: &Q::Cursor,
    value: T,
) -> Result<(), TrySendError<T>> {
    let tx = q.tx();
    if q.tail_word() & CLOSED != 0 {
        // Closed beats full: never report `Full`, drop or evict on a closed channel.
        return Err(TrySendError::Closed(value));
    }
    if tx.spilled.load(Ordering::SeqCst) != 0 {
        // Keep FIFO: while older values wait in the spill, newer ones queue behind them.
        let full =
            Queue::len(q) + tx.spilled.load(Ordering::SeqCst) + tx.reserved.load(Ordering::SeqCst)
                >= q.capacity();
        if !full || tx.policy == Policy::Overflow {
            return match spill(q, value) {
                Ok(()) => {
                    tx.not_empty.notify_one();
                    Ok(())
                }
                Err(v) => Err(TrySendError::Closed(v)),
            };
        }
        return match tx.policy {
            Policy::DropNewest | Policy::DropOldest => {
                // Full while permit values wait in the spill: evicting from the ring would
                // reorder around them, so both lossy policies drop the new value here
                // (documented on `Policy::DropOldest`).
                tx.dropped.fetch_add(1, Ordering::Relaxed);
                drop(value);
                Ok(())
            }
            _ => Err(TrySendError::Full(value)),
        };
    }
    // Permits outstanding: they own part of the capacity.
    let reserved = tx.reserved.load(Ordering::SeqCst);
    if reserved != 0 && Queue::len(q) + reserved >= q.capacity() {
        if tx.policy == Policy::DropOldest && Queue::len(q) == 0 {
            // Every slot is reserved and nothing is buffered: there is no older value to
            // evict, and pushing would take a permit's slot. The new value is dropped.
            tx.dropped.fetch_add(1, Ordering::Relaxed);
            drop(value);
            return Ok(());
        }
        // SAFETY: forwarded contract.
        return unsafe { on_full(q, cur, value) };
    }
    // SAFETY: forwarded contract.
    match unsafe { q.push(cur, value) } {
        Push::Done => {
            tx.not_empty.notify_one_after_claim();
            Ok(())
        }
        // SAFETY: forwarded contract.
        Push::Full(value) => unsafe { on_full(q, cur, value) },
        Push::Closed(value) => Err(TrySendError::Closed(value)),
    }
}

/// Appends to the spill queue unless the channel is closed.
fn spill<T, Q: Queue<T>>(q: &Q, value: T) -> Result<(), T> {
    let mut spill = q.rx().spill.lock().unwrap_or_else(|e| e.into_inner());
    if q.tail_word() & CLOSED != 0 {
        return Err(value);
    }
    spill.values.push_back(value);
    count_spilled(q.tx(), &mut spill, 1);
    Ok(())
}

/// Counts `n` values just added to the spill, under its lock: its lifetime total, then a
/// `detour` unit each before the `spilled` count, so the `detour` word is never zero while a
/// spilled value waits (see [`TxShared::detour`]).
fn count_spilled<T>(tx: &TxShared, spill: &mut Spill<T>, n: usize) {
    spill.pushed = spill.pushed.wrapping_add(n);
    tx.detour.fetch_add(n, Ordering::SeqCst);
    tx.spilled.fetch_add(n, Ordering::SeqCst);
}

/// Counts `n` values just taken from the spill, under its lock: the reverse of
/// [`count_spilled`] (the `spilled` count first, then the `detour` units).
fn count_unspilled<T>(tx: &TxShared, spill: &mut Spill<T>, n: usize) {
    spill.popped = spill.popped.wrapping_add(n);
    tx.spilled.fetch_sub(n, Ordering::SeqCst);
    tx.detour.fetch_sub(n, Ordering::SeqCst);
}

/// Appends every value of `items` to the spill queue, in order, unless the channel is
/// closed (then nothing moves: `Err`). Returns how many moved.
fn spill_batch<T, Q: Queue<T>>(q: &Q, items: &mut Vec<T>) -> Result<usize, ()> {
    let mut spill = q.rx().spill.lock().unwrap_or_else(|e| e.into_inner());
    if q.tail_word() & CLOSED != 0 {
        return Err(());
    }
    let n = items.len();
    spill.values.extend(items.drain(..));
    count_spilled(q.tx(), &mut spill, n);
    drop(spill);
    if n > 0 {
        q.tx().not_empty.notify_n(n);
    }
    Ok(n)
}

/// Takes the next value after the ring's pop found it empty (or closed and drained), while
/// values are spilled: a value that reached the ring meanwhile, or else the oldest spilled
/// one (see [`take_spilled_locked`]). The check is inlined: a receiver polling an empty
/// channel pays one load, not a call.
///
/// # Safety
/// Consumer-side contract of [`Queue`]; `cur` is the calling consumer's cursor.
#[inline]
unsafe fn take_spilled<T, Q: Queue<T>>(q: &Q, cur: &Q::Cursor) -> Option<T> {
    if q.tx().spilled.load(Ordering::SeqCst) == 0 {
        return None;
    }
    // SAFETY: forwarded contract.
    unsafe { take_spilled_locked(q, cur) }
}

/// [`take_spilled`] once the spill holds values: under its lock, the ring first.
///
/// Per-producer FIFO: a producer publishes (stamped rings: claims) value `k` in the ring
/// before it takes the spill lock to spill `k + 1` (a later send goes to the spill only
/// after finding the ring full, or while the spill holds values). So under the lock, after
/// the lock's acquire, the ring shows `k` unless a receive has claimed it: a pop sees it
/// (the Lamport ring reads the published tail; a stamped ring reads `k`'s stamp, or its
/// claimed position if an older position at the head is still being written). Only when the
/// ring holds nothing by its positions is the spill's front the oldest value left.
/// Returns `None` (the caller answers `Empty`) while a value claimed in the ring is still
/// being written: the waiting receives treat that as a value in flight and retry.
///
/// # Safety
/// As for [`take_spilled`].
#[cold]
unsafe fn take_spilled_locked<T, Q: Queue<T>>(q: &Q, cur: &Q::Cursor) -> Option<T> {
    let mut spill = q.rx().spill.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: forwarded contract (a consumer-side pop, by the calling consumer).
    match unsafe { q.pop(cur) } {
        Pop::Item(value) => {
            drop(spill);
            q.rx().not_full.notify_one_after_claim();
            return Some(value);
        }
        Pop::Empty if q.value_in_flight(cur) => return None,
        Pop::Empty | Pop::Closed => {}
    }
    let value = spill.values.pop_front()?;
    count_unspilled(q.tx(), &mut spill, 1);
    drop(spill);
    q.rx().not_full.notify_one_after_rmw();
    Some(value)
}

/// [`take_spilled`] for a batch receive: appends up to `max` values to `out` (ring values
/// that arrived meanwhile, or else spilled ones, by the same rule) and returns how many.
///
/// # Safety
/// As for [`take_spilled`].
#[inline]
unsafe fn take_spilled_batch<T, Q: Queue<T>>(
    q: &Q,
    cur: &Q::Cursor,
    out: &mut Vec<T>,
    max: usize,
) -> usize {
    if q.tx().spilled.load(Ordering::SeqCst) == 0 {
        return 0;
    }
    // SAFETY: forwarded contract.
    unsafe { take_spilled_batch_locked(q, cur, out, max) }
}

/// [`take_spilled_batch`] once the spill holds values (see [`take_spilled_locked`]).
///
/// # Safety
/// As for [`take_spilled`].
#[cold]
unsafe fn take_spilled_batch_locked<T, Q: Queue<T>>(
    q: &Q,
    cur: &Q::Cursor,
    out: &mut Vec<T>,
    max: usize,
) -> usize {
    let mut spill = q.rx().spill.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: forwarded contract (a consumer-side pop, by the calling consumer).
    match unsafe { q.pop_batch(cur, out, max) } {
        Ok(0) if q.value_in_flight(cur) => return 0,
        Ok(0) | Err(()) => {}
        Ok(n) => {
            drop(spill);
            q.rx().not_full.notify_n_after_claim(n);
            return n;
        }
    }
    let n = max.min(spill.values.len());
    out.extend(spill.values.drain(..n));
    count_unspilled(q.tx(), &mut spill, n);
    drop(spill);
    if n > 0 {
        q.rx().not_full.notify_n_after_rmw(n);
    }
    n
}

#[cfg(all(test, not(nimsync_loom)))]
mod tests {
    use super::{Chan, DETOUR_CLOSED, RawChan, new_chan, take_spilled, take_spilled_batch};
    use crate::Policy;
    use crate::error::TrySendError;
    use crate::queue::lamport::LamportRing;
    use crate::queue::stamped::StampedRing;
    use crate::queue::{Pop, Queue};
    use crate::sync::Ordering;

    fn detour<Q: Queue<u32>>(chan: &Chan<u32, Q>) -> usize {
        chan.ring.tx().detour.load(Ordering::SeqCst)
    }

    /// Every spilled value and permit raises the detour word while it exists and gives its
    /// unit back afterwards (a unit left behind would keep every later send off the fast
    /// path, which no functional test would notice); closing sets the closed bit for good.
    fn detour_tracks_spills_permits_and_close<Q: Queue<u32>>() {
        let chan = new_chan::<u32, Q>(2, Policy::Overflow);
        // SAFETY: one thread plays both sides, one call at a time, so no two producer or two
        // consumer calls overlap.
        unsafe {
            assert_eq!(detour(&chan), 0);
            for v in 0..4 {
                chan.try_send(v).unwrap();
            }
            // Two in the ring, two spilled.
            assert_eq!(detour(&chan), 2);
            for v in 0..4 {
                assert_eq!(chan.try_recv(), Ok(v));
            }
            assert_eq!(detour(&chan), 0);

            chan.try_reserve().unwrap();
            chan.try_reserve().unwrap();
            assert_eq!(detour(&chan), 2);
            chan.send_reserved(7);
            chan.release_reserved();
            assert_eq!(detour(&chan), 0);
            assert_eq!(chan.try_recv(), Ok(7));

            assert!(chan.close());
            assert_eq!(detour(&chan), DETOUR_CLOSED);
            assert!(matches!(chan.try_send(8), Err(TrySendError::Closed(8))));
            assert!(!chan.close());
            assert_eq!(detour(&chan), DETOUR_CLOSED);
        }
    }

    /// The spill step of a receive whose ring pop found the ring empty, replayed on one
    /// thread: the producer then sent 1 (into the ring) and 2 (full: spilled). The step
    /// must return 1, the ring's value, ahead of the later spilled one (per-producer FIFO;
    /// the loom models in `tests/loom.rs` find the interleaving on threads). Batch receives
    /// likewise.
    fn the_spill_step_takes_a_value_that_reached_the_ring_first<Q: Queue<u32>>() {
        let chan = new_chan::<u32, Q>(1, Policy::Overflow);
        let mut out = Vec::new();
        // SAFETY: one thread plays both sides, one call at a time.
        unsafe {
            assert!(matches!(chan.ring.pop(&chan.cursor), Pop::Empty));
            chan.try_send(1).unwrap();
            chan.try_send(2).unwrap();
            assert_eq!(take_spilled(&*chan.ring, &chan.cursor), Some(1));
            assert_eq!(chan.try_recv(), Ok(2));

            assert!(matches!(
                chan.ring.pop_batch(&chan.cursor, &mut out, 4),
                Ok(0)
            ));
            chan.try_send(3).unwrap();
            chan.try_send(4).unwrap();
            assert_eq!(
                take_spilled_batch(&*chan.ring, &chan.cursor, &mut out, 4),
                1
            );
            assert_eq!(chan.try_recv_batch(&mut out, 4), Ok(1));
            assert_eq!(out, [3, 4]);
            assert_eq!(detour(&chan), 0);
        }
    }

    #[test]
    fn the_spill_step_keeps_fifo_on_every_ring() {
        if crate::barrier::init() {
            the_spill_step_takes_a_value_that_reached_the_ring_first::<LamportRing<u32>>();
        }
        the_spill_step_takes_a_value_that_reached_the_ring_first::<StampedRing<u32, false, false>>(
        );
        the_spill_step_takes_a_value_that_reached_the_ring_first::<StampedRing<u32, true, false>>();
        the_spill_step_takes_a_value_that_reached_the_ring_first::<StampedRing<u32, false, true>>();
        the_spill_step_takes_a_value_that_reached_the_ring_first::<StampedRing<u32, true, true>>();
    }

    /// A `DropOldest` send whose push found the ring full before a receive emptied it and
    /// a permit took the only slot (replayed on one thread: `on_full` after the permit)
    /// drops its value instead of waiting in the eviction for the permit to resolve. On a
    /// thread, with a receive as the failure detector: it spun until the permit was gone.
    #[test]
    fn a_drop_oldest_send_drops_its_value_when_permits_own_every_slot() {
        let chan = new_chan::<u32, StampedRing<u32, true, true>>(1, Policy::DropOldest);
        chan.try_reserve().unwrap();
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            s.spawn(|| {
                // SAFETY: this thread makes the only producer call.
                let sent = unsafe { super::on_full(&*chan.ring, &chan.cursor, 5) };
                done.send(sent.is_ok()).unwrap();
            });
            let sent = finished.recv_timeout(std::time::Duration::from_secs(10));
            // Release the permit either way, so a spinning send ends and the scope joins.
            chan.release_reserved();
            assert_eq!(sent, Ok(true), "the send waited for the permit");
        });
        assert_eq!(chan.stats().dropped, 1);
        // SAFETY: one thread, one call at a time.
        assert!(unsafe { chan.try_recv() }.is_err());
    }

    #[test]
    fn detour_word_spsc_ring() {
        // The Lamport ring needs the asymmetric barrier (the SPSC constructor falls back to
        // the stamped ring without it).
        if crate::barrier::init() {
            detour_tracks_spills_permits_and_close::<LamportRing<u32>>();
        }
    }

    #[test]
    fn detour_word_stamped_rings() {
        detour_tracks_spills_permits_and_close::<StampedRing<u32, false, false>>();
        detour_tracks_spills_permits_and_close::<StampedRing<u32, true, true>>();
    }
}
