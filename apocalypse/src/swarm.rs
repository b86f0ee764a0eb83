//! Swarm: at least 10 000 concurrent tasks exchanging messages over every channel mode, each
//! cluster of producers and consumers running as a nested task group; every message must be
//! received exactly once, and per-producer order must hold where the mode promises it.
//!
//! Cluster shapes (K = 4): SPSC 1→1, MPSC K→1, SPMC 1→K, MPMC K→K, on channels of random small
//! capacity (1..=16) so producers block and wake constantly.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use nimsync_cancel::CancelToken;
use nimsync_core_channels as channels;
use nimsync_group::{FailFast, GroupError, GroupHandle, task_group};
use nimsync_scheduler::{Handle, Runtime};

use crate::config::Config;
use crate::ledger::Ledger;
use crate::progress::Progress;
use crate::scenario::Outcome;

/// Producers and consumers per side in the multi-sided modes.
const K: usize = 4;

/// What the swarm observed.
pub struct SwarmReport {
    /// Tasks spawned (producers + consumers).
    pub tasks: usize,
    /// Tasks alive right after the last spawn: all of them, since producers wait at a gate.
    pub alive_after_spawn: usize,
    /// Messages sent.
    pub messages: usize,
    /// Exactly-once and corruption accounting.
    pub summary: String,
    /// Whether every message arrived exactly once.
    pub exactly_once: bool,
    /// Messages that arrived out of their producer's order.
    pub order_violations: usize,
    /// Group result (`None` if ok).
    pub group_error: Option<String>,
}

/// Shared state of one swarm run.
struct Swarm {
    ledger: Ledger,
    order_violations: AtomicUsize,
    next_producer: AtomicUsize,
    per_producer: usize,
    progress: Arc<Progress>,
    /// Opened (cancelled) once every task is spawned, so all of them are alive at once.
    gate: CancelToken,
    /// Producer and consumer tasks spawned so far, and how many there will be.
    spawned: AtomicUsize,
    total_tasks: usize,
    /// Tasks the runtime counted alive when the gate opened.
    alive_at_gate: AtomicUsize,
}

impl Swarm {
    /// Notes `n` more spawned tasks; the spawn that completes the swarm opens the gate.
    fn spawned(&self, n: usize) {
        if self.spawned.fetch_add(n, Ordering::SeqCst) + n == self.total_tasks {
            self.alive_at_gate
                .store(Handle::current().metrics().alive, Ordering::SeqCst);
            self.gate.cancel();
        }
    }

    /// Message ids of a new producer: `base..base + per_producer`.
    fn producer_base(&self) -> usize {
        self.next_producer.fetch_add(1, Ordering::Relaxed) * self.per_producer
    }

    /// Records a receipt; `last` is the consumer's last id from the same producer when the
    /// mode promises per-producer order.
    fn receive(&self, id: usize, last: Option<&mut Option<usize>>) {
        self.ledger.receive(id);
        if let Some(last) = last {
            if last.is_some_and(|prev| id <= prev) {
                self.order_violations.fetch_add(1, Ordering::Relaxed);
            }
            *last = Some(id);
        }
    }
}

type Group = GroupHandle<usize, String>;

/// Runs one swarm of `tasks` tasks on `rt`.
pub fn swarm(rt: &Runtime, cfg: &Config, tasks: usize, progress: &Arc<Progress>) -> SwarmReport {
    let per_producer = cfg.swarm_messages_per_producer();
    let Sizing {
        clusters,
        total_tasks,
        producers,
    } = Sizing::of(tasks);
    let messages = producers * per_producer;
    progress.set(0);
    let swarm = Arc::new(Swarm {
        ledger: Ledger::new(messages),
        order_violations: AtomicUsize::new(0),
        next_producer: AtomicUsize::new(0),
        per_producer,
        progress: Arc::clone(progress),
        gate: CancelToken::new(),
        spawned: AtomicUsize::new(0),
        total_tasks,
        alive_at_gate: AtomicUsize::new(0),
    });
    let seed = cfg.seed;
    let result = {
        let swarm = Arc::clone(&swarm);
        rt.block_on(task_group(FailFast, move |g: Group| async move {
            let mut rng = fastrand::Rng::with_seed(seed);
            for (mode, &n) in clusters.iter().enumerate() {
                for _ in 0..n {
                    let cap = rng.usize(1..=16);
                    spawn_cluster(&g, mode, cap, &swarm).await?;
                }
            }
            Ok(())
        }))
    };
    let group_error = match result {
        Ok(counts) => {
            let received: usize = counts.iter().sum();
            (received != messages * 2)
                .then(|| format!("task counts add to {received}, expected {}", messages * 2))
        }
        Err(e) => Some(describe(&e)),
    };
    SwarmReport {
        tasks: total_tasks,
        alive_after_spawn: swarm.alive_at_gate.load(Ordering::SeqCst),
        messages,
        summary: swarm.ledger.summary(),
        exactly_once: swarm.ledger.exactly_once(),
        order_violations: swarm.order_violations.load(Ordering::Relaxed),
        group_error,
    }
}

