//! Run metadata for the report: date, machine (CPU model, cores, memory, OS), rustc, git
//! revision, and the crate versions of nimsync and every peer (read from Cargo.lock).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::report::RawReport;

/// Everything the report says about where and how it was measured.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Meta {
    /// UTC date and time, "YYYY-MM-DD HH:MM UTC".
    pub date: String,
    /// CPU model name from /proc/cpuinfo.
    pub cpu: String,
    /// Logical CPUs available to the process.
    pub cpus: usize,
    /// Physical cores (distinct physical id / core id pairs in /proc/cpuinfo), when known.
    pub cores: Option<usize>,
    /// Total memory, e.g. "23.5 GiB" (MemTotal in /proc/meminfo), or "unknown".
    pub memory: String,
    /// Operating system and kernel, e.g. "Debian GNU/Linux 12 (bookworm), Linux 6.1.0".
    pub os: String,
    /// `rustc --version`.
    pub rustc: String,
    /// 1/5/15-minute load averages before the run (from /proc/loadavg).
    pub load_before: String,
    /// 1/5/15-minute load averages after the run.
    pub load_after: String,
    /// `git describe --always --dirty`, or "unknown".
    pub git: String,
    /// `--quick` run.
    pub quick: bool,
    /// Repetitions per contender.
    pub reps: usize,
    /// Workload filters.
    pub filters: Vec<String>,
    /// Contender name -> version ("std" -> the rustc version, "nimsync..." -> the workspace
    /// crates' version).
    pub versions: BTreeMap<String, String>,
    /// Every nimsync crate of the workspace (from Cargo.lock) -> its version.
    pub nimsync_crates: BTreeMap<String, String>,
}

impl Meta {
    /// Collects the metadata for a finished run.
    pub fn collect(root: &Path, raw: &RawReport, load_before: String) -> Meta {
        let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
        let packages = lock_versions(&lock);
        let rustc = command_line("rustc", &["--version"]).unwrap_or_else(|| "unknown".into());
        let mut versions = BTreeMap::new();
        for w in &raw.workloads {
            for c in &w.contenders {
                let v = contender_version(&c.name, &packages, &rustc);
                versions.insert(c.name.clone(), v);
            }
        }
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        Meta {
            date: utc_date(SystemTime::now()),
            cpu: cpu_model(&cpuinfo).unwrap_or_else(|| "unknown CPU".into()),
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cores: physical_cores(&cpuinfo),
            memory: mem_total(&meminfo).unwrap_or_else(|| "unknown".into()),
            os: os_name(&os_release, kernel.trim()),
            nimsync_crates: nimsync_crates(&packages),
            git: command_line(
                "git",
                &[
                    "-C",
                    &root.to_string_lossy(),
                    "describe",
                    "--always",
                    "--dirty",
                ],
            )
            .unwrap_or_else(|| "unknown".into()),
            rustc,
            load_before,
            load_after: load_average(),
            quick: raw.quick,
            reps: raw.reps,
            filters: raw.filters.clone(),
            versions,
        }
    }

    /// The `cargo xtask bench` command line that reproduces this run: `--quick` and `--reps N`
    /// as given (`--reps` only when it is not the mode's default: 3 with `--quick`, else 5),
    /// then the filters.
    pub fn command(&self) -> String {
        let mut command = "cargo xtask bench".to_string();
        if self.quick {
            command.push_str(" --quick");
        }
        if self.reps != if self.quick { 3 } else { 5 } {
            command.push_str(&format!(" --reps {}", self.reps));
        }
        for f in &self.filters {
            command.push(' ');
            command.push_str(f);
        }
        command
    }

    /// One line describing the machine, e.g. "AMD EPYC, 2 CPUs (2 cores), 23.5 GiB RAM".
    pub fn machine(&self) -> String {
        let cores = self
            .cores
            .map_or(String::new(), |c| format!(" ({c} cores)"));
        format!(
            "{}, {} CPUs{cores}, {} RAM",
            self.cpu, self.cpus, self.memory
        )
    }
}

