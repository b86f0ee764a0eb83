//! Typed sources for the upper layers: actors ([`Telemetry::watch_actor`]), supervisors
//! ([`Telemetry::watch_supervisor`]) and circuit breakers ([`Telemetry::watch_breaker`]).
//!
//! Names (label in braces):
//!
//! * actor `{actor}`: `nimsync_actor_alive` (0/1), `nimsync_actor_mailbox_depth`,
//!   `nimsync_actor_messages_handled_total`, `nimsync_actor_restarts_total`, the histogram
//!   `nimsync_actor_handle_seconds` (the timed handler runs, each counted at the top of its
//!   power-of-two bucket), and `nimsync_actor_handle_quantile_seconds{quantile="0.5"|"0.9"|"0.99"}`
//!   (upper bounds, within a factor of two);
//! * supervisor `{supervisor}`: `nimsync_supervisor_restarts_total`,
//!   `nimsync_supervisor_escalations_total`, `nimsync_supervisor_children_running`, and per
//!   child `{supervisor, child}` `nimsync_supervisor_child_restarts_total` and
//!   `nimsync_supervisor_child_running` (0/1);
//! * circuit breaker `{breaker}`: `nimsync_breaker_state` (0 closed, 1 open, 2 half-open),
//!   `nimsync_breaker_{successes,failures,rejected,opened,transitions}_total`.
//!
//! ```
//! use std::time::Duration;
//! use nimsync_supervision::{BreakerConfig, CircuitBreaker, TripRule};
//! let t = nimsync_telemetry::Telemetry::builder()
//!     .metrics(nimsync_telemetry::Metrics::prometheus().global(false)).build().unwrap();
//! let breaker = CircuitBreaker::new(BreakerConfig::new(
//!     TripRule::ConsecutiveFailures(1), Duration::from_secs(60))).unwrap();
//! t.watch_breaker("payments", breaker.clone());
//! breaker.acquire().unwrap().failure(); // opens it
//! t.publish_now();
//! let text = t.render_prometheus().unwrap();
//! assert!(text.contains(r#"nimsync_breaker_state{breaker="payments"} 1"#));
//! assert!(text.contains(r#"nimsync_breaker_failures_total{breaker="payments"} 1"#));
//! ```

use super::MetricSource;
use crate::telemetry::Telemetry;
use nimsync_actors::{Actor, ActorRef, HISTOGRAM_BUCKETS, WeakActorRef};
use nimsync_supervision::{BreakerState, CircuitBreaker, Supervisor, SupervisorEvent};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Publishes one actor's statistics.
struct ActorSource<A: Actor> {
    name: String,
    actor: WeakActorRef<A>,
    /// Bucket counts at the previous tick (the histogram gets the differences).
    last: Mutex<[u64; HISTOGRAM_BUCKETS]>,
}

impl<A: Actor> MetricSource for ActorSource<A> {
    fn publish(&self) {
        let label = || [("actor", self.name.clone())];
        let actor = self.actor.upgrade();
        let alive = actor.as_ref().is_some_and(ActorRef::is_alive);
        metrics::gauge!("nimsync_actor_alive", &label()).set(if alive { 1.0 } else { 0.0 });
        let Some(actor) = actor else {
            metrics::gauge!("nimsync_actor_mailbox_depth", &label()).set(0.0);
            return;
        };
        let s = actor.stats();
        metrics::gauge!("nimsync_actor_mailbox_depth", &label()).set(s.mailbox_depth as f64);
        metrics::counter!("nimsync_actor_messages_handled_total", &label())
            .absolute(s.messages_handled);
        metrics::counter!("nimsync_actor_restarts_total", &label()).absolute(s.restarts);
        let histogram = metrics::histogram!("nimsync_actor_handle_seconds", &label());
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        for (i, (&now, before)) in s
            .handle_time
            .buckets
            .iter()
            .zip(last.iter_mut())
            .enumerate()
        {
            let new = now.saturating_sub(*before);
            *before = now;
            if new > 0 {
                // Bucket i holds [2^i, 2^(i+1)) ns: count the runs at its top.
                let top = (1u64 << (i + 1).min(63)) as f64 * 1e-9;
                histogram.record_many(top, usize::try_from(new).unwrap_or(usize::MAX));
            }
        }
        drop(last);
        for (q, label_q) in [(0.5, "0.5"), (0.9, "0.9"), (0.99, "0.99")] {
            if let Some(d) = s.handle_time.quantile(q) {
                let labels = [
                    ("actor", self.name.clone()),
                    ("quantile", label_q.to_string()),
                ];
                metrics::gauge!("nimsync_actor_handle_quantile_seconds", &labels)
                    .set(d.as_secs_f64());
            }
        }
    }
}

