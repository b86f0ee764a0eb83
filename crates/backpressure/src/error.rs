//! Errors: bad configuration (found at construction), rejections (load shedding) and credit
//! channel failures.

use std::fmt;
use std::time::Instant;

/// A limiter, rate limiter or credit channel was configured with values it cannot work with.
/// Returned by every constructor; nothing in the hot path panics on configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigError {
    /// `min` is greater than `max`, or a limit of zero was asked for.
    InvalidBounds {
        /// The configured minimum.
        min: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The initial limit lies outside `min..=max`.
    InitialOutOfBounds {
        /// The configured initial limit.
        initial: usize,
        /// The configured minimum.
        min: usize,
        /// The configured maximum.
        max: usize,
    },
    /// A floating-point parameter is NaN, infinite or outside its allowed range.
    InvalidParameter {
        /// Which parameter.
        name: &'static str,
        /// The value given.
        value: f64,
        /// The allowed range, in words.
        expected: &'static str,
    },
    /// A rate, period, burst or duration is zero.
    Zero(&'static str),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidBounds { min, max } => {
                write!(
                    f,
                    "invalid limit bounds: min {min}, max {max} (need 1 <= min <= max)"
                )
            }
            Self::InitialOutOfBounds { initial, min, max } => {
                write!(f, "initial limit {initial} outside {min}..={max}")
            }
            Self::InvalidParameter {
                name,
                value,
                expected,
            } => write!(f, "invalid `{name}` = {value}: expected {expected}"),
            Self::Zero(name) => write!(f, "`{name}` must be non-zero"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Checks that `value` is finite and inside `lo..=hi` (or `lo..hi` when `hi_open`).
pub(crate) fn check_range(
    name: &'static str,
    value: f64,
    lo: f64,
    hi: f64,
    hi_open: bool,
    expected: &'static str,
) -> Result<(), ConfigError> {
    let ok = value.is_finite() && value >= lo && if hi_open { value < hi } else { value <= hi };
    if ok {
        Ok(())
    } else {
        Err(ConfigError::InvalidParameter {
            name,
            value,
            expected,
        })
    }
}

/// Checks `1 <= min <= max` and `min <= initial <= max`.
pub(crate) fn check_bounds(min: usize, max: usize, initial: usize) -> Result<(), ConfigError> {
    if min == 0 || min > max {
        return Err(ConfigError::InvalidBounds { min, max });
    }
    if initial < min || initial > max {
        return Err(ConfigError::InitialOutOfBounds { initial, min, max });
    }
    Ok(())
}

/// Load shedding: the limiter is at its limit and the caller asked not to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejected {
    /// The limit at the time of the rejection.
    pub limit: usize,
    /// Permits in flight at the time of the rejection.
    pub inflight: usize,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rejected: {} in flight at limit {}",
            self.inflight, self.limit
        )
    }
}

impl std::error::Error for Rejected {}

/// A rate limiter has no cell free now; the next one frees at the given instant (on the
/// scheduler's clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotUntil(pub Instant);

impl fmt::Display for NotUntil {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rate limited until {:?}", self.0)
    }
}

impl std::error::Error for NotUntil {}
