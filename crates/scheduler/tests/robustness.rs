//! Ordinary-but-unusual uses that must neither hang nor panic: a `block_on` future that
//! spends its coop budget, the budget on a foreign executor, an interval with a period beyond
//! `Instant`'s range, a timer whose waker panics, and a runtime dropped on one of its own
//! blocking threads. Each test that could hang runs under a watchdog (a failure deadline,
//! never a synchronisation sleep).
#![cfg(not(nimsync_loom))]

use nimsync_scheduler::{Builder, Runtime, coop, interval, sleep, spawn};
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

/// How long a test may take before it counts as hung.
const FAIL_AFTER: Duration = Duration::from_secs(20);

/// Runs `f` on a thread of its own; `None` when it has not returned after [`FAIL_AFTER`].
fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(FAIL_AFTER).ok()
}

/// Spends more than one poll's budget in the `block_on` future.
async fn spend_two_budgets() -> u32 {
    let mut n = 0;
    for _ in 0..2 * coop::BUDGET + 1 {
        coop::consume_budget().await;
        n += 1;
    }
    n
}

#[test]
fn a_block_on_future_gets_its_budget_back_at_each_poll() {
    let multi = within(|| {
        let rt = Runtime::builder().workers(1).build().unwrap();
        rt.block_on(spend_two_budgets())
    });
    assert_eq!(
        multi,
        Some(2 * coop::BUDGET + 1),
        "multi-threaded block_on hung"
    );
    let current = within(|| Runtime::current_thread().block_on(spend_two_budgets()));
    assert_eq!(
        current,
        Some(2 * coop::BUDGET + 1),
        "current-thread block_on hung"
    );
}

#[test]
fn code_polled_by_another_executor_is_never_throttled() {
    let n = within(|| {
        // A plain thread nimsync never polled anything on: no budget to run out of.
        let mut fut = pin!(spend_two_budgets());
        let mut cx = Context::from_waker(Waker::noop());
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(n) => n,
            Poll::Pending => 0,
        }
    });
    assert_eq!(n, Some(2 * coop::BUDGET + 1));
}

#[test]
fn an_interval_with_a_period_beyond_instant_range_ticks_once_then_waits() {
    let rt = Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let mut iv = interval(Duration::MAX);
        iv.tick().await; // immediate
        {
            let mut second = pin!(iv.tick());
            // The second tick is decades away: pending, not an overflow panic.
            let pending = poll_fn(|cx| Poll::Ready(second.as_mut().poll(cx).is_pending())).await;
            assert!(pending);
        }
        iv.reset(); // the same arithmetic
    });
}

/// A waker that panics when woken (e.g. one that runs user callbacks).
struct PanickingWaker;

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("waker panicked");
    }
}

/// Registers a timer with a panicking waker, lets the runtime fire it, then checks that the
/// runtime still runs tasks.
fn fire_a_panicking_timer(rt: Runtime) -> Option<u32> {
    let out = rt.block_on(spawn(async {
        let panicking = Waker::from(Arc::new(PanickingWaker));
        let mut timer = Box::pin(sleep(Duration::from_millis(10)));
        let registered = timer
            .as_mut()
            .poll(&mut Context::from_waker(&panicking))
            .is_pending();
        assert!(registered);
        // Past its deadline the runtime fires it; whoever does must go on.
        sleep(Duration::from_millis(20)).await;
        drop(timer);
        spawn(async { 7 }).await.unwrap()
    }));
    drop(rt);
    out.ok()
}

#[test]
fn a_timer_whose_waker_panics_does_not_take_the_runtime_down() {
    let current = within(|| {
        let rt = Builder::new_current_thread()
            .start_paused(true)
            .build()
            .unwrap();
        fire_a_panicking_timer(rt)
    });
    assert_eq!(current, Some(Some(7)), "current-thread runtime");
    let multi = within(|| {
        let rt = Builder::new_multi_thread()
            .workers(1)
            .start_paused(true)
            .build()
            .unwrap();
        fire_a_panicking_timer(rt)
    });
    assert_eq!(multi, Some(Some(7)), "multi-threaded runtime");
}

#[test]
fn a_runtime_dropped_on_its_own_blocking_thread_shuts_down() {
    let done = within(|| {
        let rt = Runtime::builder().workers(1).build().unwrap();
        let handle = rt.handle().clone();
        let (tx, rx) = mpsc::channel();
        let rt = Mutex::new(Some(rt));
        handle.spawn_blocking(move || {
            drop(rt.lock().unwrap().take());
            let _ = tx.send(());
        });
        rx.recv().is_ok()
    });
    assert_eq!(
        done,
        Some(true),
        "Runtime::drop on its blocking thread hung"
    );
}

#[test]
fn a_second_block_on_takes_the_current_thread_core_over_when_the_first_returns() {
    let v = within(|| {
        let rt = Arc::new(Runtime::current_thread());
        let (started, first_running) = mpsc::channel();
        let (release, first_may_return) = mpsc::channel::<()>();
        let first = {
            let rt = rt.clone();
            std::thread::spawn(move || {
                rt.block_on(async move {
                    // Holds the core until the second `block_on` waits for it.
                    started.send(()).unwrap();
                    first_may_return.recv().unwrap();
                })
            })
        };
        first_running.recv().unwrap();
        let second = rt.block_on(async move {
            // Polled without the core: the task below runs only once this `block_on`
            // takes the core over.
            let task = spawn(async {
                sleep(Duration::from_millis(5)).await;
                1
            });
            release.send(()).unwrap();
            task.await.unwrap()
        });
        first.join().unwrap();
        second
    });
    assert_eq!(v, Some(1), "the second block_on never finished");
}

/// Registers a 5 s timer, then waits for `work` (which wakes the `block_on` future from
/// another thread); returns how far the paused clock moved meanwhile.
fn clock_moved_while_woken<F: Future>(work: impl FnOnce() -> F) -> Duration
where
    F::Output: Send,
{
    let rt = Builder::new_multi_thread()
        .workers(1)
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let t0 = nimsync_scheduler::now();
        let mut far = pin!(sleep(Duration::from_secs(5)));
        poll_fn(|cx| {
            let _ = far.as_mut().poll(cx); // registers the timer
            Poll::Ready(())
        })
        .await;
        work().await;
        nimsync_scheduler::now() - t0
    })
}

#[test]
fn the_paused_clock_does_not_jump_while_a_woken_block_on_is_about_to_run() {
    // Racy before the fix (the waking thread found everything idle and advanced the clock
    // to the 5 s timer before the `block_on` thread ran): a few percent of the runs.
    for _ in 0..500 {
        let moved = clock_moved_while_woken(|| async { spawn(async {}).await.unwrap() });
        assert!(moved < Duration::from_secs(5), "woken by a task: {moved:?}");
    }
    for _ in 0..100 {
        let moved = clock_moved_while_woken(|| async {
            nimsync_scheduler::spawn_blocking(|| ()).await.unwrap()
        });
        assert!(
            moved < Duration::from_secs(5),
            "woken by a blocking job: {moved:?}"
        );
    }
}
