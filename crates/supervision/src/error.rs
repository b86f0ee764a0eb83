//! Error types of supervision and the resilience primitives; each keeps its cause chain.

use std::time::Duration;

use nimsync_actors::{ExitReason, SpawnError};

/// Why a supervisor failed (the reason its parent or watchers see).
///
/// ```
/// use std::error::Error;
/// use std::time::Duration;
/// use nimsync_actors::ExitReason;
/// use nimsync_supervision::SupervisionError;
///
/// let e = SupervisionError::IntensityExceeded {
///     restarts: 4,
///     period: Duration::from_secs(5),
///     child: "db".into(),
///     reason: ExitReason::failed(std::io::Error::other("connection refused")),
/// };
/// assert!(e.to_string().contains("\"db\""));
/// // The chain: supervisor -> child's exit reason -> the child's own error.
/// assert_eq!(e.source().unwrap().source().unwrap().to_string(), "connection refused");
/// ```
#[derive(Debug, Clone, thiserror::Error)]
pub enum SupervisionError {
    /// The supervisor's configuration is invalid.
    #[error("invalid supervisor configuration: {0}")]
    InvalidConfig(&'static str),
    /// More restarts than allowed within the period: the supervisor stopped its children
    /// and failed.
    #[error(
        "restart intensity exceeded: {restarts} restarts within {period:?}; child {child:?} last exited: {reason}"
    )]
    IntensityExceeded {
        /// Restarts counted within the period (one more than allowed).
        restarts: u32,
        /// The period.
        period: Duration,
        /// The child whose exit went over the limit.
        child: String,
        /// How that child exited.
        #[source]
        reason: ExitReason,
    },
    /// A child's mailbox could not be built.
    #[error("child {child:?} could not be spawned")]
    Spawn {
        /// The child.
        child: String,
        /// Why.
        #[source]
        source: SpawnError,
    },
}

/// Error of [`CircuitBreaker::call`](crate::CircuitBreaker::call).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BreakerError<E> {
    /// The breaker is open (or its half-open trials are taken): the call was not made.
    #[error("circuit open; retry after {retry_after:?}")]
    Open {
        /// Time until the breaker lets a trial call through (zero when half-open trials
        /// are all taken).
        retry_after: Duration,
    },
    /// The call was made and failed.
    #[error("call failed")]
    Failed(#[source] E),
}

/// Error of [`Bulkhead`](crate::Bulkhead): every slot and every queue place is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("bulkhead full: {max_concurrent} calls running and {max_queue} waiting")]
pub struct BulkheadFull {
    /// Concurrent calls allowed.
    pub max_concurrent: usize,
    /// Waiting calls allowed.
    pub max_queue: usize,
}

/// Error of the resilience builders: a limit or threshold that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub &'static str);

/// Error of [`retry`](crate::retry).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetryError<E> {
    /// Every allowed attempt failed (or the time budget ran out); the last error.
    #[error("gave up after {attempts} attempts")]
    Exhausted {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        last: E,
    },
    /// An attempt failed with an error the policy does not retry.
    #[error("not retryable")]
    NotRetryable(#[source] E),
    /// Cancelled between attempts (the enclosing scope or the policy's token).
    #[error("cancelled after {attempts} attempts")]
    Cancelled {
        /// Attempts made.
        attempts: u32,
        /// The cancellation.
        #[source]
        cause: nimsync_cancel::Cancelled,
    },
}
