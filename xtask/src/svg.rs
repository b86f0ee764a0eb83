//! SVG bar charts of a run: one chart per workload group, nimsync and every peer side by side.
//!
//! Units differ between workloads (Mmsg/s, ns/op), so each bar shows performance relative to
//! nimsync in the same workload (nimsync = 1, longer is better for every unit: `value /
//! nimsync` for throughput, `nimsync / value` for latency); when nimsync did not take part,
//! relative to the best contender. The measured median and its unit are printed next to each
//! bar. Hand-written SVG text: a chart library (plotters) would pull a dozen crates into
//! xtask for what is a list of rectangles and labels.

use std::fmt::Write as _;

use crate::report::{NIMSYNC, Row, Stats, fmt_value, ratio};

const WIDTH: f64 = 960.0;
const LABEL_W: f64 = 190.0;
const BAR_MAX_W: f64 = 520.0;
const BAR_H: f64 = 16.0;
const BAR_GAP: f64 = 4.0;
const HEADER_H: f64 = 26.0;
const GROUP_GAP: f64 = 14.0;
const TOP: f64 = 64.0;
const NIMSYNC_FILL: &str = "#d9480f";
const PEER_FILL: &str = "#5c7cfa";

/// Escapes text for SVG (XML) content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The reference a workload's bars are relative to: nimsync's median, or the best one.
fn reference(row: &Row) -> Option<f64> {
    if let Some(n) = row.nimsync.as_ref().filter(|n| n.median.is_finite()) {
        return Some(n.median);
    }
    row.best_peer().map(|b| b.median)
}

/// Relative performance of one contender (1 = the reference, larger = better).
fn score(row: &Row, s: &Stats) -> Option<f64> {
    let r = reference(row)?;
    let v = ratio(s.median, r, row.higher_is_better);
    (v.is_finite() && v > 0.0).then_some(v)
}

/// The chart of one workload group.
pub fn group_chart(group: &str, rows: &[&Row]) -> String {
    let contenders = |r: &&Row| r.nimsync.iter().chain(&r.peers).count();
    let bars: usize = rows.iter().map(contenders).sum();
    let height =
        TOP + rows.len() as f64 * (HEADER_H + GROUP_GAP) + bars as f64 * (BAR_H + BAR_GAP) + 20.0;
    let max_score = rows
        .iter()
        .flat_map(|r| r.nimsync.iter().chain(&r.peers).filter_map(|s| score(r, s)))
        .fold(1.0_f64, f64::max);
    let scale = BAR_MAX_W / max_score;

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<title>nimsync vs peers: {}</title>"#, escape(group));
    let _ = writeln!(
        out,
        r##"<rect x="0" y="0" width="{WIDTH}" height="{height:.0}" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        out,
        r#"<text x="12" y="24" font-size="16" font-weight="bold">nimsync vs peers: {}</text>"#,
        escape(group)
    );
    let _ = writeln!(
        out,
        r##"<text x="12" y="44" fill="#495057">Performance relative to nimsync in each workload (nimsync = 1.00×; longer is better, for throughput and latency alike). Labels: median.</text>"##
    );
    let mut y = TOP;
    for row in rows {
        let _ = writeln!(
            out,
            r#"<text x="12" y="{:.0}" font-weight="bold">{} ({}, {})</text>"#,
            y + 16.0,
            escape(&row.workload),
            escape(&row.unit),
            if row.higher_is_better {
                "higher is better"
            } else {
                "lower is better"
            }
        );
        y += HEADER_H;
        if reference(row).is_some() {
            let x1 = LABEL_W + scale;
            let bars_h = contenders(row) as f64 * (BAR_H + BAR_GAP);
            let _ = writeln!(
                out,
                r##"<line x1="{x1:.1}" y1="{:.1}" x2="{x1:.1}" y2="{:.1}" stroke="#868e96" stroke-dasharray="4 3"/>"##,
                y - 2.0,
                y + bars_h - BAR_GAP + 2.0
            );
        }
        for s in row.nimsync.iter().chain(&row.peers) {
            let fill = if s.name == NIMSYNC {
                NIMSYNC_FILL
            } else {
                PEER_FILL
            };
            let _ = writeln!(
                out,
                r#"<text x="{:.0}" y="{:.1}" text-anchor="end">{}</text>"#,
                LABEL_W - 8.0,
                y + BAR_H - 4.0,
                escape(&s.name)
            );
            let label = match (score(row, s), &s.error) {
                (Some(v), None) => {
                    let w = v * scale;
                    let _ = writeln!(
                        out,
                        r#"<rect class="bar" x="{LABEL_W}" y="{y:.1}" width="{w:.1}" height="{BAR_H}" fill="{fill}"><title>{}: {} {}</title></rect>"#,
                        escape(&s.name),
                        fmt_value(s.median),
                        escape(&row.unit)
                    );
                    format!("{v:.2}× ({} {})", fmt_value(s.median), row.unit)
                }
                (_, Some(_)) => "FAILED".to_string(),
                (None, None) => "no result".to_string(),
            };
            let lx = LABEL_W + score(row, s).map_or(0.0, |v| v * scale) + 6.0;
            let _ = writeln!(
                out,
                r#"<text x="{lx:.1}" y="{:.1}">{}</text>"#,
                y + BAR_H - 4.0,
                escape(&label)
            );
            y += BAR_H + BAR_GAP;
        }
        y += GROUP_GAP;
    }
    out.push_str("</svg>\n");
    out
}

