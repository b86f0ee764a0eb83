//! What a scenario returns: named checks with a verdict each, and measured figures.

use std::time::Duration;

use serde::Serialize;

/// Verdict of one check or scenario. Only `Fail` makes the suite exit non-zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The property holds.
    Pass,
    /// Measured outside its goal on a machine too noisy to judge (reported, not failed).
    Warn,
    /// The property is violated.
    Fail,
}

impl Verdict {
    /// Upper-case label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        }
    }
}

/// One property checked by a scenario.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// What is checked, e.g. "every message received exactly once".
    pub what: String,
    /// Verdict.
    pub verdict: Verdict,
    /// The observed numbers behind the verdict.
    pub detail: String,
}

/// The result of one scenario run.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// Scenario name ("swarm", "chaos", ...).
    pub name: &'static str,
    /// Checks in the order they were made.
    pub checks: Vec<Check>,
    /// Measured figures as (name, value) pairs, e.g. ("messages", "1000000").
    pub figures: Vec<(String, String)>,
    /// Wall time.
    #[serde(serialize_with = "as_secs")]
    pub elapsed: Duration,
}

fn as_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl Outcome {
    /// An outcome with no checks yet.
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            checks: Vec::new(),
            figures: Vec::new(),
            elapsed: Duration::ZERO,
        }
    }

    /// Records a pass/fail check.
    pub fn check(&mut self, what: impl Into<String>, ok: bool, detail: impl Into<String>) {
        let verdict = if ok { Verdict::Pass } else { Verdict::Fail };
        self.check_verdict(what, verdict, detail);
    }

    /// Records a check with an explicit verdict.
    pub fn check_verdict(
        &mut self,
        what: impl Into<String>,
        verdict: Verdict,
        detail: impl Into<String>,
    ) {
        self.checks.push(Check {
            what: what.into(),
            verdict,
            detail: detail.into(),
        });
    }

    /// Records a measured figure.
    pub fn figure(&mut self, name: impl Into<String>, value: impl ToString) {
        self.figures.push((name.into(), value.to_string()));
    }

    /// The worst verdict of all checks (`Fail` if there are none: a scenario must check).
    pub fn verdict(&self) -> Verdict {
        self.checks
            .iter()
            .map(|c| c.verdict)
            .max()
            .unwrap_or(Verdict::Fail)
    }
}
