//! Every pool API, deterministic on a paused current-thread runtime.

mod common;

use common::{TestManager, paused};
use nimsync_cancel::{CancelToken, Cancelled};
use nimsync_pool::{BuildError, Object, Pool, PoolError, QueueMode};
use nimsync_scheduler::{now, sleep, spawn, yield_now};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Lets spawned tasks run until they block.
/// A pool of at most one connection.
fn one_slot_pool() -> Pool<TestManager> {
    Pool::builder(TestManager::default())
        .max_size(1)
        .build()
        .unwrap()
}

async fn settle() {
    for _ in 0..20 {
        yield_now().await;
    }
}

#[test]
fn builder_rejects_bad_input() {
    let m = TestManager::default;
    assert_eq!(
        Pool::builder(m()).max_size(0).build().unwrap_err(),
        BuildError::ZeroMaxSize
    );
    assert_eq!(
        Pool::builder(m())
            .max_size(2)
            .min_idle(3)
            .build()
            .unwrap_err(),
        BuildError::MinIdleAboveMaxSize {
            min_idle: 3,
            max_size: 2
        }
    );
    for b in [
        Pool::builder(m()).idle_timeout(Duration::ZERO),
        Pool::builder(m()).max_lifetime(Duration::ZERO),
        Pool::builder(m()).leak_threshold(Duration::ZERO),
        Pool::builder(m()).reaper_interval(Duration::ZERO),
    ] {
        let e = b.build().unwrap_err();
        assert!(matches!(e, BuildError::ZeroDuration(_)), "{e}");
        assert!(e.to_string().contains("greater than zero"));
    }
    assert!(BuildError::ZeroMaxSize.to_string().contains("max_size"));
}

#[test]
fn reuses_connections_and_reports_status() {
    paused().block_on(async {
        let m = TestManager::default();
        let pool = Pool::builder(m.clone()).max_size(3).build().unwrap();
        let a = pool.get().await.unwrap();
        let b = pool.get().await.unwrap();
        assert_eq!((a.id, b.id), (0, 1));
        let st = pool.status();
        assert_eq!((st.size, st.idle, st.in_use, st.waiters), (2, 0, 2, 0));
        drop(a);
        let c = pool.get().await.unwrap();
        assert_eq!(c.id, 0, "reused, not created");
        assert_eq!(Object::checkouts(&c), 2);
        drop((b, c));
        let st = pool.status();
        assert_eq!(
            (st.size, st.idle, st.in_use, st.created, st.checkouts),
            (2, 2, 0, 2, 3)
        );
        assert_eq!(m.live(), 2);
        drop(pool);
        assert_eq!(m.live(), 0, "dropping the pool closes idle connections");
    });
}

#[test]
fn lifo_mode_takes_the_most_recent() {
    paused().block_on(async {
        let pool = Pool::builder(TestManager::default())
            .queue_mode(QueueMode::Lifo)
            .build()
            .unwrap();
        let (a, b) = (pool.get().await.unwrap(), pool.get().await.unwrap());
        drop(a);
        drop(b);
        assert_eq!(pool.get().await.unwrap().id, 1);
        let fifo = Pool::builder(TestManager::default()).build().unwrap();
        let (a, b) = (fifo.get().await.unwrap(), fifo.get().await.unwrap());
        drop(a);
        drop(b);
        assert_eq!(fifo.get().await.unwrap().id, 0);
    });
}

#[test]
fn waiters_are_served_in_arrival_order() {
    paused().block_on(async {
        let pool = one_slot_pool();
        let held = pool.get().await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..6 {
            let (pool, order) = (pool.clone(), Arc::clone(&order));
            tasks.push(spawn(async move {
                let c = pool.get().await.unwrap();
                order.lock().unwrap().push(i);
                yield_now().await; // hold it across a yield so others really wait
                drop(c);
            }));
            settle().await; // task i is queued before task i+1 arrives
        }
        assert_eq!(pool.status().waiters, 6);
        drop(held);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(pool.status().size, 1);
    });
}

