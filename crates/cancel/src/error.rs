//! `Cancelled`: why a token, scope or timed-out future was cancelled.

use std::fmt;
use std::sync::Arc;

/// Why something was cancelled.
///
/// * `Timeout` — a deadline passed (a [`CancelScope`](crate::CancelScope) deadline or a
///   [`timeout`](crate::timeout)).
/// * `Parent` — an enclosing token or scope was cancelled and the cancellation propagated.
/// * `Explicit(reason)` — [`cancel`](crate::CancelToken::cancel) (`None`) or
///   [`cancel_with`](crate::CancelToken::cancel_with) (`Some(reason)`) was called.
///
/// ```
/// use nimsync_cancel::{CancelToken, Cancelled};
///
/// let parent = CancelToken::new();
/// let child = parent.child();
/// parent.cancel_with("shutting down");
/// assert_eq!(parent.reason(), Some(Cancelled::Explicit(Some("shutting down".into()))));
/// assert_eq!(child.reason(), Some(Cancelled::Parent));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cancelled {
    /// A deadline passed.
    Timeout,
    /// An enclosing token or scope was cancelled.
    Parent,
    /// Cancelled on purpose, with the reason given to `cancel_with` if any.
    Explicit(Option<Arc<str>>),
}

impl Cancelled {
    /// Whether this is a [`Cancelled::Timeout`].
    ///
    /// ```
    /// assert!(nimsync_cancel::Cancelled::Timeout.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, Cancelled::Timeout)
    }
}

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cancelled::Timeout => f.write_str("cancelled: deadline elapsed"),
            Cancelled::Parent => f.write_str("cancelled: an enclosing scope was cancelled"),
            Cancelled::Explicit(None) => f.write_str("cancelled"),
            Cancelled::Explicit(Some(r)) => write!(f, "cancelled: {r}"),
        }
    }
}

impl std::error::Error for Cancelled {}
