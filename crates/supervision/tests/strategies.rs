//! Supervisor behaviour with scripted failing children: exact restart sets and order per
//! strategy, restart types, intensity escalation, nesting, backoff timing, shutdown timeouts,
//! addresses kept across restarts. Paused clocks; waits on supervisor events, never sleeps.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Cmd, Log, Worker, entries, worker, worker_failing_starts};
use nimsync_actors::{ActorRef, ExitReason};
use nimsync_core_channels::{Builder as ChanBuilder, Policy, mpsc};
use nimsync_scheduler::{Builder, Runtime};
use nimsync_supervision::{
    Backoff, ChildSpec, Intensity, Restart, Shutdown, Strategy, SupervisionError, Supervisor,
    SupervisorEvent, SupervisorRef, SupervisorSpec,
};

fn rt() -> Runtime {
    Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap()
}

/// A spec whose events go into a channel the test can wait on.
fn observed(strategy: Strategy) -> (SupervisorSpec, mpsc::Receiver<SupervisorEvent>) {
    let (tx, rx) = ChanBuilder::new(64)
        .policy(Policy::Overflow)
        .mpsc::<SupervisorEvent>()
        .unwrap();
    let spec = SupervisorSpec::new(strategy).on_event(move |e| {
        let _ = tx.try_send(e.clone());
    });
    (spec, rx)
}

/// Waits until `n` restarts (ChildStarted with restart = true) have been reported.
async fn wait_restarts(rx: &mut mpsc::Receiver<SupervisorEvent>, n: usize) {
    let mut seen = 0;
    while seen < n {
        if let SupervisorEvent::ChildStarted { restart: true, .. } = rx.recv().await.unwrap() {
            seen += 1;
        }
    }
}

async fn child(sup: &ActorRef<Supervisor>, name: &str) -> ActorRef<Worker> {
    sup.child::<Worker>(name).await.unwrap().unwrap()
}

fn three(strategy: Strategy, log: &Log) -> (SupervisorSpec, mpsc::Receiver<SupervisorEvent>) {
    let (spec, rx) = observed(strategy);
    (
        spec.child(worker("a", log))
            .child(worker("b", log))
            .child(worker("c", log)),
        rx,
    )
}

const STARTS: [&str; 3] = ["start a", "start b", "start c"];

#[test]
fn one_for_one_restarts_only_the_failed_child() {
    rt().block_on(async {
        let log = Log::default();
        let (spec, mut events) = three(Strategy::OneForOne, &log);
        let sup = spec.spawn().unwrap();
        child(&sup, "b").await.tell(Cmd::Panic).await.unwrap();
        wait_restarts(&mut events, 1).await;
        assert_eq!(
            entries(&log),
            [&STARTS[..], &["stop b panicked", "start b"]].concat()
        );
    });
}

#[test]
fn one_for_all_stops_the_others_in_reverse_and_restarts_all_in_order() {
    rt().block_on(async {
        let log = Log::default();
        let (spec, mut events) = three(Strategy::OneForAll, &log);
        let sup = spec.spawn().unwrap();
        child(&sup, "b").await.tell(Cmd::Panic).await.unwrap();
        wait_restarts(&mut events, 3).await;
        assert_eq!(
            entries(&log),
            [
                &STARTS[..],
                &["stop b panicked", "stop c shutdown", "stop a shutdown"],
                &STARTS[..]
            ]
            .concat()
        );
    });
}

#[test]
fn rest_for_one_restarts_the_failed_child_and_later_ones() {
    rt().block_on(async {
        let log = Log::default();
        let (spec, mut events) = three(Strategy::RestForOne, &log);
        let sup = spec.spawn().unwrap();
        child(&sup, "b").await.tell(Cmd::Panic).await.unwrap();
        wait_restarts(&mut events, 2).await;
        assert_eq!(
            entries(&log),
            [
                &STARTS[..],
                &["stop b panicked", "stop c shutdown", "start b", "start c"]
            ]
            .concat()
        );
    });
}

#[test]
fn shutdown_stops_children_in_reverse_start_order() {
    rt().block_on(async {
        let log = Log::default();
        let (spec, _events) = three(Strategy::OneForOne, &log);
        let sup = spec.spawn().unwrap();
        let a = child(&sup, "a").await;
        let t = sup.stop_and_wait().await;
        assert!(matches!(t.reason, ExitReason::Normal));
        assert_eq!(
            entries(&log),
            [
                &STARTS[..],
                &["stop c shutdown", "stop b shutdown", "stop a shutdown"]
            ]
            .concat()
        );
        assert!(!a.is_alive(), "children end with their supervisor");
        assert!(a.tell(Cmd::Note).await.is_err());
    });
}

