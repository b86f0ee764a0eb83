//! Integration tests of the runtime core: building, `block_on`, spawning, `JoinHandle`
//! (await, abort, detach), panics, shutdown, wakers, the global runtime.
#![cfg(not(nimsync_loom))]

use nimsync_scheduler::{BuildError, Builder, Handle, JoinHandle, Runtime, spawn, yield_now};
use std::future::{Future, pending, poll_fn};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// Upper bound for anything that should happen "soon".
const LIMIT: Duration = Duration::from_secs(20);

fn both_flavours() -> Vec<(&'static str, Runtime)> {
    vec![
        ("current_thread", Runtime::current_thread()),
        (
            "multi_thread_1",
            Runtime::builder().workers(1).build().unwrap(),
        ),
        (
            "multi_thread_2",
            Runtime::builder().workers(2).build().unwrap(),
        ),
        (
            "multi_thread_4_no_heuristics",
            Runtime::builder()
                .workers(4)
                .lifo_slot(false)
                .search_throttle(false)
                .spin_before_park(false)
                .local_queue_capacity(4)
                .build()
                .unwrap(),
        ),
    ]
}

#[test]
fn zero_workers_is_a_clear_error() {
    let err = Runtime::builder().workers(0).build().unwrap_err();
    assert!(matches!(err, BuildError::ZeroWorkers));
    assert!(err.to_string().contains("at least one worker"));
    assert!(matches!(
        Runtime::builder().local_queue_capacity(1).build(),
        Err(BuildError::InvalidConfig(_))
    ));
}

#[test]
fn block_on_returns_value() {
    for (name, rt) in both_flavours() {
        assert_eq!(rt.block_on(async { 7 }), 7, "{name}");
    }
}

#[test]
fn spawn_and_join() {
    for (name, rt) in both_flavours() {
        let v = rt.block_on(async {
            let h = spawn(async { 1 + 1 });
            h.await.unwrap()
        });
        assert_eq!(v, 2, "{name}");
        // rt.spawn from outside, awaited in block_on
        let h = rt.spawn(async { "outside" });
        assert_eq!(rt.block_on(h).unwrap(), "outside", "{name}");
    }
}

#[test]
fn hundred_thousand_concurrent_tasks_complete() {
    for (name, rt) in both_flavours() {
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        let sum = rt.block_on(async move {
            let handles: Vec<JoinHandle<u64>> = (0..100_000u64)
                .map(|i| {
                    let d = d.clone();
                    spawn(async move {
                        yield_now().await;
                        d.fetch_add(1, Ordering::Relaxed);
                        i
                    })
                })
                .collect();
            let mut sum = 0;
            for h in handles {
                sum += h.await.unwrap();
            }
            sum
        });
        assert_eq!(sum, (0..100_000u64).sum::<u64>(), "{name}");
        assert_eq!(done.load(Ordering::Relaxed), 100_000, "{name}");
        let m = rt.metrics();
        assert!(m.spawned >= 100_000, "{name}: {m:?}");
    }
}

#[test]
fn panics_are_isolated_and_reported() {
    for (name, rt) in both_flavours() {
        rt.block_on(async {
            let bad = spawn(async { panic!("task exploded {}", 42) });
            let good = spawn(async { 5 });
            let err = bad.await.unwrap_err();
            assert!(err.is_panic(), "{name}");
            assert_eq!(err.panic_message(), Some("task exploded 42"));
            assert!(err.to_string().contains("panicked: task exploded 42"));
            assert_eq!(good.await.unwrap(), 5);
        });
        // The runtime still works afterwards, on every worker.
        let v = rt.block_on(async {
            let hs: Vec<_> = (0..100).map(|i| spawn(async move { i })).collect();
            let mut s = 0;
            for h in hs {
                s += h.await.unwrap();
            }
            s
        });
        assert_eq!(v, 4950, "{name}");
        // The payload can be resumed.
        let err = rt.block_on(async {
            spawn(async { std::panic::panic_any(17u8) })
                .await
                .unwrap_err()
        });
        assert_eq!(*err.into_panic().downcast::<u8>().unwrap(), 17);
    }
}

