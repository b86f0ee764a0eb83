//! Profiling driver for the group's per-child cost: the `group/spawn_join` bench workload
//! (a task spawns N trivial children and joins them) in one mode per process, so
//! `valgrind --tool=callgrind` or `perf record` see a single mode, or both modes interleaved
//! in one process for a wall-clock comparison on a noisy machine.
//!
//! ```text
//! cargo run --release -p nimsync-group --example spawn_cost -- MODE [N] [WORKERS] [REPS]
//!   MODE: group (task_group(CollectAll), N children, join) | plain (N spawns, await each)
//!         | both (REPS rounds of group then plain on one runtime)
//!         | phases (as both, timing the spawn loop and the join apart)
//!         | padded6, padded (as both, with plain spawns of a future padded to a group
//!           child's task-cell size class, or to the next larger one, in place of the group)
//!   N: children (default 100 000); WORKERS: runtime workers (default 2, as the bench);
//!   REPS: rounds (default 1)
//! ```
//!
//! Per-child instructions: run `group` and `plain` at two sizes under
//! `valgrind --tool=callgrind --fair-sched=yes` and divide the difference of the totals by the
//! difference of the sizes (the runtime's start-up and shut-down cancel out); the group's
//! overhead is that figure for `group` minus the one for `plain`. With one worker the counts
//! repeat exactly (no stealing, no idle worker spinning). Prints ns per child: for `both`,
//! the median and minimum of each mode and the median of the per-round differences; for
//! `phases`, the medians of the spawn loop and of the join (or await loop) of each mode, and
//! how many children were still running when the join started.

use nimsync_group::{CollectAll, TaskGroup, task_group};
use nimsync_scheduler::{Runtime, spawn};
use std::time::{Duration, Instant};

async fn group(n: u64) -> Duration {
    let start = Instant::now();
    let results = task_group(CollectAll, |g| async move {
        for i in 0..n {
            g.spawn(async move { Ok::<u64, ()>(i) }).await?;
        }
        Ok(())
    })
    .await
    .expect("group");
    let sum: u64 = results.into_iter().map(|r| r.expect("child")).sum();
    assert_eq!(sum, n * (n - 1) / 2);
    start.elapsed()
}

async fn plain(n: u64) -> Duration {
    let start = Instant::now();
    let handles: Vec<_> = (0..n).map(|i| spawn(async move { i })).collect();
    let mut sum = 0u64;
    for h in handles {
        sum += h.await.expect("child");
    }
    assert_eq!(sum, n * (n - 1) / 2);
    start.elapsed()
}

/// `plain` with each child's future padded to `K` words: `K = 6` gives a 184-byte task cell
/// (glibc's 192-byte chunk, as a group child's 184-byte cell since its waker slot is only a
/// key), `K = 7` a 64-byte future and a 192-byte cell (the 208-byte chunk a child had before):
/// how much of the group's overhead the larger task cell alone explains.
async fn padded<const K: usize>(n: u64) -> Duration {
    let start = Instant::now();
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let pad = [i; K];
            spawn(async move { std::hint::black_box(&pad)[0] })
        })
        .collect();
    let mut sum = 0u64;
    for h in handles {
        sum += h.await.expect("child");
    }
    assert_eq!(sum, n * (n - 1) / 2);
    start.elapsed()
}

/// `group` with the spawn loop and the join timed apart; also the children still running
/// when the join starts.
async fn group_phases(n: u64) -> (Duration, Duration, usize) {
    let start = Instant::now();
    let g = TaskGroup::new(CollectAll);
    for i in 0..n {
        g.spawn(async move { Ok::<u64, ()>(i) })
            .await
            .expect("spawn");
    }
    let spawned = start.elapsed();
    let running = g.running();
    let results = g.join().await.expect("group");
    let joined = start.elapsed() - spawned;
    let sum: u64 = results.into_iter().map(|r| r.expect("child")).sum();
    assert_eq!(sum, n * (n - 1) / 2);
    (spawned, joined, running)
}

/// `plain` with the spawn loop and the await loop timed apart.
async fn plain_phases(n: u64) -> (Duration, Duration) {
    let start = Instant::now();
    let handles: Vec<_> = (0..n).map(|i| spawn(async move { i })).collect();
    let spawned = start.elapsed();
    let mut sum = 0u64;
    for h in handles {
        sum += h.await.expect("child");
    }
    let joined = start.elapsed() - spawned;
    assert_eq!(sum, n * (n - 1) / 2);
    (spawned, joined)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "group".into());
    let mut number = |default: u64, what: &str| match args.next().map(|s| s.parse()) {
        None => default,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("{what} must be a positive integer");
            std::process::exit(2);
        }
    };
    let n = number(100_000, "N");
    let workers = number(2, "WORKERS") as usize;
    let reps = number(1, "REPS") as usize;
    let (run_group, run_plain) = match mode.as_str() {
        "group" => (true, false),
        "plain" => (false, true),
        "both" | "phases" | "padded" | "padded6" => (true, true),
        other => {
            eprintln!("unknown mode {other:?}: group | plain | both | phases | padded | padded6");
            std::process::exit(2);
        }
    };
    let rt = Runtime::builder()
        .workers(workers)
        .build()
        .expect("runtime");
    let per_child = |d: Duration| d.as_nanos() as f64 / n as f64;
    if mode == "phases" {
        let (mut gs, mut gj, mut ps, mut pj, mut left) = (vec![], vec![], vec![], vec![], vec![]);
        for _ in 0..reps {
            let (s, j, r) = rt.block_on(rt.spawn(group_phases(n))).expect("root task");
            gs.push(per_child(s));
            gj.push(per_child(j));
            left.push(r as f64);
            let (s, j) = rt.block_on(rt.spawn(plain_phases(n))).expect("root task");
            ps.push(per_child(s));
            pj.push(per_child(j));
        }
        println!(
            "group spawn {:.1} join {:.1} | plain spawn {:.1} join {:.1} ns per child, medians \
             of {reps}; children still running when a join started: median {:.0}, most {:.0}",
            median(gs),
            median(gj),
            median(ps),
            median(pj),
            median(left.clone()),
            left.iter().copied().fold(0.0, f64::max)
        );
        return;
    }
    let (mut g, mut p) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        if mode == "padded" {
            g.push(per_child(
                rt.block_on(rt.spawn(padded::<7>(n))).expect("root task"),
            ));
        } else if mode == "padded6" {
            g.push(per_child(
                rt.block_on(rt.spawn(padded::<6>(n))).expect("root task"),
            ));
        } else if run_group {
            g.push(per_child(
                rt.block_on(rt.spawn(group(n))).expect("root task"),
            ));
        }
        if run_plain {
            p.push(per_child(
                rt.block_on(rt.spawn(plain(n))).expect("root task"),
            ));
        }
    }
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    match mode.as_str() {
        "both" | "padded" | "padded6" => {
            let diff: Vec<f64> = g.iter().zip(&p).map(|(a, b)| a - b).collect();
            println!(
                "{} {:.1} (min {:.1}) plain {:.1} (min {:.1}) overhead {:.1} ns per child, \
                 medians of {reps}",
                if mode == "both" {
                    "group"
                } else {
                    mode.as_str()
                },
                median(g.clone()),
                min(&g),
                median(p.clone()),
                min(&p),
                median(diff)
            );
        }
        _ => {
            let v = if run_group { g } else { p };
            println!(
                "{mode}: {n} children, {:.1} ns per child (median of {reps})",
                median(v)
            );
        }
    }
}
