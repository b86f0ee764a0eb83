//! Mirrors the README's example for this crate (keep the two identical).
#![cfg(not(nimsync_loom))]

use nimsync_scheduler::{Runtime, spawn};

#[test]
fn readme_example() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let total = rt.block_on(async {
        let tasks: Vec<_> = (1..=4u32).map(|i| spawn(async move { i * 10 })).collect();
        let mut sum = 0;
        for t in tasks {
            sum += t.await.unwrap();
        }
        sum
    });
    assert_eq!(total, 100);
}
