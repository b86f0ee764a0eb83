//! Behaviour of actors: ordering, ask failures, stop vs kill, the system lane, dead letters,
//! hooks, watches and stats. Deterministic: current-thread runtimes, paused clocks, no sleeps.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use nimsync_actors::{
    Actor, ActorBuilder, AskError, Context, DeadLetterReason, DeadLetterSink, ExitReason,
    MailboxPolicy, Reply, Terminated, TryTellError, spawn_actor,
};
use nimsync_scheduler::{Builder, Runtime};

fn rt() -> Runtime {
    Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap()
}

type Log = Arc<Mutex<Vec<String>>>;

/// Records every event in a shared log; can be told to wait on a gate, panic or fail.
struct Recorder {
    log: Log,
}

enum Msg {
    Note(u32),
    Gate(oneshot::Receiver<()>),
    Panic,
    Fail,
    Get(Reply<Vec<String>>),
    Ignore(Reply<u32>),
    /// Kills this actor from inside a handler that never waits.
    KillSelf,
    Down(Terminated),
}

impl From<Terminated> for Msg {
    fn from(t: Terminated) -> Self {
        Msg::Down(t)
    }
}

#[derive(Debug)]
struct Broken;
impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("broken")
    }
}
impl std::error::Error for Broken {}

impl Actor for Recorder {
    type Msg = Msg;
    async fn started(&mut self, _: &mut Context<Self>) {
        self.log.lock().unwrap().push("started".into());
    }
    async fn handle(&mut self, msg: Msg, ctx: &mut Context<Self>) {
        match msg {
            Msg::Note(n) => self.log.lock().unwrap().push(format!("note {n}")),
            Msg::Gate(rx) => {
                let _ = rx.await;
                self.log.lock().unwrap().push("gate passed".into());
            }
            Msg::Panic => panic!("handler blew up"),
            Msg::Fail => ctx.fail(Broken),
            Msg::Get(r) => {
                r.send(self.log.lock().unwrap().clone());
            }
            Msg::Ignore(_r) => {}
            Msg::KillSelf => ctx.myself().unwrap().kill(),
            Msg::Down(t) => self
                .log
                .lock()
                .unwrap()
                .push(format!("down {} {}", t.id, t.reason)),
        }
    }
    async fn stopping(&mut self, _: &mut Context<Self>) {
        self.log.lock().unwrap().push("stopping".into());
    }
    async fn stopped(&mut self, reason: &ExitReason) {
        self.log.lock().unwrap().push(format!("stopped {reason}"));
    }
}

fn recorder() -> (Recorder, Log) {
    let log = Log::default();
    (Recorder { log: log.clone() }, log)
}

fn notes(log: &Log) -> Vec<String> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|s| s.starts_with("note"))
        .cloned()
        .collect()
}

#[test]
fn messages_are_handled_in_order_with_hooks_around() {
    rt().block_on(async {
        let (a, log) = recorder();
        let a = spawn_actor(a);
        for i in 0..100 {
            a.tell(Msg::Note(i)).await.unwrap();
        }
        let t = a.stop_and_wait().await;
        assert!(matches!(t.reason, ExitReason::Normal));
        let log = log.lock().unwrap().clone();
        assert_eq!(log.first().unwrap(), "started");
        let expected: Vec<String> = (0..100).map(|i| format!("note {i}")).collect();
        assert_eq!(&log[1..101], &expected[..]);
        assert_eq!(&log[101..], ["stopping", "stopped normal"]);
    });
}