#[test]
fn transient_restarts_only_after_abnormal_exit_and_temporary_never() {
    rt().block_on(async {
        let log = Log::default();
        let (spec, mut events) = observed(Strategy::OneForOne);
        let sup = spec
            .child(worker("t", &log).restart(Restart::Transient))
            .child(worker("tmp", &log).restart(Restart::Temporary))
            .spawn()
            .unwrap();
        let t = child(&sup, "t").await;
        t.tell(Cmd::Panic).await.unwrap();
        wait_restarts(&mut events, 1).await;
        t.tell(Cmd::StopNormally).await.unwrap();
        let end = t.wait_terminated().await;
        assert!(matches!(end.reason, ExitReason::Normal));

        let tmp = child(&sup, "tmp").await;
        tmp.tell(Cmd::Panic).await.unwrap();
        let end = tmp.wait_terminated().await;
        assert_eq!(end.reason.panic_message(), Some("tmp crashed"));
        let kids = sup.children().await.unwrap();
        assert!(kids.iter().all(|k| !k.running && k.id.is_none()));
        assert_eq!(
            entries(&log),
            [
                "start t",
                "start tmp",
                "stop t panicked",
                "start t",
                "stop t normal",
                "stop tmp panicked"
            ]
        );
        assert!(sup.is_alive());
    });
}

#[test]
fn a_sibling_crashing_while_asked_to_shut_down_is_restarted_once_with_the_group() {
    for restart in [Restart::Transient, Restart::Permanent] {
        rt().block_on(async {
            let log = Log::default();
            let (spec, mut events) = observed(Strategy::OneForAll);
            let sup = spec
                .child(worker("a", &log))
                .child(worker("b", &log).restart(restart))
                .spawn()
                .unwrap();
            let (a, b) = (child(&sup, "a").await, child(&sup, "b").await);
            // b is 10 ms into a 50 ms wait when a crashes: the supervisor's shutdown reaches
            // b's waiting handler, and b's run then ends by its own crash.
            b.tell(Cmd::PanicAfter(Duration::from_millis(50)))
                .await
                .unwrap();
            nimsync_scheduler::sleep(Duration::from_millis(10)).await;
            a.tell(Cmd::Panic).await.unwrap();
            wait_restarts(&mut events, 2).await;
            // Paused clock: this returns once every task is idle, so any further exit or
            // restart would have happened by now.
            nimsync_scheduler::sleep(Duration::from_secs(1)).await;
            assert_eq!(b.ask(Cmd::Handled).await, Ok(0), "{restart:?}: b runs");
            assert!(b.is_alive());
            let kids = sup.children().await.unwrap();
            assert!(kids.iter().all(|k| k.running), "{restart:?}: {kids:?}");
            assert_eq!(
                (a.stats().restarts, b.stats().restarts),
                (1, 1),
                "{restart:?}"
            );
            assert_eq!(
                entries(&log),
                [
                    "start a",
                    "start b",
                    "stop a panicked",
                    "stop b panicked",
                    "start a",
                    "start b"
                ],
                "{restart:?}"
            );
            while let Ok(e) = events.try_recv() {
                assert!(
                    !matches!(e, SupervisorEvent::ChildExited { .. }),
                    "{restart:?}: {e:?}"
                );
            }
        });
    }
}

