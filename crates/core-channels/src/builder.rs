//! Channel construction: capacity rules, overflow policies and the [`Builder`].

use crate::error::BuildError;
use crate::mode::{Mode, Mpmc, Mpsc, Spmc, Spsc};
use crate::{Receiver, Sender};

/// The largest capacity a channel accepts (2^30 slots).
///
/// Requested capacities are rounded up to the next power of two, so any request up to this
/// value is valid.
pub const MAX_CAPACITY: usize = 1 << 30;

/// What a send does when the channel is full.
///
/// Batch sends (`try_send_batch`, `send_batch_blocking`, `send_batch`) apply it too, to the
/// values that do not fit, as the same single sends in a row would; so under any policy
/// other than `Block` no send ever waits.
///
/// ```
/// use nimsync_core_channels::{Builder, Policy};
/// let (tx, rx) = Builder::new(2).policy(Policy::DropOldest).mpmc::<u32>().unwrap();
/// for i in 0..5 {
///     tx.try_send(i).unwrap(); // never full: the oldest value makes room
/// }
/// assert_eq!(rx.try_recv(), Ok(3));
/// assert_eq!(rx.try_recv(), Ok(4));
/// assert_eq!(tx.stats().dropped, 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// Wait for room (the default): `try_send` reports `Full`, waiting sends wait.
    #[default]
    Block,
    /// Discard the value being sent and count it in `stats().dropped`; the send succeeds.
    DropNewest,
    /// Evict the oldest buffered value (counted in `stats().dropped`) to make room; the send
    /// succeeds. Rings with a single consumer then arbitrate every receive with a CAS, and an
    /// SPSC channel uses the stamped ring instead of the Lamport ring.
    ///
    /// Only a value in the ring is ever evicted. Capacity held by a [`Permit`](crate::Permit)
    /// is not: the permit's value is not in the channel until it is sent, and its send never
    /// fails. So when permits own every free slot and the ring holds nothing to evict, the
    /// new value is dropped instead (counted in `stats().dropped`), without waiting for the
    /// permits; likewise while values from lost permit races wait in the spill queue (no
    /// reordering around them).
    ///
    /// A send that races a `close()` may evict the oldest value and then fail with `Closed`
    /// (its own value returned): the evicted value stays dropped and counted. A ring slot
    /// cannot be given back to the head once a receiver may have moved past it.
    DropOldest,
    /// Never refuse: values beyond capacity go to an unbounded spill queue (a mutex-guarded
    /// `VecDeque`), drained after the ring; FIFO per producer is kept. `len()` counts both.
    Overflow,
}

/// Rounds a requested capacity: at least 1, up to the next power of two.
pub(crate) fn effective_capacity(requested: usize) -> Result<usize, BuildError> {
    if requested == 0 {
        return Err(BuildError::ZeroCapacity);
    }
    if requested > MAX_CAPACITY {
        return Err(BuildError::CapacityTooLarge { requested });
    }
    Ok(requested.next_power_of_two())
}

/// Configures and builds a channel of any mode.
///
/// Capacity rule: the requested capacity is rounded up to the next power of two
/// (`capacity()` reports the result); 0 and values above [`MAX_CAPACITY`] are errors.
///
/// ```
/// use nimsync_core_channels::{Builder, BuildError, Policy};
/// let (mut tx, mut rx) = Builder::new(1000).policy(Policy::Overflow).spsc::<String>()?;
/// assert_eq!(tx.capacity(), 1024);
/// tx.try_send("hi".to_string()).unwrap();
/// assert_eq!(rx.try_recv().unwrap(), "hi");
/// assert_eq!(Builder::new(0).mpmc::<u8>().unwrap_err(), BuildError::ZeroCapacity);
/// # Ok::<(), BuildError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Builder {
    capacity: usize,
    policy: Policy,
}

impl Builder {
    /// A builder for a channel of (at least) `capacity` slots with the `Block` policy.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            policy: Policy::Block,
        }
    }

    /// Sets the capacity.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Sets the overflow policy.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Builds a channel of mode `M` (one of [`Spsc`], [`Mpsc`], [`Spmc`], [`Mpmc`]).
    #[allow(clippy::type_complexity)]
    pub fn build<T: Send, M: Mode>(self) -> Result<(Sender<T, M>, Receiver<T, M>), BuildError> {
        let capacity = effective_capacity(self.capacity)?;
        let chan = M::new_chan::<T>(capacity, self.policy);
        Ok((Sender::from_chan(chan.clone()), Receiver::from_chan(chan)))
    }

    /// Builds a single-producer single-consumer channel.
    #[allow(clippy::type_complexity)]
    pub fn spsc<T: Send>(self) -> Result<(Sender<T, Spsc>, Receiver<T, Spsc>), BuildError> {
        self.build()
    }

    /// Builds a multi-producer single-consumer channel.
    #[allow(clippy::type_complexity)]
    pub fn mpsc<T: Send>(self) -> Result<(Sender<T, Mpsc>, Receiver<T, Mpsc>), BuildError> {
        self.build()
    }

    /// Builds a single-producer multi-consumer channel.
    #[allow(clippy::type_complexity)]
    pub fn spmc<T: Send>(self) -> Result<(Sender<T, Spmc>, Receiver<T, Spmc>), BuildError> {
        self.build()
    }

    /// Builds a multi-producer multi-consumer channel.
    #[allow(clippy::type_complexity)]
    pub fn mpmc<T: Send>(self) -> Result<(Sender<T, Mpmc>, Receiver<T, Mpmc>), BuildError> {
        self.build()
    }
}

/// Builds a channel with the default policy, panicking on an invalid capacity.
pub(crate) fn build_or_panic<T: Send, M: Mode>(capacity: usize) -> (Sender<T, M>, Receiver<T, M>) {
    match Builder::new(capacity).build::<T, M>() {
        Ok(pair) => pair,
        Err(err) => {
            panic!("invalid channel capacity: {err} (use `Builder` for a fallible constructor)")
        }
    }
}
