//! Scope tests on a paused clock: deadlines through the timer, nesting (minimum deadline),
//! shields, timeouts, `with_cancel`, `checkpoint`, scope inheritance by spawned tasks, and lazy
//! child scopes (`ChildScopes`).

use nimsync_cancel::{
    CancelScope, CancelToken, Cancelled, ChildScopes, RunChild, checkpoint, current_token, hold,
    shield, timeout, timeout_at, with_cancel,
};
use nimsync_scheduler::{Builder, Runtime, now, sleep, spawn, task_context, yield_now};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

fn paused() -> Runtime {
    Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap()
}

fn paused_multi() -> Runtime {
    Builder::new_multi_thread()
        .workers(2)
        .start_paused(true)
        .build()
        .unwrap()
}

#[test]
fn deadline_fires_through_the_timer_without_polling() {
    let rt = paused();
    rt.block_on(async {
        let t0 = now();
        let scope = CancelScope::with_timeout(Duration::from_secs(3));
        let token = scope.token().clone();
        assert!(!token.is_cancelled());
        // Nobody polls the scope: the timer itself cancels the token.
        token.cancelled().await;
        assert_eq!(now() - t0, Duration::from_secs(3));
        assert_eq!(token.reason(), Some(Cancelled::Timeout));
        assert!(scope.cancel_called());
        assert!(!scope.cancelled_caught(), "no run was interrupted");
    });
}

#[test]
fn deadline_fires_on_a_multi_threaded_runtime() {
    let rt = paused_multi();
    rt.block_on(async {
        let scope = CancelScope::with_timeout(Duration::from_millis(250));
        let r = scope.run(std::future::pending::<()>()).await;
        assert_eq!(r, Err(Cancelled::Timeout));
        assert!(scope.cancelled_caught());
    });
}

/// A deadline fires through the scheduler's timer, whose waker is the scope's node: a
/// panicking `on_cancel` callback must not unwind out of the timer (into the scheduler), and
/// the other callbacks, on the scope and under it, still run.
#[test]
fn a_panicking_callback_does_not_unwind_out_of_a_firing_deadline() {
    let rt = paused();
    let ran = Arc::new(AtomicUsize::new(0));
    let counter = |ran: &Arc<AtomicUsize>| {
        let r = ran.clone();
        move || {
            r.fetch_add(1, Ordering::SeqCst);
        }
    };
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            let scope = CancelScope::with_timeout(Duration::from_millis(10));
            let inner = scope.token().child();
            let _a = scope.token().on_cancel(|| panic!("callback bug"));
            let _b = scope.token().on_cancel(counter(&ran));
            let _c = inner.on_cancel(counter(&ran));
            // Not in `scope.run`: only the timer cancels the scope, while this task sleeps.
            sleep(Duration::from_millis(20)).await;
            assert_eq!(scope.token().reason(), Some(Cancelled::Timeout));
            assert_eq!(inner.reason(), Some(Cancelled::Parent));
            // A timeout whose future registered a panicking callback on its scope.
            let t = timeout(Duration::from_millis(10), async {
                let _p = current_token()
                    .unwrap()
                    .on_cancel(|| panic!("callback bug"));
                std::future::pending::<()>().await
            })
            .await;
            assert_eq!(t, Err(Cancelled::Timeout));
            spawn(async { 7 }).await.unwrap()
        })
    }));
    assert_eq!(
        out.ok(),
        Some(7),
        "a callback's panic unwound out of the timer"
    );
    assert_eq!(ran.load(Ordering::SeqCst), 2, "the other callbacks ran");
}

/// The same on a worker thread: the worker that fires the timer survives it. (Before the
/// fix the panic killed the only worker and `block_on` hung: the runtime runs on a thread of
/// its own, and the channel's timeout only turns that hang into a failure.)
#[test]
fn a_panicking_callback_on_a_deadline_does_not_kill_the_worker() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = Builder::new_multi_thread()
            .workers(1)
            .start_paused(true)
            .build()
            .unwrap();
        let out = rt.block_on(async {
            let t = spawn(async {
                let scope = CancelScope::with_timeout(Duration::from_millis(10));
                let _reg = scope.token().on_cancel(|| panic!("callback bug"));
                scope.run(sleep(Duration::from_secs(1))).await
            });
            let r = t.await.unwrap();
            (r, spawn(async { 1 }).await.unwrap())
        });
        let _ = tx.send(out);
    });
    let out = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("block_on hung: the worker died in the timer");
    assert_eq!(out, (Err(Cancelled::Timeout), 1));
}

