//! Task hooks and the inherited per-task context slot.
#![cfg(not(nimsync_loom))]

use nimsync_scheduler::{
    Builder, Runtime, TaskContextValue, TaskOutcome, set_task_context, spawn, task_context,
    yield_now,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

fn ctx_str(c: Option<TaskContextValue>) -> Option<String> {
    c.and_then(|c| c.downcast_ref::<String>().cloned())
}

#[test]
fn context_is_inherited_by_spawned_children_and_grandchildren() {
    for rt in [
        Runtime::current_thread(),
        Runtime::builder().workers(2).build().unwrap(),
    ] {
        let got = rt.block_on(async {
            assert!(task_context().is_none());
            set_task_context(Some(Arc::new("root".to_string())));
            spawn(async {
                let mine = ctx_str(task_context());
                // A child that changes its own slot does not affect its parent.
                let grandchild = spawn(async {
                    let g = ctx_str(task_context());
                    set_task_context(Some(Arc::new("changed".to_string())));
                    yield_now().await;
                    (g, ctx_str(task_context()))
                })
                .await
                .unwrap();
                (mine, grandchild, ctx_str(task_context()))
            })
            .await
            .unwrap()
        });
        assert_eq!(got.0.as_deref(), Some("root"));
        assert_eq!(got.1.0.as_deref(), Some("root"));
        assert_eq!(got.1.1.as_deref(), Some("changed"), "kept across polls");
        assert_eq!(got.2.as_deref(), Some("root"));
    }
}

#[test]
fn context_is_not_visible_outside_tasks() {
    let rt = Runtime::current_thread();
    rt.block_on(async {
        set_task_context(Some(Arc::new(1u8)));
    });
    assert!(task_context().is_none());
}

#[test]
fn all_hooks_fire_with_context_and_outcomes() {
    let log: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let (l1, l2, l3, l4) = (log.clone(), log.clone(), log.clone(), log.clone());
    let rt = Builder::new_current_thread()
        .on_spawn(move |info| {
            // The hook sees the inherited context and may replace it.
            let inherited = info
                .context()
                .and_then(|c| c.downcast_ref::<String>().cloned());
            l1.lock().unwrap().push(format!("spawn {inherited:?}"));
            info.set_context(Some(Arc::new(format!("span-{}", info.id()))));
        })
        .before_poll(move |_t| {
            l2.lock()
                .unwrap()
                .push(format!("before {:?}", ctx_str(task_context()).is_some()));
        })
        .after_poll(move |_t| {
            l3.lock().unwrap().push("after".into());
        })
        .on_terminate(move |_t, outcome| {
            l4.lock().unwrap().push(format!("end {outcome:?}"));
        })
        .build()
        .unwrap();
    rt.block_on(async {
        set_task_context(Some(Arc::new("parent".to_string())));
        let ctx = spawn(async { ctx_str(task_context()) }).await.unwrap();
        assert!(ctx.unwrap().starts_with("span-"));
        let _ = spawn(async { panic!("p") }).await;
        let h = spawn(std::future::pending::<()>());
        yield_now().await;
        h.abort();
        let _ = h.await;
    });
    let log = log.lock().unwrap().clone();
    assert_eq!(log[0], "spawn Some(\"parent\")", "{log:?}");
    assert!(log.contains(&"before true".to_string()), "{log:?}");
    assert!(log.contains(&"after".to_string()), "{log:?}");
    assert!(log.contains(&"end Completed".to_string()), "{log:?}");
    assert!(log.contains(&"end Panicked".to_string()), "{log:?}");
    assert!(log.contains(&"end Cancelled".to_string()), "{log:?}");
    let ends = log.iter().filter(|l| l.starts_with("end")).count();
    assert_eq!(ends, 3, "on_terminate exactly once per task: {log:?}");
}

#[test]
fn terminate_hook_runs_once_per_task_at_shutdown() {
    let ends = Arc::new(AtomicUsize::new(0));
    let e = ends.clone();
    let rt = Builder::new_multi_thread()
        .workers(2)
        .on_terminate(move |_, outcome| {
            assert_eq!(outcome, TaskOutcome::Cancelled);
            e.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    for _ in 0..50 {
        rt.spawn(std::future::pending::<()>());
    }
    drop(rt);
    assert_eq!(ends.load(Ordering::SeqCst), 50);
}

#[test]
fn panicking_hook_does_not_kill_the_runtime() {
    let rt = Builder::new_multi_thread()
        .workers(1)
        .before_poll(|_| panic!("hook panic"))
        .build()
        .unwrap();
    let r = rt.block_on(async { spawn(async { 1 }).await });
    assert!(r.unwrap_err().is_panic());
    // Still alive.
    assert!(rt.block_on(async { spawn(async { 1 }).await }).is_err());
}

#[test]
fn spawn_with_context_gives_the_task_that_context_and_the_hook_sees_it() {
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let rt = Builder::new_multi_thread()
        .workers(2)
        .on_spawn(move |info| {
            s.lock().unwrap().push(
                info.context()
                    .and_then(|c| c.downcast_ref::<String>().cloned()),
            );
        })
        .build()
        .unwrap();
    // From a worker (the fast path) and from outside the runtime (through the handle).
    let outside = rt
        .handle()
        .spawn_with_context(Some(Arc::new("handle".to_string())), async {
            ctx_str(task_context())
        });
    assert_eq!(rt.block_on(outside).unwrap().as_deref(), Some("handle"));
    let inner = rt.block_on(rt.spawn(async {
        set_task_context(Some(Arc::new("spawner".to_string())));
        let given =
            nimsync_scheduler::spawn_with_context(Some(Arc::new("given".to_string())), async {
                ctx_str(task_context())
            });
        let none = nimsync_scheduler::spawn_with_context(None, async { task_context().is_none() });
        // The spawner's own slot is untouched.
        let mine = ctx_str(task_context());
        (given.await.unwrap(), none.await.unwrap(), mine)
    }));
    assert_eq!(
        inner.unwrap(),
        (Some("given".to_string()), true, Some("spawner".to_string()))
    );
    let seen = seen.lock().unwrap().clone();
    assert!(seen.contains(&Some("handle".to_string())), "{seen:?}");
    assert!(seen.contains(&Some("given".to_string())), "{seen:?}");
    assert!(seen.contains(&None), "{seen:?}");
}

#[test]
fn hook_data_is_per_task_private_to_hooks_and_dropped_after_terminate() {
    // `on_spawn` gives each task its own hook data; the poll hooks take it and put it back;
    // `on_terminate` sees it; the task's code sees only its context slot; the data is dropped
    // after `on_terminate`, whatever the outcome.
    struct Data {
        id: u64,
        polls: AtomicUsize,
        dropped: Arc<AtomicUsize>,
    }
    impl Drop for Data {
        fn drop(&mut self) {
            self.dropped.fetch_add(1, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let ends: Arc<Mutex<Vec<(u64, usize, TaskOutcome)>>> = Arc::new(Mutex::new(Vec::new()));
    let (d, e) = (dropped.clone(), ends.clone());
    let with_data = |task: &nimsync_scheduler::TaskInfo<'_>, f: &dyn Fn(&Data)| {
        let data = task.take_hook_data();
        let d = data.as_ref().and_then(|d| d.downcast_ref::<Data>());
        assert_eq!(
            d.map(|d| d.id),
            Some(task.id().as_u64()),
            "the task's own data"
        );
        f(d.unwrap());
        task.set_hook_data(data);
    };
    let rt = Builder::new_multi_thread()
        .workers(2)
        .on_spawn(move |info| {
            let id = info.id().as_u64();
            info.set_hook_data(Some(Arc::new(Data {
                id,
                polls: AtomicUsize::new(0),
                dropped: d.clone(),
            })));
        })
        .before_poll(move |task| {
            with_data(task, &|d| {
                d.polls.fetch_add(1, Ordering::SeqCst);
            })
        })
        .after_poll(move |task| with_data(task, &|_| {}))
        .on_terminate(move |task, outcome| {
            let data = task
                .take_hook_data()
                .and_then(|d| d.downcast::<Data>().ok());
            let data = data.expect("hook data at termination");
            assert_eq!(data.id, task.id().as_u64());
            let polls = data.polls.load(Ordering::SeqCst);
            e.lock().unwrap().push((data.id, polls, outcome));
            task.set_hook_data(Some(data));
        })
        .build()
        .unwrap();
    rt.block_on(async {
        let a = spawn(async {
            assert!(
                task_context().is_none(),
                "hook data is not the context slot"
            );
            yield_now().await;
            yield_now().await;
        });
        let b = spawn(async { panic!("b") });
        let c = spawn(std::future::pending::<()>());
        a.await.unwrap();
        assert!(b.await.unwrap_err().is_panic());
        c.abort();
        assert!(c.await.is_err());
    });
    drop(rt);
    let mut ends = ends.lock().unwrap().clone();
    ends.sort_by_key(|e| e.0);
    let outcomes: Vec<_> = ends.iter().map(|e| (e.1, e.2)).collect();
    assert_eq!(outcomes.len(), 3, "{ends:?}");
    assert_eq!(outcomes[0], (3, TaskOutcome::Completed));
    assert_eq!(outcomes[1], (1, TaskOutcome::Panicked));
    assert_eq!(outcomes[2].1, TaskOutcome::Cancelled);
    assert_eq!(dropped.load(Ordering::SeqCst), 3, "every hook data dropped");
}

#[test]
fn after_poll_knows_the_poll_that_ends_the_task_and_on_terminate_sees_what_it_left() {
    // Each task's hook data records its polls. `after_poll` sees `is_finishing` exactly on the
    // poll that completed the task (never on a poll that stays pending, never for a task
    // that panics or is aborted); `on_terminate` follows on the same thread and sees the hook
    // data as that `after_poll` left it.
    #[derive(Default)]
    struct Polls {
        thread: Mutex<Option<std::thread::ThreadId>>,
        finishing: AtomicUsize,
        not_finishing: AtomicUsize,
    }
    type Log = Arc<Mutex<Vec<(usize, usize, bool, TaskOutcome)>>>;
    let log: Log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    let rt = Builder::new_multi_thread()
        .workers(2)
        .on_spawn(|info| info.set_hook_data(Some(Arc::new(Polls::default()))))
        .before_poll(|task| assert!(!task.is_finishing()))
        .after_poll(|task| {
            let data = task.take_hook_data();
            let polls = data
                .as_ref()
                .and_then(|d| d.downcast_ref::<Polls>())
                .expect("hook data until the finishing poll");
            if task.is_finishing() {
                polls.finishing.fetch_add(1, Ordering::SeqCst);
                *polls.thread.lock().unwrap() = Some(std::thread::current().id());
            } else {
                polls.not_finishing.fetch_add(1, Ordering::SeqCst);
            }
            task.set_hook_data(data);
        })
        .on_terminate(move |task, outcome| {
            assert!(!task.is_finishing());
            let data = task.take_hook_data();
            let polls = data.as_ref().and_then(|d| d.downcast_ref::<Polls>());
            let polls = polls.expect("the hook data after_poll left");
            if let Some(thread) = *polls.thread.lock().unwrap() {
                assert_eq!(thread, std::thread::current().id(), "same thread");
            }
            l.lock().unwrap().push((
                polls.finishing.load(Ordering::SeqCst),
                polls.not_finishing.load(Ordering::SeqCst),
                polls.thread.lock().unwrap().is_some(),
                outcome,
            ));
        })
        .build()
        .unwrap();
    rt.block_on(async {
        let yields = (0..20usize)
            .map(|i| {
                spawn(async move {
                    for _ in 0..i % 4 {
                        yield_now().await;
                    }
                })
            })
            .collect::<Vec<_>>();
        for h in yields {
            h.await.unwrap();
        }
        let p = spawn(async {
            yield_now().await;
            panic!("p")
        });
        assert!(p.await.unwrap_err().is_panic());
        let pending = spawn(std::future::pending::<()>());
        yield_now().await;
        pending.abort();
        assert!(pending.await.is_err());
    });
    drop(rt);
    let mut log = log.lock().unwrap().clone();
    log.sort_by_key(|e| (e.3 as u8, e.1));
    let completed: Vec<_> = log
        .iter()
        .filter(|e| e.3 == TaskOutcome::Completed)
        .collect();
    assert_eq!(completed.len(), 20, "{log:?}");
    for (i, e) in completed.iter().enumerate() {
        assert_eq!(
            (e.0, e.2),
            (1, true),
            "one finishing poll per completed task"
        );
        // Tasks yield 0..=3 times: that many polls stay pending (5 of each).
        assert_eq!(e.1, i / 5, "{log:?}");
    }
    for outcome in [TaskOutcome::Panicked, TaskOutcome::Cancelled] {
        let e = log.iter().find(|e| e.3 == outcome);
        let e = e.unwrap_or_else(|| panic!("no {outcome:?} task: {log:?}"));
        assert_eq!((e.0, e.2), (0, false), "no finishing poll: {log:?}");
    }
}

#[test]
fn skip_terminate_only_skips_a_completed_task_whose_finishing_after_poll_asked() {
    // Every `after_poll` asks to skip `on_terminate`: it counts only on the poll that ends a
    // task. A task that panics (no `after_poll`) or is aborted still gets `on_terminate`, and
    // so does a completed task polled on a runtime whose `after_poll` never asks.
    type Log = Arc<Mutex<Vec<TaskOutcome>>>;
    for skip in [true, false] {
        let log: Log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        let dropped = Arc::new(AtomicUsize::new(0));
        struct Data(Arc<AtomicUsize>);
        impl Drop for Data {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let d = dropped.clone();
        let rt = Builder::new_multi_thread()
            .workers(2)
            .on_spawn(move |info| info.set_hook_data(Some(Arc::new(Data(d.clone())))))
            .after_poll(move |task| {
                if skip {
                    task.skip_terminate();
                }
            })
            .on_terminate(move |_, outcome| l.lock().unwrap().push(outcome))
            .build()
            .unwrap();
        rt.block_on(async {
            let a = spawn(async {
                yield_now().await;
                yield_now().await;
            });
            let b = spawn(async { panic!("b") });
            let c = spawn(std::future::pending::<()>());
            a.await.unwrap();
            assert!(b.await.unwrap_err().is_panic());
            c.abort();
            assert!(c.await.is_err());
        });
        drop(rt);
        let mut outcomes = log.lock().unwrap().clone();
        outcomes.sort_by_key(|o| *o as u8);
        let expected = if skip {
            vec![TaskOutcome::Panicked, TaskOutcome::Cancelled]
        } else {
            vec![
                TaskOutcome::Completed,
                TaskOutcome::Panicked,
                TaskOutcome::Cancelled,
            ]
        };
        assert_eq!(outcomes, expected, "skip: {skip}");
        // The hook data is dropped either way.
        assert_eq!(dropped.load(Ordering::SeqCst), 3, "skip: {skip}");
    }
}

#[test]
fn hook_data_ptr_is_the_values_address_or_null_and_moves_nothing() {
    // A task without hook data reads null; a task with some reads its allocation's address,
    // and the value stays in place (the next hook still finds it).
    let mine: Arc<u64> = Arc::new(7);
    let addr = Arc::as_ptr(&mine).cast::<()>() as usize;
    let seen: Arc<Mutex<Vec<(usize, bool)>>> = Arc::new(Mutex::new(Vec::new()));
    let (m, s) = (mine.clone(), seen.clone());
    let rt = Builder::new_multi_thread()
        .workers(1)
        .on_spawn(move |info| {
            if info.id().as_u64() % 2 == 0 {
                info.set_hook_data(Some(m.clone()));
            }
        })
        .before_poll(move |task| {
            let first = task.hook_data_ptr() as usize;
            let again = task.hook_data_ptr() as usize;
            assert_eq!(first, again, "reading moves nothing");
            let held = task.take_hook_data();
            assert_eq!(held.is_some(), first != 0);
            task.set_hook_data(held);
            s.lock().unwrap().push((first, task.id().as_u64() % 2 == 0));
        })
        .build()
        .unwrap();
    rt.block_on(async {
        let handles: Vec<_> = (0..4).map(|_| spawn(async { yield_now().await })).collect();
        for h in handles {
            h.await.unwrap();
        }
    });
    // The runtime's `on_spawn` hook holds a reference too.
    drop(rt);
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() >= 8, "{seen:?}");
    for (ptr, even) in seen {
        assert_eq!(ptr, if even { addr } else { 0 });
    }
    assert_eq!(
        Arc::strong_count(&mine),
        1,
        "every task's reference dropped"
    );
}
