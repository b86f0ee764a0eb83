//! A timeout builds its scope only when something needs it (`lazy.rs`): these tests check that
//! whatever looks at the scope sees exactly what an eagerly built scope would show — its token,
//! deadline, parent, the tasks spawned inside it — and that the per-thread spare marker never
//! carries one timeout's scope into the next.

use nimsync_cancel::{
    CancelScope, CancelToken, Cancelled, ChildScopes, checkpoint, current_token, shield, timeout,
    timeout_at,
};
use nimsync_scheduler::{Builder, Runtime, now, sleep, spawn};
use std::time::Duration;

fn paused() -> Runtime {
    Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap()
}

const SEC: Duration = Duration::from_secs(1);

#[test]
fn the_token_asked_for_in_the_first_poll_is_the_timeouts_scope() {
    paused().block_on(async {
        let t0 = now();
        let outer = CancelScope::new();
        let (inner, fresh) = outer
            .run(async {
                let inner = timeout(5 * SEC, async { current_token().unwrap() })
                    .await
                    .unwrap();
                // The next timeout (same spare marker) gets a scope of its own.
                let fresh = timeout(9 * SEC, async { current_token().unwrap() })
                    .await
                    .unwrap();
                (inner, fresh)
            })
            .await
            .unwrap();
        assert_eq!(inner.deadline(), Some(t0 + 5 * SEC));
        assert_eq!(fresh.deadline(), Some(t0 + 9 * SEC));
        assert!(!inner.same_as(&fresh) && !inner.same_as(outer.token()));
        // A child of the enclosing scope: cancelled with it, never the other way round.
        inner.cancel();
        assert!(!outer.token().is_cancelled());
        outer.cancel();
        assert_eq!(fresh.reason(), Some(Cancelled::Parent));
    });
}

#[test]
fn a_task_spawned_in_the_first_poll_sees_the_timeout_fire() {
    paused().block_on(async {
        let t0 = now();
        let (tx, rx) = std::sync::mpsc::channel();
        let out = timeout(3 * SEC, async move {
            // Spawned before anything built the scope: it must still be inside it.
            let seen = spawn(async move {
                let token = current_token().unwrap();
                token.cancelled().await;
                tx.send((now(), checkpoint())).unwrap();
            });
            std::future::pending::<()>().await;
            drop(seen);
        })
        .await;
        assert_eq!(out, Err(Cancelled::Timeout));
        // The spawned task was detached by the drop above only after the timeout fired.
        sleep(SEC).await;
        let (at, check) = rx.try_recv().unwrap();
        assert_eq!(at - t0, 3 * SEC);
        assert_eq!(check, Err(Cancelled::Timeout));
    });
}

#[test]
fn a_task_spawned_by_a_ready_timeout_keeps_that_scope_and_its_spare_is_not_reused() {
    let rt = paused();
    rt.block_on(async {
        let t0 = now();
        let (spawned, gate) = timeout(4 * SEC, async {
            let gate = CancelToken::new();
            let g = gate.clone();
            let h = spawn(async move {
                g.cancelled().await;
                current_token().unwrap()
            });
            (h, gate)
        })
        .await
        .unwrap();
        // The marker escaped into the task: the next timeout must not recycle it.
        let next = timeout(7 * SEC, async { current_token().unwrap() })
            .await
            .unwrap();
        gate.cancel();
        let theirs = spawned.await.unwrap();
        assert_eq!(theirs.deadline(), Some(t0 + 4 * SEC));
        assert_eq!(next.deadline(), Some(t0 + 7 * SEC));
        assert!(!theirs.same_as(&next));
        // A ready timeout arms no timer: its scope (kept by the task) never fires.
        sleep(10 * SEC).await;
        assert!(!theirs.is_cancelled());
    });
}

