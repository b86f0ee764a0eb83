//! Mirrors the README's example for this crate (keep the two identical).

use nimsync_cancel::{CancelScope, CancelToken, Cancelled, checkpoint, timeout};
use nimsync_scheduler::{Builder, sleep, spawn};
use std::time::Duration;

#[test]
fn readme_example() {
    // A paused test clock: timers fire at once, exactly.
    let rt = Builder::new_multi_thread()
        .workers(2)
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        // Cancelling a parent cancels every descendant.
        let server = CancelToken::new();
        let request = server.child();
        let worker = spawn(async move {
            request.cancelled().await;
            request.reason()
        });
        server.cancel_with("shutdown");
        assert_eq!(worker.await.unwrap(), Some(Cancelled::Parent));

        // Timeouts.
        let slow = timeout(Duration::from_millis(100), sleep(Duration::from_secs(10))).await;
        assert_eq!(slow, Err(Cancelled::Timeout));

        // A scope with a deadline; checkpoint() sees it, as do tasks spawned inside.
        let scope = CancelScope::with_timeout(Duration::from_secs(1));
        let r = scope
            .run(async {
                sleep(Duration::from_secs(2)).await;
                checkpoint()
            })
            .await;
        assert_eq!(r, Err(Cancelled::Timeout));
        assert!(scope.cancelled_caught());
    });
}