/// Counts drops of the future it wraps.
struct DropCounter(Arc<AtomicUsize>);
impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn abort_sleeping_running_finished_tasks() {
    for (name, rt) in both_flavours() {
        rt.block_on(async {
            // sleeping (pending forever)
            let drops = Arc::new(AtomicUsize::new(0));
            let guard = DropCounter(drops.clone());
            let h = spawn(async move {
                let _g = guard;
                nimsync_scheduler::sleep(Duration::from_secs(3600)).await;
            });
            yield_now().await;
            h.abort();
            let e = h.await.unwrap_err();
            assert!(e.is_cancelled(), "{name}");
            assert_eq!(
                drops.load(Ordering::SeqCst),
                1,
                "{name}: future dropped once"
            );

            // running: a task that keeps yielding until aborted
            let started = Arc::new(AtomicBool::new(false));
            let s = started.clone();
            let h = spawn(async move {
                s.store(true, Ordering::SeqCst);
                loop {
                    yield_now().await;
                }
            });
            while !started.load(Ordering::SeqCst) {
                yield_now().await;
            }
            h.abort();
            assert!(h.await.unwrap_err().is_cancelled(), "{name}");

            // finished: abort after completion keeps the output
            let h = spawn(async { 9 });
            while !h.is_finished() {
                yield_now().await;
            }
            h.abort();
            assert_eq!(h.await.unwrap(), 9, "{name}");
        });
    }
}

#[test]
fn dropping_join_handle_detaches() {
    for (name, rt) in both_flavours() {
        let (tx, rx) = mpsc::channel();
        rt.block_on(async move {
            drop(spawn(async move {
                yield_now().await;
                tx.send(5).unwrap();
            }));
        });
        // Keep driving the runtime until the detached task ran.
        let v = rt.block_on(async move {
            loop {
                if let Ok(v) = rx.try_recv() {
                    break v;
                }
                yield_now().await;
            }
        });
        assert_eq!(v, 5, "{name}");
    }
}

#[test]
fn shutdown_drops_every_pending_task_exactly_once() {
    for (name, rt) in both_flavours() {
        let drops = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for i in 0..1000 {
            let g = DropCounter(drops.clone());
            handles.push(rt.spawn(async move {
                let _g = g;
                if i % 3 == 0 {
                    nimsync_scheduler::sleep(Duration::from_secs(3600)).await;
                } else if i % 3 == 1 {
                    pending::<()>().await;
                } else {
                    loop {
                        yield_now().await;
                    }
                }
            }));
        }
        // A pair of tasks that wait on each other (a cycle only the registry can break).
        let (tx, rx) = futures_oneshot();
        let g = DropCounter(drops.clone());
        handles.push(rt.spawn(async move {
            let _g = g;
            let _tx = tx;
            pending::<()>().await;
        }));
        let g = DropCounter(drops.clone());
        handles.push(rt.spawn(async move {
            let _g = g;
            rx.await;
        }));
        rt.block_on(async {
            for _ in 0..10 {
                yield_now().await;
            }
        });
        rt.shutdown_timeout(LIMIT);
        assert_eq!(drops.load(Ordering::SeqCst), 1002, "{name}");
        for h in handles {
            assert!(h.is_finished(), "{name}");
        }
    }
}

/// A tiny oneshot-ish future pair: the receiver waits until the sender is dropped.
fn futures_oneshot() -> (Arc<Mutex<Option<Waker>>>, impl Future<Output = ()> + Send) {
    let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
    let s = slot.clone();
    let fut = poll_fn(move |cx| {
        if Arc::strong_count(&s) == 1 {
            return Poll::Ready(());
        }
        *s.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    });
    (slot, fut)
}

#[test]
fn dropping_runtime_drops_pending_tasks() {
    let drops = Arc::new(AtomicUsize::new(0));
    {
        let rt = Runtime::builder().workers(2).build().unwrap();
        for _ in 0..100 {
            let g = DropCounter(drops.clone());
            rt.spawn(async move {
                let _g = g;
                pending::<()>().await
            });
        }
    }
    assert_eq!(drops.load(Ordering::SeqCst), 100);
}

#[test]
fn join_after_shutdown_reports_cancelled() {
    let rt = Runtime::builder().workers(1).build().unwrap();
    let h = rt.spawn(pending::<()>());
    let handle = rt.handle().clone();
    drop(rt);
    assert!(handle.is_shutdown());
    let e = futures_executor_block_on(h).unwrap_err();
    assert!(e.is_cancelled());
    // Spawning on a shut-down runtime gives a cancelled task, never a hang.
    let h2 = handle.spawn(async { 1 });
    assert!(futures_executor_block_on(h2).unwrap_err().is_cancelled());
}

/// Minimal single-future executor for tests outside any runtime.
fn futures_executor_block_on<F: Future>(fut: F) -> F::Output {
    futures_util::pin_mut!(fut);
    let thread = std::thread::current();
    struct T(std::thread::Thread);
    impl std::task::Wake for T {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(T(thread)));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park_timeout(Duration::from_millis(50));
    }
}

