//! The runtime's clock: real time, or a paused test clock advanced by hand or when idle.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Paused clocks alive in the process: while there are none, [`now`](crate::now) reads the
/// real clock without looking up the current runtime.
static PAUSED_CLOCKS: AtomicUsize = AtomicUsize::new(0);

/// Whether some runtime in the process has a paused clock. A runtime's clock is created
/// before any of its code runs (and counted then), so code inside a paused runtime always
/// sees `true`.
#[inline]
pub(crate) fn any_paused() -> bool {
    PAUSED_CLOCKS.load(Ordering::Relaxed) != 0
}

/// Real or paused clock; wheel ticks are milliseconds since `base`.
#[derive(Debug)]
pub(crate) struct Clock {
    base: Instant,
    paused: bool,
    /// Virtual nanoseconds since `base` (paused clock only).
    offset_ns: AtomicU64,
}

impl Drop for Clock {
    fn drop(&mut self) {
        if self.paused {
            PAUSED_CLOCKS.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Clock {
    pub(crate) fn new(paused: bool) -> Self {
        if paused {
            PAUSED_CLOCKS.fetch_add(1, Ordering::Relaxed);
        }
        Clock {
            base: Instant::now(),
            paused,
            offset_ns: AtomicU64::new(0),
        }
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.paused
    }

    pub(crate) fn now(&self) -> Instant {
        if self.paused {
            self.base + Duration::from_nanos(self.offset_ns.load(Ordering::Acquire))
        } else {
            Instant::now()
        }
    }

    /// Tick of `now` (rounded down).
    pub(crate) fn now_ticks(&self) -> u64 {
        let d = self.now().saturating_duration_since(self.base);
        u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
    }

    /// Tick at which a deadline is due (rounded up, so a timer never fires early).
    pub(crate) fn deadline_ticks(&self, deadline: Instant) -> u64 {
        let d = deadline.saturating_duration_since(self.base);
        let ns = d.as_nanos();
        let ms = ns.div_ceil(1_000_000);
        u64::try_from(ms).unwrap_or(u64::MAX)
    }

    /// The instant of a tick.
    pub(crate) fn tick_instant(&self, tick: u64) -> Instant {
        self.base
            .checked_add(Duration::from_millis(tick))
            .unwrap_or(self.base + Duration::from_secs(86_400 * 365 * 30))
    }

    /// Real time left until `tick` (for park timeouts; `None` when paused).
    pub(crate) fn timeout_until_tick(&self, tick: u64) -> Option<Duration> {
        if self.paused || tick == u64::MAX {
            return None;
        }
        Some(
            self.tick_instant(tick)
                .saturating_duration_since(Instant::now()),
        )
    }

    /// Moves a paused clock forward by `dur`. Returns `false` on a real clock.
    pub(crate) fn advance(&self, dur: Duration) -> bool {
        if !self.paused {
            return false;
        }
        let ns = u64::try_from(dur.as_nanos()).unwrap_or(u64::MAX);
        let _ = self
            .offset_ns
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |o| {
                Some(o.saturating_add(ns))
            });
        true
    }

    /// Moves a paused clock forward to `tick` if it is behind.
    pub(crate) fn advance_to_tick(&self, tick: u64) {
        if self.paused {
            self.offset_ns
                .fetch_max(tick.saturating_mul(1_000_000), Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paused_clock_moves_only_when_advanced() {
        let c = Clock::new(true);
        let t0 = c.now();
        assert_eq!(c.now(), t0);
        assert!(c.advance(Duration::from_millis(5)));
        assert_eq!(c.now() - t0, Duration::from_millis(5));
        assert_eq!(c.now_ticks(), 5);
        c.advance_to_tick(3);
        assert_eq!(c.now_ticks(), 5);
        c.advance_to_tick(9);
        assert_eq!(c.now_ticks(), 9);
    }

    #[test]
    fn deadlines_round_up() {
        let c = Clock::new(true);
        let d = c.now() + Duration::from_micros(1500);
        assert_eq!(c.deadline_ticks(d), 2);
        assert!(!Clock::new(false).advance(Duration::from_secs(1)));
    }
}