#[test]
fn newcomers_do_not_overtake_waiters() {
    paused().block_on(async {
        let pool = one_slot_pool();
        let held = pool.get().await.unwrap();
        let p = pool.clone();
        let waiter = spawn(async move {
            let c = p.get().await?;
            sleep(Duration::from_secs(10)).await;
            Ok::<_, PoolError<_>>(c.id)
        });
        settle().await;
        drop(held); // granted to the waiter, which has not run yet
        let st = pool.status();
        assert_eq!((st.idle, st.waiters), (0, 0));
        let r = pool.get_timeout(Duration::from_millis(1)).await;
        assert!(matches!(r, Err(PoolError::Timeout)), "newcomer must wait");
        assert_eq!(waiter.await.unwrap().unwrap(), 0);
    });
}

#[test]
fn acquire_timeout_is_exact_and_leaves_no_waiter() {
    paused().block_on(async {
        let pool = Pool::builder(TestManager::default())
            .max_size(1)
            .acquire_timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let _held = pool.get().await.unwrap();
        let t0 = now();
        assert!(matches!(pool.get().await, Err(PoolError::Timeout)));
        assert_eq!(now() - t0, Duration::from_secs(2));
        let t0 = now();
        assert!(matches!(
            pool.get_timeout(Duration::from_millis(300)).await,
            Err(PoolError::Timeout)
        ));
        assert_eq!(now() - t0, Duration::from_millis(300));
        let st = pool.status();
        assert_eq!((st.waiters, st.timeouts, st.size), (0, 2, 1));
    });
}

#[test]
fn cancellation_by_token_and_enclosing_scope() {
    paused().block_on(async {
        let pool = one_slot_pool();
        let held = pool.get().await.unwrap();
        let token = CancelToken::new();
        let (p, t) = (pool.clone(), token.clone());
        let waiter = spawn(async move { p.get_with_cancel(&t).await.map(|_| ()) });
        settle().await;
        assert_eq!(pool.status().waiters, 1);
        token.cancel_with("stop");
        let r = waiter.await.unwrap();
        assert!(
            matches!(r, Err(PoolError::Cancelled(Cancelled::Explicit(Some(_))))),
            "{r:?}"
        );
        assert_eq!(pool.status().waiters, 0);

        // An enclosing timeout scope drops a plain `get`.
        let r = nimsync_cancel::timeout(Duration::from_secs(1), pool.get()).await;
        assert_eq!(r.map(|_| ()).unwrap_err(), Cancelled::Timeout);
        assert_eq!(pool.status().waiters, 0);
        drop(held);
        assert_eq!(pool.status().idle, 1);
    });
}

#[test]
fn a_grant_to_an_aborted_waiter_passes_to_the_next() {
    paused().block_on(async {
        let pool = one_slot_pool();
        let held = pool.get().await.unwrap();
        let (pa, pb) = (pool.clone(), pool.clone());
        let a = spawn(async move { pa.get().await.map(|c| c.id) });
        settle().await;
        let b = spawn(async move { pb.get().await.map(|c| c.id) });
        settle().await;
        drop(held); // handed to `a` ...
        a.abort(); // ... which goes away before taking it
        assert!(a.await.unwrap_err().is_cancelled());
        assert_eq!(b.await.unwrap().unwrap(), 0, "b got the same connection");
        let st = pool.status();
        assert_eq!((st.size, st.idle, st.in_use, st.waiters), (1, 1, 0, 0));
    });
}

#[test]
fn health_check_on_checkout_replaces_bad_connections() {
    paused().block_on(async {
        let m = TestManager::default();
        let pool = Pool::builder(m.clone()).build().unwrap();
        drop(pool.get().await.unwrap());
        m.knobs.invalid.store(true, Ordering::SeqCst);
        let c = pool.get().await.unwrap();
        assert_eq!(c.id, 1, "the unhealthy connection was replaced");
        let st = pool.status();
        assert_eq!((st.failed_checks, st.destroyed, st.size), (1, 1, 1));
        drop(c);
        assert_eq!(m.live(), 1);
        // Without the check, the idle connection is handed out as is.
        let unchecked = Pool::builder(m.clone())
            .test_on_checkout(false)
            .build()
            .unwrap();
        drop(unchecked.get().await.unwrap());
        let id = unchecked.get().await.unwrap().id;
        assert_eq!(unchecked.get().await.unwrap().id, id);
    });
}