/// One child as the supervisor's events describe it.
#[derive(Debug, Default, Clone, Copy)]
struct ChildCounts {
    restarts: u64,
    running: bool,
}

#[derive(Debug, Default)]
struct SupervisorCounts {
    restarts: u64,
    escalations: u64,
    children: BTreeMap<String, ChildCounts>,
}

/// Restart and liveness counts of one supervisor, fed by its [`SupervisorEvent`]s and
/// published by [`Telemetry::watch_supervisor`]'s source. Cheap to clone.
///
/// Pass [`hook`](Self::hook) to [`SupervisorSpec::on_event`](nimsync_supervision::SupervisorSpec::on_event)
/// (or call [`record`](Self::record) from your own hook), and [`bind`](Self::bind) the
/// spawned supervisor so that its end reports every child as stopped.
///
/// ```
/// use nimsync_supervision::SupervisorEvent;
/// let t = nimsync_telemetry::Telemetry::builder()
///     .metrics(nimsync_telemetry::Metrics::prometheus().global(false)).build().unwrap();
/// let m = t.watch_supervisor("root");
/// m.record(&SupervisorEvent::Restarting { children: vec!["db".into()], delay: Default::default() });
/// t.publish_now();
/// let text = t.render_prometheus().unwrap();
/// assert!(text.contains(r#"nimsync_supervisor_child_running{supervisor="root",child="db"} 0"#));
/// ```
#[derive(Clone, Default)]
pub struct SupervisorMetrics {
    counts: Arc<Mutex<SupervisorCounts>>,
    supervisor: Arc<Mutex<Option<WeakActorRef<Supervisor>>>>,
}

impl std::fmt::Debug for SupervisorMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("SupervisorMetrics")
            .field("restarts", &counts.restarts)
            .field("children", &counts.children.len())
            .finish_non_exhaustive()
    }
}

impl SupervisorMetrics {
    /// Counts one event: a restart (`ChildStarted` with `restart`), a child running or not,
    /// an escalation. A child is running from its `ChildStarted` until its `ChildExited`, its
    /// `ChildStopped` (a temporary sibling ended by a group restart), a `Restarting` that
    /// lists it, or an escalation; `nimsync_supervisor_children_running` counts those.
    ///
    /// ```
    /// let m = nimsync_telemetry::SupervisorMetrics::default();
    /// m.record(&nimsync_supervision::SupervisorEvent::Restarting {
    ///     children: vec![], delay: Default::default(),
    /// });
    /// ```
    pub fn record(&self, event: &SupervisorEvent) {
        let mut c = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        match event {
            SupervisorEvent::ChildStarted { child, restart, .. } => {
                let child = c.children.entry(child.clone()).or_default();
                child.running = true;
                if *restart {
                    child.restarts += 1;
                    c.restarts += 1;
                }
            }
            SupervisorEvent::ChildExited { child, .. }
            | SupervisorEvent::ChildStopped { child } => {
                c.children.entry(child.clone()).or_default().running = false;
            }
            SupervisorEvent::Restarting { children, .. } => {
                // Stopped (or exited) and waiting for the backoff.
                for name in children {
                    c.children.entry(name.clone()).or_default().running = false;
                }
            }
            SupervisorEvent::Escalating(_) => {
                c.escalations += 1;
                for child in c.children.values_mut() {
                    child.running = false;
                }
            }
            // Kinds added later carry nothing these metrics count.
            _ => {}
        }
    }

