//! The report's two charts as hand-written SVG: a latency histogram (log2 buckets) and a
//! memory-over-time line plot.

use std::fmt::Write;

use crate::endurance::MemorySample;

const W: f64 = 640.0;
const H: f64 = 320.0;
const PAD: f64 = 48.0;

fn header(title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" \
         viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n",
        W / 2.0,
        escape(title)
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn human_ns(ns: u64) -> String {
    match ns {
        0..1_000 => format!("{ns}ns"),
        1_000..1_000_000 => format!("{}us", ns / 1_000),
        _ => format!("{}ms", ns / 1_000_000),
    }
}

/// Histogram of round-trip latencies (sorted or not), one bar per power-of-two bucket, the
/// bar height on a log scale of the count.
pub fn latency_histogram(samples_ns: &[u64], title: &str) -> String {
    let mut buckets = [0u64; 64];
    for &s in samples_ns {
        buckets[63 - s.max(1).leading_zeros() as usize] += 1;
    }
    let first = buckets.iter().position(|&c| c > 0).unwrap_or(0);
    let last = buckets.iter().rposition(|&c| c > 0).unwrap_or(0);
    let used = &buckets[first..=last];
    let max_log = used
        .iter()
        .map(|&c| (c as f64 + 1.0).log10())
        .fold(0.0, f64::max)
        .max(1.0);
    let mut svg = header(title);
    let bar_w = (W - 2.0 * PAD) / used.len() as f64;
    for (i, &count) in used.iter().enumerate() {
        let h = (count as f64 + 1.0).log10() / max_log * (H - 2.0 * PAD);
        let x = PAD + i as f64 * bar_w;
        let _ = writeln!(
            svg,
            "<rect class=\"bar\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" \
             fill=\"#4a7bd0\"><title>{}: {count}</title></rect>",
            H - PAD - h,
            (bar_w - 2.0).max(1.0),
            human_ns(1 << (first + i)),
        );
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x + bar_w / 2.0,
            H - PAD + 14.0,
            human_ns(1 << (first + i))
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">round trip (bucket lower bound), \
         bar height: log10(count + 1)</text>\n</svg>",
        W / 2.0,
        H - 12.0
    );
    svg
}

/// Live bytes and RSS over time, in MiB.
pub fn memory_plot(samples: &[MemorySample], title: &str) -> String {
    let mut svg = header(title);
    let t_max = samples.iter().map(|s| s.t).fold(0.0, f64::max).max(1.0);
    let m_max = samples
        .iter()
        .map(|s| s.rss.max(s.live) as f64)
        .fold(0.0, f64::max)
        .max(1.0);
    let x = |t: f64| PAD + t / t_max * (W - 2.0 * PAD);
    let y = |m: f64| H - PAD - m / m_max * (H - 2.0 * PAD);
    for (name, colour, pick) in [
        (
            "live bytes",
            "#4a7bd0",
            (|s: &MemorySample| s.live) as fn(&MemorySample) -> usize,
        ),
        ("RSS", "#d0704a", |s: &MemorySample| s.rss),
    ] {
        let points: Vec<String> = samples
            .iter()
            .map(|s| format!("{:.1},{:.1}", x(s.t), y(pick(s) as f64)))
            .collect();
        let _ = writeln!(
            svg,
            "<polyline class=\"line\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" \
             points=\"{}\"><title>{name}</title></polyline>",
            points.join(" ")
        );
    }
    let _ = writeln!(
        svg,
        "<line x1=\"{PAD}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"black\"/>\n\
         <line x1=\"{PAD}\" y1=\"{PAD}\" x2=\"{PAD}\" y2=\"{0}\" stroke=\"black\"/>\n\
         <text x=\"{PAD}\" y=\"{2}\">0</text>\n\
         <text x=\"{1}\" y=\"{2}\" text-anchor=\"end\">{3:.0} s</text>\n\
         <text x=\"4\" y=\"{4}\">{5:.0} MiB</text>\n\
         <text x=\"{6}\" y=\"36\" fill=\"#4a7bd0\">live bytes</text>\n\
         <text x=\"{6}\" y=\"50\" fill=\"#d0704a\">RSS</text>\n</svg>",
        H - PAD,
        W - PAD,
        H - PAD + 14.0,
        t_max,
        PAD,
        m_max / (1 << 20) as f64,
        W - PAD - 60.0,
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(svg: &str, needle: &str) -> usize {
        svg.matches(needle).count()
    }

    #[test]
    fn histogram_has_one_bar_per_used_bucket() {
        // Buckets [64,128), [128,256) and [1024,2048): first..=last spans 64..2048 = 5 buckets.
        let svg = latency_histogram(&[100, 120, 200, 1500], "t & <x>");
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(count(&svg, "class=\"bar\""), 5);
        assert!(svg.contains("t &amp; &lt;x&gt;"));
        assert!(svg.contains("<title>64ns: 2</title>"));
    }

    #[test]
    fn memory_plot_has_two_lines() {
        let samples = [
            MemorySample {
                t: 0.0,
                live: 1 << 20,
                rss: 4 << 20,
            },
            MemorySample {
                t: 1.0,
                live: 2 << 20,
                rss: 5 << 20,
            },
        ];
        let svg = memory_plot(&samples, "memory");
        assert_eq!(count(&svg, "class=\"line\""), 2);
        assert!(svg.contains("5 MiB"));
    }
}
