//! `cargo xtask`: maintainer tasks for the nimsync workspace.
//!
//! ```text
//! cargo xtask bench [--quick] [--reps N] [FILTER...]
//! ```
//!
//! `bench` builds and runs the `nimsync-benches` crate in release mode, prints every workload
//! with nimsync and each peer side by side plus the nimsync / best-peer ratio, and writes the
//! report to `docs/bench/latest.md` and `docs/bench/latest.json`.

mod bench;
mod meta;
mod report;

use std::io::Write as _;
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  bench [--quick] [--reps N] [FILTER...]
        run the benchmark crate (benches/) with nimsync and its peers side by side,
        print the table and write docs/bench/latest.md + docs/bench/latest.json
        --quick    fewer messages per repetition and 3 repetitions (default 5)
        --reps N   repetitions per contender (medians are over these)
        FILTER     run only workloads whose \"group/name\" contains FILTER (e.g. channels, spsc)";

/// A parsed command line.
#[derive(Debug, PartialEq)]
enum Command {
    Help,
    Bench(bench::BenchArgs),
}

fn parse(args: &[String]) -> Result<Command, String> {
    let Some((cmd, rest)) = args.split_first() else {
        return Err("missing command".into());
    };
    match cmd.as_str() {
        "-h" | "--help" | "help" => Ok(Command::Help),
        "bench" if rest.iter().any(|a| a == "-h" || a == "--help") => Ok(Command::Help),
        "bench" => bench::BenchArgs::parse(rest).map(Command::Bench),
        other => Err(format!("unknown command {other:?}")),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse(&args) {
        Ok(Command::Help) => {
            // Ignore a closed pipe (`cargo xtask --help | head`).
            let _ = writeln!(std::io::stdout(), "{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Command::Bench(b)) => match bench::run(&b) {
            Ok(()) => ExitCode::SUCCESS,
            Err(bench::BenchError::Usage) => {
                eprintln!("\n{USAGE}");
                ExitCode::from(2)
            }
            Err(bench::BenchError::Failed(e)) => {
                eprintln!("xtask bench: error: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &[&str]) -> Result<Command, String> {
        parse(&s.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn parses_bench() {
        assert_eq!(
            p(&["bench", "--quick", "channels"]),
            Ok(Command::Bench(bench::BenchArgs {
                quick: true,
                reps: None,
                filters: vec!["channels".into()],
            }))
        );
        assert_eq!(
            p(&["bench", "--reps", "7"]),
            Ok(Command::Bench(bench::BenchArgs {
                quick: false,
                reps: Some(7),
                filters: vec![],
            }))
        );
    }

    #[test]
    fn rejects_bad_input() {
        assert!(p(&[]).is_err());
        assert!(p(&["frobnicate"]).is_err());
        assert!(p(&["bench", "--fast"]).is_err());
        assert!(p(&["bench", "--reps"]).is_err());
        assert!(p(&["bench", "--reps", "x"]).is_err());
        assert!(p(&["bench", "--reps", "0"]).is_err());
        assert_eq!(p(&["--help"]), Ok(Command::Help));
    }
}
