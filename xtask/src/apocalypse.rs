//! `cargo xtask apocalypse`: builds and runs the `nimsync-apocalypse` suite in release mode.
//!
//! The suite does its own argument checking and reporting; this passes the arguments through,
//! points the report at `<workspace>/target/apocalypse` (unless `--out` is given) and returns
//! the suite's exit status (1: a check failed, 2: bad arguments).

use std::process::{Command, ExitCode};

use crate::bench::{cargo, metadata};

/// Runs the suite with `args`.
pub fn run(args: &[String]) -> ExitCode {
    let md = match metadata() {
        Ok(md) => md,
        Err(e) => {
            eprintln!("xtask apocalypse: error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut cmd = Command::new(cargo());
    cmd.current_dir(&md.workspace_root).args([
        "run",
        "--release",
        "--package",
        "nimsync-apocalypse",
        "--",
    ]);
    if !args.iter().any(|a| a == "--out") {
        cmd.arg("--out")
            .arg(md.workspace_root.join("target").join("apocalypse"));
    }
    cmd.args(args);
    eprintln!("xtask apocalypse: running {cmd:?}");
    match cmd.status() {
        Ok(status) => match status.code() {
            Some(0) => ExitCode::SUCCESS,
            Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            None => ExitCode::FAILURE,
        },
        Err(e) => {
            eprintln!("xtask apocalypse: error: cannot run cargo: {e}");
            ExitCode::FAILURE
        }
    }
}