#[test]
fn a_group_restart_reports_the_temporary_siblings_it_stops_for_good() {
    rt().block_on(async {
        let log = Log::default();
        let (spec, mut events) = observed(Strategy::OneForAll);
        let sup = spec
            .child(worker("a", &log))
            .child(worker("tmp", &log).restart(Restart::Temporary))
            .spawn()
            .unwrap();
        child(&sup, "a").await.tell(Cmd::Panic).await.unwrap();
        // Every event up to the restart, in order.
        let mut seen = Vec::new();
        loop {
            let e = events.recv().await.unwrap();
            let restarted = matches!(e, SupervisorEvent::ChildStarted { restart: true, .. });
            seen.push(e);
            if restarted {
                break;
            }
        }
        let names: Vec<String> = seen
            .iter()
            .filter_map(|e| match e {
                SupervisorEvent::ChildStarted { child, restart, .. } => {
                    Some(format!("started {child} {restart}"))
                }
                SupervisorEvent::ChildExited { child, .. } => Some(format!("exited {child}")),
                SupervisorEvent::ChildStopped { child } => Some(format!("stopped {child}")),
                SupervisorEvent::Restarting { children, .. } => {
                    Some(format!("restarting {}", children.join(",")))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            names,
            [
                "started a false",
                "started tmp false",
                "exited a",
                "stopped tmp",
                "restarting a",
                "started a true"
            ]
        );
        let kids = sup.children().await.unwrap();
        assert!(kids[0].running);
        assert!(!kids[1].running && kids[1].id.is_none());
    });
}

#[test]
fn intensity_exceeded_stops_children_and_fails_with_the_cause() {
    rt().block_on(async {
        let log = Log::default();
        let (spec, mut events) = observed(Strategy::OneForOne);
        let sup = spec
            .intensity(Intensity {
                max_restarts: 2,
                period: Duration::from_secs(5),
            })
            .child(worker("a", &log))
            .child(worker("b", &log))
            .child(worker("c", &log))
            .spawn()
            .unwrap();
        let b = child(&sup, "b").await;
        for i in 0..2 {
            b.tell(Cmd::Panic).await.unwrap();
            wait_restarts(&mut events, 1).await;
            assert_eq!(b.stats().restarts, i + 1);
        }
        b.tell(Cmd::Panic).await.unwrap();
        let t = sup.wait_terminated().await;
        let ExitReason::Failed(err) = &t.reason else {
            panic!("expected a failure, got {:?}", t.reason);
        };
        let err = err.downcast_ref::<SupervisionError>().unwrap();
        let SupervisionError::IntensityExceeded {
            restarts, child, ..
        } = err
        else {
            panic!("wrong error {err}");
        };
        assert_eq!((*restarts, child.as_str()), (3, "b"));
        let tail: Vec<String> = entries(&log).into_iter().skip(7).collect();
        assert_eq!(
            tail,
            ["stop b panicked", "stop c shutdown", "stop a shutdown"]
        );
        assert!(!b.is_alive());
    });
}

#[test]
fn a_failing_subtree_is_restarted_by_its_parent() {
    rt().block_on(async {
        let log = Log::default();
        let inner = SupervisorSpec::new(Strategy::OneForOne)
            .intensity(Intensity {
                max_restarts: 1,
                period: Duration::from_secs(5),
            })
            .child(worker("w", &log));
        let (spec, mut events) = observed(Strategy::OneForOne);
        let root = spec
            .child(worker("x", &log))
            .child(ChildSpec::supervisor("inner", inner))
            .spawn()
            .unwrap();
        let inner = root.child::<Supervisor>("inner").await.unwrap().unwrap();
        let w = child(&inner, "w").await;
        w.tell(Cmd::Panic).await.unwrap();
        assert_eq!(w.ask(Cmd::Handled).await, Ok(0)); // restarted by "inner", same address
        w.tell(Cmd::Panic).await.unwrap(); // over inner's intensity: inner gives up
        w.wait_terminated().await;
        wait_restarts(&mut events, 1).await; // the root restarted "inner"
        let inner_again = root.child::<Supervisor>("inner").await.unwrap().unwrap();
        assert_eq!(inner_again, inner, "the subtree's root address is kept");
        let w = child(&inner_again, "w").await;
        w.tell(Cmd::Note).await.unwrap();
        assert_eq!(w.ask(Cmd::Handled).await, Ok(1));
        assert_eq!(
            entries(&log),
            [
                "start x",
                "start w",
                "stop w panicked",
                "start w",
                "stop w panicked",
                "start w"
            ]
        );
        assert!(root.is_alive());
    });
}

#[test]
fn backoff_delays_restarts_exactly() {
    rt().block_on(async {
        let log = Log::default();
        let (spec, mut events) = observed(Strategy::OneForOne);
        let t0 = nimsync_scheduler::now();
        let _sup = spec
            .intensity(Intensity {
                max_restarts: 10,
                period: Duration::from_secs(60),
            })
            .backoff(Backoff::exponential(
                Duration::from_millis(100),
                Duration::from_millis(300),
            ))
            .child(worker_failing_starts("f", &log, 3))
            .spawn()
            .unwrap();
        let mut at = Vec::new();
        while at.len() < 3 {
            if let SupervisorEvent::ChildStarted { restart: true, .. } =
                events.recv().await.unwrap()
            {
                at.push(nimsync_scheduler::now() - t0);
            }
        }
        // Restart 1 after 100 ms, 2 after 200 ms more, 3 capped at 300 ms more.
        let ms: Vec<u128> = at.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [100, 300, 600]);
        let starts = entries(&log).iter().filter(|e| *e == "start f").count();
        assert_eq!(starts, 4);
    });
}

#[test]
fn messages_sent_during_a_restart_wait_for_the_next_run() {
    rt().block_on(async {
        let log = Log::default();
        let (spec, _events) = observed(Strategy::OneForOne);
        let sup = spec
            .backoff(Backoff::exponential(
                Duration::from_secs(1),
                Duration::from_secs(1),
            ))
            .child(worker("w", &log))
            .spawn()
            .unwrap();
        let w = child(&sup, "w").await;
        w.tell(Cmd::Panic).await.unwrap();
        for _ in 0..5 {
            w.tell(Cmd::Note).await.unwrap();
        }
        // Same address, every message after the crash handled by the restarted actor.
        assert_eq!(w.ask(Cmd::Handled).await, Ok(5));
        assert_eq!(w, child(&sup, "w").await);
        assert_eq!(w.stats().restarts, 1);
    });
}

#[test]
fn a_stuck_child_is_killed_after_its_shutdown_timeout() {
    rt().block_on(async {
        let log = Log::default();
        let (spec, _events) = observed(Strategy::OneForOne);
        let sup = spec
            .child(worker("stuck", &log).shutdown(Shutdown::Timeout(Duration::from_secs(2))))
            .child(worker("quick", &log).shutdown(Shutdown::Brutal))
            .spawn()
            .unwrap();
        child(&sup, "stuck").await.tell(Cmd::Hang).await.unwrap();
        let t0 = nimsync_scheduler::now();
        sup.stop_and_wait().await;
        assert_eq!(nimsync_scheduler::now() - t0, Duration::from_secs(2));
        // Brutal: killed, so no stopped hook; the stuck one was killed after the timeout.
        assert_eq!(entries(&log), ["start stuck", "start quick"]);
    });
}

#[test]
fn watchers_see_only_the_final_stop_of_a_restarted_child() {
    use nimsync_actors::{Actor, Context, Reply, Terminated, spawn_actor};
    struct Watcher(Vec<Terminated>);
    enum WMsg {
        Down(Terminated),
        Seen(Reply<Vec<Terminated>>),
    }
    impl From<Terminated> for WMsg {
        fn from(t: Terminated) -> Self {
            WMsg::Down(t)
        }
    }
    impl Actor for Watcher {
        type Msg = WMsg;
        async fn handle(&mut self, m: WMsg, _: &mut Context<Self>) {
            match m {
                WMsg::Down(t) => self.0.push(t),
                WMsg::Seen(r) => {
                    r.send(self.0.clone());
                }
            }
        }
    }
    rt().block_on(async {
        let log = Log::default();
        let (spec, mut events) = observed(Strategy::OneForOne);
        let sup = spec.child(worker("w", &log)).spawn().unwrap();
        let w = child(&sup, "w").await;
        let watcher = spawn_actor(Watcher(Vec::new()));
        watcher.watch(&w);
        w.tell(Cmd::Panic).await.unwrap();
        wait_restarts(&mut events, 1).await;
        assert!(watcher.ask(WMsg::Seen).await.unwrap().is_empty());
        sup.stop_and_wait().await;
        let seen = watcher.ask(WMsg::Seen).await.unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].id, w.id());
        assert!(matches!(seen[0].reason, ExitReason::Shutdown));
    });
}

#[test]
fn bad_configurations_are_clear_errors() {
    let log = Log::default();
    let zero = SupervisorSpec::new(Strategy::OneForOne).intensity(Intensity {
        max_restarts: 0,
        period: Duration::from_secs(1),
    });
    assert!(matches!(
        zero.spawn(),
        Err(SupervisionError::InvalidConfig(_))
    ));
    let dup = SupervisorSpec::new(Strategy::OneForOne)
        .child(worker("a", &log))
        .child(worker("a", &log));
    assert!(matches!(
        dup.validate(),
        Err(SupervisionError::InvalidConfig(_))
    ));
    let _unused: Option<Arc<()>> = None;
}