fn describe(e: &GroupError<String>) -> String {
    match e {
        GroupError::Task { index, error } => format!("task {index} failed: {error:?}"),
        other => format!("{other:?}"),
    }
}

/// Spawns one cluster (a nested group of producers and consumers) into `g`. Every task returns
/// how many messages it moved; the cluster returns the sum (sent + received).
async fn spawn_cluster(
    g: &Group,
    mode: usize,
    cap: usize,
    swarm: &Arc<Swarm>,
) -> Result<(), GroupError<String>> {
    let swarm = Arc::clone(swarm);
    g.spawn(async move {
        let moved = task_group(FailFast, move |c: Group| async move {
            match mode {
                0 => spsc(&c, cap, &swarm).await,
                1 => mpsc(&c, cap, &swarm).await,
                2 => spmc(&c, cap, &swarm).await,
                _ => mpmc(&c, cap, &swarm).await,
            }
        })
        .await
        .map_err(|e| describe(&e))?;
        Ok(moved.iter().sum())
    })
    .await
}

/// Progress is counted in batches so the shared counter is not a hot spot.
const PROGRESS_BATCH: usize = 64;

macro_rules! producer {
    ($swarm:expr, $tx:ident) => {{
        let swarm = Arc::clone($swarm);
        async move {
            swarm.gate.cancelled().await;
            let base = swarm.producer_base();
            for id in base..base + swarm.per_producer {
                $tx.send(id)
                    .await
                    .map_err(|_| format!("channel closed under producer at id {id}"))?;
            }
            Ok(swarm.per_producer)
        }
    }};
}

macro_rules! consumer {
    ($swarm:expr, $rx:ident, $ordered:expr) => {{
        let swarm = Arc::clone($swarm);
        async move {
            let mut n = 0usize;
            // Ids of one producer are contiguous, so its index is `id / per_producer`.
            let mut last: Vec<(usize, Option<usize>)> = Vec::new();
            while let Ok(id) = $rx.recv().await {
                if $ordered {
                    let producer = id / swarm.per_producer;
                    let slot = match last.iter().position(|(p, _)| *p == producer) {
                        Some(i) => i,
                        None => {
                            last.push((producer, None));
                            last.len() - 1
                        }
                    };
                    swarm.receive(id, Some(&mut last[slot].1));
                } else {
                    swarm.receive(id, None);
                }
                n += 1;
                if n.is_multiple_of(PROGRESS_BATCH) {
                    swarm.progress.advance(PROGRESS_BATCH as u64);
                }
            }
            swarm.progress.advance((n % PROGRESS_BATCH) as u64);
            Ok(n)
        }
    }};
}

async fn spsc(c: &Group, cap: usize, swarm: &Arc<Swarm>) -> Result<(), GroupError<String>> {
    let (mut tx, mut rx) = channels::spsc::<usize>(cap);
    c.spawn(producer!(swarm, tx)).await?;
    c.spawn(consumer!(swarm, rx, true)).await?;
    swarm.spawned(2);
    Ok(())
}

