//! Policy tests: FailFast, CollectAll, Supervise, FirstSuccess; panics; spawn order; the
//! body's errors; checkpoint() inside children; bounded groups and counters.

use nimsync_cancel::{Cancelled, checkpoint, current_token, timeout};
use nimsync_group::{
    CollectAll, FailFast, FirstSuccess, GroupError, Supervise, TaskError, TaskGroup, TrySpawnError,
    task_group,
};
use nimsync_scheduler::{Builder, Runtime, sleep, yield_now};
use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

fn paused(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .workers(workers)
        .start_paused(true)
        .build()
        .unwrap()
}

#[test]
fn results_come_back_in_spawn_order() {
    let rt = paused(2);
    let out = rt.block_on(task_group(FailFast, |g| async move {
        for i in 0..50u64 {
            // Later children finish first.
            g.spawn(async move {
                sleep(Duration::from_millis(100 - i)).await;
                Ok::<_, ()>(i)
            })
            .await?;
        }
        Ok(())
    }));
    assert_eq!(out.unwrap(), (0..50).collect::<Vec<_>>());
}

#[test]
fn many_children_and_siblings_spawned_while_joining_come_back_in_spawn_order() {
    // Thousands of children, and children that spawn siblings (so `join` takes several
    // batches of handles).
    let rt = Builder::new_multi_thread().workers(2).build().unwrap();
    let out = rt.block_on(task_group(CollectAll, |g| async move {
        for i in 0..5000u64 {
            let g2 = g.clone();
            g.spawn(async move {
                if i % 1000 == 999 {
                    yield_now().await;
                    g2.spawn(async move { Ok(10_000 + i) }).await.unwrap();
                }
                Ok::<_, ()>(i)
            })
            .await?;
        }
        Ok(())
    }));
    let v: Vec<u64> = out.unwrap().into_iter().map(Result::unwrap).collect();
    // The body's children in order; each sibling after the child that spawned it (siblings
    // may be spawned while the body still spawns).
    let body: Vec<u64> = v.iter().copied().filter(|&x| x < 10_000).collect();
    assert_eq!(body, (0..5000).collect::<Vec<_>>());
    let at = |x: u64| v.iter().position(|&y| y == x).unwrap();
    for i in (999..5000).step_by(1000) {
        assert!(at(10_000 + i) > at(i));
    }
    assert_eq!(v.len(), 5005);
}

#[test]
fn a_child_that_counted_itself_but_whose_task_has_not_completed_keeps_its_place() {
    // `join` collects a batch once every child has counted itself, without a waker; a child
    // counts itself just before its task completes, so its handle may not be ready yet. Hold
    // the middle child's task there (its `on_terminate` hook runs after the count and before
    // the task completes), poll `join` once, then let the task complete.
    static ARMED: AtomicUsize = AtomicUsize::new(0);
    let (entered_tx, entered_rx) = std::sync::mpsc::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let hook = Mutex::new((entered_tx, release_rx));
    let rt = Builder::new_multi_thread()
        .workers(2)
        .on_terminate(move |_, _| {
            if ARMED.swap(0, Ordering::AcqRel) == 1 {
                let h = hook.lock().unwrap();
                h.0.send(()).unwrap();
                h.1.recv().unwrap();
            }
        })
        .build()
        .unwrap();
    rt.block_on(async {
        let g = TaskGroup::new(CollectAll);
        g.spawn(async { Ok::<u8, ()>(0) }).await.unwrap();
        while g.completed() < 1 {
            yield_now().await;
        }
        ARMED.store(1, Ordering::Release);
        g.spawn(async { Ok(1) }).await.unwrap();
        entered_rx.recv().unwrap(); // the middle child counted itself and is held
        g.spawn(async { Ok(2) }).await.unwrap();
        while g.completed() < 3 {
            yield_now().await;
        }
        let mut join = std::pin::pin!(g.join());
        let polled = std::future::poll_fn(|cx| Poll::Ready(join.as_mut().poll(cx))).await;
        assert!(polled.is_pending(), "the held child's handle is not ready");
        release_tx.send(()).unwrap();
        let v: Vec<u8> = join
            .await
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(v, vec![0, 1, 2]);
    });
}

