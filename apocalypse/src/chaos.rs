//! Chaos: random panics, errors, aborts, cancellations and timeouts in tasks and nested task
//! groups. Every child must end the way its script says (a panic caught and reported, a
//! timeout reported as a timeout, ...), the runtime must survive all of it, and no task may
//! outlive its group: a live-task counter (a guard inside every future) is back to 0 as soon
//! as the top group has joined — before the runtime shuts down.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nimsync_cancel::{CancelToken, Cancelled, timeout, with_cancel};
use nimsync_group::{CollectAll, FailFast, GroupError, GroupHandle, TaskError, task_group};
use nimsync_scheduler::{Runtime, sleep, spawn, yield_now};

use crate::actors::{ActorChaosReport, supervised_round};
use crate::config::Config;
use crate::progress::Progress;
use crate::scenario::Outcome;

/// Panic messages of scripted panics start with this, so the panic hook can keep them quiet.
pub const PANIC_PREFIX: &str = "chaos:";

/// Counts live chaos futures: +1 when one is built, -1 when it is dropped (completed,
/// cancelled, aborted or unwound by a panic).
#[derive(Clone, Default)]
pub struct LiveTasks(Arc<AtomicUsize>);

/// Held inside a chaos future for its whole life.
pub struct Alive(Arc<AtomicUsize>);

impl LiveTasks {
    /// A guard for one more live task.
    pub fn enter(&self) -> Alive {
        self.0.fetch_add(1, Ordering::SeqCst);
        Alive(Arc::clone(&self.0))
    }

    /// Tasks alive now.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a scripted child is told to do, and so how it must end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Script {
    /// Some yields and a short sleep, then `Ok`.
    Work,
    /// Panics after some yields: must come back as `TaskError::Panicked`.
    Panic,
    /// Returns `Err`: must come back as `TaskError::Failed`.
    Fail,
    /// A long sleep under a short `timeout`: must report `Cancelled::Timeout`.
    TimeOut,
    /// A nested `FailFast` group whose one failing child cancels its long-sleeping siblings.
    FailFastGroup,
    /// A plain `spawn` of a long sleeper, aborted through its `JoinHandle`.
    Abort,
    /// A long sleep under `with_cancel` on a token that a sibling cancels.
    TokenCancel,
}

const SCRIPTS: [Script; 7] = [
    Script::Work,
    Script::Panic,
    Script::Fail,
    Script::TimeOut,
    Script::FailFastGroup,
    Script::Abort,
    Script::TokenCancel,
];

/// A long sleep that only cancellation ends.
const FOREVER: Duration = Duration::from_secs(3600);

type Child = Result<Script, String>;

/// Runs the script; `Ok(script)` when the child ended as its script says it must.
async fn play(script: Script, rng_seed: u64, live: LiveTasks) -> Child {
    let _alive = live.enter();
    let mut rng = fastrand::Rng::with_seed(rng_seed);
    for _ in 0..rng.usize(0..4) {
        yield_now().await;
    }
    match script {
        Script::Work => {
            sleep(Duration::from_micros(rng.u64(0..500))).await;
            Ok(script)
        }
        Script::Panic => panic!("{PANIC_PREFIX} scripted panic"),
        Script::Fail => Err("scripted failure".into()),
        Script::TimeOut => {
            match timeout(Duration::from_micros(rng.u64(1..300)), sleep(FOREVER)).await {
                Err(Cancelled::Timeout) => Ok(script),
                other => Err(format!("timeout ended as {other:?}")),
            }
        }
        Script::FailFastGroup => {
            let siblings = rng.usize(1..5);
            let inner_live = live.clone();
            let out = task_group(FailFast, move |g: GroupHandle<(), String>| async move {
                for _ in 0..siblings {
                    let alive = inner_live.enter();
                    g.spawn(async move {
                        let _alive = alive;
                        sleep(FOREVER).await;
                        Ok(())
                    })
                    .await?;
                }
                g.spawn(async { Err("inner failure".to_string()) }).await?;
                Ok(())
            })
            .await;
            match out {
                Err(GroupError::Task {
                    error: TaskError::Failed(e),
                    ..
                }) if e == "inner failure" => Ok(script),
                other => Err(format!("fail-fast group ended as {other:?}")),
            }
        }
        Script::Abort => {
            let alive = live.enter();
            let handle = spawn(async move {
                let _alive = alive;
                sleep(FOREVER).await;
            });
            yield_now().await;
            handle.abort();
            match handle.await {
                Err(e) if e.is_cancelled() => Ok(script),
                other => Err(format!("aborted task ended as {other:?}")),
            }
        }
        Script::TokenCancel => {
            let token = CancelToken::new();
            let canceller = token.clone();
            let alive = live.enter();
            let killer = spawn(async move {
                let _alive = alive;
                yield_now().await;
                canceller.cancel();
            });
            let out = with_cancel(&token, sleep(FOREVER)).await;
            let _ = killer.await;
            match out {
                Err(Cancelled::Explicit(_)) => Ok(script),
                other => Err(format!("token-cancelled sleep ended as {other:?}")),
            }
        }
    }
}