#[test]
fn stop_drains_the_queue_and_overtakes_a_full_mailbox() {
    rt().block_on(async {
        let (a, log) = recorder();
        let a = ActorBuilder::new().capacity(4).spawn(a).unwrap();
        let (open, gate) = oneshot::channel();
        a.tell(Msg::Gate(gate)).await.unwrap();
        nimsync_scheduler::yield_now().await; // the actor takes the gate message
        // Fill the mailbox while the actor is stuck at the gate.
        let mut n = 0;
        loop {
            match a.try_tell(Msg::Note(n)) {
                Ok(()) => n += 1,
                Err(TryTellError::Full(_)) => break,
                Err(TryTellError::Stopped(_)) => panic!("stopped early"),
            }
        }
        assert_eq!(n, 4);
        a.stop(); // system lane: not stuck behind the full user lane
        open.send(()).unwrap();
        let t = a.wait_terminated().await;
        assert!(matches!(t.reason, ExitReason::Normal));
        assert_eq!(
            notes(&log).len(),
            n as usize,
            "every queued message handled"
        );
        assert!(matches!(
            a.try_tell(Msg::Note(0)),
            Err(TryTellError::Stopped(_))
        ));
    });
}

#[test]
fn kill_abandons_a_waiting_handler_and_dead_letters_the_queue() {
    rt().block_on(async {
        let (sink, letters) = DeadLetterSink::log(16);
        let (a, log) = recorder();
        let a = ActorBuilder::new().dead_letters(sink).spawn(a).unwrap();
        let (_never_opened, gate) = oneshot::channel::<()>();
        a.tell(Msg::Gate(gate)).await.unwrap();
        a.tell(Msg::Note(1)).await.unwrap();
        a.tell(Msg::Note(2)).await.unwrap();
        let asker = {
            let a = a.clone();
            nimsync_scheduler::spawn(async move { a.ask(Msg::Get).await })
        };
        nimsync_scheduler::yield_now().await;
        let t = a.kill_and_wait().await;
        assert!(matches!(t.reason, ExitReason::Killed));
        // The queued request was dropped into the dead letters: the asker fails, no hang.
        assert_eq!(
            asker.await.unwrap(),
            Err(AskError::NoReply { actor: a.id() })
        );
        let log = log.lock().unwrap().clone();
        assert_eq!(log, ["started"], "no hooks after a kill, gate never passed");
        let records = letters.records();
        assert_eq!(records.len(), 3);
        assert!(
            records
                .iter()
                .all(|r| r.reason == DeadLetterReason::ActorStopped && r.actor == a.id())
        );
    });
}

#[test]
fn kill_cuts_a_graceful_drain_short() {
    rt().block_on(async {
        let (sink, letters) = DeadLetterSink::log(64);
        // Stop, then kill, before the actor has handled anything: the kill wins, no message
        // is handled, no stopping hook runs, the queue goes to the dead letters.
        let (a, log) = recorder();
        let a = ActorBuilder::new()
            .capacity(16)
            .dead_letters(sink.clone())
            .spawn(a)
            .unwrap();
        for i in 0..10 {
            a.try_tell(Msg::Note(i)).unwrap();
        }
        a.stop();
        a.kill();
        let t = a.wait_terminated().await;
        assert!(matches!(t.reason, ExitReason::Killed), "{}", t.reason);
        assert_eq!(log.lock().unwrap().clone(), ["started"]);
        assert_eq!(letters.records().len(), 10);

        // A kill that arrives mid-drain, with no handler waiting (here sent by a handler that
        // returns at once), is seen before the next queued message.
        let (b, log) = recorder();
        let b = ActorBuilder::new()
            .capacity(16)
            .dead_letters(sink)
            .spawn(b)
            .unwrap();
        b.try_tell(Msg::Note(0)).unwrap();
        b.try_tell(Msg::Note(1)).unwrap();
        b.try_tell(Msg::KillSelf).unwrap();
        for i in 2..6 {
            b.try_tell(Msg::Note(i)).unwrap();
        }
        b.stop();
        let t = b.wait_terminated().await;
        assert!(matches!(t.reason, ExitReason::Killed), "{}", t.reason);
        assert_eq!(notes(&log), ["note 0", "note 1"]);
        assert_eq!(
            log.lock().unwrap().last().unwrap(),
            "note 1",
            "no hook after a kill"
        );
        let dropped = letters.records();
        assert_eq!(dropped.iter().filter(|r| r.actor == b.id()).count(), 4);
    });
}

