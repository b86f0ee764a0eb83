//! pipeline: `N` u64 items through map → filter → batch(64) and summed, single task. The
//! same three stages in nimsync-streams (`map`, `filter`, `batch`) and futures-util (`map`,
//! `filter` with a ready future, `chunks`); the source is an iterator stream for both. Both
//! run under `futures_lite::future::block_on` on this thread, so the figure is the stages'
//! own per-item cost.

use std::time::Instant;

use crate::harness::{Contender, MMSG_PER_S, Params, Workload, mmsg_per_s};

/// Items per repetition (÷ the quick factor with `--quick`).
const ITEMS: u64 = 10_000_000;
/// Batch size.
const BATCH: usize = 64;

/// The workload.
pub fn workload() -> Workload {
    Workload {
        group: "streams",
        name: "pipeline_map_filter_batch",
        unit: MMSG_PER_S,
        higher_is_better: true,
        note: "10M u64 through map -> filter (2/3 kept) -> batch(64), summed; one task, \
               block_on; M items/s into the pipeline",
        contenders: vec![
            Contender {
                name: "nimsync",
                run: nimsync,
            },
            Contender {
                name: "futures-util",
                run: futures_util_peer,
            },
        ],
    }
}

/// What the consumer must add up to.
fn expected(n: u64) -> u64 {
    (0..n)
        .map(|x| x * 3)
        .filter(|x| x % 2 == 0 || x % 5 == 0)
        .sum()
}

fn nimsync(p: &Params) -> f64 {
    use nimsync_streams::{StreamExt, iter};
    let n = p.count(ITEMS);
    let start = Instant::now();
    let sum = futures_lite::future::block_on(async {
        let mut s = iter(0..n)
            .map(|x| x * 3)
            .filter(|x| x % 2 == 0 || x % 5 == 0)
            .batch(BATCH);
        let mut sum = 0u64;
        while let Some(batch) = s.next().await {
            sum += batch.iter().sum::<u64>();
        }
        sum
    });
    let elapsed = start.elapsed();
    assert_eq!(sum, expected(n), "items lost");
    mmsg_per_s(n, elapsed)
}

fn futures_util_peer(p: &Params) -> f64 {
    use futures_util::StreamExt;
    let n = p.count(ITEMS);
    let start = Instant::now();
    let sum = futures_lite::future::block_on(async {
        let mut s = futures_util::stream::iter(0..n)
            .map(|x| x * 3)
            .filter(|x| std::future::ready(x % 2 == 0 || x % 5 == 0))
            .chunks(BATCH);
        let mut sum = 0u64;
        while let Some(batch) = s.next().await {
            sum += batch.iter().sum::<u64>();
        }
        sum
    });
    let elapsed = start.elapsed();
    assert_eq!(sum, expected(n), "items lost");
    mmsg_per_s(n, elapsed)
}
