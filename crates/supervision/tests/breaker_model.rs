//! The circuit breaker against a reference model, on a hand-moved clock (proptest).
//!
//! The model keeps the whole history of outcomes since the breaker last closed and
//! recomputes every decision from it, instead of counters: a different formulation of the
//! same rules, so a slip in the breaker's bookkeeping shows up as a disagreement.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nimsync_supervision::{BreakerConfig, BreakerEvent, BreakerState, CircuitBreaker, TripRule};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Advance(u64),
    /// Acquire, then report success (true) or failure (false) at once.
    Call(bool),
    /// Acquire and hold the permit (a slow call), reporting later.
    Begin,
    /// Report the oldest held permit.
    End(bool),
    /// Drop the oldest held permit without an outcome.
    Abandon,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0u64..1_500).prop_map(Op::Advance),
        6 => any::<bool>().prop_map(Op::Call),
        1 => Just(Op::Begin),
        1 => any::<bool>().prop_map(Op::End),
        1 => Just(Op::Abandon),
    ]
}

fn rule() -> impl Strategy<Value = TripRule> {
    prop_oneof![
        (1u32..5).prop_map(TripRule::ConsecutiveFailures),
        (1u32..=10, 1u32..=10, 0.1f64..=1.0).prop_map(|(w, m, t)| TripRule::FailureRate {
            threshold: t,
            window: w.max(m),
            min_calls: m.min(w.max(m)),
        }),
    ]
}

/// The reference: state + the history since the last state change.
struct Model {
    rule: TripRule,
    reset: Duration,
    trials: u32,
    state: BreakerState,
    /// Identifies the state period a permit was granted in.
    period: u64,
    since: Instant,
    outcomes: Vec<bool>,
    trials_granted: u32,
}

impl Model {
    fn enter(&mut self, s: BreakerState, now: Instant) {
        self.state = s;
        self.period += 1;
        self.since = now;
        self.outcomes.clear();
        self.trials_granted = 0;
    }

    fn tick(&mut self, now: Instant) {
        if self.state == BreakerState::Open && now.duration_since(self.since) >= self.reset {
            self.enter(BreakerState::HalfOpen, now);
        }
    }

    fn acquire(&mut self, now: Instant) -> Option<u64> {
        self.tick(now);
        match self.state {
            BreakerState::Closed => Some(self.period),
            BreakerState::Open => None,
            BreakerState::HalfOpen => (self.trials_granted < self.trials).then(|| {
                self.trials_granted += 1;
                self.period
            }),
        }
    }

    fn tripped(&self) -> bool {
        match self.rule {
            TripRule::ConsecutiveFailures(n) => {
                let tail = self.outcomes.iter().rev().take_while(|ok| !**ok).count();
                tail >= n as usize
            }
            TripRule::FailureRate {
                threshold,
                window,
                min_calls,
            } => {
                let last: Vec<bool> = self
                    .outcomes
                    .iter()
                    .rev()
                    .take(window as usize)
                    .copied()
                    .collect();
                let fails = last.iter().filter(|ok| !**ok).count();
                last.len() >= min_calls as usize && fails as f64 >= threshold * last.len() as f64
            }
        }
    }

    fn report(&mut self, period: u64, ok: Option<bool>, now: Instant) {
        if period != self.period {
            return;
        }
        match (self.state, ok) {
            (BreakerState::Closed, Some(ok)) => {
                self.outcomes.push(ok);
                if self.tripped() {
                    self.enter(BreakerState::Open, now);
                }
            }
            (BreakerState::HalfOpen, Some(false)) => self.enter(BreakerState::Open, now),
            (BreakerState::HalfOpen, Some(true)) => {
                self.outcomes.push(true);
                if self.outcomes.len() >= self.trials as usize {
                    self.enter(BreakerState::Closed, now);
                }
            }
            (BreakerState::HalfOpen, None) => self.trials_granted -= 1,
            _ => {}
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn breaker_matches_the_model(
        trip in rule(),
        reset_ms in 1u64..2_000,
        trials in 1u32..4,
        ops in proptest::collection::vec(op(), 1..200),
    ) {
        let start = Instant::now();
        let clock = Arc::new(Mutex::new(start));
        let c = clock.clone();
        let reset = Duration::from_millis(reset_ms);
        let cfg = BreakerConfig::new(trip, reset).half_open_trials(trials);
        let changes = Arc::new(Mutex::new(0u32));
        let ch = changes.clone();
        let breaker = CircuitBreaker::with_clock(cfg, move || *c.lock().unwrap())
            .unwrap()
            .with_listener(move |e| {
                if matches!(e, BreakerEvent::StateChanged { .. }) {
                    *ch.lock().unwrap() += 1;
                }
            });
        let mut model = Model {
            rule: trip, reset, trials, state: BreakerState::Closed, period: 0, since: start,
            outcomes: Vec::new(), trials_granted: 0,
        };
        let mut held = std::collections::VecDeque::new();
        for op in ops {
            let now = *clock.lock().unwrap();
            match op {
                Op::Advance(ms) => *clock.lock().unwrap() += Duration::from_millis(ms),
                Op::Call(ok) => {
                    let expected = model.acquire(now);
                    let got = breaker.acquire();
                    prop_assert_eq!(got.is_ok(), expected.is_some());
                    if let (Ok(p), Some(period)) = (got, expected) {
                        if ok { p.success() } else { p.failure() }
                        model.report(period, Some(ok), now);
                    }
                }
                Op::Begin => {
                    let expected = model.acquire(now);
                    let got = breaker.acquire();
                    prop_assert_eq!(got.is_ok(), expected.is_some());
                    if let (Ok(p), Some(period)) = (got, expected) {
                        held.push_back((p, period));
                    }
                }
                Op::End(ok) => {
                    if let Some((p, period)) = held.pop_front() {
                        if ok { p.success() } else { p.failure() }
                        model.report(period, Some(ok), now);
                    }
                }
                Op::Abandon => {
                    if let Some((p, period)) = held.pop_front() {
                        drop(p);
                        model.report(period, None, now);
                    }
                }
            }
            let now = *clock.lock().unwrap();
            model.tick(now);
            prop_assert_eq!(breaker.state(), model.state);
            prop_assert_eq!(*changes.lock().unwrap() as u64, model.period);
        }
    }
}