/// How a [`Lingering`] run ends; each way takes 50 ms of the paused clock in the handler or
/// in a hook, so a shutdown can reach the run while it is already ending.
#[derive(Clone, Copy, Debug)]
enum Ending {
    Panic,
    Stop,
    Fail,
    SlowStopping,
    SlowStopped,
}

const LINGER: Duration = Duration::from_millis(50);

struct Lingering {
    ending: Ending,
    log: Log,
}

enum Linger {
    End,
    Note(u32),
}

impl Actor for Lingering {
    type Msg = Linger;
    async fn handle(&mut self, msg: Linger, ctx: &mut Context<Self>) {
        let Linger::Note(n) = msg else {
            if matches!(self.ending, Ending::Panic | Ending::Stop | Ending::Fail) {
                nimsync_scheduler::sleep(LINGER).await;
            }
            match self.ending {
                Ending::Panic => panic!("ended"),
                Ending::Fail => ctx.fail(Broken),
                _ => ctx.stop(),
            }
            return;
        };
        self.log.lock().unwrap().push(format!("note {n}"));
    }
    async fn stopping(&mut self, _: &mut Context<Self>) {
        if matches!(self.ending, Ending::SlowStopping) {
            nimsync_scheduler::sleep(LINGER).await;
        }
    }
    async fn stopped(&mut self, _: &ExitReason) {
        if matches!(self.ending, Ending::SlowStopped) {
            nimsync_scheduler::sleep(LINGER).await;
        }
    }
}

#[test]
fn a_shutdown_that_reaches_a_run_ending_another_way_does_not_end_the_next_run() {
    rt().block_on(async {
        for ending in [
            Ending::Panic,
            Ending::Stop,
            Ending::Fail,
            Ending::SlowStopping,
            Ending::SlowStopped,
        ] {
            let log = Log::default();
            let run = || Lingering {
                ending,
                log: log.clone(),
            };
            let (addr, mut mailbox) = ActorBuilder::new().mailbox::<Lingering>().unwrap();
            addr.tell(Linger::End).await.unwrap();
            let sender = {
                let addr = addr.clone();
                nimsync_scheduler::spawn(async move {
                    // 10 ms into the 50 ms the run takes to end: the handler or hook waits.
                    nimsync_scheduler::sleep(Duration::from_millis(10)).await;
                    addr.shutdown();
                    addr.tell_priority(Linger::Note(0)).unwrap();
                })
            };
            let first = mailbox.run(run()).await;
            sender.await.unwrap();
            let expected = match ending {
                Ending::Panic => "panicked: ended",
                Ending::Fail => "failed: broken",
                _ => "normal",
            };
            assert_eq!(first.to_string(), expected, "{ending:?}: first run");
            assert!(notes(&log).is_empty(), "{ending:?}: the run ended first");

            // The shutdown was for the first run; the priority message sent with it waits
            // for the next one, which handles it, then drains and stops on request.
            addr.tell(Linger::Note(1)).await.unwrap();
            addr.stop();
            let second = mailbox.run(run()).await;
            assert!(
                matches!(second, ExitReason::Normal),
                "{ending:?}: the second run ended {second}"
            );
            assert_eq!(notes(&log), ["note 0", "note 1"], "{ending:?}");
            mailbox.terminate(second);
        }
    });
}

#[test]
fn ask_fails_clearly_on_dead_panicking_and_silent_actors() {
    rt().block_on(async {
        let (a, _) = recorder();
        let a = spawn_actor(a);
        assert_eq!(
            a.ask(Msg::Ignore).await,
            Err(AskError::NoReply { actor: a.id() })
        );
        a.tell(Msg::Panic).await.unwrap();
        let t = a.wait_terminated().await;
        assert_eq!(t.reason.panic_message(), Some("handler blew up"));
        assert_eq!(
            a.ask(Msg::Get).await,
            Err(AskError::Stopped { actor: a.id() })
        );

        let (b, _) = recorder();
        let b = spawn_actor(b);
        let (_keep, gate) = oneshot::channel::<()>();
        b.tell(Msg::Gate(gate)).await.unwrap();
        let r = b.ask_timeout(Msg::Get, Duration::from_secs(5)).await;
        assert_eq!(r, Err(AskError::Timeout { actor: b.id() }));
    });
}