async fn mpsc(c: &Group, cap: usize, swarm: &Arc<Swarm>) -> Result<(), GroupError<String>> {
    let (tx, mut rx) = channels::mpsc::<usize>(cap);
    for _ in 0..K {
        let tx = tx.clone();
        c.spawn(producer!(swarm, tx)).await?;
    }
    drop(tx);
    // One consumer sees every producer's messages in that producer's order.
    c.spawn(consumer!(swarm, rx, true)).await?;
    swarm.spawned(K + 1);
    Ok(())
}

async fn spmc(c: &Group, cap: usize, swarm: &Arc<Swarm>) -> Result<(), GroupError<String>> {
    let (mut tx, rx) = channels::spmc::<usize>(cap);
    c.spawn(producer!(swarm, tx)).await?;
    for _ in 0..K {
        let rx = rx.clone();
        c.spawn(consumer!(swarm, rx, true)).await?;
    }
    swarm.spawned(K + 1);
    Ok(())
}

async fn mpmc(c: &Group, cap: usize, swarm: &Arc<Swarm>) -> Result<(), GroupError<String>> {
    let (tx, rx) = channels::mpmc::<usize>(cap);
    for _ in 0..K {
        let tx = tx.clone();
        c.spawn(producer!(swarm, tx)).await?;
    }
    drop(tx);
    for _ in 0..K {
        let rx = rx.clone();
        c.spawn(consumer!(swarm, rx, true)).await?;
    }
    swarm.spawned(2 * K);
    Ok(())
}

/// The swarm scenario.
pub fn run(cfg: &Config, progress: &Arc<Progress>) -> Outcome {
    let mut out = Outcome::new("swarm");
    let started = Instant::now();
    let tasks = cfg.swarm_tasks();
    let rt = match Runtime::builder().workers(cfg.workers).build() {
        Ok(rt) => rt,
        Err(e) => {
            out.check("runtime builds", false, e.to_string());
            return out;
        }
    };
    // Progress unit: messages received; the total is known once the shapes are sized.
    progress.begin("swarm", estimate_messages(cfg, tasks) as u64);
    let report = swarm(&rt, cfg, tasks, progress);
    drop(rt);
    out.elapsed = started.elapsed();
    out.figure("tasks", report.tasks);
    out.figure("tasks alive after spawning", report.alive_after_spawn);
    out.figure("messages", report.messages);
    out.figure(
        "messages/s",
        format!("{:.0}", report.messages as f64 / out.elapsed.as_secs_f64()),
    );
    out.check(
        "at least 10 000 tasks alive at once",
        report.tasks >= 10_000 && report.alive_after_spawn >= report.tasks,
        format!(
            "{} tasks, {} alive once all were spawned (with the cluster groups' tasks)",
            report.tasks, report.alive_after_spawn
        ),
    );
    out.check(
        "every message received exactly once",
        report.exactly_once,
        report.summary.clone(),
    );
    out.check(
        "per-producer order kept by every mode",
        report.order_violations == 0,
        format!("{} out-of-order receipts", report.order_violations),
    );
    out.check(
        "every group and task completed",
        report.group_error.is_none(),
        report.group_error.unwrap_or_else(|| "ok".into()),
    );
    out
}

/// Producers and consumers per cluster, in mode order: SPSC 1→1, MPSC K→1, SPMC 1→K, MPMC K→K.
const SHAPES: [(usize, usize); 4] = [(1, 1), (K, 1), (1, K), (K, K)];

/// How a swarm of about `tasks` tasks is split: clusters per mode so each mode gets a quarter
/// of the tasks.
struct Sizing {
    clusters: [usize; 4],
    total_tasks: usize,
    producers: usize,
}

impl Sizing {
    fn of(tasks: usize) -> Sizing {
        let clusters = SHAPES.map(|(p, c)| (tasks / 4).div_ceil(p + c));
        let per_mode = SHAPES.iter().zip(clusters);
        Sizing {
            clusters,
            total_tasks: per_mode.clone().map(|((p, c), n)| (p + c) * n).sum(),
            producers: per_mode.map(|((p, _), n)| p * n).sum(),
        }
    }
}

/// Messages a swarm of `tasks` tasks will send (for the progress bar).
pub fn estimate_messages(cfg: &Config, tasks: usize) -> usize {
    Sizing::of(tasks).producers * cfg.swarm_messages_per_producer()
}
