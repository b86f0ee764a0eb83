//! The benchmark report: reads the bench crate's raw JSON, computes medians and the
//! nimsync / best-peer ratios, and renders the terminal table, the Markdown report and the
//! summary JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::meta::Meta;

/// The contender whose ratio to the peers is reported.
pub const NIMSYNC: &str = "nimsync";

/// One contender in the raw JSON.
#[derive(Deserialize, Debug, Clone)]
pub struct RawContender {
    /// Contender (crate) name.
    pub name: String,
    /// One value per repetition (fewer, or none, if it failed).
    pub samples: Vec<f64>,
    /// The panic message if the contender failed (its remaining repetitions were skipped).
    #[serde(default)]
    pub error: Option<String>,
}

/// One workload in the raw JSON.
#[derive(Deserialize, Debug, Clone)]
pub struct RawWorkload {
    /// Group, e.g. "channels".
    pub group: String,
    /// Workload name.
    pub workload: String,
    /// "Mmsg/s" or "ns/op".
    pub unit: String,
    /// Larger is better (throughput) or worse (latency).
    pub higher_is_better: bool,
    /// How it is measured.
    #[serde(default)]
    pub note: String,
    /// Contenders in registry order.
    pub contenders: Vec<RawContender>,
}

/// The raw JSON written by `nimsync-benches --json`.
#[derive(Deserialize, Debug, Clone)]
pub struct RawReport {
    /// `--quick` run.
    pub quick: bool,
    /// Repetitions per contender.
    pub reps: usize,
    /// Workload filters.
    #[serde(default)]
    pub filters: Vec<String>,
    /// Workloads in run order.
    pub workloads: Vec<RawWorkload>,
}

/// Median of the samples (mean of the middle two for an even count; NaN when empty).
pub fn median(samples: &[f64]) -> f64 {
    let mut v: Vec<f64> = samples.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// How many times better nimsync is than a peer: > 1 means nimsync is ahead. For a
/// higher-is-better unit that is `nimsync / peer`, for a lower-is-better one `peer / nimsync`.
pub fn ratio(nimsync: f64, peer: f64, higher_is_better: bool) -> f64 {
    if higher_is_better {
        nimsync / peer
    } else {
        peer / nimsync
    }
}

/// Median, min and max of one contender's samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Contender name.
    pub name: String,
    /// All samples, in run order.
    pub samples: Vec<f64>,
    /// Median of `samples`.
    pub median: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

impl Stats {
    fn new(c: &RawContender) -> Stats {
        let fold = |init: f64, f: fn(f64, f64) -> f64| c.samples.iter().copied().fold(init, f);
        Stats {
            name: c.name.clone(),
            median: median(&c.samples),
            min: fold(f64::INFINITY, f64::min),
            max: fold(f64::NEG_INFINITY, f64::max),
            samples: c.samples.clone(),
            error: c.error.clone(),
        }
    }
}

/// One workload, analysed.
#[derive(Debug, Clone)]
pub struct Row {
    /// "group/workload".
    pub id: String,
    /// Group.
    pub group: String,
    /// Workload name.
    pub workload: String,
    /// Unit of every value.
    pub unit: String,
    /// Larger is better.
    pub higher_is_better: bool,
    /// How it is measured.
    pub note: String,
    /// nimsync's stats, if it took part.
    pub nimsync: Option<Stats>,
    /// Every other contender.
    pub peers: Vec<Stats>,
}

impl Row {
    fn new(w: &RawWorkload) -> Row {
        let (ours, peers): (Vec<_>, Vec<_>) = w
            .contenders
            .iter()
            .map(Stats::new)
            .partition(|s| s.name == NIMSYNC);
        Row {
            id: format!("{}/{}", w.group, w.workload),
            group: w.group.clone(),
            workload: w.workload.clone(),
            unit: w.unit.clone(),
            higher_is_better: w.higher_is_better,
            note: w.note.clone(),
            nimsync: ours.into_iter().next(),
            peers,
        }
    }

    /// The peer with the best median (largest, or smallest for a lower-is-better unit).
    pub fn best_peer(&self) -> Option<&Stats> {
        let valid = self.peers.iter().filter(|p| !p.median.is_nan());
        if self.higher_is_better {
            valid.max_by(|a, b| a.median.total_cmp(&b.median))
        } else {
            valid.min_by(|a, b| a.median.total_cmp(&b.median))
        }
    }

    /// nimsync / best peer (> 1: nimsync ahead), when both exist.
    pub fn ratio_vs_best(&self) -> Option<f64> {
        let b = self.best_peer()?;
        self.ratio_vs(b)
    }

    /// nimsync / this peer (> 1: nimsync ahead), when nimsync took part.
    pub fn ratio_vs(&self, peer: &Stats) -> Option<f64> {
        let n = self.nimsync.as_ref()?;
        let r = ratio(n.median, peer.median, self.higher_is_better);
        r.is_finite().then_some(r)
    }
}

/// A whole run, analysed.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Workloads in run order.
    pub rows: Vec<Row>,
    /// Peer names in order of first appearance (the table's columns).
    pub peer_columns: Vec<String>,
}

