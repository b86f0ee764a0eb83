//! `cargo xtask stress`: runs the long `#[ignore]`d tests in release mode.
//!
//! `cargo test --workspace` keeps to tests that finish in seconds; the full-size runs the
//! issues ask for (1M-message channel stress per mode, 10M items through a stream pipeline,
//! 10 000 supervised actors under chaos, 10 000 SQLite tasks, a million scheduler tasks, the
//! NUMA shard soak) are `#[ignore]`d and run here, with optimisations, so they take minutes
//! rather than hours. Extra arguments go to the test harness (a name filter, `--nocapture`).

use std::process::{Command, ExitCode};

use crate::bench::{cargo, metadata};

/// The `cargo test` arguments of the stress run (before the harness arguments).
pub fn cargo_args() -> Vec<&'static str> {
    vec![
        "test",
        "--workspace",
        "--release",
        // The benches crate has no tests; excluding it skips building every peer crate.
        "--exclude",
        "nimsync-benches",
        // The SQLite pool stress needs the bundled database.
        "--features",
        "nimsync-pool/sqlite",
        "--",
        "--ignored",
    ]
}

/// Runs the ignored tests, passing `args` to the test harness.
pub fn run(args: &[String]) -> ExitCode {
    let md = match metadata() {
        Ok(md) => md,
        Err(e) => {
            eprintln!("xtask stress: error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut cmd = Command::new(cargo());
    cmd.current_dir(&md.workspace_root)
        .args(cargo_args())
        .args(args);
    eprintln!("xtask stress: running {cmd:?}");
    match cmd.status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xtask stress: error: cannot run cargo: {e}");
            ExitCode::FAILURE
        }
    }
}