#[test]
fn dropping_a_scope_disarms_its_timer() {
    let rt = paused();
    rt.block_on(async {
        let scope = CancelScope::with_timeout(Duration::from_secs(1));
        let token = scope.token().clone();
        drop(scope);
        sleep(Duration::from_secs(5)).await;
        assert!(!token.is_cancelled());
    });
}

#[test]
fn past_deadline_and_zero_timeout_cancel_at_once() {
    let rt = paused();
    rt.block_on(async {
        let polled = Arc::new(AtomicBool::new(false));
        let p = polled.clone();
        let r = timeout(
            Duration::ZERO,
            async move { p.store(true, Ordering::SeqCst) },
        )
        .await;
        assert_eq!(r, Err(Cancelled::Timeout));
        assert!(
            !polled.load(Ordering::SeqCst),
            "a zero timeout never polls the future"
        );
        let past = now() - Duration::from_millis(1);
        assert_eq!(timeout_at(past, async { 1 }).await, Err(Cancelled::Timeout));
        assert!(CancelScope::with_deadline(past).cancel_called());
    });
}

#[test]
fn timeout_returns_output_when_in_time() {
    let rt = paused();
    rt.block_on(async {
        let t0 = now();
        let r = timeout(Duration::from_secs(2), async {
            sleep(Duration::from_secs(1)).await;
            5
        })
        .await;
        assert_eq!(r, Ok(5));
        assert_eq!(now() - t0, Duration::from_secs(1));
    });
}

#[test]
fn timeout_fires_exactly_at_the_deadline() {
    let rt = paused();
    rt.block_on(async {
        let t0 = now();
        let r = timeout(Duration::from_secs(2), sleep(Duration::from_secs(10))).await;
        assert_eq!(r, Err(Cancelled::Timeout));
        assert_eq!(now() - t0, Duration::from_secs(2));
    });
}

#[test]
fn nested_deadlines_take_the_minimum() {
    let rt = paused();
    rt.block_on(async {
        let t0 = now();
        let outer = CancelScope::with_timeout(Duration::from_secs(1));
        let r = outer
            .run(async {
                let inner = CancelScope::with_timeout(Duration::from_secs(100));
                assert_eq!(inner.deadline(), Some(t0 + Duration::from_secs(1)));
                let r = inner.run(sleep(Duration::from_secs(50))).await;
                // The inner scope is cancelled through its parent.
                (r, inner.token().reason())
            })
            .await;
        // The outer run drops its future as soon as it is cancelled, so the inner result is
        // never seen: the outer reports Timeout.
        assert_eq!(r, Err(Cancelled::Timeout));
        assert_eq!(now() - t0, Duration::from_secs(1));

        // And an inner deadline shorter than the outer one fires first.
        let outer = CancelScope::with_timeout(Duration::from_secs(100));
        let r = outer
            .run(async {
                let inner = CancelScope::with_timeout(Duration::from_secs(2));
                assert_eq!(inner.deadline(), Some(now() + Duration::from_secs(2)));
                inner.run(sleep(Duration::from_secs(50))).await
            })
            .await;
        assert_eq!(r, Ok(Err(Cancelled::Timeout)));
    });
}

#[test]
fn inner_scope_reports_parent_when_outer_is_cancelled() {
    let rt = paused();
    rt.block_on(async {
        let outer = CancelScope::new();
        let inner_token = outer
            .run(async { CancelScope::new().token().clone() })
            .await
            .unwrap();
        outer.cancel();
        assert_eq!(inner_token.reason(), Some(Cancelled::Parent));
    });
}