/// Formats a measured value: 3 significant-ish digits, "—" for a missing one.
pub fn fmt_value(v: f64) -> String {
    if !v.is_finite() {
        "—".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A table cell: the median, "FAILED" for a contender that failed, "—" for an absent one.
fn fmt_cell(s: Option<&Stats>) -> String {
    match s {
        Some(s) if s.error.is_some() && s.samples.is_empty() => "FAILED".into(),
        Some(s) if s.error.is_some() => format!("{} FAILED", fmt_value(s.median)),
        Some(s) => fmt_value(s.median),
        None => "—".into(),
    }
}

/// Formats a ratio as "1.23×", "—" when missing.
pub fn fmt_ratio(r: Option<f64>) -> String {
    match r {
        Some(r) if r.is_finite() => format!("{r:.2}×"),
        _ => "—".into(),
    }
}

impl Summary {
    /// Analyses a raw report.
    pub fn new(raw: &RawReport) -> Summary {
        let rows: Vec<Row> = raw.workloads.iter().map(Row::new).collect();
        let mut peer_columns: Vec<String> = Vec::new();
        for p in rows.iter().flat_map(|r| &r.peers) {
            if !peer_columns.contains(&p.name) {
                peer_columns.push(p.name.clone());
            }
        }
        Summary { rows, peer_columns }
    }

    /// Header and cells of the side-by-side table.
    fn grid(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let mut header = vec!["workload".to_string(), "unit".into(), NIMSYNC.into()];
        header.extend(self.peer_columns.iter().cloned());
        header.push("best peer".into());
        header.push("nimsync/best".into());
        let rows = self
            .rows
            .iter()
            .map(|r| {
                let mut cells = vec![r.id.clone(), r.unit.clone(), fmt_cell(r.nimsync.as_ref())];
                for col in &self.peer_columns {
                    cells.push(fmt_cell(r.peers.iter().find(|p| &p.name == col)));
                }
                cells.push(r.best_peer().map_or("—".into(), |b| b.name.clone()));
                cells.push(fmt_ratio(r.ratio_vs_best()));
                cells
            })
            .collect();
        (header, rows)
    }

    /// The plain-text table for the terminal (aligned columns).
    pub fn terminal_table(&self) -> String {
        let (header, rows) = self.grid();
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for row in &rows {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let text_column = |i: usize| i < 2 || i + 2 == widths.len();
        let line = |cells: &[String]| -> String {
            let mut s = String::new();
            for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
                let pad = w - c.chars().count();
                if i > 0 {
                    s.push_str("  ");
                }
                if text_column(i) {
                    s.push_str(c);
                    s.push_str(&" ".repeat(pad));
                } else {
                    s.push_str(&" ".repeat(pad));
                    s.push_str(c);
                }
            }
            s.trim_end().to_string()
        };
        let mut out = line(&header);
        out.push('\n');
        out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
        for row in &rows {
            out.push('\n');
            out.push_str(&line(row));
        }
        out.push_str(
            "\nmedians; nimsync/best > 1 means nimsync is ahead of the best peer \
             (for ns/op: best peer ns / nimsync ns)",
        );
        out
    }

    /// The side-by-side table as Markdown.
    pub fn markdown_table(&self) -> String {
        let (header, rows) = self.grid();
        let mut out = format!("| {} |\n", header.join(" | "));
        let align: Vec<&str> = (0..header.len())
            .map(|i| {
                if i < 2 || i + 2 == header.len() {
                    "---"
                } else {
                    "---:"
                }
            })
            .collect();
        let _ = writeln!(out, "| {} |", align.join(" | "));
        for row in rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        out
    }

    /// The full Markdown report.
    pub fn markdown(&self, meta: &Meta) -> String {
        let mut out = String::new();
        let mode = if meta.quick {
            format!(
                "quick (`--quick`: fewer messages per repetition), {} repetitions",
                meta.reps
            )
        } else {
            format!("full, {} repetitions", meta.reps)
        };
        let filter = if meta.filters.is_empty() {
            "none (every workload)".to_string()
        } else {
            meta.filters
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let command = meta.command();
        let _ = writeln!(out, "# nimsync benchmarks: latest run\n");
        let _ = writeln!(out, "Generated by `{command}`; do not edit by hand.\n");
        let _ = writeln!(out, "- Date: {}", meta.date);
        let _ = writeln!(out, "- Machine: {}", meta.machine());
        let _ = writeln!(out, "- OS: {}", meta.os);
        let _ = writeln!(
            out,
            "- Load average (1/5/15 min): {} before, {} after",
            meta.load_before, meta.load_after
        );
        let _ = writeln!(out, "- Toolchain: {}", meta.rustc);
        let _ = writeln!(out, "- Revision: {}", meta.git);
        let _ = writeln!(out, "- Mode: {mode}");
        let _ = writeln!(out, "- Filter: {filter}\n");
        out.push_str(
            "Every value is the median over the repetitions; each repetition runs every \
             contender once, round-robin, so drift of the machine spreads over all of them. \
             `Mmsg/s` is million messages per second (higher is better), `ns/op` nanoseconds \
             per operation (lower is better). **nimsync/best** is nimsync against the best peer \
             of the same run: above 1 means nimsync is ahead (for `ns/op` it is the best \
             peer's time divided by nimsync's). This machine is shared and noisy: compare \
             ratios within a run, not absolute figures across runs.\n\n",
        );
        let _ = writeln!(out, "## Side by side\n");
        out.push_str(&self.markdown_table());

        let _ = writeln!(out, "\n## Where nimsync is behind the best peer\n");
        let behind: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| r.ratio_vs_best().is_some_and(|x| x < 1.0))
            .collect();
        if behind.is_empty() {
            let _ = writeln!(out, "Nowhere in this run.");
        }
        for r in behind {
            let (n, b) = (
                r.nimsync.as_ref().expect("ratio implies nimsync"),
                r.best_peer().expect("ratio implies a peer"),
            );
            let _ = writeln!(
                out,
                "- `{}`: {} of {} (nimsync {} vs {} {})",
                r.id,
                fmt_ratio(r.ratio_vs_best()),
                b.name,
                fmt_value(n.median),
                fmt_value(b.median),
                r.unit
            );
        }
        let missing: Vec<&Row> = self.rows.iter().filter(|r| r.nimsync.is_none()).collect();
        if !missing.is_empty() {
            let _ = writeln!(out, "\nWorkloads without a nimsync contender:");
            for r in missing {
                let _ = writeln!(out, "- `{}`", r.id);
            }
        }

        let failed: Vec<(&Row, &Stats)> = self
            .rows
            .iter()
            .flat_map(|r| r.nimsync.iter().chain(&r.peers).map(move |s| (r, s)))
            .filter(|(_, s)| s.error.is_some())
            .collect();
        if !failed.is_empty() {
            let _ = writeln!(out, "\n## Failed contenders\n");
            for (r, s) in failed {
                let _ = writeln!(
                    out,
                    "- `{}` {}: {} (after {} good repetitions)",
                    r.id,
                    s.name,
                    s.error.as_deref().unwrap_or_default(),
                    s.samples.len()
                );
            }
        }

        let _ = writeln!(out, "\n## Details\n");
        for r in &self.rows {
            let _ = writeln!(out, "### `{}` ({})\n", r.id, r.unit);
            if !r.note.is_empty() {
                let _ = writeln!(out, "{}\n", r.note);
            }
            let _ = writeln!(
                out,
                "| contender | version | median | min | max | nimsync / this |"
            );
            let _ = writeln!(out, "| --- | --- | ---: | ---: | ---: | ---: |");
            for s in r.nimsync.iter().chain(&r.peers) {
                let version = meta.versions.get(&s.name).map_or("?", String::as_str);
                let vs = if s.name == NIMSYNC {
                    "—".into()
                } else {
                    fmt_ratio(r.ratio_vs(s))
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} |",
                    s.name,
                    version,
                    fmt_value(s.median),
                    fmt_value(s.min),
                    fmt_value(s.max),
                    vs
                );
            }
            out.push('\n');
        }

        let _ = writeln!(out, "## Versions\n");
        let _ = writeln!(out, "| contender | version |");
        let _ = writeln!(out, "| --- | --- |");
        for (name, v) in &meta.versions {
            let _ = writeln!(out, "| {name} | {v} |");
        }
        if !meta.nimsync_crates.is_empty() {
            let _ = writeln!(
                out,
                "\nnimsync crates (workspace, revision {}):\n",
                meta.git
            );
            let _ = writeln!(out, "| crate | version |");
            let _ = writeln!(out, "| --- | --- |");
            for (name, v) in &meta.nimsync_crates {
                let _ = writeln!(out, "| {name} | {v} |");
            }
        }
        out
    }

    /// The machine-readable summary written next to the Markdown report.
    pub fn json(&self, meta: &Meta) -> Value {
        let num = |v: f64| if v.is_finite() { json!(v) } else { Value::Null };
        let workloads: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                let contenders: Vec<Value> = r
                    .nimsync
                    .iter()
                    .chain(&r.peers)
                    .map(|s| {
                        json!({
                            "name": s.name,
                            "version": meta.versions.get(&s.name),
                            "samples": s.samples,
                            "median": num(s.median),
                            "min": num(s.min),
                            "max": num(s.max),
                            "error": s.error,
                        })
                    })
                    .collect();
                let ratio_vs: BTreeMap<&str, Value> = r
                    .peers
                    .iter()
                    .map(|p| (p.name.as_str(), r.ratio_vs(p).map_or(Value::Null, num)))
                    .collect();
                let best = r.best_peer();
                json!({
                    "group": r.group,
                    "workload": r.workload,
                    "unit": r.unit,
                    "higher_is_better": r.higher_is_better,
                    "note": r.note,
                    "contenders": contenders,
                    "nimsync_median": r.nimsync.as_ref().map_or(Value::Null, |s| num(s.median)),
                    "best_peer": best.map(|b| b.name.clone()),
                    "best_peer_median": best.map_or(Value::Null, |b| num(b.median)),
                    "ratio_vs_best_peer": r.ratio_vs_best().map_or(Value::Null, num),
                    "ratio_vs": ratio_vs,
                })
            })
            .collect();
        json!({ "meta": meta, "workloads": workloads })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn contender(name: &str, samples: &[f64]) -> RawContender {
        RawContender {
            name: name.into(),
            samples: samples.to_vec(),
            error: None,
        }
    }

    pub(crate) fn raw() -> RawReport {
        RawReport {
            quick: true,
            reps: 3,
            filters: vec!["channels".into()],
            workloads: vec![
                RawWorkload {
                    group: "channels".into(),
                    workload: "spsc".into(),
                    unit: "Mmsg/s".into(),
                    higher_is_better: true,
                    note: "n".into(),
                    contenders: vec![
                        contender("nimsync", &[100.0, 300.0, 200.0]),
                        contender("rtrb", &[150.0, 160.0, 170.0]),
                        contender("flume", &[10.0, 12.0, 11.0]),
                    ],
                },
                RawWorkload {
                    group: "channels".into(),
                    workload: "pingpong".into(),
                    unit: "ns/op".into(),
                    higher_is_better: false,
                    note: String::new(),
                    contenders: vec![
                        contender("nimsync", &[400.0, 400.0, 400.0]),
                        contender("crossbeam-channel", &[300.0, 320.0, 310.0]),
                        contender("flume", &[30_000.0, 40_000.0, 35_000.0]),
                    ],
                },
                RawWorkload {
                    group: "channels".into(),
                    workload: "peers_only".into(),
                    unit: "Mmsg/s".into(),
                    higher_is_better: true,
                    note: String::new(),
                    contenders: vec![contender("kanal", &[1.0, 2.0])],
                },
            ],
        }
    }

    pub(crate) fn meta() -> Meta {
        Meta {
            date: "2026-01-01 00:00 UTC".into(),
            cpu: "Test CPU".into(),
            cpus: 2,
            cores: Some(2),
            memory: "23.5 GiB".into(),
            os: "Debian GNU/Linux 12 (bookworm), Linux 6.1.0".into(),
            nimsync_crates: [("nimsync-core-channels", "0.1.0")]
                .into_iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            rustc: "rustc 1.95.0".into(),
            git: "abc123".into(),
            load_before: "0.10 0.20 0.30".into(),
            load_after: "1.00 0.50 0.40".into(),
            quick: true,
            reps: 3,
            filters: vec!["channels".into()],
            versions: [("rtrb", "0.3.6"), ("nimsync", "0.1.0")]
                .into_iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        }
    }

    #[test]
    fn parses_the_bench_binary_output() {
        // The shape `nimsync-benches --json` writes (its own `median` is recomputed here).
        let text = r#"{
          "quick": true, "reps": 3, "filters": ["channels"],
          "workloads": [{
            "group": "channels", "workload": "spsc_u64_cap1024", "unit": "Mmsg/s",
            "higher_is_better": true, "note": "n",
            "contenders": [
              {"name": "nimsync", "samples": [1.0, 3.0, 2.0], "median": 2.0},
              {"name": "rtrb", "samples": [4.0, 4.0, 4.0], "median": 4.0}
            ]
          }]
        }"#;
        let raw: RawReport = serde_json::from_str(text).unwrap();
        let s = Summary::new(&raw);
        assert_eq!(s.rows[0].id, "channels/spsc_u64_cap1024");
        assert_eq!(s.rows[0].nimsync.as_ref().unwrap().median, 2.0);
        assert_eq!(s.rows[0].ratio_vs_best(), Some(0.5));
    }

    #[test]
    fn failed_contenders_are_shown() {
        let mut r = raw();
        r.workloads[0].contenders[0] = RawContender {
            name: "nimsync".into(),
            samples: vec![],
            error: Some("messages lost or duplicated".into()),
        };
        let s = Summary::new(&r);
        assert_eq!(s.rows[0].ratio_vs_best(), None);
        assert!(
            s.terminal_table()
                .lines()
                .nth(2)
                .unwrap()
                .contains("FAILED")
        );
        let md = s.markdown(&meta());
        assert!(md.contains("## Failed contenders"));
        assert!(md.contains(
            "- `channels/spsc` nimsync: messages lost or duplicated (after 0 good repetitions)"
        ));
        assert_eq!(
            s.json(&meta())["workloads"][0]["contenders"][0]["error"],
            "messages lost or duplicated"
        );
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[7.0]), 7.0);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn ratios_follow_the_unit() {
        assert_eq!(ratio(200.0, 100.0, true), 2.0);
        // 100 ns vs a peer's 200 ns: nimsync twice as good.
        assert_eq!(ratio(100.0, 200.0, false), 2.0);
        assert_eq!(ratio(400.0, 200.0, false), 0.5);
    }

    #[test]
    fn best_peer_and_ratio() {
        let s = Summary::new(&raw());
        let spsc = &s.rows[0];
        assert_eq!(spsc.best_peer().unwrap().name, "rtrb");
        assert_eq!(spsc.ratio_vs_best(), Some(200.0 / 160.0));
        let pp = &s.rows[1];
        assert_eq!(pp.best_peer().unwrap().name, "crossbeam-channel");
        assert_eq!(pp.ratio_vs_best(), Some(310.0 / 400.0));
        let peers_only = &s.rows[2];
        assert!(peers_only.nimsync.is_none());
        assert_eq!(peers_only.ratio_vs_best(), None);
        assert_eq!(peers_only.peers[0].median, 1.5);
        assert_eq!(
            s.peer_columns,
            ["rtrb", "flume", "crossbeam-channel", "kanal"]
        );
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_value(1234.56), "1235");
        assert_eq!(fmt_value(55.55), "55.5");
        assert_eq!(fmt_value(5.555), "5.55");
        assert_eq!(fmt_value(f64::NAN), "—");
        assert_eq!(fmt_ratio(Some(1.234)), "1.23×");
        assert_eq!(fmt_ratio(None), "—");
    }

    #[test]
    fn terminal_table_is_aligned() {
        let t = Summary::new(&raw()).terminal_table();
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("workload"));
        assert!(lines[0].ends_with("nimsync/best"));
        assert!(lines[2].starts_with("channels/spsc "));
        assert!(lines[2].contains("  rtrb "), "{}", lines[2]);
        assert!(lines[2].ends_with(" 1.25×"), "{}", lines[2]);
        assert!(lines[3].contains("  crossbeam-channel "), "{}", lines[3]);
        assert!(lines[3].ends_with(" 0.78×"), "{}", lines[3]);
        assert!(lines[4].contains('—'));
        // every data row is as wide as the header
        let width = |l: &str| l.chars().count();
        for l in &lines[1..5] {
            assert_eq!(width(l), width(lines[0]), "{l}");
        }
    }

    #[test]
    fn markdown_report() {
        let md = Summary::new(&raw()).markdown(&meta());
        assert!(md.contains("| workload | unit | nimsync | rtrb | flume | crossbeam-channel | kanal | best peer | nimsync/best |"));
        assert!(
            md.contains("| channels/spsc | Mmsg/s | 200 | 160 | 11.0 | — | — | rtrb | 1.25× |")
        );
        assert!(md.contains(
            "- `channels/pingpong`: 0.78× of crossbeam-channel (nimsync 400 vs 310 ns/op)"
        ));
        assert!(md.contains("Workloads without a nimsync contender:\n- `channels/peers_only`"));
        assert!(md.contains("| rtrb | 0.3.6 | 160 | 150 | 170 | 1.25× |"));
        assert!(md.contains("- Machine: Test CPU, 2 CPUs (2 cores), 23.5 GiB RAM"));
        assert!(md.contains("- OS: Debian GNU/Linux 12 (bookworm), Linux 6.1.0"));
        assert!(md.contains("| nimsync-core-channels | 0.1.0 |"));
        assert!(md.contains("0.10 0.20 0.30 before, 1.00 0.50 0.40 after"));
        assert!(md.contains("`cargo xtask bench --quick channels`"));
    }

    #[test]
    fn command_names_non_default_reps() {
        let mut m = meta();
        m.reps = 5;
        assert_eq!(m.command(), "cargo xtask bench --quick --reps 5 channels");
        m.quick = false;
        assert_eq!(m.command(), "cargo xtask bench channels");
        m.filters.clear();
        m.reps = 9;
        assert_eq!(m.command(), "cargo xtask bench --reps 9");
    }

    #[test]
    fn summary_json() {
        let j = Summary::new(&raw()).json(&meta());
        let w = &j["workloads"][0];
        assert_eq!(w["best_peer"], "rtrb");
        assert_eq!(w["ratio_vs_best_peer"], 1.25);
        assert_eq!(w["ratio_vs"]["flume"], 200.0 / 11.0);
        assert_eq!(w["contenders"][0]["name"], "nimsync");
        assert_eq!(j["workloads"][2]["ratio_vs_best_peer"], Value::Null);
        assert_eq!(j["meta"]["cpus"], 2);
    }
}