#[test]
fn idle_timeout_on_checkout_and_by_the_reaper() {
    paused().block_on(async {
        let m = TestManager::default();
        let pool = Pool::builder(m.clone())
            .idle_timeout(Duration::from_secs(10))
            .reaper_interval(Duration::from_secs(60))
            .build()
            .unwrap();
        drop(pool.get().await.unwrap());
        sleep(Duration::from_secs(9)).await;
        assert_eq!(pool.get().await.unwrap().id, 0, "still fresh");
        sleep(Duration::from_secs(11)).await;
        assert_eq!(
            pool.get().await.unwrap().id,
            1,
            "expired idle one replaced at checkout"
        );
        assert_eq!(m.live(), 1);
        // The reaper (next run at t = 60 s) closes it without any checkout.
        sleep(Duration::from_secs(45)).await;
        assert_eq!(pool.status().size, 0);
        assert_eq!(m.live(), 0);
    });
}

#[test]
fn idle_timeout_keeps_min_idle() {
    paused().block_on(async {
        let m = TestManager::default();
        let pool = Pool::builder(m.clone())
            .max_size(4)
            .min_idle(2)
            .idle_timeout(Duration::from_secs(10))
            .reaper_interval(Duration::from_secs(5))
            .build()
            .unwrap();
        let conns: Vec<_> = futures_all(&pool, 4).await;
        drop(conns);
        assert_eq!(pool.status().idle, 4);
        sleep(Duration::from_secs(30)).await;
        let st = pool.status();
        assert_eq!((st.idle, st.size), (2, 2), "{st:?}");
        assert_eq!(m.live(), 2);
    });
}

async fn futures_all(pool: &Pool<TestManager>, n: usize) -> Vec<Object<TestManager>> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(pool.get().await.unwrap());
    }
    v
}

#[test]
fn max_lifetime_on_return_checkout_and_reaper() {
    paused().block_on(async {
        let m = TestManager::default();
        let pool = Pool::builder(m.clone())
            .max_lifetime(Duration::from_secs(10))
            .reaper_interval(Duration::from_secs(100))
            .build()
            .unwrap();
        let c = pool.get().await.unwrap();
        sleep(Duration::from_secs(11)).await;
        drop(c);
        assert_eq!(pool.status().size, 0, "too old: destroyed on return");
        drop(pool.get().await.unwrap()); // id 1, created at t = 11
        sleep(Duration::from_secs(10)).await;
        assert_eq!(
            pool.get().await.unwrap().id,
            2,
            "too old: replaced on checkout"
        );
        sleep(Duration::from_secs(90)).await; // reaper at t = 100
        assert_eq!(pool.status().size, 0);
        assert_eq!(m.live(), 0);
    });
}

#[test]
fn min_idle_is_filled_and_refilled_within_max_size() {
    paused().block_on(async {
        let m = TestManager::default();
        let pool = Pool::builder(m.clone())
            .max_size(5)
            .min_idle(3)
            .reaper_interval(Duration::from_secs(1))
            .build()
            .unwrap();
        settle().await;
        assert_eq!(pool.status().idle, 3);
        let held = futures_all(&pool, 3).await;
        assert_eq!(pool.status().idle, 0);
        sleep(Duration::from_millis(1500)).await;
        let st = pool.status();
        assert_eq!(
            (st.idle, st.size),
            (2, 5),
            "refill bounded by max_size: {st:?}"
        );
        drop(held);
        assert_eq!(pool.status().idle, 5);
        assert_eq!(m.live(), 5);
    });
}

