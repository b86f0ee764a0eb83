//! No child outlives its group: joins wait, cancellation through scopes waits, nested groups
//! cancel recursively, and a dropped group aborts every child. A live-child counter (bumped
//! when a child starts, dropped by a guard when its future is dropped) must return to 0.

use nimsync_cancel::{Cancelled, timeout};
use nimsync_group::{
    CollectAll, FailFast, GroupError, Policy, Reaction, TaskError, TaskGroup, task_group,
};
use nimsync_scheduler::{Builder, Runtime, sleep, yield_now};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn paused(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .workers(workers)
        .start_paused(true)
        .build()
        .unwrap()
}

/// Counts live children; tells a channel each time one goes away.
#[derive(Clone)]
struct Live {
    count: Arc<AtomicUsize>,
    gone: Arc<Mutex<mpsc::Sender<()>>>,
}

struct LiveGuard(Live);

impl Live {
    fn new() -> (Live, mpsc::Receiver<()>) {
        let (tx, rx) = mpsc::channel();
        (
            Live {
                count: Arc::new(AtomicUsize::new(0)),
                gone: Arc::new(Mutex::new(tx)),
            },
            rx,
        )
    }

    fn enter(&self) -> LiveGuard {
        self.count.fetch_add(1, Ordering::SeqCst);
        LiveGuard(self.clone())
    }

    fn now(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::SeqCst);
        let _ = self.0.gone.lock().unwrap().send(());
    }
}

#[test]
fn timeout_around_a_group_waits_for_its_children() {
    let rt = paused(2);
    let (live, _gone) = Live::new();
    let l = live.clone();
    // The timeout is created inside `block_on`, so its deadline is on this runtime's clock.
    let out = rt.block_on(async move {
        timeout(
            Duration::from_secs(1),
            task_group(CollectAll, move |g| async move {
                for _ in 0..100 {
                    let l = l.clone();
                    g.spawn(async move {
                        let _guard = l.enter();
                        sleep(Duration::from_secs(3600)).await;
                        Ok::<(), ()>(())
                    })
                    .await?;
                }
                Ok(())
            }),
        )
        .await
    });
    // The group held the timeout until its children stopped, then finished with every
    // child cancelled; the timeout kept the group's output.
    let results = out.expect("the held group completes").unwrap();
    assert_eq!(results.len(), 100);
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(e) if e.is_cancelled()))
    );
    assert_eq!(live.now(), 0, "no child outlived the group");
}

