//! The final table (stdout) and the report files: `report.md`, `report.json`,
//! `latency.svg` and `memory.svg` in the output directory.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::config::Config;
use crate::endurance::MemorySample;
use crate::scenario::{Outcome, Verdict};

/// Everything one run produced.
#[derive(Serialize)]
pub struct Report<'a> {
    /// Seed of the random choices (rerun with `--seed`).
    pub seed: u64,
    /// Scheduler workers.
    pub workers: usize,
    /// `--quick`.
    pub quick: bool,
    /// Overall verdict.
    pub verdict: Verdict,
    /// One entry per scenario run.
    pub scenarios: &'a [Outcome],
    /// Endurance memory samples.
    pub memory: &'a [MemorySample],
}

/// The overall verdict: the worst scenario's (`Pass` for an empty run is not possible: at
/// least one scenario always runs).
pub fn overall(outcomes: &[Outcome]) -> Verdict {
    outcomes
        .iter()
        .map(Outcome::verdict)
        .max()
        .unwrap_or(Verdict::Fail)
}

/// The summary table printed at the end.
pub fn table(outcomes: &[Outcome]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<10} {:<7} {:>8}  checks",
        "scenario", "verdict", "time"
    );
    for o in outcomes {
        let _ = writeln!(
            s,
            "{:<10} {:<7} {:>7.1}s  {}",
            o.name,
            o.verdict().label(),
            o.elapsed.as_secs_f64(),
            o.checks
                .iter()
                .map(|c| format!("[{}] {}", c.verdict.label(), c.what))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    s
}

/// The Markdown report.
pub fn markdown(cfg: &Config, outcomes: &[Outcome]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# nimsync apocalypse report\n");
    let _ = writeln!(
        s,
        "Verdict: **{}** · seed {} · {} workers · {} · written by `cargo xtask apocalypse`\n",
        overall(outcomes).label(),
        cfg.seed,
        cfg.workers,
        if cfg.quick { "--quick" } else { "full size" }
    );
    for o in outcomes {
        let _ = writeln!(
            s,
            "## {} — {} ({:.1} s)\n\n| check | verdict | observed |\n|---|---|---|",
            o.name,
            o.verdict().label(),
            o.elapsed.as_secs_f64()
        );
        for c in &o.checks {
            let _ = writeln!(s, "| {} | {} | {} |", c.what, c.verdict.label(), c.detail);
        }
        if !o.figures.is_empty() {
            let _ = writeln!(s, "\n| figure | value |\n|---|---|");
            for (k, v) in &o.figures {
                let _ = writeln!(s, "| {k} | {v} |");
            }
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(
        s,
        "Charts: `latency.svg` (pressure round trips), `memory.svg` (endurance live bytes and RSS)."
    );
    s
}

/// Writes the report files into `dir`.
pub fn write(
    dir: &Path,
    cfg: &Config,
    outcomes: &[Outcome],
    latencies_ns: &[u64],
    memory: &[MemorySample],
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("report.md"), markdown(cfg, outcomes))?;
    let report = Report {
        seed: cfg.seed,
        workers: cfg.workers,
        quick: cfg.quick,
        verdict: overall(outcomes),
        scenarios: outcomes,
        memory,
    };
    let json = serde_json::to_string_pretty(&report).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("report.json"), json)?;
    if !latencies_ns.is_empty() {
        std::fs::write(
            dir.join("latency.svg"),
            crate::svg::latency_histogram(
                latencies_ns,
                "pressure: message round trips under 1 GiB churn",
            ),
        )?;
    }
    if !memory.is_empty() {
        std::fs::write(
            dir.join("memory.svg"),
            crate::svg::memory_plot(memory, "endurance: memory over time"),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_verdict_wins_and_a_scenario_without_checks_fails() {
        let mut a = Outcome::new("a");
        a.check("x", true, "");
        let mut b = Outcome::new("b");
        b.check_verdict("y", Verdict::Warn, "");
        assert_eq!(overall(&[a.clone()]), Verdict::Pass);
        assert_eq!(overall(&[a.clone(), b.clone()]), Verdict::Warn);
        b.check("z", false, "broken");
        assert_eq!(overall(&[a, b]), Verdict::Fail);
        assert_eq!(Outcome::new("empty").verdict(), Verdict::Fail);
    }
}
