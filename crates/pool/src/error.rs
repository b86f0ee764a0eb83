//! Errors: `BuildError` (bad configuration) and `PoolError` (a failed checkout).

use nimsync_cancel::Cancelled;
use std::fmt;

/// Why [`Builder::build`](crate::Builder::build) refused a configuration.
///
/// ```
/// use nimsync_pool::{BuildError, Pool};
/// # struct M;
/// # impl nimsync_pool::Manager for M {
/// #     type Connection = ();
/// #     type Error = std::convert::Infallible;
/// #     async fn create(&self) -> Result<(), Self::Error> { Ok(()) }
/// # }
/// let err = Pool::builder(M).max_size(0).build().unwrap_err();
/// assert_eq!(err, BuildError::ZeroMaxSize);
/// let err = Pool::builder(M).max_size(2).min_idle(3).build().unwrap_err();
/// assert_eq!(err, BuildError::MinIdleAboveMaxSize { min_idle: 3, max_size: 2 });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// `max_size(0)`: a pool needs room for at least one connection.
    ZeroMaxSize,
    /// `min_idle` is larger than `max_size`.
    MinIdleAboveMaxSize {
        /// The requested minimum of idle connections.
        min_idle: usize,
        /// The requested maximum pool size.
        max_size: usize,
    },
    /// A duration setting is zero where that makes no sense (the message says which).
    ZeroDuration(&'static str),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::ZeroMaxSize => {
                f.write_str("max_size must be at least 1 (a pool of 0 connections can never serve)")
            }
            BuildError::MinIdleAboveMaxSize { min_idle, max_size } => write!(
                f,
                "min_idle ({min_idle}) must not exceed max_size ({max_size})"
            ),
            BuildError::ZeroDuration(what) => write!(f, "{what} must be greater than zero"),
        }
    }
}

impl std::error::Error for BuildError {}

/// Why a checkout ([`Pool::get`](crate::Pool::get) and friends) failed.
///
/// ```
/// use nimsync_pool::PoolError;
/// let e: PoolError<std::io::Error> = PoolError::Timeout;
/// assert_eq!(e.to_string(), "timed out waiting for a pooled connection");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum PoolError<E> {
    /// The acquire timeout elapsed first.
    Timeout,
    /// The checkout was cancelled (a token or an enclosing scope), with the reason.
    Cancelled(Cancelled),
    /// The pool was closed.
    Closed,
    /// The manager failed to create a connection.
    Backend(E),
}

impl<E: fmt::Display> fmt::Display for PoolError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::Timeout => f.write_str("timed out waiting for a pooled connection"),
            PoolError::Cancelled(c) => write!(f, "checkout {c}"),
            PoolError::Closed => f.write_str("the pool is closed"),
            PoolError::Backend(e) => write!(f, "could not create a connection: {e}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for PoolError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PoolError::Cancelled(c) => Some(c),
            PoolError::Backend(e) => Some(e),
            _ => None,
        }
    }
}

impl<E> PoolError<E> {
    pub(crate) fn from_cancelled(c: Cancelled) -> Self {
        if c.is_timeout() {
            PoolError::Timeout
        } else {
            PoolError::Cancelled(c)
        }
    }
}