/// The 1/5/15-minute load averages, "?" where /proc/loadavg is missing.
pub fn load_average() -> String {
    let s = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let fields: Vec<&str> = s.split_whitespace().take(3).collect();
    if fields.len() == 3 {
        fields.join(" ")
    } else {
        "?".into()
    }
}

/// First line of a command's stdout, if it ran and succeeded.
fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8_lossy(&out.stdout);
    s.lines()
        .next()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
}

/// Version string of a contender: the toolchain for "std", the workspace crates' version for
/// "nimsync" and its variants ("nimsync-no-hooks"), else the Cargo.lock package named by the
/// contender's first word ("tokio mpsc" -> tokio).
fn contender_version(name: &str, packages: &BTreeMap<String, Vec<String>>, rustc: &str) -> String {
    if name == "std" {
        return rustc.to_string();
    }
    if name.starts_with("nimsync") {
        let mut versions: Vec<String> = nimsync_crates(packages).into_values().collect();
        versions.sort();
        versions.dedup();
        return if versions.is_empty() {
            "?".into()
        } else {
            versions.join(", ")
        };
    }
    let package = name.split([' ', '(']).next().unwrap_or(name);
    match packages.get(package) {
        Some(vs) => vs.join(", "),
        None => "?".into(),
    }
}

/// The workspace's nimsync crates (every `nimsync*` package of Cargo.lock except the bench
/// harness) and their versions.
fn nimsync_crates(packages: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, String> {
    packages
        .iter()
        .filter(|(name, _)| name.starts_with("nimsync") && name.as_str() != "nimsync-benches")
        .map(|(name, vs)| (name.clone(), vs.join(", ")))
        .collect()
}

/// Physical cores: distinct (physical id, core id) pairs, or the "cpu cores" field when the
/// ids are absent; `None` when /proc/cpuinfo says neither.
pub fn physical_cores(cpuinfo: &str) -> Option<usize> {
    let mut pairs = std::collections::BTreeSet::new();
    let mut physical = None;
    let mut cpu_cores = None;
    for line in cpuinfo.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k.trim() {
            "physical id" => physical = Some(v.to_string()),
            "core id" => {
                pairs.insert((physical.clone(), v.to_string()));
            }
            "cpu cores" => cpu_cores = v.parse().ok(),
            _ => {}
        }
    }
    if pairs.is_empty() {
        cpu_cores
    } else {
        Some(pairs.len())
    }
}

/// MemTotal from /proc/meminfo text, as "N.N GiB".
pub fn mem_total(meminfo: &str) -> Option<String> {
    let kib: f64 = meminfo.lines().find_map(|l| {
        let rest = l.strip_prefix("MemTotal:")?;
        rest.trim().strip_suffix("kB")?.trim().parse().ok()
    })?;
    Some(format!("{:.1} GiB", kib / (1024.0 * 1024.0)))
}

/// `"PRETTY_NAME, Linux KERNEL"` from /etc/os-release text and the kernel release.
pub fn os_name(os_release: &str, kernel: &str) -> String {
    let pretty = os_release.lines().find_map(|l| {
        let v = l.strip_prefix("PRETTY_NAME=")?;
        Some(v.trim().trim_matches('"').to_string())
    });
    let kernel = (!kernel.is_empty()).then(|| format!("Linux {kernel}"));
    match (pretty, kernel) {
        (Some(p), Some(k)) => format!("{p}, {k}"),
        (Some(p), None) => p,
        (None, Some(k)) => k,
        (None, None) => std::env::consts::OS.to_string(),
    }
}

/// Package name -> versions, from Cargo.lock text.
pub fn lock_versions(lock: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut name: Option<String> = None;
    for line in lock.lines() {
        let line = line.trim();
        if line == "[[package]]" {
            name = None;
        } else if let Some(v) = quoted_value(line, "name") {
            name = Some(v);
        } else if let Some(v) = quoted_value(line, "version")
            && let Some(n) = name.take()
        {
            out.entry(n).or_default().push(v);
        }
    }
    out
}

