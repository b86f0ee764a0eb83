//! Switch between `std` and `loom` synchronisation primitives (`--cfg nimsync_loom`).
//!
//! Every atomic, cell and lock the channels use comes from here, so the loom models in
//! `tests/loom.rs` exercise exactly the production code.

#[cfg(not(nimsync_loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
#[cfg(not(nimsync_loom))]
pub(crate) use std::sync::{Arc, Mutex, MutexGuard};

#[cfg(nimsync_loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
#[cfg(nimsync_loom)]
pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};

/// An `UnsafeCell` with loom's closure-based access API, backed by std's cell normally.
/// Transparent, so an array of cells has the layout of an array of their contents.
#[cfg(not(nimsync_loom))]
#[derive(Debug)]
#[repr(transparent)]
pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(nimsync_loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(core::cell::UnsafeCell::new(value))
    }

    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(nimsync_loom)]
pub(crate) use loom::cell::UnsafeCell;

/// Spin-wait hint; under loom it yields to the model scheduler so spin loops terminate.
#[inline(always)]
pub(crate) fn spin_hint() {
    #[cfg(not(nimsync_loom))]
    core::hint::spin_loop();
    #[cfg(nimsync_loom)]
    loom::thread::yield_now();
}

/// Under loom, the full barrier a SeqCst read-modify-write is in production (x86's locked
/// instructions; on AArch64 the release stores and SeqCst loads that follow it stay ordered),
/// which loom models as AcqRel only. The stamped rings call it right after each claim, so the
/// models see the barrier where it is: before the value lands, not after. Nothing normally.
#[inline(always)]
pub(crate) fn rmw_barrier() {
    #[cfg(nimsync_loom)]
    loom::sync::atomic::fence(Ordering::SeqCst);
}

/// Gives up the thread's time slice: a waiter whose peer is mid-operation on the slot it
/// waits for (see [`crate::queue::Queue::value_in_flight`]) lets that peer run. Under loom,
/// a model yield.
pub(crate) fn yield_thread() {
    #[cfg(not(nimsync_loom))]
    std::thread::yield_now();
    #[cfg(nimsync_loom)]
    loom::thread::yield_now();
}

/// Exponential backoff for spin-then-park waits: crossbeam's `Backoff` normally; under loom
/// a single yield, so models do not explode exploring spin iterations.
#[cfg(not(nimsync_loom))]
pub(crate) use crossbeam_utils::Backoff;

/// Loom stand-in for crossbeam's `Backoff`.
#[cfg(nimsync_loom)]
#[derive(Debug, Default)]
pub(crate) struct Backoff;

#[cfg(nimsync_loom)]
impl Backoff {
    pub(crate) fn new() -> Self {
        Self
    }
    pub(crate) fn spin(&self) {
        loom::thread::yield_now();
    }
    pub(crate) fn snooze(&self) {
        loom::thread::yield_now();
    }
    pub(crate) fn reset(&self) {}
    pub(crate) fn is_completed(&self) -> bool {
        true
    }
}

/// How long a blocked thread keeps spinning and yielding before it parks: about what one
/// park/unpark round costs on a small VM (15–25 µs), the classic "spin for the price of a
/// block" rule, which is never worse than twice the optimum.
#[cfg(not(nimsync_loom))]
const SPIN_BUDGET: std::time::Duration = std::time::Duration::from_micros(20);

/// Re-checks, one spin-loop hint apart, before the exponential backoff starts: a peer that
/// answers within a microsecond or two is seen within a few nanoseconds, instead of at the
/// end of a doubling spin (crossbeam's backoff waits 1, 2, 4 ... 64 hints between checks, so a
/// reply landing just after a check waited out the next, twice as long, round).
#[cfg(not(nimsync_loom))]
const FINE_CHECKS: u32 = 64;

/// Spin-then-yield waiting before a blocking operation parks.
///
/// First [`FINE_CHECKS`] checks a single spin hint apart, then crossbeam's exponential
/// [`Backoff`] (a few doubling spin rounds, then yields), then plain `yield_now` until
/// [`SPIN_BUDGET`] has passed since the wait began. A producer that is only briefly behind is
/// thus caught without the 15–25 µs park/unpark round trip, which would otherwise dominate
/// cross-thread throughput. Under loom: one yield, then park.
#[derive(Debug, Default)]
pub(crate) struct Patience {
    /// Checks done in the first, fine-grained phase (see [`FINE_CHECKS`]).
    #[cfg(not(nimsync_loom))]
    fine: core::cell::Cell<u32>,
    backoff: Backoff,
    #[cfg(not(nimsync_loom))]
    yield_until: core::cell::Cell<Option<std::time::Instant>>,
}

impl Patience {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Waits a little and returns `true`, or returns `false` once it is time to park.
    #[inline]
    pub(crate) fn snooze(&self) -> bool {
        #[cfg(not(nimsync_loom))]
        if self.fine.get() < FINE_CHECKS {
            self.fine.set(self.fine.get() + 1);
            core::hint::spin_loop();
            return true;
        }
        if !self.backoff.is_completed() {
            self.backoff.snooze();
            return true;
        }
        #[cfg(not(nimsync_loom))]
        {
            let now = std::time::Instant::now();
            let until = match self.yield_until.get() {
                Some(until) => until,
                None => {
                    let until = now + SPIN_BUDGET;
                    self.yield_until.set(Some(until));
                    until
                }
            };
            if now < until {
                std::thread::yield_now();
                return true;
            }
        }
        false
    }

    /// Starts over (after progress or a wake-up).
    pub(crate) fn reset(&self) {
        #[cfg(not(nimsync_loom))]
        self.fine.set(0);
        self.backoff.reset();
        #[cfg(not(nimsync_loom))]
        self.yield_until.set(None);
    }
}

/// Re-checks an async operation allows itself before registering a waker: registering,
/// being woken and being polled again cost far more than the few nanoseconds a producer on
/// another core usually needs to hand over the next value. Bounded, so an idle channel costs
/// a poll well under a microsecond; none under loom, to keep the models small. Only on rings
/// whose full and empty checks read the slot ([`crate::queue::BeforeAsyncWait::Spin`]).
#[cfg(not(nimsync_loom))]
const ASYNC_SPINS: u32 = 16;

/// One bounded spin before an async wait registers; `false` once the budget is spent.
#[inline]
pub(crate) fn spin_before_wait(spins: &mut u32) -> bool {
    #[cfg(not(nimsync_loom))]
    if *spins < ASYNC_SPINS {
        *spins += 1;
        core::hint::spin_loop();
        return true;
    }
    let _ = spins;
    false
}
