//! Channel modes as types: which sides may be shared, and which ring each mode runs on.
//!
//! | mode | ring | producers | consumers |
//! |---|---|---|---|
//! | [`Spsc`] | Lamport ring, cached indices (stamped ring under `DropOldest`, or without `membarrier`) | 1 | 1 |
//! | [`Mpsc`] | stamped ring, CAS tail, swap head | many | 1 |
//! | [`Spmc`] | stamped ring, non-retrying tail, CAS head | 1 | many |
//! | [`Mpmc`] | stamped ring, CAS tail, CAS head | many | many |
//!
//! A single side's handle is neither `Clone` nor usable through `&self` for operations that
//! move values, so the type system enforces the mode.

use crate::Policy;
use crate::chan::{Chan, RawChan, new_chan, sealed_lamport_chan};
use crate::error::{TryRecvError, TryReserveError, TrySendError};
use crate::event::Event;
use crate::queue::BeforeAsyncWait;
use crate::queue::lamport::LamportRing;
use crate::queue::stamped::StampedRing;
use crate::stats::Stats;
use crate::sync::AtomicUsize;

mod sealed {
    pub trait Sealed {}
}

/// A channel mode: one of [`Spsc`], [`Mpsc`], [`Spmc`], [`Mpmc`]. Sealed.
pub trait Mode: sealed::Sealed + Send + Sync + Sized + 'static {
    /// Whether the sender is `Clone` and sends through `&self`.
    const MULTI_PRODUCER: bool;
    /// Whether the receiver is `Clone` and receives through `&self`.
    const MULTI_CONSUMER: bool;
    /// Short name, e.g. `"spsc"`.
    const NAME: &'static str;

    #[doc(hidden)]
    type Chan<T: Send>: RawChan<T>;

    #[doc(hidden)]
    fn new_chan<T: Send>(capacity: usize, policy: Policy) -> Self::Chan<T>;

    /// Bytes of the shared channel header (everything but the slot array), for `u64` values.
    #[doc(hidden)]
    fn header_size() -> usize;
}

/// Single producer, single consumer.
#[derive(Debug)]
pub enum Spsc {}
/// Many producers, single consumer.
#[derive(Debug)]
pub enum Mpsc {}
/// Single producer, many consumers.
#[derive(Debug)]
pub enum Spmc {}
/// Many producers, many consumers.
#[derive(Debug)]
pub enum Mpmc {}

impl sealed::Sealed for Spsc {}
impl sealed::Sealed for Mpsc {}
impl sealed::Sealed for Spmc {}
impl sealed::Sealed for Mpmc {}

impl Mode for Spsc {
    const MULTI_PRODUCER: bool = false;
    const MULTI_CONSUMER: bool = false;
    const NAME: &'static str = "spsc";
    type Chan<T: Send> = SpscChan<T>;

    fn new_chan<T: Send>(capacity: usize, policy: Policy) -> SpscChan<T> {
        // The Lamport ring cannot evict, and it publishes with the light half of an asymmetric
        // barrier pair, which needs the `membarrier` system call (see `barrier.rs`).
        if policy == Policy::DropOldest || !crate::barrier::init() {
            SpscChan::on_stamped(new_chan(capacity, policy))
        } else {
            SpscChan::on_lamport(new_chan(capacity, policy))
        }
    }

    fn header_size() -> usize {
        size_of::<LamportRing<u64>>().max(size_of::<StampedRing<u64, false, false>>())
    }
}

impl Mode for Mpsc {
    const MULTI_PRODUCER: bool = true;
    const MULTI_CONSUMER: bool = false;
    const NAME: &'static str = "mpsc";
    type Chan<T: Send> = Chan<T, StampedRing<T, true, false>>;

    fn new_chan<T: Send>(capacity: usize, policy: Policy) -> Self::Chan<T> {
        new_chan(capacity, policy)
    }

    fn header_size() -> usize {
        size_of::<StampedRing<u64, true, false>>()
    }
}

