//! # nimsync-supervision — supervisor trees and resilience (L6)
//!
//! Erlang/OTP-style supervision on top of nimsync-actors, plus the resilience primitives a
//! service needs around calls it does not control.
//!
//! ## Supervisors
//!
//! A [`Supervisor`] is an actor that starts its children in order, restarts them when they
//! exit according to its [`Strategy`] (`OneForOne`, `OneForAll`, `RestForOne`) and each
//! child's [`Restart`] type (`Permanent`, `Transient`, `Temporary`), waits a [`Backoff`]
//! between restarts, and stops its children in reverse order with each child's
//! [`Shutdown`]. More than [`Intensity::max_restarts`] restarts within the period and it
//! gives up: it stops every child and fails with [`SupervisionError::IntensityExceeded`],
//! which its own supervisor (supervisors nest) handles like any child failure.
//!
//! A restarted child keeps its address: its mailbox outlives each run, so messages sent
//! during a restart wait in it (the message whose handler panicked is not redelivered).
//!
//! ```
//! use nimsync_actors::{Actor, Context, Reply};
//! use nimsync_supervision::{ChildSpec, Strategy, SupervisorRef, SupervisorSpec};
//!
//! struct Parser;
//! enum Msg { Parse(String, Reply<i64>) }
//! impl Actor for Parser {
//!     type Msg = Msg;
//!     async fn handle(&mut self, Msg::Parse(s, reply): Msg, _: &mut Context<Self>) {
//!         reply.send(s.parse().expect("not a number")); // panics on bad input
//!     }
//! }
//!
//! nimsync_scheduler::block_on(async {
//!     let sup = SupervisorSpec::new(Strategy::OneForOne)
//!         .child(ChildSpec::new("parser", || Parser))
//!         .spawn()
//!         .unwrap();
//!     let parser = sup.child::<Parser>("parser").await.unwrap().unwrap();
//!     assert!(parser.ask(|r| Msg::Parse("oops".into(), r)).await.is_err()); // it crashed...
//!     assert_eq!(parser.ask(|r| Msg::Parse("42".into(), r)).await, Ok(42)); // ...and was restarted
//!     sup.stop_and_wait().await;
//! });
//! ```
//!
//! ## DeathWatch
//!
//! [`ActorRef::watch`](nimsync_actors::ActorRef::watch) (and
//! [`Context::watch`](nimsync_actors::Context::watch)) deliver a [`Terminated`]` { id,
//! reason }` to the watcher when the watched address stops for good, at once if it already
//! has; `unwatch` cancels. It lives in nimsync-actors (the runner delivers it) and is
//! re-exported here.
//!
//! ## Circuit breaker, bulkhead, retry
//!
//! [`CircuitBreaker`] (closed / open / half-open; consecutive-failure or failure-rate trip;
//! reset timeout; trial calls; events), [`Bulkhead`] (bounded concurrent calls plus a
//! bounded queue) and [`retry`] (exponential backoff with jitter, attempt and time limits, a
//! retryable predicate, cancellation between attempts through nimsync-cancel).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod backoff;
mod breaker;
mod bulkhead;
mod child;
mod error;
mod hooks;
mod retry;
mod spec;
mod supervisor;

pub use backoff::Backoff;
pub use breaker::{
    BreakerConfig, BreakerEvent, BreakerPermit, BreakerState, BreakerStats, CircuitBreaker,
    TripRule,
};
pub use bulkhead::{Bulkhead, BulkheadPermit};
pub use error::{BreakerError, BulkheadFull, ConfigError, RetryError, SupervisionError};
pub use hooks::{RestartHook, RestartHookAlreadySet, RestartInfo, set_restart_hook};
pub use nimsync_actors::{ExitReason, Terminated};
pub use retry::{RetryPolicy, retry};
pub use spec::{
    ChildSpec, Intensity, Restart, Shutdown, Strategy, SupervisorEvent, SupervisorSpec,
};
pub use supervisor::{ChildInfo, Supervisor, SupervisorMsg, SupervisorRef};
