//! is_cancelled: the cost of checking a (live) child token, the hot check inside loops.
//!
//! The token is made opaque with `black_box` once, outside the loop: the compiler cannot know
//! the token's state, and it does not hoist the check (an `Acquire`/`SeqCst` atomic load, or a
//! lock, is never moved out of a loop), so every iteration reads the token's handle and then
//! its state, as a check in a user's loop does. (Before, a `black_box(&token)` inside the loop
//! added a store and a reload of the pointer to every iteration, and an `assert_eq!` on the
//! running count forced that count to memory at every `black_box`, for both contenders.)

use std::hint::black_box;
use std::time::Instant;

use crate::harness::{Contender, NS_PER_OP, Params, Workload, ns_per_op};

/// Checks per repetition (÷2 with `--quick`).
pub const CHECKS: u64 = 200_000_000;

/// The workload.
pub fn workload() -> Workload {
    Workload {
        group: "cancel",
        name: "is_cancelled",
        unit: NS_PER_OP,
        higher_is_better: false,
        note: "is_cancelled() on a live child token in a loop (the token made opaque with \
               black_box once; its handle and state are read at every check); ns per check",
        contenders: vec![
            Contender {
                name: "nimsync",
                run: nimsync,
            },
            Contender {
                name: "tokio-util",
                run: tokio_util,
            },
        ],
    }
}

fn nimsync(p: &Params) -> f64 {
    let n = p.count(CHECKS);
    let root = nimsync_cancel::CancelToken::new();
    let child = root.child();
    let token = black_box(&child);
    let start = Instant::now();
    let mut hits = 0u64;
    for _ in 0..n {
        hits += u64::from(token.is_cancelled());
    }
    let d = start.elapsed();
    assert!(hits == 0, "a live token reported cancelled");
    ns_per_op(n, d)
}

fn tokio_util(p: &Params) -> f64 {
    let n = p.count(CHECKS);
    let root = tokio_util::sync::CancellationToken::new();
    let child = root.child_token();
    let token = black_box(&child);
    let start = Instant::now();
    let mut hits = 0u64;
    for _ in 0..n {
        hits += u64::from(token.is_cancelled());
    }
    let d = start.elapsed();
    assert!(hits == 0, "a live token reported cancelled");
    ns_per_op(n, d)
}
