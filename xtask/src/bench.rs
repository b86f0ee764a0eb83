//! `cargo xtask bench`: runs `nimsync-benches` in release mode and renders its raw JSON into the
//! terminal table, `docs/bench/latest.md`, `docs/bench/latest.json` and one SVG chart per
//! workload group (`docs/bench/<group>.svg`); with `--baseline FILE`, compares the run with an
//! earlier `latest.json` and flags regressions.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::baseline::{Baseline, Comparison, compare};
use crate::meta::Meta;
use crate::report::{RawReport, Summary};

/// Default allowed slowdown for `--baseline`, in percent.
pub const DEFAULT_THRESHOLD_PCT: f64 = 10.0;

/// Arguments of `cargo xtask bench`.
#[derive(Debug, PartialEq)]
pub struct BenchArgs {
    /// Fewer messages and 3 repetitions.
    pub quick: bool,
    /// Repetitions per contender (the bench crate's default when absent).
    pub reps: Option<usize>,
    /// Workload filters ("group/name" substrings).
    pub filters: Vec<String>,
    /// An earlier `latest.json` to compare with.
    pub baseline: Option<PathBuf>,
    /// Allowed slowdown against the baseline, in percent.
    pub threshold_pct: f64,
    /// Exit non-zero when a regression is found (otherwise it is only reported).
    pub fail_on_regression: bool,
}

impl Default for BenchArgs {
    fn default() -> Self {
        BenchArgs {
            quick: false,
            reps: None,
            filters: Vec::new(),
            baseline: None,
            threshold_pct: DEFAULT_THRESHOLD_PCT,
            fail_on_regression: false,
        }
    }
}

impl BenchArgs {
    /// Parses the arguments after `bench` (`--flag value` and `--flag=value` alike).
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut out = BenchArgs::default();
        let mut threshold_given = false;
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let (flag, inline) = match a.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
                _ => (a.as_str(), None),
            };
            let mut value = |name: &str| -> Result<String, String> {
                match &inline {
                    Some(v) => Ok(v.clone()),
                    None => it.next().cloned().ok_or(format!("{name} needs a value")),
                }
            };
            match flag {
                "--quick" if inline.is_none() => out.quick = true,
                "--fail-on-regression" if inline.is_none() => out.fail_on_regression = true,
                "--reps" => {
                    let v = value("--reps")?;
                    match v.parse::<usize>() {
                        Ok(n) if n > 0 => out.reps = Some(n),
                        _ => {
                            return Err(format!(
                                "bad --reps value {v:?} (want a positive integer)"
                            ));
                        }
                    }
                }
                "--baseline" => {
                    let v = value("--baseline")?;
                    if v.is_empty() {
                        return Err("--baseline needs a file name".into());
                    }
                    out.baseline = Some(PathBuf::from(v));
                }
                "--threshold" => {
                    let v = value("--threshold")?;
                    let number = v.strip_suffix('%').unwrap_or(&v);
                    match number.parse::<f64>() {
                        Ok(p) if p.is_finite() && p > 0.0 && p < 100.0 => out.threshold_pct = p,
                        _ => {
                            return Err(format!(
                                "bad --threshold value {v:?} (want a percentage above 0 and \
                                 below 100, e.g. 10 or 12.5%)"
                            ));
                        }
                    }
                    threshold_given = true;
                }
                s if s.starts_with('-') => return Err(format!("unknown flag {a:?} for bench")),
                _ => out.filters.push(a.clone()),
            }
        }
        if out.baseline.is_none() {
            if threshold_given {
                return Err("--threshold needs --baseline FILE to compare with".into());
            }
            if out.fail_on_regression {
                return Err("--fail-on-regression needs --baseline FILE to compare with".into());
            }
        }
        Ok(out)
    }
}

/// The two paths xtask needs from `cargo metadata`.
#[derive(Deserialize)]
pub(crate) struct Metadata {
    pub(crate) workspace_root: PathBuf,
    pub(crate) target_directory: PathBuf,
}

pub(crate) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Asks cargo where the workspace and its target directory are (this respects
/// `CARGO_TARGET_DIR` and cargo config).
pub(crate) fn metadata() -> Result<Metadata, String> {
    let out = Command::new(cargo())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("cannot parse cargo metadata: {e}"))
}

/// Why `cargo xtask bench` failed.
#[derive(Debug)]
pub enum BenchError {
    /// The bench binary rejected its arguments (e.g. no workload matches the filter): exit 2.
    Usage,
    /// Anything else (including regressions under `--fail-on-regression`): exit 1.
    Failed(String),
}

impl From<String> for BenchError {
    fn from(s: String) -> Self {
        BenchError::Failed(s)
    }
}

