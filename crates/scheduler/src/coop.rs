//! Cooperative scheduling: `yield_now` and the per-poll budget.
//!
//! A task that wakes itself (`yield_now`, or any self-wake) goes to the *back* of its worker's
//! queue, never into the LIFO slot, so an always-ready task lets every other queued task run
//! before its next poll. Inside a single poll, a loop over always-ready resources can still
//! hog the worker; such resources (or the loop itself) can call [`poll_proceed`] /
//! [`consume_budget`]: each task poll gets a budget of [`BUDGET`] units, and once it is spent
//! they return `Pending` (after waking the task), forcing a yield. The future of a `block_on`
//! gets the same budget at each of its polls; code polled by any other executor (no budget
//! given) is never throttled.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Budget units per task poll.
pub const BUDGET: u32 = 128;

/// `REMAINING` on a thread whose code was never given a budget (not polled by nimsync).
const UNLIMITED: u32 = u32::MAX;

thread_local! {
    static REMAINING: Cell<u32> = const { Cell::new(UNLIMITED) };
}

/// Gives the poll about to start (a task's, or a `block_on` future's) a full budget.
pub(crate) fn reset_budget() {
    REMAINING.with(|r| r.set(BUDGET));
}

/// Spends one unit of the current task's budget: `Ready` while some is left, otherwise wakes
/// the task and returns `Pending` (the budget is refilled at its next poll). Always `Ready`
/// on a thread where nimsync never polled anything (no budget to spend).
///
/// ```
/// use std::future::poll_fn;
/// let rt = nimsync_scheduler::Runtime::current_thread();
/// rt.block_on(async {
///     poll_fn(|cx| nimsync_scheduler::coop::poll_proceed(cx)).await;
/// });
/// ```
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    REMAINING.with(|r| {
        let left = r.get();
        if left == UNLIMITED {
            Poll::Ready(())
        } else if left == 0 {
            cx.waker().wake_by_ref();
            Poll::Pending
        } else {
            r.set(left - 1);
            Poll::Ready(())
        }
    })
}

/// Spends one unit of budget, yielding if it is exhausted (see [`poll_proceed`]).
pub async fn consume_budget() {
    std::future::poll_fn(poll_proceed).await
}

/// Yields once: the task goes to the back of the run queue and other tasks run first.
///
/// ```
/// let rt = nimsync_scheduler::Runtime::current_thread();
/// rt.block_on(async {
///     for _ in 0..3 { nimsync_scheduler::yield_now().await; }
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// Future returned by [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_runs_out_and_refills() {
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        reset_budget();
        for _ in 0..BUDGET {
            assert!(poll_proceed(&mut cx).is_ready());
        }
        assert!(poll_proceed(&mut cx).is_pending());
        reset_budget();
        assert!(poll_proceed(&mut cx).is_ready());
    }
}
