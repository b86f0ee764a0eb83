//! Chaos for supervised actors: a `OneForOne` supervisor over worker actors that crash on
//! scripted messages while many tasks ask them. The supervisor must keep every worker alive
//! (each crash is restarted, the address unchanged), every ask whose message is not a crash
//! must get its answer (nothing sent to a live actor is lost), every crash must come back to
//! its asker as "no reply" (never a hang), and stopping the supervisor stops the workers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use nimsync_actors::{Actor, ActorRef, AskError, Context, Reply};
use nimsync_group::{CollectAll, GroupHandle, task_group};
use nimsync_scheduler::Runtime;
use nimsync_supervision::{
    Backoff, ChildSpec, Intensity, Strategy, Supervisor, SupervisorRef, SupervisorSpec,
};

use crate::chaos::PANIC_PREFIX;
use crate::config::Config;

/// Workers under the supervisor.
const WORKERS: usize = 16;

/// A worker: echoes the job id, or panics when told to.
struct Worker;

/// A job for a worker.
enum Job {
    Run {
        id: usize,
        crash: bool,
        reply: Reply<usize>,
    },
}

impl Actor for Worker {
    type Msg = Job;

    async fn handle(&mut self, msg: Job, _ctx: &mut Context<Self>) {
        let Job::Run { id, crash, reply } = msg;
        if crash {
            panic!("{PANIC_PREFIX} scripted actor crash");
        }
        reply.send(id);
    }
}

/// What the supervised round observed.
#[derive(Debug, Default)]
pub struct ActorChaosReport {
    /// Asks sent.
    pub asks: usize,
    /// Of those, scripted crashes.
    pub crashes: usize,
    /// Asks that ended differently from their script (wrong answer, lost, or a crash that
    /// did not report "no reply").
    pub wrong: usize,
    /// Up to three examples of wrong endings.
    pub examples: Vec<String>,
    /// Workers alive after the storm (must be all).
    pub alive_after: usize,
    /// Whether the supervisor was alive after the storm.
    pub supervisor_alive: bool,
    /// Workers still alive after the supervisor stopped (must be none).
    pub alive_after_stop: usize,
}

/// One supervised-actor chaos round: `askers` tasks each send `per_asker` asks.
pub fn supervised_round(
    cfg: &Config,
    seed: u64,
    askers: usize,
    per_asker: usize,
) -> ActorChaosReport {
    let mut report = ActorChaosReport::default();
    let rt = match Runtime::builder().workers(cfg.workers).build() {
        Ok(rt) => rt,
        Err(e) => {
            report.wrong = 1;
            report.examples.push(format!("runtime: {e}"));
            return report;
        }
    };
    rt.block_on(async {
        let mut spec = SupervisorSpec::new(Strategy::OneForOne)
            // The storm crashes workers on purpose, thousands of times a second.
            .intensity(Intensity {
                max_restarts: u32::MAX,
                period: Duration::from_secs(1),
            })
            .backoff(Backoff::none())
            .seed(seed);
        for i in 0..WORKERS {
            spec = spec.child(ChildSpec::new(format!("worker-{i}"), || Worker));
        }
        let sup: ActorRef<Supervisor> = match spec.spawn() {
            Ok(s) => s,
            Err(e) => {
                report.wrong = 1;
                report
                    .examples
                    .push(format!("supervisor did not start: {e}"));
                return;
            }
        };
        let mut workers = Vec::with_capacity(WORKERS);
        for i in 0..WORKERS {
            match sup.child::<Worker>(&format!("worker-{i}")).await {
                Ok(Some(w)) => workers.push(w),
                other => {
                    report.wrong = 1;
                    report
                        .examples
                        .push(format!("worker-{i} lookup: {other:?}"));
                    return;
                }
            }
        }
        let workers = Arc::new(workers);
        let wrong = Arc::new(AtomicUsize::new(0));
        let crashes = Arc::new(AtomicUsize::new(0));
        let examples = Arc::new(std::sync::Mutex::new(Vec::new()));
        let storm = {
            let (workers, wrong, crashes, examples) = (
                Arc::clone(&workers),
                Arc::clone(&wrong),
                Arc::clone(&crashes),
                Arc::clone(&examples),
            );
            task_group(CollectAll, move |g: GroupHandle<(), ()>| async move {
                for a in 0..askers {
                    let (workers, wrong, crashes, examples) = (
                        Arc::clone(&workers),
                        Arc::clone(&wrong),
                        Arc::clone(&crashes),
                        Arc::clone(&examples),
                    );
                    g.spawn(async move {
                        let mut rng =
                            fastrand::Rng::with_seed(seed ^ (a as u64).wrapping_mul(0x9E37_79B9));
                        for k in 0..per_asker {
                            let id = a * per_asker + k;
                            let crash = rng.u8(..) < 26; // about 10 %
                            let w = &workers[rng.usize(..WORKERS)];
                            let got = w.ask(|reply| Job::Run { id, crash, reply }).await;
                            let ok = match (&got, crash) {
                                (Ok(v), false) => *v == id,
                                (Err(AskError::NoReply { .. }), true) => true,
                                _ => false,
                            };
                            if crash {
                                crashes.fetch_add(1, Ordering::Relaxed);
                            }
                            if !ok {
                                wrong.fetch_add(1, Ordering::Relaxed);
                                let mut ex = examples.lock().unwrap_or_else(|e| e.into_inner());
                                if ex.len() < 3 {
                                    ex.push(format!("ask {id} (crash: {crash}) -> {got:?}"));
                                }
                            }
                        }
                        Ok(())
                    })
                    .await?;
                }
                Ok(())
            })
        };
        if let Err(e) = storm.await {
            wrong.fetch_add(1, Ordering::Relaxed);
            examples
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(format!("asker group failed: {e:?}"));
        }
        report.asks = askers * per_asker;
        report.crashes = crashes.load(Ordering::Relaxed);
        report.wrong += wrong.load(Ordering::Relaxed);
        report.examples = std::mem::take(&mut *examples.lock().unwrap_or_else(|e| e.into_inner()));
        report.alive_after = workers.iter().filter(|w| w.is_alive()).count();
        report.supervisor_alive = sup.is_alive();
        sup.stop_and_wait().await;
        report.alive_after_stop = workers.iter().filter(|w| w.is_alive()).count();
    });
    report
}