#[test]
fn panicking_holder_frees_the_slot_and_discards_the_connection() {
    paused().block_on(async {
        let m = TestManager::default();
        let pool = Pool::builder(m.clone()).max_size(1).build().unwrap();
        let p = pool.clone();
        let t = spawn(async move {
            let _c = p.get().await.unwrap();
            panic!("boom");
        });
        assert!(t.await.unwrap_err().is_panic());
        let st = pool.status();
        assert_eq!((st.size, st.in_use, st.destroyed), (0, 0, 1));
        assert_eq!(m.live(), 0);
        assert_eq!(pool.get().await.unwrap().id, 1);
    });
}

#[test]
fn cancelled_holder_returns_a_clean_connection() {
    paused().block_on(async {
        let pool = one_slot_pool();
        let p = pool.clone();
        let t = spawn(async move {
            let _c = p.get().await.unwrap();
            std::future::pending::<()>().await;
        });
        settle().await;
        assert_eq!(pool.status().in_use, 1);
        t.abort();
        assert!(t.await.unwrap_err().is_cancelled());
        let st = pool.status();
        assert_eq!(
            (st.size, st.idle, st.destroyed),
            (1, 1, 0),
            "no operation open: reused"
        );
    });
}

#[test]
fn cancelled_mid_operation_discards_the_connection() {
    paused().block_on(async {
        let m = TestManager::default();
        let pool = Pool::builder(m.clone()).max_size(1).build().unwrap();
        // Cancelled by an enclosing timeout while the operation is open.
        let p = pool.clone();
        let r = nimsync_cancel::timeout(Duration::from_millis(10), async move {
            let mut c = p.get().await.unwrap();
            let op = Object::operation(&mut c);
            sleep(Duration::from_secs(1)).await;
            op.complete();
        })
        .await;
        assert_eq!(r, Err(Cancelled::Timeout));
        let st = pool.status();
        assert_eq!((st.size, st.in_use, st.destroyed), (0, 0, 1), "{st:?}");
        // Aborted while the operation is open.
        let p = pool.clone();
        let t = spawn(async move {
            let mut c = p.get().await.unwrap();
            let op = Object::operation(&mut c);
            std::future::pending::<()>().await;
            op.complete();
        });
        settle().await;
        t.abort();
        assert!(t.await.unwrap_err().is_cancelled());
        // An operation that completes leaves the connection reusable.
        let mut c = pool.get().await.unwrap();
        let op = Object::operation(&mut c);
        sleep(Duration::from_millis(5)).await;
        op.complete();
        drop(c);
        let st = pool.status();
        assert_eq!(
            (st.size, st.idle, st.in_use, st.destroyed),
            (1, 1, 0, 2),
            "{st:?}"
        );
        assert_eq!(m.live(), 1);
    });
}

#[test]
fn broken_and_tainted_connections_are_destroyed() {
    paused().block_on(async {
        let m = TestManager::default();
        let pool = Pool::builder(m.clone()).build().unwrap();
        let mut c = pool.get().await.unwrap();
        c.dirty = true; // Manager::has_broken says so
        drop(c);
        let mut c = pool.get().await.unwrap();
        Object::taint(&mut c);
        assert!(Object::is_tainted(&c));
        drop(c);
        let st = pool.status();
        assert_eq!((st.size, st.destroyed, st.created), (0, 2, 2));
        assert_eq!(m.live(), 0);
    });
}

#[test]
fn create_errors_free_the_slot_for_the_next_waiter() {
    paused().block_on(async {
        let m = TestManager::default();
        let pool = Pool::builder(m.clone()).max_size(1).build().unwrap();
        m.knobs.fail_create.store(true, Ordering::SeqCst);
        let e = pool.get().await.unwrap_err();
        assert!(matches!(e, PoolError::Backend(_)));
        assert!(e.to_string().contains("refused"));
        assert_eq!(pool.status().size, 0);
        m.knobs.fail_create.store(false, Ordering::SeqCst);
        assert_eq!(pool.get().await.unwrap().id, 0);
        assert_eq!(pool.status().create_errors, 1);
    });
}