#[test]
fn nested_groups_cancel_recursively_and_wait() {
    let rt = paused(2);
    let (live, _gone) = Live::new();
    let l = live.clone();
    let out = rt.block_on(task_group(FailFast, move |g| async move {
        for _ in 0..10 {
            let l = l.clone();
            g.spawn(async move {
                let _guard = l.enter();
                // An inner group whose children would run forever.
                task_group(CollectAll, move |inner| async move {
                    for _ in 0..10 {
                        let l = l.clone();
                        inner
                            .spawn(async move {
                                let _guard = l.enter();
                                std::future::pending::<()>().await;
                                Ok::<(), ()>(())
                            })
                            .await?;
                    }
                    Ok(())
                })
                .await
                .map(|_| ())
                .map_err(|_| -> &'static str { "inner" })
            })
            .await?;
        }
        g.spawn(async {
            sleep(Duration::from_secs(1)).await;
            Err("trigger")
        })
        .await?;
        Ok(())
    }));
    assert!(matches!(out, Err(GroupError::Task { index: 10, .. })));
    assert_eq!(
        live.now(),
        0,
        "every grandchild stopped before the group returned"
    );
}

#[test]
fn dropping_an_unjoined_group_aborts_every_child() {
    let rt = Builder::new_multi_thread().workers(2).build().unwrap();
    let (live, gone) = Live::new();
    let polls = Arc::new(AtomicUsize::new(0));
    const N: usize = 100;
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let group = rt.block_on(async {
        let group: TaskGroup<(), (), _> = TaskGroup::new(CollectAll);
        for _ in 0..N {
            let (l, p, s) = (live.clone(), polls.clone(), started_tx.clone());
            group
                .spawn(async move {
                    let _guard = l.enter();
                    s.send(()).unwrap();
                    loop {
                        p.fetch_add(1, Ordering::SeqCst);
                        yield_now().await;
                    }
                })
                .await
                .unwrap();
        }
        group
    });
    for _ in 0..N {
        started_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("children start");
    }
    let token = group.token().clone();
    drop(group);
    let polls_at_drop = polls.load(Ordering::SeqCst);
    assert!(token.is_cancelled(), "drop cancels the group token");
    for _ in 0..N {
        gone.recv_timeout(Duration::from_secs(30))
            .expect("every child future is dropped");
    }
    assert_eq!(live.now(), 0);
    // After the drop no child starts another poll, except one that was already under way
    // (or being started) on a worker at that moment: at most one per worker thread.
    let extra = polls.load(Ordering::SeqCst) - polls_at_drop;
    assert!(extra <= 2, "{extra} polls after the drop");
}

/// Dropping an unjoined group cancels its token, whose `on_cancel` callbacks re-raise their
/// panics: the drop must neither panic (a destructor, maybe the scheduler's) nor skip the
/// aborts (every child would be orphaned).
#[test]
fn dropping_a_group_whose_cancel_callback_panics_still_aborts_every_child() {
    let rt = Runtime::current_thread();
    let (live, _gone) = Live::new();
    let l = live.clone();
    rt.block_on(async move {
        let g: TaskGroup<(), (), _> = TaskGroup::new(CollectAll);
        let _reg = g.token().on_cancel(|| panic!("on_cancel bug"));
        for _ in 0..3 {
            let l = l.clone();
            g.spawn(async move {
                let _guard = l.enter();
                // Not cancellation-aware: only the abort stops it.
                nimsync_cancel::shield(std::future::pending::<()>()).await;
                Ok(())
            })
            .await
            .unwrap();
        }
        while l.now() < 3 {
            yield_now().await;
        }
        let token = g.token().clone();
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(g)));
        assert!(dropped.is_ok(), "the group's drop panicked");
        assert!(token.is_cancelled());
        // One thread: the aborted children are dropped at their next scheduling point.
        while l.now() > 0 {
            yield_now().await;
        }
    });
    assert_eq!(live.now(), 0);
}

/// A task group inside `with_cancel` inside `timeout`: the timeout cancels the group's
/// children (its token is a child of the `with_cancel` scope, which the timeout reaches) and
/// the group waits for them. Before, the children ran their hour to the end.
#[test]
fn a_timeout_around_with_cancel_cancels_a_group_inside() {
    let rt = paused(2);
    let (live, _gone) = Live::new();
    let l = live.clone();
    let (out, took) = rt.block_on(async move {
        let shutdown = nimsync_cancel::CancelToken::new();
        let t0 = nimsync_scheduler::now();
        let out = timeout(
            Duration::from_secs(1),
            nimsync_cancel::with_cancel(
                &shutdown,
                task_group(CollectAll, move |g| async move {
                    for _ in 0..10 {
                        let l = l.clone();
                        g.spawn(async move {
                            let _guard = l.enter();
                            sleep(Duration::from_secs(3600)).await;
                            Ok::<(), ()>(())
                        })
                        .await?;
                    }
                    Ok(())
                }),
            ),
        )
        .await;
        (out, nimsync_scheduler::now() - t0)
    });
    assert_eq!(
        took,
        Duration::from_secs(1),
        "the children were not cancelled"
    );
    let results = out.unwrap().unwrap().unwrap();
    assert_eq!(results.len(), 10);
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().is_err_and(TaskError::is_cancelled))
    );
    assert_eq!(live.now(), 0);
}