impl Mode for Spmc {
    const MULTI_PRODUCER: bool = false;
    const MULTI_CONSUMER: bool = true;
    const NAME: &'static str = "spmc";
    type Chan<T: Send> = Chan<T, StampedRing<T, false, true>>;

    fn new_chan<T: Send>(capacity: usize, policy: Policy) -> Self::Chan<T> {
        new_chan(capacity, policy)
    }

    fn header_size() -> usize {
        size_of::<StampedRing<u64, false, true>>()
    }
}

impl Mode for Mpmc {
    const MULTI_PRODUCER: bool = true;
    const MULTI_CONSUMER: bool = true;
    const NAME: &'static str = "mpmc";
    type Chan<T: Send> = Chan<T, StampedRing<T, true, true>>;

    fn new_chan<T: Send>(capacity: usize, policy: Policy) -> Self::Chan<T> {
        new_chan(capacity, policy)
    }

    fn header_size() -> usize {
        size_of::<StampedRing<u64, true, true>>()
    }
}

/// The SPSC channel: the Lamport ring, or the stamped ring for `DropOldest` (where the producer
/// must be able to take the oldest value) and where the Lamport ring's asymmetric barrier has
/// no `membarrier` to pair with. The choice is on the handle, not in the header.
///
/// The fast paths carry no branch for it: a channel on the stamped ring keeps a *sealed*
/// Lamport channel in `lamport` (closed, empty, one slot, its end agreed:
/// [`crate::chan::sealed_lamport_chan`]), so `try_send` and `try_recv` always start on
/// `lamport`, and only their slow paths (a raised `detour` word; closed and drained) ask
/// whether the stamped ring is there. Every other operation picks the ring by `stamped`.
/// (Dispatching on an enum instead cost 10 of 64 instructions per same-thread send + receive
/// pair in the bench's loop, and about a fifth of that bench's rate: see
/// `docs/design/channels.md`.)
#[doc(hidden)]
pub struct SpscChan<T: Send> {
    /// The Lamport ring; the sealed stand-in when `stamped` is set.
    lamport: Chan<T, LamportRing<T>>,
    /// The stamped ring, when the channel runs on it.
    stamped: Option<Chan<T, StampedRing<T, false, false>>>,
}

impl<T: Send> SpscChan<T> {
    fn on_lamport(lamport: Chan<T, LamportRing<T>>) -> Self {
        Self {
            lamport,
            stamped: None,
        }
    }

    fn on_stamped(stamped: Chan<T, StampedRing<T, false, false>>) -> Self {
        Self {
            lamport: sealed_lamport_chan(),
            stamped: Some(stamped),
        }
    }

    /// `try_send` when the Lamport ring's `detour` word is raised: the stamped ring's answer
    /// if the channel runs on it, the Lamport ring's slow path otherwise.
    ///
    /// # Safety
    /// As for [`RawChan::try_send`].
    #[cold]
    unsafe fn send_detour(&self, value: T) -> Result<(), TrySendError<T>> {
        match &self.stamped {
            // SAFETY: forwarded contract.
            Some(c) => unsafe { c.try_send(value) },
            // SAFETY: forwarded contract.
            None => unsafe { self.lamport.send_detour(value) },
        }
    }

    /// `try_recv` once the Lamport ring is closed and drained (as above).
    ///
    /// # Safety
    /// As for [`RawChan::try_recv`].
    #[cold]
    unsafe fn recv_closed(&self) -> Result<T, TryRecvError> {
        match &self.stamped {
            // SAFETY: forwarded contract.
            Some(c) => unsafe { c.try_recv() },
            // SAFETY: forwarded contract.
            None => unsafe { self.lamport.recv_closed() },
        }
    }
}

impl<T: Send> Clone for SpscChan<T> {
    fn clone(&self) -> Self {
        Self {
            lamport: self.lamport.clone(),
            stamped: self.stamped.clone(),
        }
    }
}

