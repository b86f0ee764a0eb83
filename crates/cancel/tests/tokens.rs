//! Token tests: trees, reasons, callbacks, waiters, guards, memory (children freed).

use nimsync_cancel::{CancelToken, Cancelled};
use nimsync_scheduler::{Runtime, spawn};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

#[test]
fn cancel_reaches_descendants_not_ancestors() {
    let root = CancelToken::new();
    let a = root.child();
    let b = root.child();
    let a1 = a.child();
    let a2 = a.child();
    a.cancel();
    assert!(a.is_cancelled() && a1.is_cancelled() && a2.is_cancelled());
    assert!(!root.is_cancelled() && !b.is_cancelled());
    assert_eq!(a.reason(), Some(Cancelled::Explicit(None)));
    assert_eq!(a1.reason(), Some(Cancelled::Parent));
    root.cancel_with("bye");
    assert!(b.is_cancelled());
    // The first reason stays.
    assert_eq!(a.reason(), Some(Cancelled::Explicit(None)));
    assert_eq!(
        root.reason(),
        Some(Cancelled::Explicit(Some(Arc::from("bye"))))
    );
}

#[test]
fn child_of_cancelled_parent_is_born_cancelled() {
    let root = CancelToken::new();
    root.cancel();
    let c = root.child();
    assert!(c.is_cancelled());
    assert_eq!(c.reason(), Some(Cancelled::Parent));
    assert_eq!(root.registrations(), 0);
}

#[test]
fn clones_share_state() {
    let t = CancelToken::new();
    let c = t.clone();
    c.cancel();
    assert!(t.is_cancelled());
    assert!(t.same_as(&c));
}

#[test]
fn second_cancel_keeps_first_reason() {
    let t = CancelToken::new();
    t.cancel_with("first");
    t.cancel_with("second");
    t.cancel();
    assert_eq!(
        t.reason(),
        Some(Cancelled::Explicit(Some(Arc::from("first"))))
    );
}

#[test]
fn callbacks_run_once_on_cancel_and_not_after_unregister() {
    let t = CancelToken::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let r1 = runs.clone();
    let kept = t.on_cancel(move || {
        r1.fetch_add(1, Ordering::SeqCst);
    });
    let r2 = runs.clone();
    let dropped = t.on_cancel(move || {
        r2.fetch_add(100, Ordering::SeqCst);
    });
    assert_eq!(t.registrations(), 2);
    drop(dropped);
    assert_eq!(t.registrations(), 1);
    t.cancel();
    t.cancel();
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    drop(kept);
}

