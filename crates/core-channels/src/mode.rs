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
use crate::chan::{Chan, RawChan, new_chan};
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
            SpscChan::Stamped(new_chan(capacity, policy))
        } else {
            SpscChan::Lamport(new_chan(capacity, policy))
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
/// no `membarrier` to pair with. The branch is on the handle, not in the header.
#[doc(hidden)]
pub enum SpscChan<T: Send> {
    Lamport(Chan<T, LamportRing<T>>),
    Stamped(Chan<T, StampedRing<T, false, false>>),
}

impl<T: Send> Clone for SpscChan<T> {
    fn clone(&self) -> Self {
        match self {
            Self::Lamport(c) => Self::Lamport(c.clone()),
            Self::Stamped(c) => Self::Stamped(c.clone()),
        }
    }
}

macro_rules! delegate {
    ($self:ident, $c:ident => $e:expr) => {
        match $self {
            SpscChan::Lamport($c) => $e,
            SpscChan::Stamped($c) => $e,
        }
    };
}

impl<T: Send> RawChan<T> for SpscChan<T> {
    // The Lamport ring's choice. The stamped fallback (`DropOldest`, or no `membarrier`)
    // yields too, so the choice stays a constant; yielding is correct on any ring.
    const BEFORE_ASYNC_WAIT: BeforeAsyncWait = BeforeAsyncWait::Yield;

    #[inline(always)]
    unsafe fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        // SAFETY: forwarded contract.
        delegate!(self, c => unsafe { c.try_send(value) })
    }
    unsafe fn try_send_batch(&self, items: &mut Vec<T>) -> Result<usize, ()> {
        // SAFETY: forwarded contract.
        delegate!(self, c => unsafe { c.try_send_batch(items) })
    }
    #[inline(always)]
    unsafe fn try_recv(&self) -> Result<T, TryRecvError> {
        // SAFETY: forwarded contract.
        delegate!(self, c => unsafe { c.try_recv() })
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
        SpscChan::Stamped(new_chan(capacity, Policy::Block))
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