#[test]
fn panic_reason_reaches_watchers_and_stopped_hook() {
    rt().block_on(async {
        let (w, wlog) = recorder();
        let watcher = spawn_actor(w);
        let (v, vlog) = recorder();
        let victim = spawn_actor(v);
        watcher.watch(&victim);
        victim.tell(Msg::Panic).await.unwrap();
        victim.wait_terminated().await;
        let seen = watcher.ask(Msg::Get).await.unwrap();
        assert!(seen.contains(&format!("down {} panicked: handler blew up", victim.id())));
        assert_eq!(
            vlog.lock().unwrap().last().unwrap(),
            "stopped panicked: handler blew up"
        );
        drop(wlog);
    });
}

#[test]
fn fail_keeps_the_cause() {
    rt().block_on(async {
        let (a, log) = recorder();
        let a = spawn_actor(a);
        a.tell(Msg::Fail).await.unwrap();
        let t = a.wait_terminated().await;
        assert!(t.reason.is_abnormal());
        let cause = std::error::Error::source(&t.reason).unwrap();
        assert_eq!(cause.to_string(), "broken");
        assert_eq!(
            log.lock().unwrap().last().unwrap(),
            "stopped failed: broken"
        );
    });
}

#[test]
fn deathwatch_order_unwatch_and_late_watch() {
    rt().block_on(async {
        let (w, wlog) = recorder();
        let watcher = spawn_actor(w);
        let actors: Vec<_> = (0..3).map(|_| spawn_actor(recorder().0)).collect();
        for a in &actors {
            watcher.watch(a);
        }
        watcher.unwatch(&actors[1]);
        actors[2].stop_and_wait().await;
        actors[1].kill_and_wait().await;
        actors[0].kill_and_wait().await;
        let late = spawn_actor(recorder().0);
        late.stop_and_wait().await;
        watcher.watch(&late); // already stopped: notified at once
        let seen: Vec<String> = watcher
            .ask(Msg::Get)
            .await
            .unwrap()
            .into_iter()
            .filter(|s| s.starts_with("down"))
            .collect();
        assert_eq!(
            seen,
            [
                format!("down {} normal", actors[2].id()),
                format!("down {} killed", actors[0].id()),
                format!("down {} normal", late.id()),
            ]
        );
        drop(wlog);
    });
}

#[test]
fn dropping_every_address_stops_after_draining() {
    rt().block_on(async {
        let (a, log) = recorder();
        let a = spawn_actor(a);
        for i in 0..10 {
            a.tell(Msg::Note(i)).await.unwrap();
        }
        let weak = a.downgrade();
        drop(a);
        // Wait for the task: watch through a fresh observer on the shared log.
        for _ in 0..1000 {
            if log.lock().unwrap().last().map(String::as_str) == Some("stopped normal") {
                break;
            }
            nimsync_scheduler::yield_now().await;
        }
        assert_eq!(notes(&log).len(), 10);
        assert!(weak.upgrade().is_none());
    });
}

#[test]
fn dead_letter_newest_policy_never_waits_and_records() {
    rt().block_on(async {
        let (sink, letters) = DeadLetterSink::log(8);
        let (a, log) = recorder();
        let a = ActorBuilder::new()
            .capacity(2)
            .policy(MailboxPolicy::DeadLetterNewest)
            .dead_letters(sink)
            .spawn(a)
            .unwrap();
        let (open, gate) = oneshot::channel();
        a.tell(Msg::Gate(gate)).await.unwrap();
        nimsync_scheduler::yield_now().await; // the actor takes the gate message
        for i in 0..5 {
            a.tell(Msg::Note(i)).await.unwrap(); // never waits
        }
        assert_eq!(letters.total(), 3);
        assert!(
            letters
                .records()
                .iter()
                .all(|r| r.reason == DeadLetterReason::MailboxFull)
        );
        open.send(()).unwrap();
        a.stop_and_wait().await;
        assert_eq!(notes(&log), ["note 0", "note 1"]);
    });
}

