//! Timing harness: workload registry types, interleaved repetitions, medians and the JSON report.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::progress::Progress;

/// Unit of million messages per second (higher is better).
pub const MMSG_PER_S: &str = "Mmsg/s";
/// Unit of nanoseconds per operation (lower is better).
pub const NS_PER_OP: &str = "ns/op";

/// Run parameters handed to every contender.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// `--quick`: half the messages (and time budget) per repetition.
    pub quick: bool,
    /// This call is the untimed warm-up: even fewer messages.
    pub warmup: bool,
}

impl Params {
    /// Scales a full-size message count for `--quick` (÷2) and warm-up (÷10).
    pub fn count(&self, full: u64) -> u64 {
        let mut n = if self.quick { full / 2 } else { full };
        if self.warmup {
            n /= 10;
        }
        n.max(1_000)
    }

    /// Scales a full-size time budget the same way as [`Params::count`].
    pub fn budget(&self, full: Duration) -> Duration {
        let mut d = if self.quick { full / 2 } else { full };
        if self.warmup {
            d /= 10;
        }
        d
    }
}

/// One measured implementation of a workload.
pub struct Contender {
    /// Crate name ("nimsync", "rtrb", "crossbeam-channel", "std", ...).
    pub name: &'static str,
    /// Runs one repetition and returns the measured value in the workload's unit.
    pub run: fn(&Params) -> f64,
}

/// A benchmark workload with the contenders measured side by side.
pub struct Workload {
    /// Group, e.g. "channels".
    pub group: &'static str,
    /// Name inside the group, e.g. "spsc_u64_cap1024".
    pub name: &'static str,
    /// [`MMSG_PER_S`] or [`NS_PER_OP`].
    pub unit: &'static str,
    /// Whether a larger value is better (throughput) or worse (latency).
    pub higher_is_better: bool,
    /// One line on how it is measured.
    pub note: &'static str,
    /// Implementations compared.
    pub contenders: Vec<Contender>,
}

impl Workload {
    /// "group/name", the string filters match against.
    pub fn id(&self) -> String {
        format!("{}/{}", self.group, self.name)
    }

    /// Whether any filter is a substring of the id (no filter selects everything).
    pub fn selected(&self, filters: &[String]) -> bool {
        let id = self.id();
        filters.is_empty() || filters.iter().any(|f| id.contains(f.as_str()))
    }
}

/// Measured samples of one contender.
#[derive(Serialize, Debug)]
pub struct ContenderResult {
    /// Contender name.
    pub name: String,
    /// One value per repetition, in run order (fewer if it failed).
    pub samples: Vec<f64>,
    /// Median of `samples` (`null` in JSON when there is none).
    pub median: Option<f64>,
    /// Why the contender stopped early: the message of the panic it raised (a lost message,
    /// a closed channel, ...). Its remaining repetitions were skipped.
    pub error: Option<String>,
}

/// Results of one workload.
#[derive(Serialize, Debug)]
pub struct WorkloadResult {
    /// Workload group.
    pub group: String,
    /// Workload name.
    pub workload: String,
    /// Unit of every value.
    pub unit: String,
    /// Whether larger values are better.
    pub higher_is_better: bool,
    /// How it is measured.
    pub note: String,
    /// One entry per contender, in registry order.
    pub contenders: Vec<ContenderResult>,
}

/// The whole run, as written to `--json`.
#[derive(Serialize, Debug)]
pub struct Report {
    /// Whether `--quick` was given.
    pub quick: bool,
    /// Repetitions per contender.
    pub reps: usize,
    /// Filters given on the command line.
    pub filters: Vec<String>,
    /// Workloads in run order.
    pub workloads: Vec<WorkloadResult>,
}

/// Median of a sample set (mean of the middle two for an even count; NaN when empty).
pub fn median(samples: &[f64]) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// Throughput in million messages per second.
pub fn mmsg_per_s(messages: u64, elapsed: Duration) -> f64 {
    messages as f64 / elapsed.as_secs_f64() / 1e6
}

/// Nanoseconds per operation.
pub fn ns_per_op(ops: u64, elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1e9 / ops as f64
}

/// Where a workload stands in the whole run, for the progress display.
pub struct Position<'a> {
    /// Index of the workload in the run (0-based).
    pub index: usize,
    /// Workloads in the run.
    pub total: usize,
    /// The run's progress bar and log.
    pub progress: &'a Progress,
}

