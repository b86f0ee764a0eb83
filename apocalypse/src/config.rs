//! Command line and the sizes each scenario runs at.

use std::path::PathBuf;
use std::time::Duration;

/// Usage text.
pub const USAGE: &str = "\
usage: nimsync-apocalypse [--quick] [--duration DUR] [--seed N] [--workers N]
                          [--pressure-mb N] [--out DIR] [--only NAME]...

Scenarios: swarm, chaos, pressure, websocket, leak, endurance (all by default, in that order).
  --quick          CI size: every scenario smaller, endurance 10 s; the whole run <= 60 s
  --duration DUR   endurance length: 90s, 15m, 24h (default 60s; 10s with --quick)
  --seed N         random seed for the chaos choices (default: from the clock; printed)
  --workers N      scheduler workers (default: available parallelism)
  --pressure-mb N  live allocations held by the pressure scenario (default 1024)
  --out DIR        report directory (default: target/apocalypse)
  --only NAME      run just this scenario (repeatable)";

/// Parsed options.
#[derive(Clone, Debug)]
pub struct Config {
    /// CI size.
    pub quick: bool,
    /// Endurance length.
    pub duration: Duration,
    /// Seed of every random choice.
    pub seed: u64,
    /// Scheduler workers.
    pub workers: usize,
    /// Live allocations of the pressure scenario, in MiB.
    pub pressure_mb: usize,
    /// Report directory.
    pub out: PathBuf,
    /// Scenarios to run (empty: all).
    pub only: Vec<String>,
}

/// Every scenario, in run order.
pub const SCENARIOS: [&str; 6] = [
    "swarm",
    "chaos",
    "pressure",
    "websocket",
    "leak",
    "endurance",
];

impl Config {
    /// Parses the arguments after the program name. `Err("")` means `--help`.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Config, String> {
        let mut quick = false;
        let mut duration = None;
        let mut seed = None;
        let mut workers = None;
        let mut pressure_mb = 1024;
        let mut out = PathBuf::from("target/apocalypse");
        let mut only = Vec::new();
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let mut value = |flag: &str| it.next().ok_or(format!("{flag} needs a value"));
            match arg.as_str() {
                "--quick" => quick = true,
                "--duration" => duration = Some(parse_duration(&value("--duration")?)?),
                "--seed" => seed = Some(parse_num(&value("--seed")?, "--seed")?),
                "--workers" => {
                    let n = parse_num(&value("--workers")?, "--workers")?;
                    if n == 0 {
                        return Err("--workers must be at least 1".into());
                    }
                    workers = Some(n as usize);
                }
                "--pressure-mb" => {
                    pressure_mb = parse_num(&value("--pressure-mb")?, "--pressure-mb")? as usize;
                }
                "--out" => out = PathBuf::from(value("--out")?),
                "--only" => {
                    let name = value("--only")?;
                    if !SCENARIOS.contains(&name.as_str()) {
                        return Err(format!(
                            "unknown scenario {name:?} (one of {})",
                            SCENARIOS.join(", ")
                        ));
                    }
                    only.push(name);
                }
                "-h" | "--help" => return Err(String::new()),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        let seed = seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
        Ok(Config {
            quick,
            duration: duration.unwrap_or(Duration::from_secs(if quick { 10 } else { 60 })),
            seed,
            workers: workers
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
            pressure_mb,
            out,
            only,
        })
    }

    /// Whether scenario `name` is selected.
    pub fn runs(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == name)
    }

    /// Tasks in the swarm (at least 10 000).
    pub fn swarm_tasks(&self) -> usize {
        if self.quick { 10_000 } else { 20_000 }
    }

    /// Messages each swarm producer sends.
    pub fn swarm_messages_per_producer(&self) -> usize {
        if self.quick { 40 } else { 200 }
    }

    /// Chaos tasks per round.
    pub fn chaos_tasks(&self) -> usize {
        if self.quick { 4_000 } else { 20_000 }
    }

    /// Supervised-actor chaos: (asking tasks, asks per task).
    pub fn actor_chaos_size(&self) -> (usize, usize) {
        if self.quick { (100, 50) } else { (500, 100) }
    }

    /// Messages per WebSocket flood (the 1 000 000; 200 000 with `--quick`).
    pub fn websocket_messages(&self) -> u64 {
        if self.quick { 200_000 } else { 1_000_000 }
    }

    /// Time limit of the whole WebSocket scenario (a flood still running then fails it).
    pub fn websocket_time_limit(&self) -> Duration {
        Duration::from_secs(if self.quick { 20 } else { 60 })
    }

    /// How long the pressure scenario probes latency.
    pub fn pressure_time(&self) -> Duration {
        Duration::from_secs(if self.quick { 4 } else { 15 })
    }
}

fn parse_num(s: &str, flag: &str) -> Result<u64, String> {
    s.parse()
        .map_err(|_| format!("{flag}: {s:?} is not a non-negative integer"))
}

/// Parses `90`, `90s`, `15m`, `2h`, `1d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("bad duration {s:?} (examples: 90s, 15m, 24h)"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("bad duration unit in {s:?} (use s, m, h or d)")),
    };
    if secs == 0 {
        return Err("--duration must be positive".into());
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, String> {
        Config::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("24h").unwrap(), Duration::from_secs(86_400));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5 weeks").is_err());
        assert!(parse_duration("h").is_err());
    }

    #[test]
    fn flags() {
        let c = parse(&[
            "--quick",
            "--seed",
            "7",
            "--only",
            "swarm",
            "--workers",
            "3",
        ])
        .unwrap();
        assert!(c.quick && c.seed == 7 && c.workers == 3);
        assert_eq!(c.duration, Duration::from_secs(10));
        assert!(c.runs("swarm") && !c.runs("chaos"));
        assert_eq!(
            parse(&["--duration", "24h"]).unwrap().duration.as_secs(),
            86_400
        );
        assert!(
            parse(&["--only", "nope"])
                .unwrap_err()
                .contains("unknown scenario")
        );
        assert!(parse(&["--workers", "0"]).is_err());
        assert!(parse(&["--seed"]).unwrap_err().contains("needs a value"));
        assert_eq!(parse(&["--help"]).unwrap_err(), "");
        assert!(parse(&["--bogus"]).is_err());
    }
}
