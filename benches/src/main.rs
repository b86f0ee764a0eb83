//! `nimsync-benches`: runs nimsync and its peers side by side on the same workloads and writes
//! the medians as JSON (rendered by `cargo xtask bench`).
//!
//! ```text
//! nimsync-benches [--quick] [--reps N] [--json PATH] [--list] [--only NAME]... [FILTER...]
//! ```
//!
//! A FILTER selects the workloads whose "group/name" contains it (`channels` selects every
//! channel workload). `--only NAME` keeps just the named contenders (repeatable; for profiling,
//! e.g. `perf record target/release/nimsync-benches --only nimsync spsc_u64`). Progress goes
//! to stderr.

mod actors;
mod backpressure;
mod cancel;
mod channels;
mod group;
mod harness;
mod net;
mod numa;
mod progress;
mod scheduler;
mod streams;
mod telemetry;

use std::process::ExitCode;

use harness::{Position, Report, Workload, run_workload};

const USAGE: &str = "usage: nimsync-benches [--quick] [--reps N] [--json PATH] [--list] [--only NAME]... [FILTER...]";

/// Parsed command line.
#[derive(Debug, Default)]
struct Args {
    quick: bool,
    reps: Option<usize>,
    json: Option<String>,
    list: bool,
    only: Vec<String>,
    filters: Vec<String>,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut out = Args::default();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => out.quick = true,
            "--list" => out.list = true,
            "--only" => out
                .only
                .push(it.next().ok_or("--only needs a contender name")?),
            "--reps" => {
                let v = it.next().ok_or("--reps needs a value")?;
                let n: usize = v.parse().map_err(|_| format!("bad --reps value {v:?}"))?;
                if n == 0 {
                    return Err("--reps must be at least 1".into());
                }
                out.reps = Some(n);
            }
            "--json" => out.json = Some(it.next().ok_or("--json needs a path")?),
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with('-') => return Err(format!("unknown flag {s:?}")),
            _ => out.filters.push(a),
        }
    }
    Ok(out)
}

/// Every registered workload, in run order.
fn registry() -> Vec<Workload> {
    // One line per workload group (each layer's issue adds its own module).
    let groups: &[fn() -> Vec<Workload>] = &[
        channels::workloads,
        scheduler::workloads,
        cancel::workloads,
        group::workloads,
        numa::workloads,
        streams::workloads,
        backpressure::workloads,
        actors::workloads,
        telemetry::workloads,
        net::workloads,
    ];
    groups.iter().flat_map(|group| group()).collect()
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let selected: Vec<Workload> = registry()
        .into_iter()
        .filter(|w| w.selected(&args.filters))
        .map(|mut w| {
            if !args.only.is_empty() {
                w.contenders
                    .retain(|c| args.only.iter().any(|o| o == c.name));
            }
            w
        })
        .filter(|w| !w.contenders.is_empty())
        .collect();
    if args.list {
        for w in &selected {
            let names: Vec<_> = w.contenders.iter().map(|c| c.name).collect();
            println!("{} ({}): {}", w.id(), w.unit, names.join(", "));
        }
        return ExitCode::SUCCESS;
    }
    if selected.is_empty() {
        eprintln!(
            "error: no workload matches {:?} (contenders: {:?})",
            args.filters, args.only
        );
        return ExitCode::from(2);
    }
    // crossfire documents this call for initialisation code (it picks yield over spinning on
    // a one-core machine; a no-op on more cores).
    crossfire::detect_backoff_cfg();
    let reps = args.reps.unwrap_or(if args.quick { 3 } else { 5 });
    let start = std::time::Instant::now();
    let progress = progress::Progress::new(progress::total_runs(
        selected.iter().map(|w| w.contenders.len()),
        reps,
    ));
    let workloads = selected
        .iter()
        .enumerate()
        .map(|(index, w)| {
            let at = Position {
                index,
                total: selected.len(),
                progress: &progress,
            };
            run_workload(w, args.quick, reps, &at)
        })
        .collect();
    progress.finish();
    eprintln!(
        "all workloads done in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let report = Report {
        quick: args.quick,
        reps,
        filters: args.filters,
        workloads,
    };
    let json = serde_json::to_string_pretty(&report).expect("report serializes");
    match &args.json {
        Some(path) => {
            if let Err(e) = std::fs::write(path, json + "\n") {
                eprintln!("error: cannot write {path}: {e}");
                return ExitCode::FAILURE;
            }
            eprintln!("wrote {path}");
        }
        None => println!("{json}"),
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &[&str]) -> Result<Args, String> {
        parse_args(s.iter().map(|s| s.to_string()))
    }

    #[test]
    fn args() {
        let a = parse(&[
            "--quick", "--reps", "4", "--json", "x.json", "spsc", "--only", "rtrb", "mpmc",
        ])
        .unwrap();
        assert_eq!(a.only, ["rtrb"]);
        assert!(a.quick);
        assert_eq!(a.reps, Some(4));
        assert_eq!(a.json.as_deref(), Some("x.json"));
        assert_eq!(a.filters, ["spsc", "mpmc"]);
        assert!(parse(&["--bogus"]).is_err());
        assert!(parse(&["--reps"]).is_err());
        assert!(parse(&["--reps", "0"]).is_err());
    }

    #[test]
    fn channels_filter_selects_every_channel_workload() {
        let all = registry();
        let channel_count = all.iter().filter(|w| w.group == "channels").count();
        let chosen = all
            .iter()
            .filter(|w| w.selected(&["channels".into()]))
            .count();
        assert_eq!(chosen, channel_count);
        assert!(chosen >= 10);
    }
}
