//! The watchdog: work a worker stuck in one long poll would otherwise hold back — the task in
//! its LIFO slot and its due timers — is taken over by an idle worker. The stuck task spins
//! on a flag (with a generous failure deadline), never sleeps to synchronise.
#![cfg(not(nimsync_loom))]

use nimsync_scheduler::{Builder, Runtime, sleep, spawn};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Wake, Waker};
use std::time::{Duration, Instant};

/// How long a stuck task waits before declaring the rescue failed.
const FAIL_AFTER: Duration = Duration::from_secs(20);

/// Busy-waits (the caller's poll never returns meanwhile) until `flag` is set; returns
/// whether it was set before [`FAIL_AFTER`].
fn spin_until(flag: &AtomicBool) -> bool {
    let start = Instant::now();
    while !flag.load(Ordering::Acquire) {
        if start.elapsed() > FAIL_AFTER {
            return false;
        }
        std::hint::spin_loop();
    }
    true
}

/// A waker that raises a flag.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
}

#[test]
fn lifo_slot_task_of_a_stuck_worker_is_stolen() {
    for lifo_runs_first in [false, true] {
        let rt = Runtime::builder().workers(2).build().unwrap();
        let rescued = rt.block_on(async move {
            spawn(async move {
                if lifo_runs_first {
                    // Let the other worker park first (the watchdog must wake it).
                    nimsync_scheduler::yield_now().await;
                }
                let ran = Arc::new(AtomicBool::new(false));
                let r = ran.clone();
                // Spawned from a running task: it lands in this worker's LIFO slot, which this
                // worker only serves after the current poll, which spins until the child ran.
                let child = spawn(async move { r.store(true, Ordering::Release) });
                let ok = spin_until(&ran);
                drop(child);
                ok
            })
            .await
            .unwrap()
        });
        assert!(
            rescued,
            "the LIFO-slot task of a stuck worker was never run"
        );
        let m = rt.metrics();
        assert!(m.workers.iter().map(|w| w.steal_successes).sum::<u64>() >= 1);
    }
}

#[test]
fn timer_of_a_stuck_worker_fires_on_time() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let (fired_after, late) = rt.block_on(async {
        spawn(async {
            // Register a 20 ms sleep on this worker's wheel, with a flag as its waker, then
            // never return from this poll until it fired.
            let flag = Arc::new(Flag(AtomicBool::new(false)));
            let waker = Waker::from(flag.clone());
            let mut cx = Context::from_waker(&waker);
            let start = Instant::now();
            let mut s = pin!(sleep(Duration::from_millis(20)));
            assert!(s.as_mut().poll(&mut cx).is_pending());
            let ok = spin_until(&flag.0);
            let took = start.elapsed();
            assert!(ok, "the timer of a stuck worker never fired");
            (took, took.saturating_sub(Duration::from_millis(20)))
        })
        .await
        .unwrap()
    });
    assert!(
        fired_after >= Duration::from_millis(20),
        "fired early: {fired_after:?}"
    );
    // A tick overdue plus the watchdog period, with a wide margin for a loaded machine.
    assert!(late < Duration::from_secs(2), "fired {late:?} late");
}

#[test]
fn paused_clock_timer_of_a_stuck_worker_fires_on_advance() {
    let rt = Builder::new_multi_thread()
        .workers(2)
        .start_paused(true)
        .auto_advance(false)
        .build()
        .unwrap();
    let registered = Arc::new(AtomicBool::new(false));
    let reg = registered.clone();
    let h = rt.spawn(async move {
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let mut s = pin!(sleep(Duration::from_millis(10)));
        assert!(s.as_mut().poll(&mut cx).is_pending());
        reg.store(true, Ordering::Release);
        spin_until(&flag.0)
    });
    assert!(spin_until(&registered));
    // The owner is stuck in the poll above; the advance wakes the other worker, which finds
    // the owner's wheel overdue and fires it.
    rt.advance(Duration::from_millis(50));
    assert!(
        rt.block_on(h).unwrap(),
        "the timer of a stuck worker never fired"
    );
}

#[test]
fn idle_runtime_does_not_keep_waking() {
    // With every worker parked nobody watches: parks stay put (no periodic wake-ups).
    let rt = Runtime::builder().workers(2).build().unwrap();
    rt.block_on(async { spawn(async {}).await.unwrap() });
    let parks = |rt: &Runtime| rt.metrics().workers.iter().map(|w| w.parks).sum::<u64>();
    // Wait (by polling the metrics, not sleeping) until both workers have parked at least once.
    let start = Instant::now();
    while rt.metrics().workers.iter().any(|w| w.parks == 0) {
        assert!(start.elapsed() < FAIL_AFTER);
        std::thread::yield_now();
    }
    let before = parks(&rt);
    // 50 watchdog periods of wall time: an idle runtime must not park ~50 more times.
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(50) {
        std::thread::yield_now();
    }
    let after = parks(&rt);
    assert!(
        after - before < 10,
        "idle workers woke {} times",
        after - before
    );
}
