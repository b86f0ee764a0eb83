//! Cancellation: a token tree, a timeout, and a scope with a deadline that `checkpoint()`
//! sees — on a paused clock, so the deadlines fire at once and exactly.
//!
//! `cargo run -p nimsync --example cancellation`

use std::time::Duration;

use nimsync::cancel::{CancelScope, CancelToken, Cancelled, checkpoint, timeout};
use nimsync::scheduler::{Builder, sleep, spawn};

fn main() {
    let rt = Builder::new_multi_thread()
        .workers(2)
        .start_paused(true)
        .build()
        .expect("2 workers is a valid runtime");
    rt.block_on(async {
        // Cancelling a parent cancels every descendant, and says why.
        let server = CancelToken::new();
        let request = server.child();
        let worker = spawn(async move {
            request.cancelled().await;
            request.reason()
        });
        server.cancel_with("shutdown");
        let why = worker.await.expect("the worker does not panic");
        println!("request cancelled: {why:?}");
        assert_eq!(why, Some(Cancelled::Parent));

        // A timeout around a slow future.
        let slow = timeout(Duration::from_millis(100), sleep(Duration::from_secs(10))).await;
        println!("10 s of work under a 100 ms timeout: {slow:?}");
        assert_eq!(slow, Err(Cancelled::Timeout));

        // A scope with a deadline: checkpoint() inside it reports the cancellation.
        let scope = CancelScope::with_timeout(Duration::from_secs(1));
        let r = scope
            .run(async {
                sleep(Duration::from_secs(2)).await;
                checkpoint()
            })
            .await;
        println!("checkpoint after the deadline: {r:?}");
        assert_eq!(r, Err(Cancelled::Timeout));
        assert!(scope.cancelled_caught());
    });
}
