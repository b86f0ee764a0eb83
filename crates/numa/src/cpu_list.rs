//! Linux CPU-list syntax (`0-3,8,10-11`), as found in sysfs files such as `node0/cpulist`.

/// Parses a Linux CPU list (`"0-3,8"` → `[0, 1, 2, 3, 8]`), sorted and without duplicates.
/// An empty or all-whitespace string is the empty list. Returns `None` on malformed input.
///
/// ```
/// use nimsync_numa::parse_cpu_list;
/// assert_eq!(parse_cpu_list("0-3,8\n"), Some(vec![0, 1, 2, 3, 8]));
/// assert_eq!(parse_cpu_list(""), Some(vec![]));
/// assert_eq!(parse_cpu_list("3-1"), None);
/// ```
pub fn parse_cpu_list(text: &str) -> Option<Vec<usize>> {
    let text = text.trim();
    let mut cpus = Vec::new();
    if text.is_empty() {
        return Some(cpus);
    }
    for part in text.split(',') {
        let part = part.trim();
        match part.split_once('-') {
            Some((lo, hi)) => {
                let lo: usize = lo.trim().parse().ok()?;
                let hi: usize = hi.trim().parse().ok()?;
                if lo > hi {
                    return None;
                }
                cpus.extend(lo..=hi);
            }
            None => cpus.push(part.parse().ok()?),
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    Some(cpus)
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
    fn sorts_and_dedups() {
        assert_eq!(parse_cpu_list("4,0-1,1"), Some(vec![0, 1, 4]));
    }
}
