//! `--baseline FILE`: compares this run with an earlier report and flags regressions.
//!
//! The baseline is a `docs/bench/latest.json` of an earlier run (or the bench binary's raw
//! JSON: both list `workloads[].contenders[]` with a `median` or the `samples`). For every
//! contender measured in both runs the change is expressed as a performance factor, "how many
//! times better now", so throughput and latency read alike: `now / before` for a
//! higher-is-better unit, `before / now` for a lower-is-better one. A nimsync contender whose
//! factor is below `1 - threshold` is a regression. Peers are compared too, but never
//! flagged: their median change shows how much the machine itself drifted between the runs.

use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::report::{Summary, fmt_value, median, ratio};

/// One contender of the baseline file.
#[derive(Deserialize, Debug, Clone)]
pub struct BaseContender {
    /// Contender name.
    pub name: String,
    /// Median, when the file has one.
    #[serde(default)]
    pub median: Option<f64>,
    /// Samples (used when there is no median).
    #[serde(default)]
    pub samples: Vec<f64>,
}

/// One workload of the baseline file.
#[derive(Deserialize, Debug, Clone)]
pub struct BaseWorkload {
    /// Group.
    pub group: String,
    /// Workload name.
    pub workload: String,
    /// Larger is better.
    pub higher_is_better: bool,
    /// Contenders.
    pub contenders: Vec<BaseContender>,
}

/// An earlier run.
#[derive(Deserialize, Debug, Clone)]
pub struct Baseline {
    /// Workloads of that run.
    pub workloads: Vec<BaseWorkload>,
}

impl Baseline {
    /// Reads and parses a baseline file.
    pub fn load(path: &Path) -> Result<Baseline, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the baseline {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| {
            format!(
                "{} is not a bench report (want docs/bench/latest.json of an earlier run): {e}",
                path.display()
            )
        })
    }

    fn median_of(&self, id: &str, contender: &str) -> Option<(f64, bool)> {
        let w = self
            .workloads
            .iter()
            .find(|w| format!("{}/{}", w.group, w.workload) == id)?;
        let c = w.contenders.iter().find(|c| c.name == contender)?;
        let m = c.median.unwrap_or_else(|| median(&c.samples));
        m.is_finite().then_some((m, w.higher_is_better))
    }
}

/// Whether a contender's results are nimsync's own (flagged) or a peer's (context only).
pub fn is_nimsync(name: &str) -> bool {
    name == crate::report::NIMSYNC || name.starts_with("nimsync-")
}

/// One contender measured in both runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// "group/workload".
    pub id: String,
    /// Contender name.
    pub contender: String,
    /// Unit of both values.
    pub unit: String,
    /// Baseline median.
    pub before: f64,
    /// This run's median.
    pub now: f64,
    /// Times better now (> 1 better, < 1 worse), whatever the unit's direction.
    pub factor: f64,
    /// A nimsync contender worse than the threshold allows.
    pub regression: bool,
}

impl Change {
    /// The change in percent of performance, e.g. "-12.3%" (negative = worse).
    pub fn percent(&self) -> String {
        format!("{:+.1}%", (self.factor - 1.0) * 100.0)
    }
}

/// This run against the baseline.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Where the baseline came from.
    pub source: String,
    /// Allowed slowdown in percent.
    pub threshold_pct: f64,
    /// Every contender measured in both runs, in this run's order.
    pub changes: Vec<Change>,
    /// Workload ids of this run that the baseline does not have.
    pub new_workloads: Vec<String>,
}

/// Compares a finished run with the baseline; `threshold_pct` is the allowed slowdown.
pub fn compare(summary: &Summary, base: &Baseline, source: &str, threshold_pct: f64) -> Comparison {
    let floor = 1.0 - threshold_pct / 100.0;
    let mut changes = Vec::new();
    let mut new_workloads = Vec::new();
    for row in &summary.rows {
        let mut any = false;
        for s in row.nimsync.iter().chain(&row.peers) {
            if !s.median.is_finite() {
                continue;
            }
            let Some((before, hib)) = base.median_of(&row.id, &s.name) else {
                continue;
            };
            if hib != row.higher_is_better {
                continue; // the workload changed its meaning: not comparable
            }
            any = true;
            let factor = ratio(s.median, before, row.higher_is_better);
            changes.push(Change {
                id: row.id.clone(),
                contender: s.name.clone(),
                unit: row.unit.clone(),
                before,
                now: s.median,
                factor,
                regression: is_nimsync(&s.name) && factor < floor,
            });
        }
        if !any {
            new_workloads.push(row.id.clone());
        }
    }
    Comparison {
        source: source.to_string(),
        threshold_pct,
        changes,
        new_workloads,
    }
}

