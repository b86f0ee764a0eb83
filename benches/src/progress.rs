//! Progress on stderr while the benchmarks run: on a terminal, a bar (elapsed time, runs done
//! of all, ETA, the workload and contender running now) kept below the log lines; on a pipe
//! or in CI, the log lines alone (indicatif hides the bar when stderr is not a terminal).
//!
//! indicatif rather than a hand-rolled `\r` line: it redraws at a bounded rate, keeps log lines
//! above the bar, and hides itself off a terminal, which are the parts a hand-rolled bar gets
//! wrong.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The run's progress: one step per contender run (warm-up included).
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar over `total_runs` contender runs, drawn on stderr when it is a terminal.
    pub fn new(total_runs: u64) -> Progress {
        let bar =
            ProgressBar::with_draw_target(Some(total_runs), ProgressDrawTarget::stderr_with_hz(4));
        let style = ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} runs, ETA {eta}  {wide_msg}",
        )
        .map_or_else(
            |_| ProgressStyle::default_bar(),
            |s| s.progress_chars("=> "),
        );
        bar.set_style(style);
        Progress { bar }
    }

    /// No bar at all, only the log lines (tests).
    #[cfg(test)]
    pub fn hidden() -> Progress {
        Progress {
            bar: ProgressBar::hidden(),
        }
    }

    /// Names what runs now.
    pub fn running(&self, workload: &str, contender: &str, what: &str) {
        self.bar
            .set_message(format!("{workload}: {contender} ({what})"));
    }

    /// One contender run finished (or was skipped because the contender failed before).
    pub fn step(&self) {
        self.bar.inc(1);
    }

    /// Prints a log line above the bar (and alone when there is no bar).
    pub fn log(&self, line: &str) {
        self.bar.suspend(|| eprintln!("{line}"));
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// Steps done so far.
    #[cfg(test)]
    pub fn position(&self) -> u64 {
        self.bar.position()
    }
}

/// The number of contender runs of a whole run: one warm-up plus `reps` per contender.
pub fn total_runs(contenders_per_workload: impl IntoIterator<Item = usize>, reps: usize) -> u64 {
    contenders_per_workload
        .into_iter()
        .map(|n| (n * (reps + 1)) as u64)
        .sum()
}