#[test]
fn ten_thousand_children_in_nested_groups_with_random_failures() {
    let rt = paused(2);
    let (live, _gone) = Live::new();
    let probe = Arc::new(());
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    // Decide the failures up front: (outer, inner) pairs that fail.
    let plan: Vec<Vec<u8>> = (0..100)
        .map(|_| (0..100).map(|_| rng.u8(..)).collect())
        .collect();
    let plan = Arc::new(plan);
    let (l, p, pl) = (live.clone(), probe.clone(), plan.clone());
    let out = rt.block_on(task_group(CollectAll, move |g| async move {
        for o in 0..100usize {
            let (l, p, pl) = (l.clone(), p.clone(), pl.clone());
            g.spawn(async move {
                let _guard = l.enter();
                let _p = p.clone();
                // Even outer children use FailFast inside, odd ones CollectAll.
                if o % 2 == 0 {
                    task_group(FailFast, |inner| async move {
                        for i in 0..100usize {
                            let (l, p, roll) = (l.clone(), p.clone(), pl[o][i]);
                            inner
                                .spawn(async move {
                                    let _guard = l.enter();
                                    let _p = p;
                                    sleep(Duration::from_millis(u64::from(roll))).await;
                                    match roll {
                                        0..=2 => Err(roll),
                                        3 => panic!("child ({o}, {i}) panics"),
                                        _ => Ok(()),
                                    }
                                })
                                .await?;
                        }
                        Ok(())
                    })
                    .await
                    .map(|v| v.len())
                    .map_err(|e| format!("{e:?}"))
                } else {
                    task_group(CollectAll, |inner| async move {
                        for i in 0..100usize {
                            let (l, p, roll) = (l.clone(), p.clone(), pl[o][i]);
                            inner
                                .spawn(async move {
                                    let _guard = l.enter();
                                    let _p = p;
                                    sleep(Duration::from_millis(u64::from(roll))).await;
                                    if roll < 3 { Err(roll) } else { Ok(()) }
                                })
                                .await?;
                        }
                        Ok(())
                    })
                    .await
                    .map(|v| v.iter().filter(|r| r.is_ok()).count())
                    .map_err(|e| format!("{e:?}"))
                }
            })
            .await?;
        }
        Ok(())
    }));
    let results = out.unwrap();
    assert_eq!(results.len(), 100);
    for (o, r) in results.iter().enumerate() {
        let fails = plan[o].iter().filter(|&&roll| roll <= 3).count();
        match r {
            Ok(n) if o % 2 == 0 => assert_eq!((fails, *n), (0, 100), "outer {o}"),
            Ok(n) => {
                let errs = plan[o].iter().filter(|&&roll| roll < 3).count();
                assert_eq!(*n, 100 - errs, "outer {o}");
            }
            Err(e) => assert!(o % 2 == 0 && fails > 0, "outer {o} failed: {e:?}"),
        }
    }
    assert_eq!(live.now(), 0, "no orphan task");
    assert_eq!(Arc::strong_count(&probe), 1, "no leaked child state");
}

#[test]
fn group_token_is_a_child_of_the_enclosing_scope() {
    let rt = paused(2);
    rt.block_on(async {
        let scope = nimsync_cancel::CancelScope::new();
        let t = scope.token().clone();
        let out = scope
            .run(task_group(FailFast, move |g| async move {
                g.spawn(std::future::pending::<Result<(), ()>>()).await?;
                t.cancel();
                Ok(())
            }))
            .await;
        // The run was held until the group finished; the group saw the parent's cancel.
        assert!(matches!(
            out,
            Ok(Err(GroupError::Cancelled(Cancelled::Parent)))
        ));
    });
}

/// `CollectAll` holding a probe: the group's state keeps its policy for as long as it lives.
struct Probed(#[allow(dead_code)] Arc<()>);

impl<T: 'static, E: 'static> Policy<T, E> for Probed {
    type Output = Vec<Result<T, TaskError<E>>>;

    fn on_done(&self, index: usize, result: &Result<T, TaskError<E>>) -> Reaction {
        CollectAll.on_done(index, result)
    }

    fn finish(
        &self,
        results: Vec<Result<T, TaskError<E>>>,
        decisive: Option<usize>,
        cancelled: Option<Cancelled>,
    ) -> Result<Self::Output, GroupError<E>> {
        CollectAll.finish(results, decisive, cancelled)
    }
}

#[test]
fn a_joined_or_dropped_group_frees_its_state() {
    // One thread: once the root task sees the children's counts, their polls are over.
    let rt = Runtime::current_thread();
    let probe = Arc::new(());
    let p = probe.clone();
    rt.block_on(async move {
        let g = TaskGroup::new(Probed(p.clone()));
        for i in 0..100u32 {
            g.spawn(async move { Ok::<_, ()>(i) }).await.unwrap();
        }
        assert_eq!(g.join().await.unwrap().len(), 100);
        let g = TaskGroup::new(Probed(p));
        for i in 0..100u32 {
            g.spawn(async move { Ok::<_, ()>(i) }).await.unwrap();
        }
        while g.completed() < 100 {
            yield_now().await;
        }
        drop(g);
    });
    assert_eq!(Arc::strong_count(&probe), 1, "a group's state outlived it");
}