/// Tallies of one chaos round.
#[derive(Default)]
pub struct ChaosReport {
    /// Children run, per script, in `SCRIPTS` order.
    pub per_script: [usize; 7],
    /// Children that ended differently from their script (with the first few reasons).
    pub wrong_endings: usize,
    /// Up to three descriptions of wrong endings.
    pub examples: Vec<String>,
    /// Live chaos futures right after the top group joined.
    pub live_after_join: usize,
    /// Live chaos futures after the runtime shut down.
    pub live_after_shutdown: usize,
    /// Tasks the runtime still counted alive after the group joined.
    pub runtime_alive_after_join: usize,
}

/// One chaos round of `children` scripted children in one `CollectAll` group.
pub fn chaos_round(cfg: &Config, seed: u64, children: usize, progress: &Progress) -> ChaosReport {
    let mut report = ChaosReport::default();
    let live = LiveTasks::default();
    let rt = match Runtime::builder().workers(cfg.workers).build() {
        Ok(rt) => rt,
        Err(e) => {
            report.wrong_endings = 1;
            report.examples.push(format!("runtime did not build: {e}"));
            return report;
        }
    };
    let mut rng = fastrand::Rng::with_seed(seed);
    let scripts: Vec<Script> = (0..children).map(|_| SCRIPTS[rng.usize(..7)]).collect();
    let results = {
        let scripts = scripts.clone();
        let live = live.clone();
        let seeds: Vec<u64> = (0..children).map(|_| rng.u64(..)).collect();
        rt.block_on(task_group(
            CollectAll,
            move |g: GroupHandle<Script, String>| async move {
                for (script, seed) in scripts.into_iter().zip(seeds) {
                    g.spawn(play(script, seed, live.clone())).await?;
                }
                Ok(())
            },
        ))
    };
    report.live_after_join = live.count();
    report.runtime_alive_after_join = rt.metrics().alive;
    match results {
        Ok(results) => {
            for (i, (script, result)) in scripts.iter().zip(results).enumerate() {
                let idx = SCRIPTS.iter().position(|s| s == script).unwrap_or(0);
                report.per_script[idx] += 1;
                let ok = match (script, &result) {
                    (Script::Panic, Err(e)) => e
                        .panic_message()
                        .is_some_and(|m| m.starts_with(PANIC_PREFIX)),
                    (Script::Fail, Err(TaskError::Failed(e))) => e == "scripted failure",
                    (_, Ok(s)) => s == script,
                    _ => false,
                };
                if !ok {
                    report.wrong_endings += 1;
                    if report.examples.len() < 3 {
                        report
                            .examples
                            .push(format!("child {i} ({script:?}) ended as {result:?}"));
                    }
                }
                if i.is_multiple_of(64) {
                    progress.advance(64.min(children - i) as u64);
                }
            }
        }
        Err(e) => {
            report.wrong_endings = children;
            report.examples.push(format!("top group failed: {e:?}"));
        }
    }
    drop(rt);
    report.live_after_shutdown = live.count();
    report
}

/// The chaos scenario.
pub fn run(cfg: &Config, progress: &Arc<Progress>) -> Outcome {
    let mut out = Outcome::new("chaos");
    let started = Instant::now();
    let children = cfg.chaos_tasks();
    progress.begin("chaos", children as u64);
    let report = chaos_round(cfg, cfg.seed, children, progress);
    out.elapsed = started.elapsed();
    out.figure("children", children);
    for (script, n) in SCRIPTS.iter().zip(report.per_script) {
        out.figure(format!("{script:?}"), n);
    }
    out.figure("seed", cfg.seed);
    apply(&mut out, &report);
    let (askers, per_asker) = cfg.actor_chaos_size();
    let actors = supervised_round(cfg, cfg.seed, askers, per_asker);
    out.elapsed = started.elapsed();
    out.figure("actor asks", actors.asks);
    out.figure("actor crashes (restarted)", actors.crashes);
    apply_actors(&mut out, &actors);
    out
}

/// Turns a supervised round's tallies into checks.
pub fn apply_actors(out: &mut Outcome, r: &ActorChaosReport) {
    out.check(
        "supervised actors: every ask answered, every crash reported as no reply",
        r.wrong == 0 && r.asks > 0,
        if r.examples.is_empty() {
            format!("{} asks, {} crashes", r.asks, r.crashes)
        } else {
            format!("{} wrong: {}", r.wrong, r.examples.join("; "))
        },
    );
    out.check(
        "the supervisor kept the tree alive, and stopping it stopped every worker",
        r.supervisor_alive && r.alive_after == 16 && r.alive_after_stop == 0,
        format!(
            "supervisor alive: {}, workers alive {} of 16, after stop {}",
            r.supervisor_alive, r.alive_after, r.alive_after_stop
        ),
    );
}

/// Turns a round's tallies into checks.
pub fn apply(out: &mut Outcome, report: &ChaosReport) {
    out.check(
        "every child ended as scripted (panics caught, errors, timeouts, aborts, cancels reported)",
        report.wrong_endings == 0,
        if report.examples.is_empty() {
            "all as scripted".to_string()
        } else {
            format!(
                "{} wrong: {}",
                report.wrong_endings,
                report.examples.join("; ")
            )
        },
    );
    out.check(
        "no orphan task: live counter 0 once the group joined",
        report.live_after_join == 0 && report.runtime_alive_after_join == 0,
        format!(
            "{} chaos futures alive, runtime counts {} tasks alive",
            report.live_after_join, report.runtime_alive_after_join
        ),
    );
    out.check(
        "nothing alive after shutdown",
        report.live_after_shutdown == 0,
        format!("{} chaos futures alive", report.live_after_shutdown),
    );
}