#[test]
fn checkpoint_sees_the_current_scope_and_spawned_tasks_inherit_it() {
    let rt = paused_multi();
    rt.block_on(async {
        assert_eq!(checkpoint(), Ok(()), "no scope: never cancelled");
        let scope = CancelScope::new();
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let child = scope
            .run(async move {
                let handle: nimsync_scheduler::JoinHandle<Cancelled> = spawn(async move {
                    started_tx.send(()).unwrap();
                    loop {
                        if let Err(e) = checkpoint() {
                            return e;
                        }
                        yield_now().await;
                    }
                });
                Some(handle)
            })
            .await
            .unwrap()
            .unwrap();
        started_rx.recv().unwrap();
        scope.token().cancel_with("stop");
        assert_eq!(
            child.await.unwrap(),
            Cancelled::Explicit(Some(Arc::from("stop")))
        );
    });
}

#[test]
fn checkpoint_reports_timeout_of_an_enclosing_scope() {
    let rt = paused();
    rt.block_on(async {
        let r = timeout(Duration::from_secs(1), async {
            // A with_cancel inside: its own token is fine, but the enclosing timeout is seen.
            let token = CancelToken::new();
            with_cancel(&token, async {
                assert!(!current_token().unwrap().same_as(&token), "a child of it");
                sleep(Duration::from_millis(999)).await;
                checkpoint()
            })
            .await
        })
        .await;
        assert_eq!(r, Ok(Ok(Ok(()))), "before the deadline all is well");

        let scope = CancelScope::with_timeout(Duration::from_secs(1));
        let token = CancelToken::new();
        let seen = scope
            .run(async {
                with_cancel(&token, async {
                    // The timer cancels the enclosing scope while this future is shielded
                    // from being dropped...
                    shield(async {
                        sleep(Duration::from_secs(2)).await;
                    })
                    .await;
                    // ...and after the shield the checkpoint sees the enclosing timeout.
                    checkpoint()
                })
                .await
            })
            .await;
        assert_eq!(seen, Ok(Ok(Err(Cancelled::Timeout))));
    });
}