/// Runs the benchmarks and writes the report.
pub fn run(args: &BenchArgs) -> Result<(), BenchError> {
    // Read the baseline first: a typo in its name should not cost a whole run.
    let baseline = match &args.baseline {
        Some(path) => Some((Baseline::load(path)?, path.display().to_string())),
        None => None,
    };
    let md = metadata()?;
    let load_before = crate::meta::load_average();
    let raw_path = md.target_directory.join("bench-raw.json");
    // A stale file must never be reported as this run's result.
    let _ = std::fs::remove_file(&raw_path);
    let mut cmd = Command::new(cargo());
    cmd.current_dir(&md.workspace_root)
        .args(["run", "--release", "--package", "nimsync-benches", "--"])
        .arg("--json")
        .arg(&raw_path);
    if args.quick {
        cmd.arg("--quick");
    }
    if let Some(n) = args.reps {
        cmd.args(["--reps", &n.to_string()]);
    }
    cmd.args(&args.filters);
    eprintln!("xtask bench: running {cmd:?}");
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.code() == Some(2) {
        return Err(BenchError::Usage);
    }
    if !status.success() {
        return Err(format!("the benchmark run failed ({status})").into());
    }
    let raw: RawReport = serde_json::from_str(
        &std::fs::read_to_string(&raw_path)
            .map_err(|e| format!("cannot read {}: {e}", raw_path.display()))?,
    )
    .map_err(|e| format!("cannot parse {}: {e}", raw_path.display()))?;

    let meta = Meta::collect(&md.workspace_root, &raw, load_before);
    let summary = Summary::new(&raw);
    let comparison = baseline
        .as_ref()
        .map(|(b, source)| compare(&summary, b, source, args.threshold_pct));
    println!();
    println!("{}", summary.terminal_table());
    if let Some(c) = &comparison {
        println!("\n{}", c.terminal());
    }
    write_outputs(&md.workspace_root, &meta, &summary, comparison.as_ref())?;
    if args.filters.is_empty() {
        let path = md.workspace_root.join("README.md");
        let readme = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let updated = crate::readme::splice(&readme, &crate::readme::section(&summary, &meta))?;
        std::fs::write(&path, updated)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!(
            "xtask bench: updated the performance section of {}",
            path.display()
        );
    } else {
        eprintln!("xtask bench: filtered run; README's performance section left as it was");
    }
    let failed: Vec<String> = summary
        .rows
        .iter()
        .flat_map(|r| r.nimsync.iter().chain(&r.peers).map(move |s| (r, s)))
        .filter(|(_, s)| s.error.is_some())
        .map(|(r, s)| format!("{} {}", r.id, s.name))
        .collect();
    if !failed.is_empty() {
        return Err(format!(
            "{} contender(s) failed (see the report): {}",
            failed.len(),
            failed.join(", ")
        )
        .into());
    }
    if let Some(c) = &comparison {
        let regressions: Vec<String> = c
            .regressions()
            .map(|r| format!("{} {} {}", r.id, r.contender, r.percent()))
            .collect();
        if !regressions.is_empty() {
            let msg = format!(
                "{} regression(s) beyond {}% against {}: {}",
                regressions.len(),
                c.threshold_pct,
                c.source,
                regressions.join(", ")
            );
            if args.fail_on_regression {
                return Err(msg.into());
            }
            eprintln!("xtask bench: warning: {msg} (pass --fail-on-regression to fail)");
        }
    }
    Ok(())
}

fn write_outputs(
    root: &Path,
    meta: &Meta,
    summary: &Summary,
    comparison: Option<&Comparison>,
) -> Result<(), String> {
    let dir = root.join("docs").join("bench");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let write = |path: &Path, text: &str| {
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    let charts = crate::svg::charts(&summary.rows);
    let mut markdown = summary.markdown(meta);
    if !charts.is_empty() {
        markdown.push_str("\n## Charts\n\n");
        for (group, _) in &charts {
            let stem = crate::svg::file_stem(group);
            markdown.push_str(&format!("![nimsync vs peers: {group}]({stem}.svg)\n"));
        }
    }
    if let Some(c) = comparison {
        markdown.push_str(&c.markdown());
    }
    let mut json = summary.json(meta);
    if let Some(c) = comparison {
        json["baseline"] = c.json();
    }
    let md_path = dir.join("latest.md");
    let json_path = dir.join("latest.json");
    write(&md_path, &markdown)?;
    let json = serde_json::to_string_pretty(&json).map_err(|e| format!("summary JSON: {e}"))?;
    write(&json_path, &(json + "\n"))?;
    let mut written = vec![
        md_path.display().to_string(),
        json_path.display().to_string(),
    ];
    for (group, svg) in &charts {
        let path = dir.join(format!("{}.svg", crate::svg::file_stem(group)));
        write(&path, svg)?;
        written.push(path.display().to_string());
    }
    eprintln!("xtask bench: wrote {}", written.join(", "));
    Ok(())
}