    /// A hook for [`SupervisorSpec::on_event`](nimsync_supervision::SupervisorSpec::on_event)
    /// that [`record`](Self::record)s every event.
    ///
    /// ```
    /// use nimsync_supervision::{SupervisorSpec, Strategy};
    /// let m = nimsync_telemetry::SupervisorMetrics::default();
    /// let spec = SupervisorSpec::new(Strategy::OneForOne).on_event(m.hook());
    /// # let _ = spec;
    /// ```
    pub fn hook(&self) -> impl Fn(&SupervisorEvent) + Send + Sync + 'static {
        let me = self.clone();
        move |event| me.record(event)
    }

    /// Ties the counts to the spawned supervisor: once it has ended, every child is reported
    /// as not running.
    ///
    /// ```
    /// let m = nimsync_telemetry::SupervisorMetrics::default();
    /// let sup = nimsync_supervision::SupervisorSpec::new(nimsync_supervision::Strategy::OneForOne);
    /// nimsync_scheduler::block_on(async move {
    ///     let sup = sup.on_event(m.hook()).spawn().unwrap();
    ///     m.bind(&sup);
    /// });
    /// ```
    pub fn bind(&self, supervisor: &ActorRef<Supervisor>) {
        *self
            .supervisor
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(supervisor.downgrade());
    }

    /// Whether the bound supervisor (if any) still runs.
    fn supervisor_alive(&self) -> bool {
        let bound = self
            .supervisor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        match bound {
            Some(weak) => weak.upgrade().is_some_and(|s| s.is_alive()),
            None => true,
        }
    }
}

/// Publishes a [`SupervisorMetrics`].
struct SupervisorSource {
    name: String,
    metrics: SupervisorMetrics,
}

impl MetricSource for SupervisorSource {
    fn publish(&self) {
        let alive = self.metrics.supervisor_alive();
        let c = self
            .metrics
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let sup = [("supervisor", self.name.clone())];
        metrics::counter!("nimsync_supervisor_restarts_total", &sup).absolute(c.restarts);
        metrics::counter!("nimsync_supervisor_escalations_total", &sup).absolute(c.escalations);
        let mut running = 0u64;
        for (child, counts) in &c.children {
            let up = alive && counts.running;
            running += u64::from(up);
            let labels = [("supervisor", self.name.clone()), ("child", child.clone())];
            metrics::counter!("nimsync_supervisor_child_restarts_total", &labels)
                .absolute(counts.restarts);
            metrics::gauge!("nimsync_supervisor_child_running", &labels).set(if up {
                1.0
            } else {
                0.0
            });
        }
        metrics::gauge!("nimsync_supervisor_children_running", &sup).set(running as f64);
    }
}

/// Publishes a circuit breaker's state and counters.
struct BreakerSource {
    name: String,
    breaker: CircuitBreaker,
}

impl MetricSource for BreakerSource {
    fn publish(&self) {
        let label = || [("breaker", self.name.clone())];
        let state = match self.breaker.state() {
            BreakerState::Closed => 0.0,
            BreakerState::Open => 1.0,
            BreakerState::HalfOpen => 2.0,
        };
        metrics::gauge!("nimsync_breaker_state", &label()).set(state);
        let s = self.breaker.stats();
        metrics::counter!("nimsync_breaker_successes_total", &label()).absolute(s.successes);
        metrics::counter!("nimsync_breaker_failures_total", &label()).absolute(s.failures);
        metrics::counter!("nimsync_breaker_rejected_total", &label()).absolute(s.rejected);
        metrics::counter!("nimsync_breaker_opened_total", &label()).absolute(s.opened);
        metrics::counter!("nimsync_breaker_transitions_total", &label()).absolute(s.transitions);
    }
}