/// Runs `$e` with `$c` bound to the ring the channel runs on.
macro_rules! delegate {
    ($self:ident, $c:ident => $e:expr) => {
        match &$self.stamped {
            Some($c) => $e,
            None => {
                let $c = &$self.lamport;
                $e
            }
        }
    };
}

impl<T: Send> RawChan<T> for SpscChan<T> {
    // The Lamport ring's choice. The stamped fallback (`DropOldest`, or no `membarrier`)
    // yields too, so the choice stays a constant; yielding is correct on any ring.
    const BEFORE_ASYNC_WAIT: BeforeAsyncWait = BeforeAsyncWait::Yield;

    #[inline(always)]
    unsafe fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        // SAFETY: forwarded contract (the sealed stand-in raises `detour`, so the stamped
        // ring is only reached through it).
        unsafe {
            self.lamport
                .try_send_or(value, |value| self.send_detour(value))
        }
    }
    unsafe fn try_send_batch(&self, items: &mut Vec<T>) -> Result<usize, ()> {
        // SAFETY: forwarded contract.
        delegate!(self, c => unsafe { c.try_send_batch(items) })
    }
    #[inline(always)]
    unsafe fn try_recv(&self) -> Result<T, TryRecvError> {
        // SAFETY: forwarded contract (the sealed stand-in is closed and drained, so the
        // stamped ring is only reached through its answer).
        unsafe { self.lamport.try_recv_or(|| self.recv_closed()) }
    }
    unsafe fn try_recv_batch(&self, out: &mut Vec<T>, max: usize) -> Result<usize, ()> {
        // SAFETY: forwarded contract.
        delegate!(self, c => unsafe { c.try_recv_batch(out, max) })
    }
    fn value_in_flight(&self) -> bool {
        delegate!(self, c => c.value_in_flight())
    }
    fn room_in_flight(&self) -> bool {
        delegate!(self, c => c.room_in_flight())
    }
    fn try_reserve(&self) -> Result<(), TryReserveError> {
        delegate!(self, c => c.try_reserve())
    }
    unsafe fn send_reserved(&self, value: T) {
        // SAFETY: forwarded contract.
        delegate!(self, c => unsafe { c.send_reserved(value) })
    }
    fn release_reserved(&self) {
        delegate!(self, c => c.release_reserved())
    }
    fn not_empty(&self) -> &Event {
        delegate!(self, c => c.not_empty())
    }
    fn not_full(&self) -> &Event {
        delegate!(self, c => c.not_full())
    }
    fn close(&self) -> bool {
        delegate!(self, c => RawChan::close(c))
    }
    fn is_closed(&self) -> bool {
        delegate!(self, c => c.is_closed())
    }
    fn policy(&self) -> Policy {
        delegate!(self, c => c.policy())
    }
    fn send_ready(&self) -> bool {
        delegate!(self, c => c.send_ready())
    }
    fn len(&self) -> usize {
        delegate!(self, c => RawChan::len(c))
    }
    fn capacity(&self) -> usize {
        delegate!(self, c => RawChan::capacity(c))
    }
    fn stats(&self) -> Stats {
        delegate!(self, c => c.stats())
    }
    fn senders(&self) -> &AtomicUsize {
        delegate!(self, c => c.senders())
    }
    fn receivers(&self) -> &AtomicUsize {
        delegate!(self, c => c.receivers())
    }
    fn addr(&self) -> *const () {
        delegate!(self, c => c.addr())
    }
    fn slot_memory(&self) -> &crate::SlotMemory {
        delegate!(self, c => RawChan::slot_memory(c))
    }
}

#[cfg(all(test, not(nimsync_loom)))]
mod tests {
    use super::*;
    use crate::wait;

    /// The SPSC channel on the stamped ring with a non-evicting policy: what `spsc()` builds
    /// where `membarrier` is missing. Linux CI never picks it, so it is built directly here.
    fn stamped(capacity: usize) -> SpscChan<u64> {
        SpscChan::on_stamped(new_chan(capacity, Policy::Block))
    }