#[test]
fn cancelled_during_create_leaks_nothing() {
    paused().block_on(async {
        let m = TestManager::default();
        m.knobs.yield_in_create.store(true, Ordering::SeqCst);
        let pool = Pool::builder(m.clone()).max_size(1).build().unwrap();
        let token = CancelToken::new();
        token.cancel();
        // Already cancelled: dropped before or during creation.
        assert!(pool.get_with_cancel(&token).await.is_err());
        assert_eq!(pool.status().size, 0);
        assert_eq!(pool.get().await.unwrap().id, 0);
    });
}

#[test]
fn leak_detection_reports_once_with_the_location() {
    paused().block_on(async {
        let reports = Arc::new(Mutex::new(Vec::new()));
        let r = Arc::clone(&reports);
        let pool = Pool::builder(TestManager::default())
            .leak_threshold(Duration::from_secs(10))
            .reaper_interval(Duration::from_secs(5))
            .on_leak(move |rep| r.lock().unwrap().push(rep.clone()))
            .build()
            .unwrap();
        let line = line!() + 1;
        let held = pool.get().await.unwrap();
        let fine = pool.get().await.unwrap();
        sleep(Duration::from_secs(7)).await;
        drop(fine);
        assert!(pool.leaks().is_empty());
        sleep(Duration::from_secs(30)).await;
        let reps = reports.lock().unwrap().clone();
        assert_eq!(reps.len(), 1, "reported once: {reps:?}");
        assert_eq!(reps[0].object_id, Object::id(&held));
        assert_eq!(
            (reps[0].acquired_at.file(), reps[0].acquired_at.line()),
            (file!(), line)
        );
        assert!(reps[0].to_string().contains("possible leak"));
        assert_eq!(pool.leaks().len(), 1);
        assert_eq!(pool.status().leaks_reported, 1);
        drop(held);
        assert!(pool.leaks().is_empty());
    });
}

#[test]
fn close_fails_waiters_and_destroys_returns() {
    paused().block_on(async {
        let m = TestManager::default();
        let pool = Pool::builder(m.clone()).max_size(1).build().unwrap();
        let held = pool.get().await.unwrap();
        let p = pool.clone();
        let waiter = spawn(async move { p.get().await.map(|_| ()) });
        settle().await;
        pool.close();
        assert!(pool.is_closed());
        assert!(matches!(waiter.await.unwrap(), Err(PoolError::Closed)));
        drop(held);
        assert_eq!(pool.status().size, 0);
        assert_eq!(m.live(), 0);
    });
}

#[test]
fn detach_takes_the_connection_out() {
    paused().block_on(async {
        let m = TestManager::default();
        let pool = Pool::builder(m.clone()).max_size(1).build().unwrap();
        let c = Object::detach(pool.get().await.unwrap());
        assert_eq!(pool.status().size, 0);
        assert_eq!(pool.get().await.unwrap().id, 1);
        assert_eq!(m.live(), 2);
        drop(c);
    });
}

#[test]
fn looking_at_leaks_does_not_stop_their_report() {
    paused().block_on(async {
        let reports = Arc::new(Mutex::new(Vec::new()));
        let r = Arc::clone(&reports);
        let pool = Pool::builder(TestManager::default())
            .leak_threshold(Duration::from_secs(10))
            .on_leak(move |rep| r.lock().unwrap().push(rep.object_id))
            .build()
            .unwrap();
        let held = pool.get().await.unwrap();
        sleep(Duration::from_secs(11)).await;
        // `leaks()` (e.g. a debug endpoint) only looks: the next pass still reports it, once.
        assert_eq!(pool.leaks().len(), 1);
        assert_eq!(pool.leaks().len(), 1);
        pool.maintain().await;
        pool.maintain().await;
        assert_eq!(*reports.lock().unwrap(), vec![Object::id(&held)]);
        assert_eq!(pool.status().leaks_reported, 1);
        assert_eq!(pool.leaks().len(), 1, "still listed after the report");
    });
}

