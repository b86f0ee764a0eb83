//! Error types returned by channel operations.
//!
//! Every error that gives up on sending hands the value back, so nothing is lost by failing.

use core::fmt;

/// Error of [`try_send`](crate::mpmc::Sender::try_send): the value comes back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// The channel is full (and its policy is `Block`).
    Full(T),
    /// The channel is closed: no receiver will ever see the value.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// Takes the value back out of the error.
    ///
    /// ```
    /// use nimsync_core_channels::{mpmc, TrySendError};
    /// let (tx, _rx) = mpmc::<u32>(1);
    /// tx.try_send(1).unwrap();
    /// let err = tx.try_send(2).unwrap_err();
    /// assert!(err.is_full());
    /// assert_eq!(err.into_inner(), 2);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(v) | Self::Closed(v) => v,
        }
    }

    /// `true` if the channel was full.
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Full(_))
    }

    /// `true` if the channel was closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed(_))
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("Full(..)"),
            Self::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("sending on a full channel"),
            Self::Closed(_) => f.write_str("sending on a closed channel"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

/// Error of a waiting send: the channel is closed, and the value comes back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// Takes the value back out of the error.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a closed channel")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Error of a send with a timeout or deadline: the value comes back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum SendTimeoutError<T> {
    /// The deadline passed while the channel stayed full.
    Timeout(T),
    /// The channel is closed.
    Closed(T),
}

impl<T> SendTimeoutError<T> {
    /// Takes the value back out of the error.
    pub fn into_inner(self) -> T {
        match self {
            Self::Timeout(v) | Self::Closed(v) => v,
        }
    }
}

impl<T> fmt::Debug for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout(_) => f.write_str("Timeout(..)"),
            Self::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout(_) => f.write_str("timed out sending on a full channel"),
            Self::Closed(_) => f.write_str("sending on a closed channel"),
        }
    }
}

impl<T> std::error::Error for SendTimeoutError<T> {}

/// Error of [`try_recv`](crate::mpmc::Receiver::try_recv).
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum TryRecvError {
    /// Nothing is buffered right now.
    Empty,
    /// The channel is closed and fully drained.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("receiving on an empty channel"),
            Self::Closed => f.write_str("receiving on a closed and drained channel"),
        }
    }
}

impl std::error::Error for TryRecvError {}

/// Error of a waiting receive: the channel is closed and fully drained.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("receiving on a closed and drained channel")
    }
}

impl std::error::Error for RecvError {}

/// Error of a receive with a timeout or deadline.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum RecvTimeoutError {
    /// The deadline passed while the channel stayed empty.
    Timeout,
    /// The channel is closed and fully drained.
    Closed,
}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout => f.write_str("timed out receiving on an empty channel"),
            Self::Closed => f.write_str("receiving on a closed and drained channel"),
        }
    }
}

impl std::error::Error for RecvTimeoutError {}

/// Error of [`try_reserve`](crate::mpmc::Sender::try_reserve).
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum TryReserveError {
    /// No free capacity right now.
    Full,
    /// The channel is closed.
    Closed,
}

impl fmt::Display for TryReserveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full => f.write_str("no capacity left to reserve"),
            Self::Closed => f.write_str("reserving on a closed channel"),
        }
    }
}

impl std::error::Error for TryReserveError {}

/// Error of [`Builder`](crate::Builder): the requested channel cannot be built.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum BuildError {
    /// Capacity 0 was requested; nimsync has no rendezvous channels (use capacity 1).
    ZeroCapacity,
    /// The capacity exceeds [`MAX_CAPACITY`](crate::MAX_CAPACITY).
    CapacityTooLarge {
        /// The capacity that was asked for.
        requested: usize,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroCapacity => {
                f.write_str("channel capacity must be at least 1 (no rendezvous channels)")
            }
            Self::CapacityTooLarge { requested } => write!(
                f,
                "channel capacity {requested} exceeds the maximum of {}",
                crate::MAX_CAPACITY
            ),
        }
    }
}

impl std::error::Error for BuildError {}