    #[test]
    fn stamped_spsc_fills_drains_in_order_and_closes() {
        let chan = stamped(4);
        // SAFETY: one thread plays both single sides, one call at a time.
        unsafe {
            for i in 0..4 {
                assert!(chan.try_send(i).is_ok());
            }
            assert!(matches!(chan.try_send(9), Err(TrySendError::Full(9))));
            assert_eq!(chan.len(), 4);
            for i in 0..2 {
                assert_eq!(chan.try_recv().ok(), Some(i));
            }
            assert!(chan.try_send(4).is_ok());
            assert!(chan.close());
            assert!(matches!(chan.try_send(5), Err(TrySendError::Closed(5))));
            for i in 2..5 {
                assert_eq!(chan.try_recv().ok(), Some(i));
            }
            assert!(matches!(chan.try_recv(), Err(TryRecvError::Closed)));
        }
    }

    #[test]
    fn a_sealed_lamport_channel_refuses_everything_at_once() {
        let chan = sealed_lamport_chan::<String>();
        assert!(chan.is_closed());
        // SAFETY: one thread plays both single sides, one call at a time.
        unsafe {
            assert!(matches!(chan.try_send("a".into()), Err(TrySendError::Closed(v)) if v == "a"));
            assert!(matches!(chan.try_recv(), Err(TryRecvError::Closed)));
            // A cursor made after the end was agreed starts ended.
            let again = chan.clone();
            assert!(matches!(again.try_recv(), Err(TryRecvError::Closed)));
        }
        assert_eq!(RawChan::len(&chan), 0);
    }

    #[test]
    fn an_spsc_channel_on_the_stamped_ring_goes_through_the_sealed_stand_in() {
        let chan = stamped(2);
        assert!(chan.stamped.is_some() && chan.lamport.is_closed());
        // SAFETY: one thread plays both single sides, one call at a time.
        unsafe {
            assert!(chan.try_send(1).is_ok());
            assert_eq!(chan.len(), 1);
            assert!(!chan.is_closed());
            assert_eq!(chan.try_recv().ok(), Some(1));
            assert!(matches!(chan.try_recv(), Err(TryRecvError::Empty)));
        }
    }

    #[test]
    fn drop_oldest_runs_spsc_on_the_stamped_ring_and_evicts() {
        let chan = Spsc::new_chan::<u64>(2, Policy::DropOldest);
        assert!(chan.stamped.is_some());
        // SAFETY: one thread plays both single sides, one call at a time.
        unsafe {
            for i in 0..3 {
                assert!(chan.try_send(i).is_ok());
            }
            assert_eq!(chan.try_recv().ok(), Some(1));
            assert_eq!(chan.try_recv().ok(), Some(2));
        }
        assert_eq!(chan.stats().dropped, 1);
    }

    #[test]
    fn lamport_spsc_closes_through_its_own_slow_paths() {
        let chan = Spsc::new_chan::<u64>(2, Policy::Block);
        assert!(chan.stamped.is_none());
        // SAFETY: one thread plays both single sides, one call at a time.
        unsafe {
            assert!(chan.try_send(7).is_ok());
            assert!(chan.close());
            assert!(matches!(chan.try_send(8), Err(TrySendError::Closed(8))));
            assert_eq!(chan.try_recv().ok(), Some(7));
            assert!(matches!(chan.try_recv(), Err(TryRecvError::Closed)));
        }
    }

    #[test]
    fn stamped_spsc_blocking_handoff_across_threads_loses_nothing() {
        const N: u64 = 100_000;
        let tx = stamped(16);
        let rx = tx.clone();
        std::thread::scope(|s| {
            s.spawn(|| {
                for i in 0..N {
                    // SAFETY: this thread is the only producer.
                    assert!(unsafe { wait::send(&tx, i, None) }.is_ok());
                }
                tx.close();
            });
            for i in 0..N {
                // SAFETY: this thread is the only consumer.
                assert_eq!(unsafe { wait::recv(&rx, None) }.ok(), Some(i));
            }
            // SAFETY: as above.
            assert!(unsafe { wait::recv(&rx, None) }.is_err());
        });
    }
}