#[test]
fn unbounded_policy_accepts_beyond_capacity() {
    rt().block_on(async {
        let (a, log) = recorder();
        let a = ActorBuilder::new()
            .capacity(2)
            .policy(MailboxPolicy::Unbounded)
            .spawn(a)
            .unwrap();
        for i in 0..50 {
            a.try_tell(Msg::Note(i)).unwrap();
        }
        a.stop_and_wait().await;
        assert_eq!(notes(&log).len(), 50);
    });
}

#[test]
fn stats_count_handled_messages_and_depth() {
    rt().block_on(async {
        let (a, _) = recorder();
        let a = ActorBuilder::new().sample_handle_time(1).spawn(a).unwrap();
        let (open, gate) = oneshot::channel();
        a.tell(Msg::Gate(gate)).await.unwrap();
        nimsync_scheduler::yield_now().await;
        for i in 0..7 {
            a.tell(Msg::Note(i)).await.unwrap();
        }
        assert_eq!(a.stats().mailbox_depth, 7);
        open.send(()).unwrap();
        a.stop_and_wait().await;
        let s = a.stats();
        assert_eq!(s.messages_handled, 8);
        assert_eq!(s.mailbox_depth, 0);
        assert_eq!(s.handle_time.count(), 8);
        assert!(s.handle_time.quantile(0.5).is_some());
    });
}

#[test]
fn many_senders_on_a_multi_thread_runtime_lose_nothing() {
    struct Sum(u64);
    impl Actor for Sum {
        type Msg = (u64, Option<Reply<u64>>);
        async fn handle(&mut self, (v, r): Self::Msg, _: &mut Context<Self>) {
            self.0 += v;
            if let Some(r) = r {
                r.send(self.0);
            }
        }
    }
    let rt = Runtime::builder().workers(2).build().unwrap();
    rt.block_on(async {
        let sum = ActorBuilder::new().capacity(16).spawn(Sum(0)).unwrap();
        let senders: Vec<_> = (0..4)
            .map(|_| {
                let s = sum.clone();
                nimsync_scheduler::spawn(async move {
                    for v in 1..=10_000u64 {
                        s.tell((v, None)).await.unwrap();
                    }
                })
            })
            .collect();
        for h in senders {
            h.await.unwrap();
        }
        let total = sum.ask(|r| (0, Some(r))).await.unwrap();
        assert_eq!(total, 4 * (10_000 * 10_001 / 2));
    });
}

#[test]
fn idle_actor_wakes_for_asks_from_many_tasks_and_when_its_last_address_drops() {
    struct Echo(Option<oneshot::Sender<ExitReason>>);
    impl Actor for Echo {
        type Msg = (u64, Reply<u64>);
        async fn handle(&mut self, (v, r): Self::Msg, _: &mut Context<Self>) {
            r.send(v);
        }
        async fn stopped(&mut self, reason: &ExitReason) {
            if let Some(tx) = self.0.take() {
                let _ = tx.send(reason.clone());
            }
        }
    }
    let rt = Runtime::builder().workers(2).build().unwrap();
    rt.block_on(async {
        let (tx, stopped) = oneshot::channel();
        let echo = spawn_actor(Echo(Some(tx)));
        // Every ask finds the actor idle (parked on its doorbell) or busy: a lost wake-up
        // would hang here.
        let askers: Vec<_> = (0..3u64)
            .map(|k| {
                let e = echo.clone();
                nimsync_scheduler::spawn(async move {
                    for v in 0..3_000u64 {
                        assert_eq!(e.ask(|r| (k * 10_000 + v, r)).await, Ok(k * 10_000 + v));
                    }
                })
            })
            .collect();
        for h in askers {
            h.await.unwrap();
        }
        // Idle again; dropping the last address must wake it to see the closed mailbox.
        drop(echo);
        assert!(matches!(stopped.await, Ok(ExitReason::Normal)));
    });
}
