//! Linux CPU-list syntax (`0-3,8,10-11`), as found in sysfs files such as `node0/cpulist`.

/// The largest CPU number [`parse_cpu_list`] accepts: 2^20 − 1, far above any kernel's
/// `NR_CPUS` (8192 on x86-64), so a list is at most 8 MiB of output however it is written.
const MAX_CPU: usize = (1 << 20) - 1;

/// Parses a Linux CPU list (`"0-3,8"` → `[0, 1, 2, 3, 8]`), sorted and without duplicates.
/// An empty or all-whitespace string is the empty list. Returns `None` on malformed input,
/// including a CPU number above 2^20 − 1 (no kernel has that many CPUs).
///
/// ```
/// use nimsync_numa::parse_cpu_list;
/// assert_eq!(parse_cpu_list("0-3,8\n"), Some(vec![0, 1, 2, 3, 8]));
/// assert_eq!(parse_cpu_list(""), Some(vec![]));
/// assert_eq!(parse_cpu_list("3-1"), None);
/// assert_eq!(parse_cpu_list("0-18446744073709551615"), None);
/// ```
pub fn parse_cpu_list(text: &str) -> Option<Vec<usize>> {
    let text = text.trim();
    if text.is_empty() {
        return Some(Vec::new());
    }
    let cpu = |s: &str| s.trim().parse::<usize>().ok().filter(|&c| c <= MAX_CPU);
    let mut ranges = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let (lo, hi) = match part.split_once('-') {
            Some((lo, hi)) => (cpu(lo)?, cpu(hi)?),
            None => (cpu(part)?, cpu(part)?),
        };
        if lo > hi {
            return None;
        }
        ranges.push((lo, hi));
    }
    // One bit per CPU up to the highest: overlapping ranges cost nothing extra.
    let top = ranges.iter().map(|&(_, hi)| hi).max().unwrap_or(0);
    let mut set = vec![false; top + 1];
    for (lo, hi) in ranges {
        set[lo..=hi].fill(true);
    }
    Some((0..=top).filter(|&c| set[c]).collect())
}

/// Formats CPUs as a Linux CPU list (`[0, 1, 2, 5]` → `"0-2,5"`); the input must be sorted.
///
/// ```
/// use nimsync_numa::format_cpu_list;
/// assert_eq!(format_cpu_list(&[0, 1, 2, 5]), "0-2,5");
/// assert_eq!(format_cpu_list(&[]), "");
/// ```
pub fn format_cpu_list(cpus: &[usize]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < cpus.len() {
        let start = cpus[i];
        let mut end = start;
        while i + 1 < cpus.len() && cpus[i + 1] == end + 1 {
            i += 1;
            end = cpus[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}-{end}"));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for text in ["0", "0-7", "0-1,4-5", "1,3,5", "0-2,4,6-9"] {
            let cpus = parse_cpu_list(text).unwrap();
            assert_eq!(format_cpu_list(&cpus), text);
        }
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(parse_cpu_list("a"), None);
        assert_eq!(parse_cpu_list("1-"), None);
        assert_eq!(parse_cpu_list("1,,2"), None);
    }

    #[test]
    fn rejects_cpu_numbers_beyond_the_bound() {
        assert_eq!(parse_cpu_list("0-18446744073709551615"), None);
        assert_eq!(parse_cpu_list("18446744073709551615"), None);
        assert_eq!(parse_cpu_list("1048576"), None);
        assert_eq!(parse_cpu_list("1048575").map(|v| v.len()), Some(1));
        // Repeated huge ranges: bounded by the highest CPU, not by the text.
        let many = vec!["0-1048575"; 64].join(",");
        assert_eq!(parse_cpu_list(&many).map(|v| v.len()), Some(1 << 20));
    }

    #[test]
    fn sorts_and_dedups() {
        assert_eq!(parse_cpu_list("4,0-1,1"), Some(vec![0, 1, 4]));
    }
}