#[test]
fn callback_on_cancelled_token_runs_at_once() {
    let t = CancelToken::new();
    t.cancel();
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    let _reg = t.on_cancel(move || {
        r.fetch_add(1, Ordering::SeqCst);
    });
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[test]
fn callbacks_on_descendants_run_when_root_is_cancelled() {
    let root = CancelToken::new();
    let leaf = root.child().child().child();
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    let _reg = leaf.on_cancel(move || {
        r.fetch_add(1, Ordering::SeqCst);
    });
    root.cancel();
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[test]
fn panicking_callback_does_not_stop_the_tree_cancel() {
    let root = CancelToken::new();
    let a = root.child();
    let b = root.child();
    let _p = a.on_cancel(|| panic!("callback panic"));
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let _q = b.on_cancel(move || {
        r.fetch_add(1, Ordering::SeqCst);
    });
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| root.cancel()));
    assert!(res.is_err(), "the callback's panic is re-raised");
    assert!(a.is_cancelled() && b.is_cancelled());
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

#[test]
fn dropped_children_are_freed() {
    let parent = CancelToken::new();
    for _ in 0..100_000 {
        let c = parent.child();
        let g = c.child();
        let _w = g.on_cancel(|| {});
    }
    assert_eq!(parent.registrations(), 0);
    // A live child of a dropped intermediate token still hears the root.
    let leaf = parent.child().child().child();
    assert_eq!(parent.registrations(), 1);
    parent.cancel();
    assert!(leaf.is_cancelled());
}

#[test]
fn leaked_registration_keeps_its_token_and_still_fires() {
    // A registration owns a clone of its token: leaking it keeps the child (and the
    // callback's captures) alive, still attached, and the cancel releases them.
    let parent = CancelToken::new();
    let probe = Arc::new(());
    {
        let child = parent.child();
        let p = probe.clone();
        let reg = child.on_cancel(move || drop(p));
        std::mem::forget(reg); // even a leaked registration handle...
    }
    assert_eq!(parent.registrations(), 1);
    assert_eq!(Arc::strong_count(&probe), 2);
    parent.cancel();
    assert_eq!(
        Arc::strong_count(&probe),
        1,
        "cancel ran and dropped the closure"
    );
}

#[test]
fn drop_guard_cancels_and_disarm_does_not() {
    let t = CancelToken::new();
    let g = t.clone().drop_guard();
    let back = g.disarm();
    assert!(!back.is_cancelled());
    drop(t.clone().drop_guard());
    assert!(t.is_cancelled());
}

struct CountWake(AtomicUsize);
impl Wake for CountWake {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn cancelled_future_registers_and_unregisters() {
    let t = CancelToken::new();
    let counter = Arc::new(CountWake(AtomicUsize::new(0)));
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);
    let mut fut = t.cancelled();
    assert_eq!(std::pin::Pin::new(&mut fut).poll(&mut cx), Poll::Pending);
    assert_eq!(t.registrations(), 1);
    drop(fut);
    assert_eq!(
        t.registrations(),
        0,
        "a dropped waiter leaves nothing behind"
    );

    let mut fut = t.cancelled();
    assert_eq!(std::pin::Pin::new(&mut fut).poll(&mut cx), Poll::Pending);
    t.cancel();
    assert_eq!(counter.0.load(Ordering::SeqCst), 1);
    assert_eq!(std::pin::Pin::new(&mut fut).poll(&mut cx), Poll::Ready(()));
}

#[test]
fn cancelled_future_wakes_the_waker_of_its_latest_poll() {
    // The waiter keeps only its registration's key: a poll with another waker must refresh
    // the entry on the token, and a poll with the same one must leave it (no second entry).
    let t = CancelToken::new();
    let first = Arc::new(CountWake(AtomicUsize::new(0)));
    let second = Arc::new(CountWake(AtomicUsize::new(0)));
    let (w1, w2) = (Waker::from(first.clone()), Waker::from(second.clone()));
    let mut fut = Box::pin(t.cancelled());
    for w in [&w1, &w1, &w2] {
        assert!(fut.as_mut().poll(&mut Context::from_waker(w)).is_pending());
    }
    assert_eq!(t.registrations(), 1);
    t.cancel();
    let woken = (
        first.0.load(Ordering::SeqCst),
        second.0.load(Ordering::SeqCst),
    );
    assert_eq!(woken, (0, 1), "only the latest waker is woken");
    assert!(fut.as_mut().poll(&mut Context::from_waker(&w2)).is_ready());
}

use std::future::Future;

#[test]
fn cancelled_wakes_tasks_across_threads() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let root = CancelToken::new();
    let waiters: Vec<_> = (0..64)
        .map(|i| {
            let t = if i % 2 == 0 {
                root.child()
            } else {
                root.child().child()
            };
            rt.spawn(async move {
                t.cancelled().await;
                t.reason()
            })
        })
        .collect();
    root.cancel();
    rt.block_on(async {
        for (i, w) in waiters.into_iter().enumerate() {
            let r = w.await.unwrap();
            assert_eq!(r, Some(Cancelled::Parent), "waiter {i}");
        }
    });
}

#[test]
fn concurrent_cancel_and_child_creation() {
    // Children created while the root is being cancelled from another thread are cancelled
    // either by the tree walk or at birth; none is missed.
    for _ in 0..50 {
        let root = CancelToken::new();
        let r = root.clone();
        let maker = std::thread::spawn(move || (0..200).map(|_| r.child()).collect::<Vec<_>>());
        root.cancel();
        let children = maker.join().unwrap();
        assert!(children.iter().all(CancelToken::is_cancelled));
    }
}

#[test]
fn cancelled_inside_spawned_task_on_any_runtime_flavour() {
    let rt = Runtime::current_thread();
    let t = CancelToken::new();
    let t2 = t.clone();
    let out = rt.block_on(async move {
        let h = spawn(async move {
            t2.cancelled().await;
            1
        });
        t.cancel();
        h.await.unwrap()
    });
    assert_eq!(out, 1);
}

#[test]
fn a_drop_guard_dropped_by_an_unwind_cancels_even_if_a_callback_panics() {
    let t = CancelToken::new();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let _first = t.on_cancel(|| panic!("callback"));
    let _second = t.on_cancel(move || {
        r.fetch_add(1, Ordering::SeqCst);
    });
    let guard = t.clone().drop_guard();
    // The guard is dropped while the body's panic unwinds: before, the callback's panic was
    // a second one and aborted the test binary.
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _guard = guard;
        panic!("body");
    }));
    let payload = out.expect_err("the body panicked");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"body"));
    assert!(t.is_cancelled());
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

#[test]
fn a_drop_guard_dropped_normally_re_raises_a_callback_panic_like_cancel() {
    let t = CancelToken::new();
    let _reg = t.on_cancel(|| panic!("callback"));
    let guard = t.clone().drop_guard();
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(guard)));
    assert!(out.is_err());
    assert!(t.is_cancelled());
}