impl Comparison {
    /// The regressions (nimsync contenders only).
    pub fn regressions(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.regression)
    }

    /// Median factor of the peers in one workload (machine drift), if any peer was compared.
    fn peer_drift(&self, id: &str) -> Option<f64> {
        let factors: Vec<f64> = self
            .changes
            .iter()
            .filter(|c| c.id == id && !is_nimsync(&c.contender))
            .map(|c| c.factor)
            .collect();
        let m = median(&factors);
        m.is_finite().then_some(m)
    }

    /// One line per nimsync contender: before, now, change, peers' drift, verdict.
    fn lines(&self) -> Vec<[String; 7]> {
        self.changes
            .iter()
            .filter(|c| is_nimsync(&c.contender))
            .map(|c| {
                [
                    c.id.clone(),
                    c.contender.clone(),
                    format!("{} {}", fmt_value(c.before), c.unit),
                    format!("{} {}", fmt_value(c.now), c.unit),
                    c.percent(),
                    self.peer_drift(&c.id)
                        .map_or("—".into(), |f| format!("{:+.1}%", (f - 1.0) * 100.0)),
                    if c.regression { "REGRESSION" } else { "ok" }.to_string(),
                ]
            })
            .collect()
    }

    fn headline(&self) -> String {
        let n = self.regressions().count();
        let verdict = if n == 0 {
            "no regression".to_string()
        } else {
            format!("{n} regression(s)")
        };
        format!(
            "compared with {} (threshold {}%): {verdict}",
            self.source, self.threshold_pct
        )
    }

    /// The comparison for the terminal.
    pub fn terminal(&self) -> String {
        let mut out = self.headline();
        for l in self.lines() {
            let _ = write!(
                out,
                "\n  {:<40} {:<16} {:>16} -> {:>16}  {:>8}  peers {:>8}  {}",
                l[0], l[1], l[2], l[3], l[4], l[5], l[6]
            );
        }
        if !self.new_workloads.is_empty() {
            let _ = write!(
                out,
                "\n  not in the baseline: {}",
                self.new_workloads.join(", ")
            );
        }
        out
    }

    /// The "Compared with baseline" section of the Markdown report.
    pub fn markdown(&self) -> String {
        let mut out = String::from("\n## Compared with the baseline\n\n");
        let _ = writeln!(out, "{}.\n", upper_first(&self.headline()));
        out.push_str(
            "Change is in performance (positive = better, for throughput and latency alike). \
             **peers** is the median change of the peers in the same workload: when it moves \
             as much as nimsync, the machine moved, not the code.\n\n",
        );
        out.push_str("| workload | contender | before | now | change | peers | verdict |\n");
        out.push_str("| --- | --- | ---: | ---: | ---: | ---: | --- |\n");
        for l in self.lines() {
            let _ = writeln!(out, "| {} |", l.join(" | "));
        }
        if !self.new_workloads.is_empty() {
            let _ = writeln!(
                out,
                "\nNot in the baseline: {}",
                self.new_workloads
                    .iter()
                    .map(|w| format!("`{w}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        out
    }

    /// The comparison as JSON (added to `latest.json` under "baseline").
    pub fn json(&self) -> Value {
        let changes: Vec<Value> = self
            .changes
            .iter()
            .map(|c| {
                json!({
                    "workload": c.id, "contender": c.contender, "unit": c.unit,
                    "before": c.before, "now": c.now, "factor": c.factor,
                    "regression": c.regression,
                })
            })
            .collect();
        json!({
            "source": self.source,
            "threshold_pct": self.threshold_pct,
            "regressions": self.regressions().count(),
            "changes": changes,
            "new_workloads": self.new_workloads,
        })
    }
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{RawContender, RawReport, RawWorkload};

    fn run(spsc_nimsync: f64, spsc_rtrb: f64, pingpong_nimsync: f64) -> Summary {
        let c = |name: &str, v: f64| RawContender {
            name: name.into(),
            samples: vec![v],
            error: None,
        };
        Summary::new(&RawReport {
            quick: true,
            reps: 1,
            filters: vec![],
            workloads: vec![
                RawWorkload {
                    group: "channels".into(),
                    workload: "spsc".into(),
                    unit: "Mmsg/s".into(),
                    higher_is_better: true,
                    note: String::new(),
                    contenders: vec![c("nimsync", spsc_nimsync), c("rtrb", spsc_rtrb)],
                },
                RawWorkload {
                    group: "channels".into(),
                    workload: "pingpong".into(),
                    unit: "ns/op".into(),
                    higher_is_better: false,
                    note: String::new(),
                    contenders: vec![c("nimsync", pingpong_nimsync)],
                },
            ],
        })
    }

    /// A baseline in the summary format `cargo xtask bench` writes.
    fn baseline() -> Baseline {
        serde_json::from_str(
            r#"{ "meta": {}, "workloads": [
              { "group": "channels", "workload": "spsc", "unit": "Mmsg/s", "higher_is_better": true,
                "contenders": [ {"name": "nimsync", "median": 100.0, "samples": [1.0]},
                                {"name": "rtrb", "median": 200.0} ] },
              { "group": "channels", "workload": "pingpong", "higher_is_better": false,
                "contenders": [ {"name": "nimsync", "samples": [400.0, 500.0, 600.0]} ] }
            ] }"#,
        )
        .unwrap()
    }

    #[test]
    fn within_threshold_is_not_a_regression() {
        // 95 vs 100 Mmsg/s: 5% worse; 520 vs 500 ns: 3.8% worse. Threshold 10%.
        let cmp = compare(&run(95.0, 190.0, 520.0), &baseline(), "b.json", 10.0);
        assert_eq!(cmp.regressions().count(), 0);
        assert_eq!(cmp.changes.len(), 3);
        let spsc = &cmp.changes[0];
        assert_eq!((spsc.before, spsc.now), (100.0, 95.0));
        assert_eq!(spsc.percent(), "-5.0%");
        // the median of the samples stands in for a missing `median`
        assert_eq!(cmp.changes[2].before, 500.0);
    }

    #[test]
    fn slowdowns_beyond_the_threshold_are_flagged_for_nimsync_only() {
        // nimsync 80 vs 100 (-20%), rtrb 100 vs 200 (-50%, a peer: never flagged),
        // pingpong 600 vs 500 ns (performance factor 0.83: -16.7%).
        let cmp = compare(&run(80.0, 100.0, 600.0), &baseline(), "b.json", 10.0);
        let flagged: Vec<(&str, &str)> = cmp
            .regressions()
            .map(|c| (c.id.as_str(), c.contender.as_str()))
            .collect();
        assert_eq!(
            flagged,
            [
                ("channels/spsc", "nimsync"),
                ("channels/pingpong", "nimsync")
            ]
        );
        assert_eq!(cmp.changes[2].percent(), "-16.7%");
        assert!(cmp.terminal().contains("2 regression(s)"));
        let md = cmp.markdown();
        assert!(
            md.contains("| channels/spsc | nimsync | 100 Mmsg/s | 80.0 Mmsg/s | -20.0% | -50.0% | REGRESSION |"),
            "{md}"
        );
        assert_eq!(cmp.json()["regressions"], 2);
        // A looser threshold lets both pass.
        assert_eq!(
            compare(&run(80.0, 100.0, 600.0), &baseline(), "b", 25.0)
                .regressions()
                .count(),
            0
        );
    }

    #[test]
    fn improvements_and_new_workloads() {
        let mut now = run(150.0, 200.0, 250.0);
        now.rows[1].id = "channels/brand_new".into();
        let cmp = compare(&now, &baseline(), "b", 10.0);
        assert_eq!(cmp.regressions().count(), 0);
        assert_eq!(cmp.changes[0].percent(), "+50.0%");
        assert_eq!(cmp.new_workloads, ["channels/brand_new"]);
        assert!(
            cmp.markdown()
                .contains("Not in the baseline: `channels/brand_new`")
        );
    }

    #[test]
    fn a_file_that_is_not_a_report_is_refused() {
        let dir = std::env::temp_dir().join(format!("xtask-baseline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.json");
        std::fs::write(&bad, "{\"hello\": 1}").unwrap();
        let err = Baseline::load(&bad).unwrap_err();
        assert!(err.contains("is not a bench report"), "{err}");
        let missing = Baseline::load(&dir.join("missing.json")).unwrap_err();
        assert!(missing.contains("cannot read the baseline"), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
