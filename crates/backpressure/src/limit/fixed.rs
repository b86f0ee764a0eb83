//! `Fixed`: a constant limit (a semaphore with the `Limiter` interface).

use super::{Limiter, Sample};
use crate::error::ConfigError;

/// A constant limit that ignores every sample; the baseline for comparisons and a plain
/// bulkhead.
///
/// ```
/// use std::time::Duration;
/// use nimsync_backpressure::{Fixed, Limiter, Sample};
/// let mut f = Fixed::new(8).unwrap();
/// f.update(&Sample::dropped(Duration::from_secs(1), 8));
/// assert_eq!(f.limit(), 8);
/// assert!(Fixed::new(0).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct Fixed {
    limit: usize,
}

impl Fixed {
    /// A fixed limit of `limit` (at least 1).
    pub fn new(limit: usize) -> Result<Self, ConfigError> {
        if limit == 0 {
            return Err(ConfigError::Zero("limit"));
        }
        Ok(Self { limit })
    }
}

impl Limiter for Fixed {
    fn limit(&self) -> usize {
        self.limit
    }

    fn update(&mut self, _sample: &Sample) -> usize {
        self.limit
    }
}
