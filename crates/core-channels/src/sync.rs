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

/// Exponential backoff for the short retry loops (`select`, a policy waiting for a slot in
/// flight): crossbeam's `Backoff` normally; under loom a single yield, so models do not
/// explode exploring spin iterations. Blocking waits use [`Patience`].
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

/// Fine checks when this thread's peer seems to share its core ([`SHARES_CORE`]): enough to
/// catch a peer on another core that answers at once, short enough not to delay the yield that
/// lets a peer on this core run.
#[cfg(not(nimsync_loom))]
const SHORT_CHECKS: u32 = 8;

/// Rounds of the exponential spin after the fine checks: 1, 2, 4 ... 64 hints (crossbeam's
/// `Backoff` spin phase).
#[cfg(not(nimsync_loom))]
const SPIN_ROUNDS: u32 = 7;

#[cfg(not(nimsync_loom))]
thread_local! {
    /// Whether this thread's last wait that did not park ended only after it yielded: its
    /// peer then most likely runs on the same core (an oversubscribed machine, a busy
    /// neighbour), where spinning only delays the yield that lets the peer run. A wait that
    /// ends during its spin clears it again.
    static SHARES_CORE: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

/// Spin-then-yield waiting before a blocking operation parks.
///
/// First [`FINE_CHECKS`] checks a single spin hint apart, then [`SPIN_ROUNDS`] doubling spin
/// rounds, then plain `yield_now` until [`SPIN_BUDGET`] has passed since the wait began. A
/// producer that is only briefly behind is thus caught without the 15–25 µs park/unpark round
/// trip, which would otherwise dominate cross-thread throughput.
///
/// Adaptive: when the thread's previous wait ended only after a yield ([`SHARES_CORE`]), the
/// spin shrinks to [`SHORT_CHECKS`] and the wait yields at once: with both sides on one core
/// (two busy threads per core, or a busy neighbour taking the other one), every spin hint
/// is time the peer cannot run. Under loom: one yield, then park.
#[derive(Debug)]
pub(crate) struct Patience {
    /// Checks done in the first, fine-grained phase (see [`FINE_CHECKS`]).
    #[cfg(not(nimsync_loom))]
    fine: core::cell::Cell<u32>,
    /// Spin rounds done after the fine checks.
    #[cfg(not(nimsync_loom))]
    rounds: core::cell::Cell<u32>,
    #[cfg(not(nimsync_loom))]
    yield_until: core::cell::Cell<Option<std::time::Instant>>,
    /// The thread's [`SHARES_CORE`] when the wait began.
    #[cfg(not(nimsync_loom))]
    shares_core: bool,
    /// What the wait did so far: snoozed at all, yielded, parked.
    #[cfg(not(nimsync_loom))]
    snoozed: core::cell::Cell<bool>,
    #[cfg(not(nimsync_loom))]
    yielded: core::cell::Cell<bool>,
    #[cfg(not(nimsync_loom))]
    parked: core::cell::Cell<bool>,
}

impl Patience {
    pub(crate) fn new() -> Self {
        #[cfg(not(nimsync_loom))]
        let patience = Self {
            fine: Default::default(),
            rounds: Default::default(),
            yield_until: Default::default(),
            shares_core: SHARES_CORE.with(|s| s.get()),
            snoozed: Default::default(),
            yielded: Default::default(),
            parked: Default::default(),
        };
        #[cfg(nimsync_loom)]
        let patience = Self {};
        patience
    }

    /// Waits a little and returns `true`, or returns `false` once it is time to park.
    #[inline]
    pub(crate) fn snooze(&self) -> bool {
        #[cfg(not(nimsync_loom))]
        {
            self.snoozed.set(true);
            let fine = self.fine.get();
            if fine
                < if self.shares_core {
                    SHORT_CHECKS
                } else {
                    FINE_CHECKS
                }
            {
                self.fine.set(fine + 1);
                core::hint::spin_loop();
                return true;
            }
            let round = self.rounds.get();
            if !self.shares_core && round < SPIN_ROUNDS {
                self.rounds.set(round + 1);
                for _ in 0..1u32 << round {
                    core::hint::spin_loop();
                }
                return true;
            }
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
                self.yielded.set(true);
                std::thread::yield_now();
                return true;
            }
            false
        }
        #[cfg(nimsync_loom)]
        false
    }

    /// Starts over (after progress).
    pub(crate) fn reset(&self) {
        #[cfg(not(nimsync_loom))]
        {
            self.fine.set(0);
            self.rounds.set(0);
            self.yield_until.set(None);
        }
    }

    /// Starts over after the thread parked and was woken.
    pub(crate) fn after_park(&self) {
        #[cfg(not(nimsync_loom))]
        self.parked.set(true);
        self.reset();
    }
}

impl Drop for Patience {
    /// Records how the wait ended for the thread's next one (see [`SHARES_CORE`]); a wait
    /// that parked says nothing about where the peer runs.
    fn drop(&mut self) {
        #[cfg(not(nimsync_loom))]
        if self.snoozed.get() && !self.parked.get() {
            let shares_core = self.yielded.get();
            if shares_core != self.shares_core {
                SHARES_CORE.with(|s| s.set(shares_core));
            }
        }
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

#[cfg(all(test, not(nimsync_loom)))]
mod tests {
    use super::{FINE_CHECKS, Patience, SHARES_CORE, SHORT_CHECKS, SPIN_ROUNDS};

    fn shares_core() -> bool {
        SHARES_CORE.with(|s| s.get())
    }

    /// Snoozes until the wait has yielded once; returns the snoozes that only spun.
    fn snooze_until_yield(p: &Patience) -> u32 {
        let mut spins = 0;
        while !p.yielded.get() {
            assert!(p.snooze(), "the budget ran out before the first yield");
            spins += 1;
        }
        spins - 1
    }

    #[test]
    fn a_wait_that_ends_after_a_yield_makes_the_next_one_yield_early() {
        SHARES_CORE.with(|s| s.set(false));
        let first = Patience::new();
        assert_eq!(snooze_until_yield(&first), FINE_CHECKS + SPIN_ROUNDS);
        drop(first);
        assert!(
            shares_core(),
            "ended after a yield: the peer shares the core"
        );

        let second = Patience::new();
        assert_eq!(snooze_until_yield(&second), SHORT_CHECKS);
    }

    #[test]
    fn a_wait_that_ends_while_spinning_restores_the_full_spin() {
        SHARES_CORE.with(|s| s.set(true));
        let p = Patience::new();
        assert!(p.snooze());
        drop(p);
        assert!(
            !shares_core(),
            "ended during the spin: the peer runs elsewhere"
        );
        let p = Patience::new();
        assert_eq!(snooze_until_yield(&p), FINE_CHECKS + SPIN_ROUNDS);
    }

    #[test]
    fn parked_and_unused_waits_leave_the_estimate_alone() {
        for start in [false, true] {
            SHARES_CORE.with(|s| s.set(start));
            // Never snoozed (a batch wait whose first attempt succeeded).
            drop(Patience::new());
            assert_eq!(shares_core(), start);
            // Yielded, then parked: where the peer runs is unknown.
            let p = Patience::new();
            snooze_until_yield(&p);
            p.after_park();
            drop(p);
            assert_eq!(shares_core(), start);
        }
    }
}