/// One chart per group, in run order: `(group, svg text)`.
pub fn charts(rows: &[Row]) -> Vec<(String, String)> {
    let mut groups: Vec<&str> = Vec::new();
    for r in rows {
        if !groups.contains(&r.group.as_str()) {
            groups.push(&r.group);
        }
    }
    groups
        .into_iter()
        .map(|g| {
            let in_group: Vec<&Row> = rows.iter().filter(|r| r.group == g).collect();
            (g.to_string(), group_chart(g, &in_group))
        })
        .collect()
}

/// A group name usable as a file name (`docs/bench/<group>.svg`).
pub fn file_stem(group: &str) -> String {
    group
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{RawContender, RawReport, RawWorkload, Summary};

    fn c(name: &str, samples: &[f64], error: Option<&str>) -> RawContender {
        RawContender {
            name: name.into(),
            samples: samples.to_vec(),
            error: error.map(str::to_string),
        }
    }

    fn summary() -> Summary {
        Summary::new(&RawReport {
            quick: true,
            reps: 1,
            filters: vec![],
            workloads: vec![
                RawWorkload {
                    group: "channels".into(),
                    workload: "spsc <u64> & co".into(),
                    unit: "Mmsg/s".into(),
                    higher_is_better: true,
                    note: String::new(),
                    contenders: vec![
                        c("nimsync", &[100.0], None),
                        c("rtrb", &[200.0], None),
                        c("flume", &[10.0], None),
                    ],
                },
                RawWorkload {
                    group: "channels".into(),
                    workload: "pingpong".into(),
                    unit: "ns/op".into(),
                    higher_is_better: false,
                    note: String::new(),
                    contenders: vec![
                        c("nimsync", &[400.0], None),
                        c("crossbeam-channel", &[200.0], None),
                        c("kanal", &[], Some("hung")),
                    ],
                },
                RawWorkload {
                    group: "scheduler".into(),
                    workload: "spawn".into(),
                    unit: "ns/op".into(),
                    higher_is_better: false,
                    note: String::new(),
                    contenders: vec![
                        c("tokio", &[400.0], None),
                        c("async-executor", &[200.0], None),
                    ],
                },
            ],
        })
    }

    #[test]
    fn one_well_formed_chart_per_group_with_one_bar_per_measured_contender() {
        let s = summary();
        let charts = charts(&s.rows);
        let names: Vec<&str> = charts.iter().map(|(g, _)| g.as_str()).collect();
        assert_eq!(names, ["channels", "scheduler"]);
        for (group, svg) in &charts {
            let doc = roxmltree::Document::parse(svg)
                .unwrap_or_else(|e| panic!("{group}.svg is not well-formed XML: {e}\n{svg}"));
            assert_eq!(doc.root_element().tag_name().name(), "svg");
            let bars: Vec<roxmltree::Node> = doc
                .descendants()
                .filter(|n| n.attribute("class") == Some("bar"))
                .collect();
            let measured = s
                .rows
                .iter()
                .filter(|r| &r.group == group)
                .flat_map(|r| r.nimsync.iter().chain(&r.peers))
                .filter(|st| st.error.is_none())
                .count();
            assert_eq!(bars.len(), measured, "{group}");
        }
        // The special characters of the workload name arrive intact after parsing.
        let doc = roxmltree::Document::parse(&charts[0].1).unwrap();
        assert!(
            doc.descendants()
                .any(|n| n.text() == Some("spsc <u64> & co (Mmsg/s, higher is better)"))
        );
    }

    #[test]
    fn bars_are_relative_to_nimsync_whatever_the_unit() {
        let s = summary();
        let svg = &charts(&s.rows)[0].1;
        let doc = roxmltree::Document::parse(svg).unwrap();
        let width_of = |name: &str, nth: usize| -> f64 {
            doc.descendants()
                .filter(|n| n.attribute("class") == Some("bar"))
                .filter(|n| {
                    n.children()
                        .any(|t| t.text().is_some_and(|t| t.starts_with(&format!("{name}:"))))
                })
                .nth(nth)
                .and_then(|n| n.attribute("width"))
                .unwrap()
                .parse()
                .unwrap()
        };
        let nimsync = width_of("nimsync", 0);
        // rtrb moves twice nimsync's messages: twice as long.
        assert!((width_of("rtrb", 0) / nimsync - 2.0).abs() < 0.01);
        // crossbeam-channel takes half nimsync's time: also twice as long.
        assert!((width_of("crossbeam-channel", 0) / width_of("nimsync", 1) - 2.0).abs() < 0.01);
        assert!(svg.contains("FAILED"), "a failed contender is labelled");
        assert!(svg.contains("2.00× (200 Mmsg/s)"));
    }

    #[test]
    fn without_nimsync_the_best_is_the_reference() {
        let s = summary();
        let svg = &charts(&s.rows)[1].1;
        assert!(svg.contains("1.00× (200 ns/op)"), "{svg}");
        assert!(svg.contains("0.50× (400 ns/op)"), "{svg}");
    }

    #[test]
    fn escaping_and_file_names() {
        assert_eq!(escape(r#"a<b>&"c'"#), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(file_stem("channels"), "channels");
        assert_eq!(file_stem("a/b c"), "a_b_c");
    }
}