/// Runs one workload: one warm-up call per contender, then `reps` rounds in which every
/// contender runs once (round-robin, the starting contender rotating each round, so slow drift
/// of the machine spreads over all contenders).
pub fn run_workload(w: &Workload, quick: bool, reps: usize, at: &Position<'_>) -> WorkloadResult {
    let t0 = Instant::now();
    let progress = at.progress;
    let id = w.id();
    progress.log(&format!(
        "[{}/{}] {} ({}) warm-up",
        at.index + 1,
        at.total,
        id,
        w.unit
    ));
    let n = w.contenders.len();
    let mut errors: Vec<Option<String>> = vec![None; n];
    let warm = Params {
        quick,
        warmup: true,
    };
    for (c, e) in w.contenders.iter().zip(&mut errors) {
        progress.running(&id, c.name, "warm-up");
        if let Err(msg) = guarded(c, &warm) {
            progress.log(&format!("    {} FAILED: {msg}", c.name));
            *e = Some(msg);
        }
        progress.step();
    }
    let params = Params {
        quick,
        warmup: false,
    };
    let mut samples = vec![Vec::with_capacity(reps); n];
    for rep in 0..reps {
        for k in 0..n {
            let ci = (k + rep) % n;
            if errors[ci].is_none() {
                let c = &w.contenders[ci];
                progress.running(&id, c.name, &format!("rep {}/{reps}", rep + 1));
                match guarded(c, &params) {
                    Ok(v) => samples[ci].push(v),
                    Err(msg) => {
                        progress.log(&format!("    {} FAILED: {msg}", c.name));
                        errors[ci] = Some(msg);
                    }
                }
            }
            progress.step();
        }
        let line: Vec<String> = w
            .contenders
            .iter()
            .zip(&samples)
            .map(|(c, s)| match s.get(rep) {
                Some(v) => format!("{} {v:.1}", c.name),
                None => format!("{} FAILED", c.name),
            })
            .collect();
        progress.log(&format!(
            "    rep {}/{}: {}",
            rep + 1,
            reps,
            line.join(", ")
        ));
    }
    let contenders = w
        .contenders
        .iter()
        .zip(samples)
        .zip(errors)
        .map(|((c, s), error)| ContenderResult {
            name: c.name.to_string(),
            median: (!s.is_empty()).then(|| median(&s)),
            samples: s,
            error,
        })
        .collect();
    progress.log(&format!("    done in {:.1} s", t0.elapsed().as_secs_f64()));
    WorkloadResult {
        group: w.group.to_string(),
        workload: w.name.to_string(),
        unit: w.unit.to_string(),
        higher_is_better: w.higher_is_better,
        note: w.note.to_string(),
        contenders,
    }
}

/// Longest one repetition may take before its contender is declared hung.
pub const HANG_LIMIT: Duration = Duration::from_secs(60);

/// Runs one repetition on its own thread, turning a panic (a failed correctness check, a
/// broken channel) or a hang (no result within [`HANG_LIMIT`], e.g. a lost wake-up) into an
/// error message so the other contenders still get measured. A hung repetition's threads are
/// abandoned (they are usually parked and cost nothing).
fn guarded(c: &Contender, p: &Params) -> Result<f64, String> {
    guarded_with_limit(c, p, HANG_LIMIT)
}

fn guarded_with_limit(c: &Contender, p: &Params, limit: Duration) -> Result<f64, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (run, params) = (c.run, *p);
    let spawned = std::thread::Builder::new()
        .name(format!("bench {}", c.name))
        .spawn(move || {
            let result = std::panic::catch_unwind(|| run(&params)).map_err(|payload| {
                payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into())
            });
            let _ = tx.send(result);
        });
    match spawned {
        Err(e) => Err(format!("cannot spawn the benchmark thread: {e}")),
        Ok(handle) => match rx.recv_timeout(limit) {
            Ok(r) => {
                let _ = handle.join();
                r
            }
            Err(_) => Err(format!(
                "hung: no result after {} s (threads abandoned)",
                limit.as_secs_f64()
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_even_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn scaling() {
        let full = Params {
            quick: false,
            warmup: false,
        };
        let quick = Params {
            quick: true,
            warmup: false,
        };
        let warm = Params {
            quick: true,
            warmup: true,
        };
        assert_eq!(full.count(10_000_000), 10_000_000);
        assert_eq!(quick.count(10_000_000), 5_000_000);
        assert_eq!(warm.count(10_000_000), 500_000);
        assert_eq!(warm.count(10), 1_000);
    }

    #[test]
    fn a_panicking_contender_is_recorded_not_fatal() {
        fn ok(_: &Params) -> f64 {
            1.0
        }
        fn broken(_: &Params) -> f64 {
            panic!("messages lost")
        }
        let w = Workload {
            group: "g",
            name: "w",
            unit: MMSG_PER_S,
            higher_is_better: true,
            note: "",
            contenders: vec![
                Contender { name: "a", run: ok },
                Contender {
                    name: "b",
                    run: broken,
                },
            ],
        };
        let progress = Progress::hidden();
        let at = Position {
            index: 0,
            total: 1,
            progress: &progress,
        };
        let r = run_workload(&w, true, 3, &at);
        // Every run is a step, the failed contender's skipped repetitions included.
        assert_eq!(
            progress.position(),
            crate::progress::total_runs([w.contenders.len()], 3)
        );
        assert_eq!(progress.position(), 8);
        assert_eq!(r.contenders[0].samples, [1.0, 1.0, 1.0]);
        assert_eq!(r.contenders[0].median, Some(1.0));
        assert!(r.contenders[0].error.is_none());
        assert!(r.contenders[1].samples.is_empty());
        assert_eq!(r.contenders[1].median, None);
        assert_eq!(r.contenders[1].error.as_deref(), Some("messages lost"));
    }

    #[test]
    fn a_hung_contender_is_abandoned() {
        fn hangs(_: &Params) -> f64 {
            loop {
                std::thread::park();
            }
        }
        let c = Contender {
            name: "h",
            run: hangs,
        };
        let p = Params {
            quick: true,
            warmup: false,
        };
        let r = guarded_with_limit(&c, &p, Duration::from_millis(50));
        assert!(r.unwrap_err().starts_with("hung"));
    }

    #[test]
    fn filters_match_substrings() {
        let w = Workload {
            group: "channels",
            name: "spsc_u64_cap1024",
            unit: MMSG_PER_S,
            higher_is_better: true,
            note: "",
            contenders: vec![],
        };
        assert!(w.selected(&[]));
        assert!(w.selected(&["channels".into()]));
        assert!(w.selected(&["nope".into(), "spsc".into()]));
        assert!(!w.selected(&["mpmc".into()]));
    }
}
