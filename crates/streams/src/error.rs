//! [`StageError`]: what a stage constructor reports when it is given a size it cannot
//! honour (a zero batch size, zero consumers, a hand-off channel that cannot be built).
//!
//! Every sized stage has a fallible `try_*` constructor returning this error, for sizes that
//! come from configuration; the plain constructors panic with the same message, as
//! `Iterator::step_by(0)` and futures-util's `chunks(0)` do, for sizes written in code.

use std::fmt;

use nimsync_core_channels::BuildError;

/// A stage was asked for a size it cannot honour.
///
/// ```
/// use nimsync_streams::{StageError, StreamExt, iter};
/// let err = iter(0..3).try_batch(0).unwrap_err();
/// assert_eq!(err, StageError::Zero { what: "batch size" });
/// assert_eq!(err.to_string(), "batch size must not be zero");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StageError {
    /// A size or count that must not be zero was 0.
    Zero {
        /// Which argument: `"batch size"`, `"buffered concurrency"`, `"consumers"`, ...
        what: &'static str,
    },
    /// `spawn_stage`'s hand-off channel could not be built with the requested capacity.
    Channel(BuildError),
}

impl fmt::Display for StageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Zero { what } => write!(f, "{what} must not be zero"),
            Self::Channel(e) => write!(f, "spawn_stage hand-off channel: {e}"),
        }
    }
}

impl std::error::Error for StageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Zero { .. } => None,
            Self::Channel(e) => Some(e),
        }
    }
}

/// `n` itself, or [`StageError::Zero`] naming `what`.
pub(crate) fn at_least_one(n: usize, what: &'static str) -> Result<usize, StageError> {
    if n == 0 {
        Err(StageError::Zero { what })
    } else {
        Ok(n)
    }
}

/// Unwraps a constructor result for the panicking constructors, reporting the caller.
#[track_caller]
pub(crate) fn or_panic<T>(r: Result<T, StageError>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

/// How many items to allocate up front for a buffer that may grow to `bound`: enough for
/// ordinary batches, without reserving gigabytes for a huge configured bound.
pub(crate) fn initial_capacity(bound: usize) -> usize {
    bound.min(1024)
}
