//! `cargo xtask bench`: runs `nimsync-benches` in release mode and renders its raw JSON into the
//! terminal table, `docs/bench/latest.md` and `docs/bench/latest.json`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::meta::Meta;
use crate::report::{RawReport, Summary};

/// Arguments of `cargo xtask bench`.
#[derive(Debug, PartialEq, Default)]
pub struct BenchArgs {
    /// Fewer messages and 3 repetitions.
    pub quick: bool,
    /// Repetitions per contender (the bench crate's default when absent).
    pub reps: Option<usize>,
    /// Workload filters ("group/name" substrings).
    pub filters: Vec<String>,
}

impl BenchArgs {
    /// Parses the arguments after `bench`.
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut out = BenchArgs::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--quick" => out.quick = true,
                "--reps" => {
                    let v = it.next().ok_or("--reps needs a value")?;
                    match v.parse::<usize>() {
                        Ok(n) if n > 0 => out.reps = Some(n),
                        _ => {
                            return Err(format!(
                                "bad --reps value {v:?} (want a positive integer)"
                            ));
                        }
                    }
                }
                s if s.starts_with('-') => return Err(format!("unknown flag {s:?} for bench")),
                _ => out.filters.push(a.clone()),
            }
        }
        Ok(out)
    }
}

#[derive(Deserialize)]
struct Metadata {
    workspace_root: PathBuf,
    target_directory: PathBuf,
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Asks cargo where the workspace and its target directory are (this respects
/// `CARGO_TARGET_DIR` and cargo config).
fn metadata() -> Result<Metadata, String> {
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
    /// Anything else: exit 1.
    Failed(String),
}

impl From<String> for BenchError {
    fn from(s: String) -> Self {
        BenchError::Failed(s)
    }
}

/// Runs the benchmarks and writes the report.
pub fn run(args: &BenchArgs) -> Result<(), BenchError> {
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
    println!();
    println!("{}", summary.terminal_table());
    write_outputs(&md.workspace_root, &meta, &summary)?;
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
    Ok(())
}

fn write_outputs(root: &Path, meta: &Meta, summary: &Summary) -> Result<(), String> {
    let dir = root.join("docs").join("bench");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let md_path = dir.join("latest.md");
    let json_path = dir.join("latest.json");
    std::fs::write(&md_path, summary.markdown(meta))
        .map_err(|e| format!("cannot write {}: {e}", md_path.display()))?;
    let json = serde_json::to_string_pretty(&summary.json(meta)).expect("summary serializes");
    std::fs::write(&json_path, json + "\n")
        .map_err(|e| format!("cannot write {}: {e}", json_path.display()))?;
    eprintln!(
        "xtask bench: wrote {} and {}",
        md_path.display(),
        json_path.display()
    );
    Ok(())
}