#[test]
fn a_zero_timeout_tries_once_without_waiting() {
    paused().block_on(async {
        let m = TestManager::default();
        let pool = Pool::builder(m.clone()).max_size(1).build().unwrap();
        let t0 = now();
        // A free slot and a create that completes at once.
        let c = pool.get_timeout(Duration::ZERO).await.unwrap();
        // Nothing free: fails at once, no waiter left behind.
        let r = pool.get_timeout(Duration::ZERO).await;
        assert!(matches!(r, Err(PoolError::Timeout)), "{r:?}");
        drop(c);
        // An idle connection ready (health check answers at once).
        assert_eq!(pool.get_timeout(Duration::ZERO).await.unwrap().id, 0);
        assert_eq!(now(), t0, "never waited");
        // A create that waits: given up, its slot freed.
        drop(Object::detach(pool.get().await.unwrap()));
        m.knobs.yield_in_create.store(true, Ordering::SeqCst);
        let r = pool.get_timeout(Duration::ZERO).await;
        assert!(matches!(r, Err(PoolError::Timeout)), "{r:?}");
        let st = pool.status();
        assert_eq!((st.size, st.waiters, st.timeouts), (0, 0, 2), "{st:?}");

        // The same through the builder: accepted, and `get` tries once.
        let pool = Pool::builder(TestManager::default())
            .max_size(1)
            .acquire_timeout(Duration::ZERO)
            .build()
            .unwrap();
        let c = pool.get().await.unwrap();
        assert!(matches!(pool.get().await, Err(PoolError::Timeout)));
        drop(c);
        assert_eq!(pool.get().await.unwrap().id, 0);
        assert_eq!(now(), t0);
    });
}

#[test]
fn a_zero_timeout_does_not_overtake_waiters() {
    paused().block_on(async {
        let pool = one_slot_pool();
        let held = pool.get().await.unwrap();
        let p = pool.clone();
        let waiter = spawn(async move { p.get().await.map(|c| c.id) });
        settle().await;
        drop(held); // granted to the waiter, which has not run yet
        let r = pool.get_timeout(Duration::ZERO).await;
        assert!(matches!(r, Err(PoolError::Timeout)), "{r:?}");
        assert_eq!(waiter.await.unwrap().unwrap(), 0);
    });
}

#[test]
fn get_with_cancel_applies_the_acquire_timeout() {
    paused().block_on(async {
        let pool = Pool::builder(TestManager::default())
            .max_size(1)
            .acquire_timeout(Duration::from_secs(1))
            .build()
            .unwrap();
        let _held = pool.get().await.unwrap();
        let token = CancelToken::new();
        let t0 = now();
        let r = nimsync_cancel::timeout(Duration::from_secs(60), pool.get_with_cancel(&token))
            .await
            .expect("still waiting after 60 s: the acquire timeout was ignored");
        assert!(matches!(r, Err(PoolError::Timeout)), "{r:?}");
        assert_eq!(now() - t0, Duration::from_secs(1));
        let st = pool.status();
        assert_eq!((st.waiters, st.timeouts), (0, 1));
        // The token still wins when it fires first.
        let t = token.clone();
        spawn(async move {
            sleep(Duration::from_millis(100)).await;
            t.cancel_with("stop");
        });
        let r = pool.get_with_cancel(&token).await;
        assert!(
            matches!(r, Err(PoolError::Cancelled(Cancelled::Explicit(Some(_))))),
            "{r:?}"
        );
    });
}

/// Drops `value`, returning whether that panicked.
fn drop_panics<T>(value: T) -> bool {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(value))).is_err()
}

