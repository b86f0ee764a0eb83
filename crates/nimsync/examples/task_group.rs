//! Structured concurrency: a task group owns its children. Results come back in spawn order;
//! with `FailFast`, the first failure cancels the siblings (here, one that would otherwise
//! sleep for an hour), so the program ends at once.
//!
//! `cargo run -p nimsync --example task_group`

use std::time::{Duration, Instant};

use nimsync::group::{FailFast, FirstSuccess, GroupError, TaskError};

#[nimsync::main(workers = 2)]
async fn main() {
    // Every child succeeds: the results, in spawn order.
    let pages = nimsync::task_group(FailFast, |g| async move {
        for id in 1..=3u32 {
            g.spawn(async move { Ok::<_, String>(format!("page {id}")) })
                .await?;
        }
        Ok(())
    })
    .await;
    println!("all children done: {pages:?}");
    assert_eq!(pages.unwrap(), ["page 1", "page 2", "page 3"]);

    // One child fails: the group cancels its sleeping sibling and returns the failure.
    let started = Instant::now();
    let failed = nimsync::task_group(FailFast, |g| async move {
        g.spawn(async {
            nimsync::sleep(Duration::from_secs(3600)).await;
            Ok("never")
        })
        .await?;
        g.spawn(async { Err("disk full") }).await?;
        Ok(())
    })
    .await;
    println!("first failure after {:?}: {failed:?}", started.elapsed());
    assert!(matches!(
        failed,
        Err(GroupError::Task {
            index: 1,
            error: TaskError::Failed("disk full")
        })
    ));
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the sleeper was cancelled"
    );

    // The first success wins; the slower children are cancelled.
    let fastest = nimsync::task_group(FirstSuccess, |g| async move {
        g.spawn(async {
            nimsync::sleep(Duration::from_secs(3600)).await;
            Ok::<_, ()>("slow mirror")
        })
        .await?;
        g.spawn(async { Ok("fast mirror") }).await?;
        Ok(())
    })
    .await;
    println!("first success: {fastest:?}");
    assert_eq!(fastest.unwrap(), "fast mirror");
}
