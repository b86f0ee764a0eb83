//! A counting global allocator: live bytes, peak and allocation count, for the leak proof and
//! the memory-over-time samples.
//!
//! It wraps the system allocator and keeps three relaxed atomic counters. Relaxed is enough:
//! the numbers are read after the threads that changed them were joined (which orders their
//! writes before the read) or sampled as a trend.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// The allocator installed by `main.rs`.
pub struct CountingAlloc;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ALLOCS: AtomicU64 = AtomicU64::new(0);

#[inline]
fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    if now > PEAK.load(Ordering::Relaxed) {
        PEAK.fetch_max(now, Ordering::Relaxed);
    }
    ALLOCS.fetch_add(1, Ordering::Relaxed);
}

#[inline]
fn shrank(by: usize) {
    LIVE.fetch_sub(by, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract is `System`'s; the counters have no effect on the memory handed out.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            shrank(layout.size());
            grew(new_size);
        }
        p
    }
}

/// Bytes allocated through the global allocator and not yet freed.
pub fn live_bytes() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Highest [`live_bytes`] seen since the start (or the last [`reset_peak`]).
pub fn peak_bytes() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// Restarts peak tracking from the current live bytes.
pub fn reset_peak() {
    PEAK.store(live_bytes(), Ordering::Relaxed);
}

/// Allocations made since the start.
pub fn allocations() -> u64 {
    ALLOCS.load(Ordering::Relaxed)
}

/// Resident set size of the process in bytes (Linux `/proc/self/statm`; 0 elsewhere).
pub fn rss_bytes() -> usize {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Held by the tests that count live bytes and by the tests that allocate a lot on other
/// threads (runtimes, floods), so the counts of one do not see the other's allocations (the
/// test harness runs tests in parallel).
#[cfg(test)]
pub static COUNTING_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[cfg(test)]
mod tests {
    use super::*;

    /// The test binary runs with the counting allocator installed (it is declared in
    /// `main.rs`), so a leak shows up in `live_bytes` — the property the leak proof rests on.
    #[test]
    fn a_leaked_block_stays_counted_and_a_freed_one_does_not() {
        let _exclusive = COUNTING_TESTS.lock().unwrap_or_else(|e| e.into_inner());
        const SIZE: usize = 64 << 20;
        // Other tests may allocate and free meanwhile: allow 1 MiB of their noise.
        let slack = 1 << 20;
        let before = live_bytes();
        let kept = vec![1u8; SIZE];
        assert!(live_bytes() + slack >= before + SIZE);
        assert!(peak_bytes() >= SIZE);
        drop(kept);
        assert!(live_bytes() < before + slack);
        let leaked: &'static mut [u8] = Box::leak(vec![2u8; SIZE].into_boxed_slice());
        assert_eq!(leaked[SIZE - 1], 2);
        assert!(live_bytes() + slack >= before + SIZE);
        assert!(allocations() >= 2);
    }
}
