//! `sleep`, `sleep_until` and the `Sleep` future.

use crate::context;
use crate::timer::entry::TimerEntry;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The current time of the runtime entered on this thread: the paused test clock's time when
/// that runtime was built with `start_paused(true)`, otherwise `Instant::now()`.
///
/// ```
/// use std::time::Duration;
/// let rt = nimsync_scheduler::Builder::new_current_thread().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let t0 = nimsync_scheduler::now();
///     nimsync_scheduler::sleep(Duration::from_secs(60)).await; // auto-advances, instantly
///     assert!(nimsync_scheduler::now() - t0 >= Duration::from_secs(60));
/// });
/// ```
pub fn now() -> Instant {
    if !super::clock::any_paused() {
        return Instant::now();
    }
    context::with_current_handle(|h| match h {
        Some(h) => h.inner.shared.clock.now(),
        None => Instant::now(),
    })
}

/// Waits until `dur` has elapsed (measured from this call, on the runtime's clock).
///
/// ```
/// use std::time::{Duration, Instant};
/// let rt = nimsync_scheduler::Runtime::builder().workers(1).build().unwrap();
/// let t0 = Instant::now();
/// rt.block_on(nimsync_scheduler::sleep(Duration::from_millis(5)));
/// assert!(t0.elapsed() >= Duration::from_millis(5));
/// ```
pub fn sleep(dur: Duration) -> Sleep {
    let now = now();
    let deadline = instant_after(now, dur);
    sleep_until(deadline)
}

/// Waits until `deadline` (on the runtime's clock; see [`now`]).
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        entry: None,
    }
}

pub(crate) fn far_future(now: Instant) -> Instant {
    now + Duration::from_secs(86_400 * 365 * 30)
}

/// `now + after`, or about 30 years after `now` when that would overflow `Instant` (e.g.
/// `after` is `Duration::MAX`): a deadline that means "never" for any process, as [`sleep`]
/// uses for long durations. For layers that compute deadlines from user-given durations.
///
/// ```
/// use std::time::{Duration, Instant};
/// let now = Instant::now();
/// assert_eq!(nimsync_scheduler::instant_after(now, Duration::from_secs(1)), now + Duration::from_secs(1));
/// assert!(nimsync_scheduler::instant_after(now, Duration::MAX) > now + Duration::from_secs(86_400 * 365));
/// ```
pub fn instant_after(now: Instant, after: Duration) -> Instant {
    now.checked_add(after).unwrap_or_else(|| far_future(now))
}

/// A future that completes at its deadline (never before it; timer resolution is 1 ms).
///
/// Registration is lazy: nothing happens until the first poll, and a deadline already past
/// completes at once without touching the timer wheel. Dropping a `Sleep` deregisters it
/// (its waker is released immediately; the wheel slot is reclaimed lazily).
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    deadline: Instant,
    entry: Option<Arc<TimerEntry>>,
}

impl Sleep {
    /// The deadline.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has been reached (as observed by a poll or the timer).
    pub fn is_elapsed(&self) -> bool {
        self.entry.as_ref().is_some_and(|e| e.is_fired()) || now() >= self.deadline
    }

    /// Moves the deadline (re-registering on the next poll).
    pub fn reset(&mut self, deadline: Instant) {
        if let Some(e) = self.entry.take() {
            e.cancel();
        }
        self.deadline = deadline;
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(e) = &self.entry {
            if e.is_fired() {
                return Poll::Ready(());
            }
            e.register(cx.waker());
            return if e.is_fired() {
                Poll::Ready(())
            } else {
                Poll::Pending
            };
        }
        let entry = Arc::new(TimerEntry::default());
        entry.register(cx.waker());
        if !register(self.deadline, &entry) {
            return Poll::Ready(());
        }
        let fired = entry.is_fired();
        self.entry = Some(entry);
        if fired {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(e) = self.entry.take() {
            e.cancel();
        }
    }
}

/// Registers `entry` for `deadline` with the runtime of this thread (its own worker wheel when
/// on a worker, else the runtime's remote wheel, else the global runtime). Returns `false`
/// when the deadline has already passed (nothing registered).
fn register(deadline: Instant, entry: &Arc<TimerEntry>) -> bool {
    let done = context::with_worker(|w| {
        let w = w?;
        let clock = &w.shared().clock;
        if clock.now() >= deadline {
            return Some(false);
        }
        w.register_timer(clock.deadline_ticks(deadline), entry.clone());
        Some(true)
    });
    if let Some(r) = done {
        return r;
    }
    let handle = match context::current_handle() {
        Some(h) if !h.is_shutdown() => h,
        _ => crate::global::global().handle().clone(),
    };
    let shared = &handle.inner.shared;
    if shared.clock.now() >= deadline {
        return false;
    }
    shared.register_remote_timer(shared.clock.deadline_ticks(deadline), entry.clone());
    true
}