impl Telemetry {
    /// Publishes an actor's statistics (mailbox depth, messages handled, restarts, handle
    /// times: see [`ActorBuilder::sample_handle_time`](nimsync_actors::ActorBuilder::sample_handle_time))
    /// under the label `actor=name`. The source holds a weak reference: it does not keep the
    /// actor's address alive, and reports `nimsync_actor_alive 0` once it is gone.
    ///
    /// ```
    /// use nimsync_actors::{Actor, ActorBuilder, Context};
    /// struct Nop;
    /// impl Actor for Nop { type Msg = u8; async fn handle(&mut self, _: u8, _: &mut Context<Self>) {} }
    /// let t = nimsync_telemetry::Telemetry::builder()
    ///     .metrics(nimsync_telemetry::Metrics::prometheus().global(false)).build().unwrap();
    /// nimsync_scheduler::block_on(async {
    ///     let a = ActorBuilder::new().spawn(Nop).unwrap();
    ///     t.watch_actor("nop", &a);
    ///     a.tell(7).await.unwrap();
    /// });
    /// t.publish_now();
    /// assert!(t.render_prometheus().unwrap().contains("nimsync_actor_mailbox_depth"));
    /// ```
    pub fn watch_actor<A: Actor>(&self, name: impl Into<String>, actor: &ActorRef<A>) {
        self.watch(ActorSource {
            name: name.into(),
            actor: actor.downgrade(),
            last: Mutex::new([0; HISTOGRAM_BUCKETS]),
        });
    }

    /// Publishes a supervisor's restarts and running children under the label
    /// `supervisor=name`; feed the returned [`SupervisorMetrics`] with the supervisor's
    /// events (see there). Without metrics the counts are kept but never published.
    ///
    /// ```
    /// use nimsync_actors::{Actor, Context};
    /// use nimsync_supervision::{ChildSpec, Strategy, SupervisorSpec};
    /// struct Worker;
    /// impl Actor for Worker { type Msg = (); async fn handle(&mut self, _: (), _: &mut Context<Self>) {} }
    /// let t = nimsync_telemetry::Telemetry::builder()
    ///     .metrics(nimsync_telemetry::Metrics::prometheus().global(false)).build().unwrap();
    /// let m = t.watch_supervisor("root");
    /// nimsync_scheduler::block_on(async {
    ///     let sup = SupervisorSpec::new(Strategy::OneForOne)
    ///         .child(ChildSpec::new("worker", || Worker))
    ///         .on_event(m.hook())
    ///         .spawn()
    ///         .unwrap();
    ///     m.bind(&sup);
    ///     use nimsync_supervision::SupervisorRef;
    ///     sup.children().await.unwrap(); // started by now
    ///     t.publish_now();
    /// });
    /// let text = t.render_prometheus().unwrap();
    /// assert!(text.contains(r#"nimsync_supervisor_children_running{supervisor="root"} 1"#));
    /// ```
    pub fn watch_supervisor(&self, name: impl Into<String>) -> SupervisorMetrics {
        let metrics = SupervisorMetrics::default();
        self.watch(SupervisorSource {
            name: name.into(),
            metrics: metrics.clone(),
        });
        metrics
    }

    /// Publishes a circuit breaker's state (0 closed, 1 open, 2 half-open) and counters
    /// (successes, failures, rejected calls, openings, state changes) under the label
    /// `breaker=name`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use nimsync_supervision::{BreakerConfig, CircuitBreaker, TripRule};
    /// let t = nimsync_telemetry::Telemetry::builder()
    ///     .metrics(nimsync_telemetry::Metrics::prometheus().global(false)).build().unwrap();
    /// let b = CircuitBreaker::new(BreakerConfig::new(
    ///     TripRule::ConsecutiveFailures(3), Duration::from_secs(1))).unwrap();
    /// t.watch_breaker("db", b);
    /// t.publish_now();
    /// assert!(t.render_prometheus().unwrap().contains(r#"nimsync_breaker_state{breaker="db"} 0"#));
    /// ```
    pub fn watch_breaker(&self, name: impl Into<String>, breaker: CircuitBreaker) {
        self.watch(BreakerSource {
            name: name.into(),
            breaker,
        });
    }
}