#[test]
fn counters_add_up_over_children_ending_on_several_workers() {
    let rt = Builder::new_multi_thread().workers(2).build().unwrap();
    rt.block_on(async {
        let g = TaskGroup::new(CollectAll);
        for i in 0..3000u32 {
            g.spawn(async move {
                match i % 3 {
                    0 => Ok(i),
                    1 => Err(()),
                    _ => {
                        // Cancels this child only (its own token), which then ends
                        // as cancelled at its next await.
                        nimsync_cancel::current_token().unwrap().cancel();
                        std::future::pending::<()>().await;
                        Ok(i)
                    }
                }
            })
            .await
            .unwrap();
        }
        let h = g.handle();
        let out = g.join().await.unwrap();
        assert_eq!(out.len(), 3000);
        assert_eq!(
            (h.completed(), h.failed(), h.cancelled()),
            (1000, 1000, 1000)
        );
        assert_eq!(h.running(), 0);
    });
}

#[test]
fn fail_fast_cancels_siblings_and_returns_first_failure() {
    let rt = paused(2);
    let cancelled_seen = Arc::new(AtomicUsize::new(0));
    let c = cancelled_seen.clone();
    let out = rt.block_on(task_group(FailFast, |g| async move {
        for _ in 0..5 {
            let c = c.clone();
            g.spawn(async move {
                struct Count(Arc<AtomicUsize>);
                impl Drop for Count {
                    fn drop(&mut self) {
                        self.0.fetch_add(1, Ordering::SeqCst);
                    }
                }
                let _c = Count(c);
                sleep(Duration::from_secs(3600)).await;
                Ok(0u32)
            })
            .await?;
        }
        g.spawn(async {
            sleep(Duration::from_secs(2)).await;
            Err("second")
        })
        .await?;
        g.spawn(async {
            sleep(Duration::from_secs(1)).await;
            Err("first")
        })
        .await?;
        Ok(())
    }));
    match out {
        Err(GroupError::Task {
            index: 6,
            error: TaskError::Failed("first"),
        }) => {}
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        cancelled_seen.load(Ordering::SeqCst),
        5,
        "all siblings dropped"
    );
}

