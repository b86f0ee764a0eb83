//! Mirrors the README's example for this crate (keep the two identical).

use nimsync_group::{FailFast, GroupError, TaskError, task_group};
use nimsync_scheduler::{Runtime, sleep};
use std::time::Duration;

#[test]
fn readme_example() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let pages = rt.block_on(task_group(FailFast, |g| async move {
        for id in 1..=3u32 {
            g.spawn(async move { Ok::<_, String>(format!("page {id}")) })
                .await?;
        }
        Ok(())
    }));
    assert_eq!(pages.unwrap(), ["page 1", "page 2", "page 3"]);

    // The first failure cancels its siblings and is returned.
    let failed = rt.block_on(task_group(FailFast, |g| async move {
        g.spawn(async {
            sleep(Duration::from_secs(3600)).await;
            Ok(())
        })
        .await?;
        g.spawn(async { Err("boom") }).await?;
        Ok(())
    }));
    assert!(matches!(
        failed,
        Err(GroupError::Task {
            index: 1,
            error: TaskError::Failed("boom")
        })
    ));
}
