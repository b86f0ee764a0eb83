//! Streams: a bounded pipeline (map → filter → a stage on another worker → batch).
//!
//! `cargo run -p nimsync --example streams`

use nimsync::scheduler::Runtime;
use nimsync::streams::{StreamExt, iter};

fn main() {
    let rt = Runtime::builder()
        .workers(2)
        .build()
        .expect("2 workers is a valid runtime");
    // Built inside `block_on`, so `spawn_stage` spawns its task on `rt`.
    let batches = rt.block_on(async {
        iter(0..10_000u64)
            .map(|x| x * 3)
            .filter(|x| x % 2 == 0)
            .spawn_stage(256) // the steps above: a task of `rt`, at most 256 items ahead
            .batch(100)
            .collect_vec()
            .await
    });
    let items: usize = batches.iter().map(Vec::len).sum();
    println!("{} batches, {items} items", batches.len());
    assert_eq!(batches.len(), 50);
    assert!(batches.iter().all(|b| b.len() == 100));
}