/// The value of `key = "value"`.
fn quoted_value(line: &str, key: &str) -> Option<String> {
    let rest = line
        .strip_prefix(key)?
        .trim_start()
        .strip_prefix('=')?
        .trim();
    Some(rest.strip_prefix('"')?.strip_suffix('"')?.to_string())
}

/// The first "model name" in /proc/cpuinfo text.
pub fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == "model name").then(|| v.trim().to_string())
    })
}

/// "YYYY-MM-DD HH:MM UTC" for a point in time.
pub fn utc_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// Days since 1970-01-01 -> (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates() {
        assert_eq!(utc_date(UNIX_EPOCH), "1970-01-01 00:00 UTC");
        // 2000-02-29 12:34 UTC (a leap day)
        let t = UNIX_EPOCH + Duration::from_secs(951_827_640);
        assert_eq!(utc_date(t), "2000-02-29 12:34 UTC");
        // 2024-12-31 23:59 UTC
        let t = UNIX_EPOCH + Duration::from_secs(1_735_689_540);
        assert_eq!(utc_date(t), "2024-12-31 23:59 UTC");
    }

    #[test]
    fn lock_file() {
        let lock = r#"
version = 4

[[package]]
name = "rtrb"
version = "0.3.6"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "syn"
version = "1.0.109"

[[package]]
name = "syn"
version = "2.0.100"
dependencies = [
 "quote",
]
"#;
        let v = lock_versions(lock);
        assert_eq!(v["rtrb"], ["0.3.6"]);
        assert_eq!(v["syn"], ["1.0.109", "2.0.100"]);
        assert_eq!(v.len(), 2);
        assert_eq!(contender_version("rtrb", &v, "rustc 1.95.0"), "0.3.6");
        assert_eq!(contender_version("std", &v, "rustc 1.95.0"), "rustc 1.95.0");
        assert_eq!(contender_version("flume", &v, "rustc 1.95.0"), "?");
    }

    #[test]
    fn nimsync_and_variant_versions() {
        let lock = "[[package]]\nname = \"nimsync-core-channels\"\nversion = \"0.1.0\"\n\
                    [[package]]\nname = \"nimsync-scheduler\"\nversion = \"0.1.0\"\n\
                    [[package]]\nname = \"nimsync-benches\"\nversion = \"9.9.9\"\n\
                    [[package]]\nname = \"tokio\"\nversion = \"1.48.0\"\n";
        let v = lock_versions(lock);
        assert_eq!(contender_version("nimsync", &v, "r"), "0.1.0");
        assert_eq!(contender_version("nimsync-no-hooks", &v, "r"), "0.1.0");
        assert_eq!(contender_version("tokio mpsc", &v, "r"), "1.48.0");
        let crates = nimsync_crates(&v);
        assert_eq!(
            crates.keys().collect::<Vec<_>>(),
            ["nimsync-core-channels", "nimsync-scheduler"]
        );
    }

    #[test]
    fn machine_description() {
        let two_cores = "processor\t: 0\nphysical id\t: 0\ncore id\t: 0\n\n\
                         processor\t: 1\nphysical id\t: 0\ncore id\t: 1\n\n\
                         processor\t: 2\nphysical id\t: 0\ncore id\t: 0\n";
        assert_eq!(physical_cores(two_cores), Some(2));
        assert_eq!(physical_cores("cpu cores\t: 4\n"), Some(4));
        assert_eq!(physical_cores("nothing"), None);
        assert_eq!(
            mem_total("MemTotal:       24683656 kB\nMemFree: 1 kB\n").as_deref(),
            Some("23.5 GiB")
        );
        assert_eq!(mem_total("MemFree: 1 kB"), None);
        let os = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
        assert_eq!(
            os_name(os, "6.1.0"),
            "Debian GNU/Linux 12 (bookworm), Linux 6.1.0"
        );
        assert_eq!(os_name("", "6.1.0"), "Linux 6.1.0");
    }

    #[test]
    fn cpuinfo() {
        let s = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(cpu_model(s).as_deref(), Some("AMD EPYC 7B13"));
        assert_eq!(cpu_model("nothing"), None);
    }
}