#[test]
fn a_panicking_has_broken_frees_the_slot_then_panics() {
    paused().block_on(async {
        let m = TestManager::default();
        let pool = Pool::builder(m.clone()).max_size(1).build().unwrap();
        let conn = pool.get().await.unwrap();
        m.knobs.panic_in_has_broken.store(true, Ordering::SeqCst);
        assert!(
            drop_panics(conn),
            "the panic goes on to the dropping thread"
        );
        let st = pool.status();
        assert_eq!(
            (st.size, st.in_use, st.idle, st.destroyed),
            (0, 0, 0, 1),
            "judged broken: destroyed, slot freed: {st:?}"
        );
        assert_eq!(m.live(), 0);
        m.knobs.panic_in_has_broken.store(false, Ordering::SeqCst);
        let again = pool.get_timeout(Duration::from_secs(5)).await;
        assert_eq!(again.map(|c| c.id).ok(), Some(1), "the only slot is usable");
    });
}

#[test]
fn a_panicking_destroy_frees_the_slot_then_panics() {
    paused().block_on(async {
        let m = TestManager::default();
        let pool = Pool::builder(m.clone()).max_size(1).build().unwrap();
        let mut conn = pool.get().await.unwrap();
        Object::taint(&mut conn);
        m.knobs.panic_in_destroy.store(true, Ordering::SeqCst);
        assert!(drop_panics(conn));
        let st = pool.status();
        assert_eq!((st.size, st.in_use, st.destroyed), (0, 0, 1), "{st:?}");
        // A guard returned to a closed pool is destroyed too: same rule.
        let conn = pool.get_timeout(Duration::from_secs(5)).await.unwrap();
        pool.close();
        assert!(drop_panics(conn));
        assert_eq!(pool.status().size, 0);
        assert_eq!(m.live(), 0);
    });
}

#[test]
fn close_destroys_every_idle_connection_before_a_destroy_panic_goes_on() {
    paused().block_on(async {
        let m = TestManager::default();
        let pool = Pool::builder(m.clone()).max_size(3).build().unwrap();
        drop(futures_all(&pool, 3).await);
        let held = pool.get().await.unwrap();
        assert_eq!(pool.status().idle, 2);
        m.knobs.panic_in_destroy.store(true, Ordering::SeqCst);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pool.close()));
        assert!(r.is_err(), "the panic goes on to the caller of close");
        let st = pool.status();
        assert_eq!((st.size, st.idle, st.destroyed), (1, 0, 2), "{st:?}");
        assert_eq!(m.live(), 1, "only the checked-out one is left");
        m.knobs.panic_in_destroy.store(false, Ordering::SeqCst);
        drop(held);
        assert_eq!((pool.status().size, m.live()), (0, 0));
    });
}

#[test]
fn a_panicking_destroy_in_maintain_frees_slots_and_spares_the_reaper() {
    use futures_lite::FutureExt;
    paused().block_on(async {
        let m = TestManager::default();
        let pool = Pool::builder(m.clone())
            .max_size(4)
            .idle_timeout(Duration::from_secs(10))
            .reaper_interval(Duration::from_secs(60))
            .build()
            .unwrap();
        drop(futures_all(&pool, 2).await);
        sleep(Duration::from_secs(11)).await;
        m.knobs.panic_in_destroy.store(true, Ordering::SeqCst);
        // A direct pass: both expired connections destroyed, then the panic goes on.
        let r = std::panic::AssertUnwindSafe(pool.maintain())
            .catch_unwind()
            .await;
        assert!(r.is_err());
        assert_eq!((pool.status().size, m.live()), (0, 0));
        // The reaper's pass at t = 60 s panics the same way; the one at 120 s still runs.
        drop(futures_all(&pool, 2).await); // t = 11 s
        sleep(Duration::from_secs(50)).await; // the reaper ran at t = 60 s
        assert_eq!(
            (pool.status().size, m.live()),
            (0, 0),
            "evicted at t = 60 s"
        );
        m.knobs.panic_in_destroy.store(false, Ordering::SeqCst);
        drop(pool.get().await.unwrap()); // t = 61 s
        sleep(Duration::from_secs(60)).await; // t = 121 s: the reaper ran at 120 s
        assert_eq!(
            (pool.status().size, m.live()),
            (0, 0),
            "the reaper still runs"
        );
    });
}
