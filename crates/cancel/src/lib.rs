//! # nimsync-cancel — hierarchical cancellation (L2)
//!
//! Cancellation tokens arranged in a tree, scopes with deadlines fired by the scheduler's
//! timer, timeouts, and cheap checkpoints. It sits on `nimsync-scheduler` (L1) and is what
//! task groups (L3) and everything above use to stop work.
//!
//! ## Tokens
//!
//! A [`CancelToken`] is a cheap, clonable handle. [`child`](CancelToken::child) tokens are
//! cancelled with their parent; [`is_cancelled`](CancelToken::is_cancelled) is one atomic
//! load; [`cancelled`](CancelToken::cancelled) is a cancel-safe future;
//! [`on_cancel`](CancelToken::on_cancel) registers a callback; every cancellation carries a
//! [`Cancelled`] reason.
//!
//! ```
//! use nimsync_cancel::{CancelToken, Cancelled};
//!
//! let server = CancelToken::new();
//! let request = server.child();
//! server.cancel_with("shutdown");
//! assert!(request.is_cancelled());
//! assert_eq!(request.reason(), Some(Cancelled::Parent));
//! assert_eq!(server.reason(), Some(Cancelled::Explicit(Some("shutdown".into()))));
//! ```
//!
//! ## Timeouts and scopes
//!
//! [`timeout`], [`timeout_at`] and [`with_cancel`] return `Result<T, Cancelled>`. They are
//! built on [`CancelScope`] (Trio's cancel scope): the running task's *current scope* lives
//! in the scheduler's per-task context slot, so scopes nest (deadlines propagate as the
//! minimum), tasks spawned inside inherit them, and [`checkpoint`] (the seed's
//! `checkCancelled()`) reports a cancellation anywhere up the chain. [`shield`] protects
//! cleanup code from enclosing cancellation; [`hold`] keeps enclosing scopes from dropping a
//! future that winds down by itself (task groups joining their cancelled children).
//!
//! ```
//! use std::time::Duration;
//! use nimsync_cancel::{timeout, checkpoint, CancelScope, Cancelled};
//! use nimsync_scheduler::{Builder, sleep};
//!
//! // A paused clock: timers fire instantly and exactly.
//! let rt = Builder::new_current_thread().start_paused(true).build().unwrap();
//! rt.block_on(async {
//!     let r = timeout(Duration::from_millis(100), sleep(Duration::from_secs(10))).await;
//!     assert_eq!(r, Err(Cancelled::Timeout));
//!
//!     let scope = CancelScope::with_timeout(Duration::from_secs(1));
//!     let r = scope
//!         .run(async {
//!             sleep(Duration::from_secs(2)).await;
//!             checkpoint()
//!         })
//!         .await;
//!     assert_eq!(r, Err(Cancelled::Timeout));
//!     assert!(scope.cancelled_caught());
//! });
//! ```
//!
//! ## Design
//!
//! See the `node` module: a state word (kind bits + "has registrations" bit) and a slab of
//! entries behind a mutex per node; cancelling a leaf is one CAS, registering takes the lock,
//! dropped children leave their parent. Deadlines are scheduler timers whose waker cancels
//! the scope. `unsafe` is forbidden here.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod child_scope;
mod current;
mod error;
mod lazy;
mod node;
mod registration;
mod scope;
mod scoped;
mod sync;
mod token;
mod waiter;

pub use child_scope::{ChildScopes, RunChild};
pub use current::{EnterGuard, checkpoint, current_token};
pub use error::Cancelled;
pub use registration::OnCancel;
pub use scope::CancelScope;
pub use scoped::{
    Hold, OwnedScope, Run, ScopeSource, Scoped, Shield, Timeout, hold, shield, timeout, timeout_at,
    with_cancel,
};
pub use token::{CancelToken, DropGuard};
pub use waiter::WaitForCancel;