#[test]
fn with_cancel_reports_the_token_reason_and_drops_the_future() {
    let rt = paused();
    rt.block_on(async {
        let token = CancelToken::new();
        let dropped = Arc::new(AtomicBool::new(false));
        struct SetOnDrop(Arc<AtomicBool>);
        impl Drop for SetOnDrop {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let guard = SetOnDrop(dropped.clone());
        let t = token.clone();
        spawn(async move {
            sleep(Duration::from_secs(1)).await;
            t.cancel_with("done waiting");
        });
        let r = with_cancel(&token, async move {
            let _g = guard;
            std::future::pending::<()>().await
        })
        .await;
        assert_eq!(r, Err(Cancelled::Explicit(Some(Arc::from("done waiting")))));
        assert!(dropped.load(Ordering::SeqCst));
        // An already-cancelled token never polls the future.
        let r = with_cancel(&token, async { unreachable!("not polled") }).await;
        assert!(r.is_err());
    });
}

#[test]
fn shielded_scope_is_not_reached_until_it_ends() {
    let rt = paused();
    rt.block_on(async {
        let outer = CancelScope::with_timeout(Duration::from_secs(1));
        let t0 = now();
        let out = outer
            .run(async {
                let shielded = CancelScope::shielded();
                let inner = shielded
                    .run(async {
                        sleep(Duration::from_secs(3)).await;
                        checkpoint()
                    })
                    .await;
                (inner, checkpoint(), now())
            })
            .await;
        // The outer deadline passed at t0 + 1 s, but the shielded section ran to the end
        // (3 s) without seeing it; right after it, the outer run stopped at its next poll
        // (the tuple above is produced in the same poll as the shield ends, so it is kept).
        let (inner, after, when) = out.unwrap();
        assert_eq!(inner, Ok(Ok(())));
        assert_eq!(after, Err(Cancelled::Timeout));
        assert_eq!(when - t0, Duration::from_secs(3));
        assert!(outer.cancel_called());
    });
}

#[test]
fn shielded_scope_can_be_cancelled_by_its_own_token() {
    let rt = paused();
    rt.block_on(async {
        let s = CancelScope::shielded();
        let t = s.token().clone();
        spawn(async move { t.cancel() });
        assert_eq!(
            s.run(std::future::pending::<()>()).await,
            Err(Cancelled::Explicit(None))
        );
    });
}

#[test]
fn outer_run_resumes_dropping_after_the_shield_ends() {
    let rt = paused();
    rt.block_on(async {
        let reached = Arc::new(AtomicBool::new(false));
        let r2 = reached.clone();
        let t0 = now();
        let out = timeout(Duration::from_secs(1), async move {
            shield(sleep(Duration::from_secs(2))).await;
            sleep(Duration::from_secs(10)).await; // dropped here
            r2.store(true, Ordering::SeqCst);
        })
        .await;
        assert_eq!(out, Err(Cancelled::Timeout));
        assert!(!reached.load(Ordering::SeqCst));
        assert_eq!(now() - t0, Duration::from_secs(2));
    });
}

#[test]
fn cancelled_caught_only_when_interrupted() {
    let rt = paused();
    rt.block_on(async {
        let s = CancelScope::with_timeout(Duration::from_secs(1));
        assert_eq!(s.run(async { 3 }).await, Ok(3));
        assert!(!s.cancelled_caught());
        sleep(Duration::from_secs(2)).await;
        assert!(s.cancel_called() && !s.cancelled_caught());
    });
}

#[test]
fn scope_outside_any_runtime_uses_the_global_timer() {
    // No runtime entered: the scope arms its timer on the global runtime.
    let scope = CancelScope::with_timeout(Duration::from_millis(5));
    let t = scope.token().clone();
    futures_executor::block_on(t.cancelled());
    assert_eq!(t.reason(), Some(Cancelled::Timeout));
}

#[test]
fn child_scope_is_lazy_and_tasks_spawned_after_its_token_share_it() {
    let rt = paused_multi();
    rt.block_on(async {
        let parent = CancelToken::new();
        let p = parent.clone();
        let out = ChildScopes::new(&parent)
            .run_owned(async move {
                // Not materialized: nothing hangs on the parent, checkpoint observes it.
                assert_eq!(p.registrations(), 0);
                assert_eq!(checkpoint(), Ok(()));
                // A task spawned before the scope has its token starts in a lazy child
                // scope of the parent of its own.
                let early = spawn(async { current_token().unwrap() }).await.unwrap();
                let here = current_token().unwrap();
                assert!(!here.same_as(&early) && !here.same_as(&p));
                // Spawned after, a task shares the scope's token.
                let late = spawn(async { current_token().unwrap() }).await.unwrap();
                assert!(here.same_as(&late));
                // A scope nested inside is a child of the child scope's token.
                let nested = CancelScope::new();
                here.cancel_with("mine");
                assert!(late.is_cancelled() && !early.is_cancelled());
                assert_eq!(nested.token().reason(), Some(Cancelled::Parent));
                assert_eq!(checkpoint(), Err(Cancelled::Explicit(Some("mine".into()))));
                assert!(!p.is_cancelled());
                std::future::pending::<()>().await;
            })
            .await;
        assert_eq!(out, Err(Cancelled::Explicit(Some("mine".into()))));
        assert!(!parent.is_cancelled());
    });
}

#[test]
fn cancelling_the_parent_stops_an_unmaterialized_child_scope_with_its_reason() {
    let rt = paused();
    rt.block_on(async {
        let parent = CancelToken::new();
        let scope = ChildScopes::new(&parent);
        let p = parent.clone();
        spawn(async move {
            sleep(Duration::from_secs(1)).await;
            p.cancel_with("shutdown");
        });
        let out = scope.run(sleep(Duration::from_secs(10))).await;
        assert_eq!(out, Err(Cancelled::Explicit(Some("shutdown".into()))));
    });
}

#[test]
fn child_scope_run_wakes_the_waker_of_its_latest_poll() {
    // As for `CancelToken::cancelled`: the run's registration on the parent follows the
    // waker of its latest pending poll, and repeated polls keep one entry.
    use std::sync::atomic::AtomicUsize;
    use std::task::{Context, Poll, Wake, Waker};
    struct CountWake(AtomicUsize);
    impl Wake for CountWake {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let parent = CancelToken::new();
    let scopes = ChildScopes::new(&parent);
    let first = Arc::new(CountWake(AtomicUsize::new(0)));
    let second = Arc::new(CountWake(AtomicUsize::new(0)));
    let (w1, w2) = (Waker::from(first.clone()), Waker::from(second.clone()));
    let mut run = Box::pin(scopes.run(std::future::pending::<()>()));
    for w in [&w1, &w1, &w2, &w2] {
        assert!(run.as_mut().poll(&mut Context::from_waker(w)).is_pending());
    }
    assert_eq!(parent.registrations(), 1);
    parent.cancel();
    assert_eq!(
        first.0.load(Ordering::SeqCst),
        0,
        "the replaced waker is not woken"
    );
    assert_eq!(second.0.load(Ordering::SeqCst), 1);
    // Not materialized: the scope reports the parent's own reason.
    assert_eq!(
        run.as_mut().poll(&mut Context::from_waker(&w2)),
        Poll::Ready(Err(nimsync_cancel::Cancelled::Explicit(None)))
    );
}

#[test]
fn child_scope_waker_moves_to_its_token_and_leaves_with_it() {
    let rt = paused();
    rt.block_on(async {
        let parent = CancelToken::new();
        let scopes = ChildScopes::new(&parent);
        let task = spawn(scopes.clone().run_owned(async {
            sleep(Duration::from_secs(1)).await;
            let own = current_token().unwrap();
            sleep(Duration::from_secs(1)).await;
            own
        }));
        sleep(Duration::from_millis(500)).await;
        // Pending before it has a token: its waker waits on the parent.
        assert_eq!(parent.registrations(), 1);
        sleep(Duration::from_secs(1)).await;
        // Pending with a token: the parent holds that token's entry, the waker moved to it.
        assert_eq!(parent.registrations(), 1);
        let own = task.await.unwrap().unwrap();
        assert_eq!(own.registrations(), 0);
        drop(own);
        assert_eq!(parent.registrations(), 0);
        // Dropped while pending: its waker leaves the parent with it.
        let task = spawn(scopes.run_owned(std::future::pending::<()>()));
        yield_now().await;
        assert_eq!(parent.registrations(), 1);
        task.abort();
        assert!(task.await.is_err());
        assert_eq!(parent.registrations(), 0);
    });
}

#[test]
fn a_task_run_claims_an_empty_slot_for_its_run_only() {
    // `RunChild::task` as a task's top-level future: the task starts with an empty slot and
    // the run's scope is current inside it (checkpoint sees the parent, current_token is a
    // child of it); polled inline in a task whose slot is empty, it empties the slot again
    // when it finishes.
    let rt = paused_multi();
    rt.block_on(async {
        let parent = CancelToken::new();
        let scopes = ChildScopes::new(&parent);
        let p = parent.clone();
        let task = nimsync_scheduler::spawn_with_context(
            None,
            RunChild::task(scopes, async move {
                assert!(checkpoint().is_ok());
                p.cancel_with("stop");
                let seen = checkpoint();
                let token = current_token().unwrap();
                (seen, token)
            }),
        );
        let (seen, token) = task.await.unwrap().unwrap();
        assert_eq!(seen, Err(Cancelled::Explicit(Some("stop".into()))));
        assert!(token.is_cancelled() && !token.same_as(&parent));

        let scopes = ChildScopes::new(&CancelToken::new());
        let inline = spawn(async move {
            assert!(task_context().is_none());
            let out = RunChild::task(scopes, async { current_token().is_some() }).await;
            (out, task_context().is_none())
        });
        assert_eq!(inline.await.unwrap(), (Ok(true), true));
    });
}

#[test]
fn a_nested_task_run_dropped_pending_leaves_no_scope_in_the_slot() {
    // `RunChild::task` polled inside a task whose slot is empty claims the slot; dropped
    // while pending (it lost a select, say), it must take its scope out again, whether the
    // slot still holds the shared scope or the node a `current_token()` made from it.
    let rt = paused_multi();
    rt.block_on(async {
        for materialize in [false, true] {
            let parent = CancelToken::new();
            let scopes = ChildScopes::new(&parent);
            let p = parent.clone();
            let task = spawn(async move {
                let mut run = Box::pin(RunChild::task(scopes, async move {
                    if materialize {
                        assert!(current_token().is_some());
                    }
                    std::future::pending::<()>().await
                }));
                std::future::poll_fn(|cx| {
                    assert!(run.as_mut().poll(cx).is_pending());
                    std::task::Poll::Ready(())
                })
                .await;
                let claimed = task_context().is_some();
                drop(run);
                p.cancel();
                (claimed, task_context().is_none(), checkpoint().is_ok())
            });
            assert_eq!(
                task.await.unwrap(),
                (true, true, true),
                "materialize: {materialize}"
            );
        }
    });
}

#[test]
fn a_task_run_in_an_occupied_slot_installs_its_scope_around_each_poll() {
    // Something else in the slot at the first poll (an on_spawn hook's value, say): the
    // run's scope is current only while it is polled, and the value stays the task's.
    let rt = paused_multi();
    rt.block_on(async {
        let parent = CancelToken::new();
        let scopes = ChildScopes::new(&parent);
        let task = nimsync_scheduler::spawn_with_context(Some(Arc::new(5u8)), async move {
            let inner = RunChild::task(scopes, async {
                yield_now().await;
                current_token().unwrap()
            })
            .await
            .unwrap();
            let slot = task_context().unwrap();
            (inner, slot.downcast_ref::<u8>().copied())
        });
        let (inner, slot) = task.await.unwrap();
        assert_eq!(slot, Some(5));
        parent.cancel();
        assert!(inner.is_cancelled());
    });
}

/// The first of `a` and `b` to finish (polled in that order).
async fn first_of<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> Result<A::Output, B::Output> {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    std::future::poll_fn(|cx| {
        if let std::task::Poll::Ready(v) = a.as_mut().poll(cx) {
            return std::task::Poll::Ready(Ok(v));
        }
        b.as_mut().poll(cx).map(Err)
    })
    .await
}

/// Polls `fut` once (it must stay pending).
async fn poll_once<F: std::future::Future + Unpin>(fut: &mut F) {
    std::future::poll_fn(|cx| {
        assert!(std::pin::Pin::new(&mut *fut).poll(cx).is_pending());
        std::task::Poll::Ready(())
    })
    .await
}

/// `with_cancel`'s scope is cancelled by its token and by its enclosing scope: a `timeout`
/// around it reaches the scopes, tokens (and task groups) created inside. Before, the
/// `with_cancel` node was a child of its token only, and the inner scope waited an hour.
#[test]
fn a_timeout_reaches_scopes_created_inside_with_cancel() {
    let rt = paused();
    rt.block_on(async {
        let token = CancelToken::new();
        let t0 = now();
        let out = timeout(Duration::from_secs(1), async {
            with_cancel(&token, async {
                let inner = CancelScope::new(); // e.g. a task group's token
                // Winds down by itself once cancelled (as a joining group does).
                hold(async {
                    let woke =
                        first_of(inner.token().cancelled(), sleep(Duration::from_secs(3600))).await;
                    (
                        woke.is_ok(),
                        now() - t0,
                        inner.token().reason(),
                        checkpoint(),
                    )
                })
                .await
            })
            .await
        })
        .await;
        let (woken, after, inner_reason, seen) = out.unwrap().unwrap();
        assert!(woken, "the inner scope never saw the timeout");
        assert_eq!(after, Duration::from_secs(1));
        assert_eq!(inner_reason, Some(Cancelled::Parent));
        assert_eq!(
            seen,
            Err(Cancelled::Timeout),
            "checkpoint reports the timeout"
        );
        assert!(!token.is_cancelled(), "cancellation flows down only");
    });
}

/// `with_cancel` builds its scope at its first poll, like `timeout`: made as the argument of
/// a `timeout` (so before the timeout is entered), it is still enclosed by it, and a shield
/// inside it keeps the timeout from dropping it.
#[test]
fn with_cancel_made_as_a_timeout_argument_is_enclosed_by_it() {
    let rt = paused();
    rt.block_on(async {
        let token = CancelToken::new();
        let t0 = now();
        let out = timeout(
            Duration::from_secs(1),
            with_cancel(&token, async {
                shield(sleep(Duration::from_secs(2))).await;
                checkpoint()
            }),
        )
        .await;
        assert_eq!(out, Ok(Ok(Err(Cancelled::Timeout))));
        assert_eq!(
            now() - t0,
            Duration::from_secs(2),
            "the shield ran to its end"
        );

        // Built outside any scope, polled inside one: that one encloses it.
        let scope = CancelScope::new();
        let fut = with_cancel(&token, async { current_token().unwrap() });
        let inner = scope.run(fut).await.unwrap().unwrap();
        scope.cancel();
        assert!(inner.is_cancelled());
    });
}

/// What a `with_cancel` reports when it stops: its token's reason, or its enclosing scope's
/// when only that one is cancelled (also when it was cancelled before the first poll); the
/// token's when both are. (Each wait is bounded by an hour of paused time: before the fix
/// the enclosing scope's cancellation did not stop a `with_cancel` at all.)
#[test]
fn with_cancel_reports_its_token_first_then_its_enclosing_scope() {
    let rt = paused();
    let hour = || sleep(Duration::from_secs(3600));
    rt.block_on(async {
        // The enclosing scope only, after the first poll.
        let outer = CancelScope::new();
        let token = CancelToken::new();
        let out = outer
            .run(async {
                let mut f = Box::pin(hold(with_cancel(&token, std::future::pending::<()>())));
                poll_once(&mut f).await;
                outer.token().cancel_with("outer");
                (first_of(f, hour()).await, checkpoint())
            })
            .await;
        let outer_reason = Cancelled::Explicit(Some("outer".into()));
        assert_eq!(
            out,
            Ok((Ok(Err(outer_reason.clone())), Err(outer_reason.clone())))
        );

        // The enclosing scope cancelled before the first poll: born cancelled through it.
        let outer = CancelScope::new();
        let out = outer
            .run(async {
                let f = hold(with_cancel(&token, async { unreachable!("not polled") }));
                outer.token().cancel_with("outer");
                first_of(f, hour()).await
            })
            .await;
        assert_eq!(out, Ok(Ok(Err(outer_reason.clone()))));

        // Both: the token's reason.
        let outer = CancelScope::new();
        let out = outer
            .run(async {
                let mut f = Box::pin(hold(with_cancel(&token, std::future::pending::<()>())));
                poll_once(&mut f).await;
                outer.token().cancel_with("outer");
                token.cancel_with("token");
                first_of(f, hour()).await
            })
            .await;
        assert_eq!(out, Ok(Ok(Err(Cancelled::Explicit(Some("token".into()))))));
    });
}

/// A `with_cancel` scope has two parents (its token and its enclosing scope); when it ends
/// it leaves both, cancelled or not, so neither grows.
#[test]
fn with_cancel_leaves_its_token_and_its_enclosing_scope() {
    let rt = paused();
    rt.block_on(async {
        let outer = CancelScope::new();
        let token = CancelToken::new();
        outer
            .run(async {
                for _ in 0..100 {
                    let t = with_cancel(&token, async { current_token().unwrap() })
                        .await
                        .unwrap();
                    assert_eq!(
                        (outer.token().registrations(), token.registrations()),
                        (1, 1)
                    );
                    drop(t);
                    assert_eq!(
                        (outer.token().registrations(), token.registrations()),
                        (0, 0)
                    );
                }
            })
            .await
            .unwrap();
        // Cancelled through the enclosing scope, then dropped: the token has no entry left.
        let kept = outer
            .run(async {
                with_cancel(&token, async { current_token().unwrap() })
                    .await
                    .unwrap()
            })
            .await
            .unwrap();
        outer.cancel();
        assert!(kept.is_cancelled() && !token.is_cancelled());
        assert_eq!(token.registrations(), 1);
        drop(kept);
        assert_eq!(token.registrations(), 0);
    });
}
