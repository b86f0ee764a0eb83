//! `cargo xtask`: maintainer tasks for the nimsync workspace.
//!
//! ```text
//! cargo xtask bench [--quick] [--reps N] [--baseline FILE [--threshold PCT] [--fail-on-regression]] [FILTER...]
//! cargo xtask apocalypse [--quick] [--duration DUR] [--seed N] [--only SCENARIO]...
//! cargo xtask stress [TEST-HARNESS ARGS...]
//! ```
//!
//! `bench` builds and runs the `nimsync-benches` crate in release mode (it shows a progress bar
//! on a terminal), prints every workload with nimsync and each peer side by side plus the
//! nimsync / best-peer ratio, and writes the report to `docs/bench/latest.md`,
//! `docs/bench/latest.json` and one SVG chart per workload group (`docs/bench/<group>.svg`);
//! an unfiltered run also regenerates README's performance table.
//!
//! `apocalypse` builds and runs the `nimsync-apocalypse` suite in release mode (swarm, chaos,
//! pressure, WebSocket flood, leak proof, endurance) and writes its report to
//! `target/apocalypse/`.
//!
//! `stress` runs the long `#[ignore]`d tests (full-size stress runs) in release mode.

mod apocalypse;
mod baseline;
mod bench;
mod meta;
mod readme;
mod report;
mod stress;
mod svg;

use std::io::Write as _;
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  bench [--quick] [--reps N] [--baseline FILE [--threshold PCT] [--fail-on-regression]] [FILTER...]
        run the benchmark crate (benches/) with nimsync and its peers side by side,
        print the table and write docs/bench/latest.md, latest.json and <group>.svg;
        without FILTER also regenerate README.md's performance table
        --quick                fewer messages per repetition and 3 repetitions (default 5)
        --reps N               repetitions per contender (medians are over these)
        --baseline FILE        compare with an earlier latest.json; report nimsync contenders
                               slower than the threshold (peers are shown as machine drift)
        --threshold PCT        allowed slowdown in percent (default 10)
        --fail-on-regression   exit 1 when a regression is found (default: only report it)
        FILTER                 run only workloads whose \"group/name\" contains FILTER
                               (e.g. channels, spsc)
  apocalypse [--quick] [--duration DUR] [--seed N] [--workers N] [--pressure-mb N] [--only NAME]...
        the stress suite: swarm, chaos, pressure, websocket, leak, endurance (pass/fail per check),
        report in target/apocalypse/ (report.md, report.json, latency.svg, memory.svg)
        --quick                CI size, <= 60 s; --duration 24h for a soak run
  stress [ARGS...]
        the long #[ignore]d tests (1M-message channel stress, 10M-item streams, 10 000
        actors under chaos, 10 000 SQLite tasks, ...) in release mode; ARGS go to the test
        harness (a name filter, --nocapture)";

/// A parsed command line.
#[derive(Debug, PartialEq)]
enum Command {
    Help,
    Bench(bench::BenchArgs),
    /// Arguments are passed through to the suite, which validates them.
    Apocalypse(Vec<String>),
    /// Arguments are passed through to the test harness.
    Stress(Vec<String>),
}

fn parse(args: &[String]) -> Result<Command, String> {
    let Some((cmd, rest)) = args.split_first() else {
        return Err("missing command".into());
    };
    match cmd.as_str() {
        "-h" | "--help" | "help" => Ok(Command::Help),
        "bench" if rest.iter().any(|a| a == "-h" || a == "--help") => Ok(Command::Help),
        "bench" => bench::BenchArgs::parse(rest).map(Command::Bench),
        "apocalypse" => Ok(Command::Apocalypse(rest.to_vec())),
        "stress" => Ok(Command::Stress(rest.to_vec())),
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
        Ok(Command::Apocalypse(a)) => apocalypse::run(&a),
        Ok(Command::Stress(a)) => stress::run(&a),
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
                filters: vec!["channels".into()],
                ..Default::default()
            }))
        );
        assert_eq!(
            p(&["bench", "--reps", "7"]),
            Ok(Command::Bench(bench::BenchArgs {
                reps: Some(7),
                ..Default::default()
            }))
        );
    }

    #[test]
    fn parses_baseline_options() {
        let Ok(Command::Bench(b)) = p(&["bench", "--baseline", "old.json", "spsc"]) else {
            panic!("--baseline parses");
        };
        assert_eq!(
            b.baseline.as_deref(),
            Some(std::path::Path::new("old.json"))
        );
        assert_eq!(b.threshold_pct, bench::DEFAULT_THRESHOLD_PCT);
        assert!(!b.fail_on_regression);
        assert_eq!(b.filters, ["spsc"]);

        let Ok(Command::Bench(b)) = p(&[
            "bench",
            "--baseline=old.json",
            "--threshold",
            "12.5%",
            "--fail-on-regression",
        ]) else {
            panic!("every baseline option parses");
        };
        assert_eq!(
            b.baseline.as_deref(),
            Some(std::path::Path::new("old.json"))
        );
        assert_eq!(b.threshold_pct, 12.5);
        assert!(b.fail_on_regression);
        let Ok(Command::Bench(b)) = p(&["bench", "--baseline", "b", "--threshold=5"]) else {
            panic!("--threshold=5 parses");
        };
        assert_eq!(b.threshold_pct, 5.0);
    }

    #[test]
    fn rejects_bad_baseline_options() {
        let err = |args: &[&str]| p(args).unwrap_err();
        assert!(err(&["bench", "--baseline"]).contains("needs a value"));
        assert!(err(&["bench", "--baseline="]).contains("needs a file name"));
        assert!(err(&["bench", "--threshold", "10"]).contains("needs --baseline"));
        assert!(err(&["bench", "--fail-on-regression"]).contains("needs --baseline"));
        for bad in ["0", "-5", "100", "abc", "NaN", "inf"] {
            assert!(
                err(&["bench", "--baseline", "b", "--threshold", bad]).contains("bad --threshold"),
                "{bad}"
            );
        }
        assert!(err(&["bench", "--quick=yes"]).contains("unknown flag"));
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

    #[test]
    fn passes_apocalypse_arguments_through() {
        assert_eq!(
            p(&["apocalypse", "--quick", "--only", "swarm"]),
            Ok(Command::Apocalypse(vec![
                "--quick".into(),
                "--only".into(),
                "swarm".into()
            ]))
        );
        assert_eq!(p(&["apocalypse"]), Ok(Command::Apocalypse(vec![])));
    }

    #[test]
    fn stress_runs_only_ignored_tests_in_release() {
        assert_eq!(
            p(&["stress", "chaos"]),
            Ok(Command::Stress(vec!["chaos".into()]))
        );
        let args = stress::cargo_args();
        assert!(args.contains(&"--release"));
        let harness = args.iter().position(|a| *a == "--").unwrap();
        assert_eq!(&args[harness + 1..], ["--ignored"]);
    }
}