#[test]
fn wake_after_shutdown_is_harmless() {
    for (name, rt) in both_flavours() {
        let stash: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
        let s = stash.clone();
        let h = rt.spawn(poll_fn(move |cx| {
            *s.lock().unwrap() = Some(cx.waker().clone());
            Poll::<()>::Pending
        }));
        // Wait until the task stashed its waker.
        rt.block_on(async {
            while stash.lock().unwrap().is_none() {
                yield_now().await;
            }
        });
        let waker = stash.lock().unwrap().clone().unwrap();
        drop(rt);
        waker.wake_by_ref();
        let w2 = waker.clone();
        std::thread::spawn(move || w2.wake()).join().unwrap();
        waker.wake();
        assert!(
            futures_executor_block_on(h).unwrap_err().is_cancelled(),
            "{name}"
        );
    }
}

#[test]
fn wake_from_other_threads() {
    for (name, rt) in both_flavours() {
        let v = rt.block_on(async {
            let (tx, rx) = mpsc::channel::<Waker>();
            let flag = Arc::new(AtomicBool::new(false));
            let f = flag.clone();
            let waiter = spawn(poll_fn(move |cx| {
                if f.load(Ordering::SeqCst) {
                    Poll::Ready(11)
                } else {
                    tx.send(cx.waker().clone()).unwrap();
                    Poll::Pending
                }
            }));
            let w = loop {
                if let Ok(w) = rx.try_recv() {
                    break w;
                }
                yield_now().await;
            };
            let f2 = flag.clone();
            std::thread::spawn(move || {
                f2.store(true, Ordering::SeqCst);
                w.wake();
            });
            waiter.await.unwrap()
        });
        assert_eq!(v, 11, "{name}");
    }
}

#[test]
fn wake_from_blocking_thread() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let v = rt.block_on(async {
        let flag = Arc::new(AtomicBool::new(false));
        let waker_slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
        let (f, ws) = (flag.clone(), waker_slot.clone());
        let t = spawn(poll_fn(move |cx| {
            if f.load(Ordering::SeqCst) {
                return Poll::Ready(3);
            }
            *ws.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        }));
        while waker_slot.lock().unwrap().is_none() {
            yield_now().await;
        }
        nimsync_scheduler::spawn_blocking(move || {
            flag.store(true, Ordering::SeqCst);
            waker_slot.lock().unwrap().take().unwrap().wake();
        })
        .await
        .unwrap();
        t.await.unwrap()
    });
    assert_eq!(v, 3);
}

#[test]
fn nested_block_on_panics_with_clear_message() {
    for (name, rt) in both_flavours() {
        // block_on inside a task
        let err = rt.block_on(async {
            spawn(async { nimsync_scheduler::block_on(async { 1 }) })
                .await
                .unwrap_err()
        });
        let msg = err.panic_message().unwrap().to_owned();
        assert!(
            msg.contains("`block_on` was called from inside"),
            "{name}: {msg}"
        );
        // block_on inside block_on
        let rt2 = Runtime::current_thread();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(async { rt2.block_on(async { 1 }) })
        }));
        let p = r.unwrap_err();
        let m = p
            .downcast_ref::<&str>()
            .copied()
            .map(str::to_owned)
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap();
        assert!(m.contains("spawn_blocking"), "{name}: {m}");
        // And the runtime is still usable.
        assert_eq!(rt.block_on(async { 2 }), 2);
    }
}

#[test]
fn global_runtime_works_without_setup() {
    let v = nimsync_scheduler::block_on(async { spawn(async { 8 }).await.unwrap() });
    assert_eq!(v, 8);
    // spawn outside any runtime goes to the global runtime
    let h = spawn(async { 9 });
    assert_eq!(nimsync_scheduler::block_on(h).unwrap(), 9);
    assert!(Handle::try_current().is_none());
}

#[test]
fn yield_now_lets_others_run() {
    let rt = Runtime::current_thread();
    let order = rt.block_on(async {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut hs = Vec::new();
        for id in 0..3 {
            let log = log.clone();
            hs.push(spawn(async move {
                for step in 0..3 {
                    log.lock().unwrap().push((step, id));
                    yield_now().await;
                }
            }));
        }
        for h in hs {
            h.await.unwrap();
        }
        Arc::try_unwrap(log).unwrap().into_inner().unwrap()
    });
    // Round robin: every task's step k happens before any task's step k + 1.
    for w in order.windows(2) {
        assert!(w[0].0 <= w[1].0, "{order:?}");
    }
}