#[test]
fn nested_lazy_timeouts_take_the_minimum_deadline() {
    paused().block_on(async {
        let t0 = now();
        let (outer, inner) = timeout(2 * SEC, async {
            timeout(60 * SEC, async {
                // Building the inner scope builds the outer one first.
                let inner = current_token().unwrap();
                (inner.clone(), inner)
            })
            .await
            .unwrap()
        })
        .await
        .unwrap();
        assert_eq!(inner.deadline(), Some(t0 + 2 * SEC));
        drop(outer);
        // And a pending nested timeout is cut by the earlier outer deadline.
        let r = timeout(2 * SEC, timeout(60 * SEC, sleep(100 * SEC))).await;
        assert_eq!(r, Err(Cancelled::Timeout));
        assert_eq!(now() - t0, 2 * SEC);
    });
}

#[test]
fn checkpoint_in_the_first_poll_sees_the_enclosing_scopes() {
    paused().block_on(async {
        let outer = CancelScope::new();
        let out = outer
            .run(async {
                timeout(SEC, async {
                    let before = checkpoint();
                    outer.token().cancel_with("stop");
                    // As for a built timeout scope: cancelled through its parent.
                    (before, checkpoint())
                })
                .await
            })
            .await;
        assert_eq!(out, Ok(Ok((Ok(()), Err(Cancelled::Parent)))));

        // Inside an enclosing scope already cancelled, the future is not polled.
        let cancelled = CancelScope::new();
        cancelled.cancel();
        let out = cancelled
            .run(async { timeout(SEC, async { unreachable!("not polled") }).await })
            .await;
        assert_eq!(out, Err(Cancelled::Explicit(None)));
    });
}

#[test]
fn checkpoint_reports_an_enclosing_cancel_inside_a_timeout() {
    paused().block_on(async {
        let outer = CancelScope::new();
        let out = outer
            .run(async {
                timeout(SEC, async {
                    outer.token().cancel();
                    checkpoint()
                })
                .await
            })
            .await;
        // The future finished, so its output is returned; inside it the timeout scope
        // reported the enclosing cancellation as `Parent`.
        assert_eq!(out, Ok(Ok(Err(Cancelled::Parent))));
    });
}

#[test]
fn inside_a_child_scope_the_timeout_hangs_under_the_child_scopes_own_token() {
    paused().block_on(async {
        let parent = CancelToken::new();
        let out = ChildScopes::new(&parent)
            .run_owned(async {
                let inner = timeout(SEC, async { current_token().unwrap() })
                    .await
                    .unwrap();
                // The child scope's token now exists, and the timeout's scope is its child.
                let here = current_token().unwrap();
                assert!(!here.same_as(&inner));
                here.cancel();
                assert_eq!(inner.reason(), Some(Cancelled::Parent));
                checkpoint()
            })
            .await;
        assert_eq!(out, Ok(Err(Cancelled::Explicit(None))));
        assert!(!parent.is_cancelled());
    });
}

#[test]
fn a_shield_in_the_first_poll_keeps_the_timeout_polling() {
    paused().block_on(async {
        let t0 = now();
        let out = timeout(SEC, async {
            shield(async {
                sleep(5 * SEC).await;
                checkpoint()
            })
            .await
        })
        .await;
        assert_eq!(out, Ok(Ok(())));
        assert_eq!(now() - t0, 5 * SEC);
    });
}

#[test]
fn scope_before_the_first_poll_builds_it_and_the_deadline_still_fires() {
    paused().block_on(async {
        let t0 = now();
        let t = timeout_at(t0 + 2 * SEC, sleep(10 * SEC));
        let token = t.scope().token().clone();
        assert_eq!(token.deadline(), Some(t0 + 2 * SEC));
        assert_eq!(t.await, Err(Cancelled::Timeout));
        assert_eq!(now() - t0, 2 * SEC);
        assert_eq!(token.reason(), Some(Cancelled::Timeout));
        // An expired deadline: built cancelled, at the first poll or by `scope()`.
        let late = timeout(Duration::ZERO, async { unreachable!("not polled") });
        assert!(late.scope().cancel_called());
        assert_eq!(late.await, Err(Cancelled::Timeout));
    });
}
