//! spawn_join: a task spawns 100 000 trivial children into a group and joins them all;
//! tokio's `JoinSet` on a tokio runtime, and plain nimsync spawns + `JoinHandle` awaits (the
//! baseline the group adds to). Every contender on its own runtime with the same worker count.

use std::time::{Duration, Instant};

use crate::harness::{Contender, NS_PER_OP, Params, Workload, ns_per_op};
use crate::scheduler::{on_nimsync, on_tokio};

/// Children per repetition (÷2 with `--quick`).
pub const TASKS: u64 = 100_000;

/// The workload.
pub fn workload() -> Workload {
    Workload {
        group: "group",
        name: "spawn_join",
        unit: NS_PER_OP,
        higher_is_better: false,
        note: "a task spawns 100k children (each returns its index) and joins them all: \
               nimsync task_group(CollectAll) vs tokio JoinSet vs plain nimsync spawn + \
               JoinHandle (no group); ns per child, 2 workers each",
        contenders: vec![
            Contender {
                name: "nimsync",
                run: nimsync_group,
            },
            Contender {
                name: "tokio",
                run: tokio_joinset,
            },
            Contender {
                name: "nimsync-plain-spawn",
                run: nimsync_plain,
            },
        ],
    }
}

fn nimsync_group(p: &Params) -> f64 {
    let n = p.count(TASKS);
    let d: Duration = on_nimsync(async move {
        let start = Instant::now();
        let results = nimsync_group::task_group(nimsync_group::CollectAll, |g| async move {
            for i in 0..n {
                g.spawn(async move { Ok::<u64, ()>(i) }).await?;
            }
            Ok(())
        })
        .await
        .expect("group");
        let sum: u64 = results.into_iter().map(|r| r.expect("child")).sum();
        let d = start.elapsed();
        assert_eq!(sum, n * (n - 1) / 2);
        d
    });
    ns_per_op(n, d)
}

fn tokio_joinset(p: &Params) -> f64 {
    let n = p.count(TASKS);
    let d = on_tokio(async move {
        let start = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for i in 0..n {
            set.spawn(async move { i });
        }
        let mut sum = 0u64;
        while let Some(r) = set.join_next().await {
            sum += r.expect("child");
        }
        let d = start.elapsed();
        assert_eq!(sum, n * (n - 1) / 2);
        d
    });
    ns_per_op(n, d)
}

fn nimsync_plain(p: &Params) -> f64 {
    let n = p.count(TASKS);
    let d = on_nimsync(async move {
        let start = Instant::now();
        let handles: Vec<_> = (0..n)
            .map(|i| nimsync_scheduler::spawn(async move { i }))
            .collect();
        let mut sum = 0u64;
        for h in handles {
            sum += h.await.expect("child");
        }
        let d = start.elapsed();
        assert_eq!(sum, n * (n - 1) / 2);
        d
    });
    ns_per_op(n, d)
}