#[test]
fn always_ready_task_does_not_starve_others() {
    // One task yields forever; another must still complete, with the LIFO slot on.
    for (name, rt) in both_flavours() {
        rt.block_on(async {
            let hog = spawn(async {
                loop {
                    yield_now().await;
                }
            });
            // A ping-pong pair through the LIFO slot must not starve a third task either.
            let third = spawn(async { 3 });
            assert_eq!(third.await.unwrap(), 3, "{name}");
            hog.abort();
            let _ = hog.await;
        });
    }
}

#[test]
fn current_thread_spawn_from_other_thread_runs_in_block_on() {
    let rt = Runtime::current_thread();
    let handle = rt.handle().clone();
    let h = std::thread::spawn(move || handle.spawn(async { 4 }))
        .join()
        .unwrap();
    assert_eq!(rt.block_on(h).unwrap(), 4);
}

#[test]
fn join_handle_is_send_and_debug() {
    fn assert_send<T: Send>(_: &T) {}
    let rt = Runtime::current_thread();
    let h = rt.spawn(async { 1 });
    assert_send(&h);
    assert!(format!("{h:?}").contains("JoinHandle"));
    assert_eq!(rt.block_on(h).unwrap(), 1);
}

#[test]
fn thread_hooks_and_names() {
    let starts = Arc::new(AtomicUsize::new(0));
    let stops = Arc::new(AtomicUsize::new(0));
    let (s1, s2) = (starts.clone(), stops.clone());
    let rt = Builder::new_multi_thread()
        .workers(2)
        .thread_name("custom")
        .on_thread_start(move || {
            s1.fetch_add(1, Ordering::SeqCst);
        })
        .on_thread_stop(move || {
            s2.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let name = rt.block_on(async {
        spawn(async { std::thread::current().name().unwrap().to_owned() })
            .await
            .unwrap()
    });
    assert!(name.starts_with("custom-"), "{name}");
    drop(rt);
    assert_eq!(starts.load(Ordering::SeqCst), 2);
    assert_eq!(stops.load(Ordering::SeqCst), 2);
}

/// Builds a 2-worker runtime and waits (spinning, no sleep) until both workers started,
/// so the metrics show whether they pinned themselves.
fn started(builder: Builder) -> Runtime {
    let up = Arc::new(AtomicUsize::new(0));
    let u = up.clone();
    let rt = builder
        .workers(2)
        .on_thread_start(move || {
            u.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    while up.load(Ordering::SeqCst) < 2 {
        std::thread::yield_now();
    }
    rt
}

fn pinned(rt: &Runtime) -> Vec<Option<usize>> {
    rt.metrics().workers.iter().map(|w| w.pinned_core).collect()
}

#[test]
fn pin_cores_builds_runs_and_reports_each_workers_core() {
    let rt = started(Runtime::builder().pin_cores(true));
    assert_eq!(rt.block_on(async { spawn(async { 1 }).await.unwrap() }), 1);
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    if cores.len() >= 2 {
        // Round robin over the available cores.
        assert_eq!(pinned(&rt), [Some(cores[0].id), Some(cores[1].id)]);
    }
    assert_eq!(pinned(&started(Runtime::builder())), [None, None]);
}

/// A placement naming a core no machine here has.
struct NoSuchCore;
impl nimsync_scheduler::Placement for NoSuchCore {
    fn core_for_worker(&self, _: usize, _: usize) -> Option<usize> {
        Some(1 << 20)
    }
}

#[test]
fn a_refused_pin_is_reported_as_unpinned() {
    let rt = started(Runtime::builder().pin_cores(true).placement(NoSuchCore));
    assert_eq!(pinned(&rt), [None, None]);
    assert_eq!(rt.block_on(async { spawn(async { 2 }).await.unwrap() }), 2);
}

#[test]
fn task_ids_are_unique_and_visible_in_errors() {
    let rt = Runtime::current_thread();
    rt.block_on(async {
        let a = spawn(async { panic!("x") });
        let id = a.id();
        let e = a.await.unwrap_err();
        assert_eq!(e.id(), id);
    });
}

/// A future that is ready on its n-th poll, waking itself in between (a busy task).
struct CountDown(u32);
impl Future for CountDown {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 == 0 {
            return Poll::Ready(());
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn work_is_stolen_across_workers() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    rt.block_on(async {
        // Spawned from a worker: all land on that worker's queue; the other must steal.
        spawn(async {
            let hs: Vec<_> = (0..2000).map(|_| spawn(CountDown(20))).collect();
            for h in hs {
                h.await.unwrap();
            }
        })
        .await
        .unwrap();
    });
    let m = rt.metrics();
    assert!(m.workers.iter().all(|w| w.polls > 0), "{m:?}");
    assert!(
        m.workers.iter().map(|w| w.steal_successes).sum::<u64>() > 0,
        "{m:?}"
    );
}