#[test]
fn fail_fast_treats_a_panic_as_failure() {
    let rt = paused(2);
    let out = rt.block_on(task_group(FailFast, |g| async move {
        g.spawn(async {
            sleep(Duration::from_secs(60)).await;
            Ok::<u8, ()>(1)
        })
        .await?;
        g.spawn(async { panic!("kaboom") }).await?;
        Ok(())
    }));
    match out {
        Err(GroupError::Task { index: 1, error }) => {
            assert_eq!(error.panic_message(), Some("kaboom"))
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn collect_all_waits_for_everything() {
    let rt = paused(2);
    let out = rt
        .block_on(task_group(CollectAll, |g| async move {
            g.spawn(async { Err::<u8, &str>("a") }).await?;
            g.spawn(async {
                sleep(Duration::from_secs(5)).await;
                Ok(2)
            })
            .await?;
            g.spawn(async { panic!("p") }).await?;
            Ok(())
        }))
        .unwrap();
    assert!(matches!(out[0], Err(TaskError::Failed("a"))));
    assert!(matches!(out[1], Ok(2)), "not cancelled by the failure");
    assert_eq!(out[2].as_ref().unwrap_err().panic_message(), Some("p"));
}

#[test]
fn supervise_reports_each_failure_and_siblings_continue() {
    let rt = paused(2);
    let reports = Arc::new(Mutex::new(Vec::new()));
    let r = reports.clone();
    let out = rt
        .block_on(task_group(
            Supervise::new(move |i, e: &TaskError<String>| {
                r.lock().unwrap().push((i, e.panic_message().is_some()))
            }),
            |g| async move {
                g.spawn(async { Err::<u32, String>("x".into()) }).await?;
                g.spawn(async {
                    sleep(Duration::from_secs(1)).await;
                    Ok(7)
                })
                .await?;
                g.spawn(async { panic!("y") }).await?;
                Ok(())
            },
        ))
        .unwrap();
    assert!(matches!(out[1], Ok(7)));
    let mut seen = reports.lock().unwrap().clone();
    seen.sort();
    assert_eq!(seen, vec![(0, false), (2, true)]);
}

#[test]
fn first_success_wins_and_cancels_the_rest() {
    let rt = paused(2);
    let out = rt.block_on(task_group(FirstSuccess, |g| async move {
        g.spawn(async { Err::<&str, &str>("broken mirror") })
            .await?;
        g.spawn(async {
            sleep(Duration::from_secs(10)).await;
            Ok("slow")
        })
        .await?;
        g.spawn(async {
            sleep(Duration::from_secs(2)).await;
            Ok("fast")
        })
        .await?;
        Ok(())
    }));
    assert_eq!(out.unwrap(), "fast");
}

#[test]
fn first_success_reports_all_failures() {
    let rt = paused(2);
    let out = rt.block_on(task_group(FirstSuccess, |g| async move {
        g.spawn(async { Err::<(), u8>(1) }).await?;
        g.spawn(async { Err(2) }).await?;
        Ok(())
    }));
    match out {
        Err(GroupError::AllFailed(errs)) => {
            let codes: Vec<u8> = errs
                .into_iter()
                .map(|e| match e {
                    TaskError::Failed(c) => c,
                    other => panic!("{other:?}"),
                })
                .collect();
            assert_eq!(codes, vec![1, 2]);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn checkpoint_inside_a_child_sees_group_cancellation() {
    let rt = paused(2);
    let out = rt
        .block_on(task_group(CollectAll, |g| async move {
            let h = g.clone();
            g.spawn(async move {
                let mut spins = 0u64;
                loop {
                    if spins == 100 {
                        h.cancel();
                    }
                    if let Err(c) = checkpoint() {
                        return Ok::<_, ()>((spins, c));
                    }
                    spins += 1;
                    // Busy work with a checkpoint but no await: only checkpoint() stops it.
                    std::hint::black_box(spins);
                }
            })
            .await?;
            Ok(())
        }))
        .unwrap();
    let (spins, c) = out.into_iter().next().unwrap().unwrap();
    assert_eq!(spins, 100);
    assert_eq!(c, Cancelled::Explicit(None), "the group's own cancel");
}

#[test]
fn cancel_from_outside_is_reported() {
    let rt = paused(2);
    let out = rt.block_on(task_group(FailFast, |g| async move {
        g.spawn(std::future::pending::<Result<(), ()>>()).await?;
        g.cancel();
        Ok(())
    }));
    assert!(matches!(
        out,
        Err(GroupError::Cancelled(Cancelled::Explicit(None)))
    ));
}

#[test]
fn body_error_cancels_children_and_is_returned() {
    let rt = paused(2);
    let out = rt.block_on(task_group(CollectAll, |g| async move {
        g.spawn(std::future::pending::<Result<(), &str>>()).await?;
        Err(GroupError::Body("body gave up"))
    }));
    assert!(matches!(out, Err(GroupError::Body("body gave up"))));
}

#[test]
fn spawn_after_join_is_closed() {
    let rt = paused(2);
    rt.block_on(async {
        let g = TaskGroup::new(CollectAll);
        let handle = g.handle();
        g.spawn(async { Ok::<_, ()>(1) }).await.unwrap();
        assert_eq!(g.join().await.unwrap().len(), 1);
        assert!(matches!(
            handle.spawn(async { Ok(2) }).await,
            Err(GroupError::Closed)
        ));
        assert!(matches!(
            handle.try_spawn(async { Ok(3) }),
            Err(TrySpawnError::Closed(_))
        ));
    });
}

#[test]
fn max_tasks_applies_backpressure_and_counts() {
    let rt = paused(2);
    rt.block_on(async {
        // A group whose slots are held by children that never finish is full: try_spawn fails
        // fast and gives the future back. (Not checked on the group below, whose sleeping
        // children may end between its last spawn and a try_spawn.)
        let full = TaskGroup::with_max_tasks(CollectAll, NonZeroUsize::new(2).unwrap());
        for _ in 0..2 {
            full.spawn(std::future::pending::<Result<u32, u32>>())
                .await
                .unwrap();
        }
        let back = full.try_spawn(async { Ok(99) });
        assert!(matches!(back, Err(TrySpawnError::Full(_))));
        drop(full);

        let g = TaskGroup::with_max_tasks(CollectAll, NonZeroUsize::new(3).unwrap());
        let peak = Arc::new(AtomicUsize::new(0));
        let live = Arc::new(AtomicUsize::new(0));
        for i in 0..30u32 {
            let (peak, live) = (peak.clone(), live.clone());
            g.spawn(async move {
                let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                sleep(Duration::from_millis(10)).await;
                live.fetch_sub(1, Ordering::SeqCst);
                match i % 3 {
                    0 => Ok(i),
                    1 => Err(i),
                    _ => panic!("child {i}"),
                }
            })
            .await
            .unwrap();
            assert!(g.running() <= 3);
        }
        let handle = g.handle();
        let results = g.join().await.unwrap();
        assert_eq!(results.len(), 30);
        assert_eq!(peak.load(Ordering::SeqCst), 3);
        assert_eq!(handle.running(), 0);
        assert_eq!(handle.completed(), 10);
        assert_eq!(handle.failed(), 20);
        assert_eq!(handle.cancelled(), 0);
    });
}

#[test]
fn cancelled_counter_and_waiting_spawner_released_on_close() {
    let rt = paused(2);
    rt.block_on(async {
        let g = TaskGroup::with_max_tasks(CollectAll, NonZeroUsize::new(1).unwrap());
        g.spawn(std::future::pending::<Result<(), ()>>())
            .await
            .unwrap();
        let handle = g.handle();
        // A spawner waiting for a slot...
        let waiter = nimsync_scheduler::spawn(async move { handle.spawn(async { Ok(()) }).await });
        yield_now().await;
        let handle = g.handle();
        g.cancel();
        let results = g.join().await.unwrap();
        // ...either got the slot after the cancelled child left (and was joined), or saw the
        // group closed; it never hangs.
        let spawned = waiter.await.unwrap();
        match spawned {
            Ok(()) => assert_eq!(results.len(), 2),
            Err(e) => {
                assert!(e.is_closed());
                assert_eq!(results.len(), 1);
            }
        }
        assert!(handle.cancelled() >= 1);
    });
}

#[test]
fn counters_of_an_unbounded_group_and_of_a_dropped_one() {
    let rt = paused(2);
    rt.block_on(async {
        let g = TaskGroup::new(CollectAll);
        let gate = nimsync_cancel::CancelToken::new();
        for i in 0..10u32 {
            let gate = gate.clone();
            g.spawn(async move {
                gate.cancelled().await;
                if i % 2 == 0 { Ok(i) } else { Err(i) }
            })
            .await
            .unwrap();
        }
        assert_eq!(g.running(), 10);
        assert_eq!(g.completed() + g.failed() + g.cancelled(), 0);
        gate.cancel();
        let handle = g.handle();
        assert_eq!(g.join().await.unwrap().len(), 10);
        let counts = (
            handle.running(),
            handle.completed(),
            handle.failed(),
            handle.cancelled(),
        );
        assert_eq!(counts, (0, 5, 5, 0));

        // Dropped unjoined: the aborted children count as cancelled once their futures are
        // dropped, and `running` goes back to 0.
        let g = TaskGroup::<(), (), _>::new(CollectAll);
        for _ in 0..5 {
            g.spawn(std::future::pending()).await.unwrap();
        }
        let handle = g.handle();
        assert_eq!(handle.running(), 5);
        drop(g);
        let mut yields = 0;
        while handle.running() != 0 && yields < 100_000 {
            yield_now().await;
            yields += 1;
        }
        assert_eq!(
            handle.running(),
            0,
            "aborted children still counted as running"
        );
        assert_eq!(handle.cancelled(), 5);
        assert_eq!(handle.completed() + handle.failed(), 0);
    });
}

/// `join` waits for a whole batch at once and is woken by the last child to end: children
/// ending while the join starts (on the other worker), spawning siblings during the join,
/// must never leave it asleep. A lost wake-up hangs the join (cancellation cannot end it: a
/// joining group holds its scopes), so the rounds run on another thread and a watchdog turns
/// a hang into a failure.
#[test]
fn join_is_woken_by_the_last_child_of_each_batch() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = Builder::new_multi_thread().workers(2).build().unwrap();
        let mut rng = fastrand::Rng::with_seed(7);
        for round in 0..300u64 {
            let n = rng.usize(0..20);
            let yields: Vec<usize> = (0..n).map(|_| rng.usize(0..4)).collect();
            let out = rt.block_on(task_group(CollectAll, move |g| async move {
                for (i, y) in yields.into_iter().enumerate() {
                    let g2 = g.clone();
                    g.spawn(async move {
                        for _ in 0..y {
                            yield_now().await;
                        }
                        if i % 5 == 4 {
                            // A sibling spawned while the group may already be joining.
                            let _ = g2.spawn(async move { Ok::<_, ()>(1000 + i) }).await;
                        }
                        Ok(i)
                    })
                    .await?;
                }
                Ok(())
            }));
            let values: Vec<usize> = out.unwrap().into_iter().map(Result::unwrap).collect();
            let firsts: Vec<usize> = values.iter().copied().filter(|v| *v < 1000).collect();
            assert_eq!(firsts, (0..n).collect::<Vec<_>>(), "round {round}");
            assert_eq!(values.len(), n + n / 5, "round {round}");
        }
        done.send(()).unwrap();
    });
    finished
        .recv_timeout(Duration::from_secs(60))
        .expect("a join was never woken (or a round failed)");
}

/// A panicking policy callback (here a `Supervise` report) runs after the child's outcome is
/// counted: it must still free the child's slot of a bounded group (the next spawn waited
/// for ever) and leave the child's own result in place (it became the callback's panic).
#[test]
fn a_panicking_supervise_callback_frees_the_slot_and_keeps_the_result() {
    let rt = paused(1);
    rt.block_on(async {
        let g = TaskGroup::with_max_tasks(
            Supervise::new(|_, _: &TaskError<&str>| panic!("report bug")),
            NonZeroUsize::new(1).unwrap(),
        );
        g.spawn(async { Err::<u8, _>("fails") }).await.unwrap();
        // The failed child is over: its slot comes back (a paused clock: the timeout only
        // fires if the spawn waits with nothing else to run).
        let second = timeout(Duration::from_secs(1), g.spawn(async { Ok(2) })).await;
        assert!(
            matches!(second, Ok(Ok(()))),
            "the failed child's slot was never released: {second:?}"
        );
        let handle = g.handle();
        let results = g.join().await.unwrap();
        assert!(
            matches!(results[0], Err(TaskError::Failed("fails"))),
            "{:?}",
            results[0]
        );
        assert!(matches!(results[1], Ok(2)), "{:?}", results[1]);
        assert_eq!(handle.running(), 0);
        assert_eq!((handle.completed(), handle.failed()), (1, 1));
    });
}

/// The policy's cancel runs the group's `on_cancel` callbacks, which re-raise their panics:
/// the winner of a `FirstSuccess` group keeps its value, and a `FailFast` group's slot is
/// freed, when one of them panics.
#[test]
fn a_panicking_on_cancel_callback_run_by_the_policy_keeps_the_decisive_result() {
    let rt = paused(1);
    let out = rt.block_on(task_group(FirstSuccess, |g| async move {
        g.spawn(async {
            let _reg = current_token()
                .unwrap()
                .on_cancel(|| panic!("on_cancel bug"));
            std::future::pending::<()>().await;
            Ok::<_, ()>("never")
        })
        .await?;
        g.spawn(async {
            sleep(Duration::from_secs(1)).await;
            Ok("winner")
        })
        .await?;
        Ok(())
    }));
    assert_eq!(out.unwrap(), "winner");

    let out = rt.block_on(async {
        let g = TaskGroup::with_max_tasks(FailFast, NonZeroUsize::new(1).unwrap());
        let _reg = g.token().on_cancel(|| panic!("on_cancel bug"));
        g.spawn(async { Err::<u8, _>("fails") }).await.unwrap();
        let second = timeout(Duration::from_secs(1), g.spawn(async { Ok(2) })).await;
        (second, g.join().await)
    });
    assert!(
        matches!(out.0, Ok(Ok(()))),
        "slot never released: {:?}",
        out.0
    );
    match out.1 {
        Err(GroupError::Task {
            index: 0,
            error: TaskError::Failed("fails"),
        }) => {}
        other => panic!("unexpected {other:?}"),
    }
}
