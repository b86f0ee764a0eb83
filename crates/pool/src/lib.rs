//! # nimsync-pool — a leak-free async connection pool (L4)
//!
//! A generic [`Pool`] over a [`Manager`] (`create`, `is_valid`, `has_broken`, `destroy`),
//! built on the nimsync scheduler (L1: timers, the reaper task, `spawn_blocking`) and
//! cancellation (L2: timeouts and tokens). Peers: deadpool, bb8, r2d2.
//!
//! ```
//! use std::convert::Infallible;
//! use std::time::Duration;
//! use nimsync_pool::{Manager, Pool};
//!
//! struct Counter;
//! impl Manager for Counter {
//!     type Connection = u64;
//!     type Error = Infallible;
//!     async fn create(&self) -> Result<u64, Infallible> { Ok(0) }
//! }
//!
//! let rt = nimsync_scheduler::Runtime::current_thread();
//! rt.block_on(async {
//!     let pool = Pool::builder(Counter)
//!         .max_size(4)
//!         .acquire_timeout(Duration::from_secs(5))
//!         .build()
//!         .unwrap();
//!     let mut conn = pool.get().await.unwrap();
//!     *conn += 1;
//!     drop(conn); // back in the pool
//!     assert_eq!(*pool.get().await.unwrap(), 1);
//! });
//! ```
//!
//! ## What it guarantees
//!
//! * **Bounded**: at most `max_size` connections exist, counting those being created or
//!   checked; `min_idle` are kept ready by a background reaper.
//! * **Fair**: waiters are served strictly first come, first served; a returned connection
//!   or freed slot goes straight to the oldest waiter, newcomers never overtake.
//! * **Cancel-safe checkout**: [`Pool::get`] with a timeout ([`Pool::get_timeout`], the
//!   builder's `acquire_timeout`), a token ([`Pool::get_with_cancel`]) or any enclosing
//!   nimsync cancel scope can be dropped at any point; a hand-off that arrives just as the
//!   waiter leaves is passed on to the next waiter.
//! * **Return on drop, never broken**: an [`Object`] guard always gives its slot back —
//!   normal drop, panic, task abort, cancellation. Its connection is reused only when it is
//!   known clean. The exact rule: not dropped while
//!   panicking, no [`Operation`] left uncompleted (a user cancelled mid-operation), not
//!   [tainted](Object::taint), [`Manager::has_broken`] false, within max lifetime.
//!   Otherwise [`Manager::destroy`] runs and a fresh connection replaces it on demand.
//!   A panic in the manager's code (`create`, `is_valid`, `has_broken`, `destroy`) or in the
//!   leak handler never costs a slot either: the slot is freed first, then the panic goes on
//!   to whoever made the call (the dropping thread, the checkout, `close`, `maintain`; the
//!   background reaper survives it). See the [`Object`] docs.
//! * **Health**: [`Manager::is_valid`] on checkout, idle timeout, max lifetime.
//! * **Observable**: [`Pool::status`] (size, idle, in use, waiters, counters) and leak
//!   detection: [`Pool::leaks`] lists guards held past
//!   [`leak_threshold`](Builder::leak_threshold) with the `#[track_caller]` location of the
//!   `get` that acquired them; the reaper reports each once.
//!
//! ## The return rule, by example
//!
//! ```
//! use std::convert::Infallible;
//! use nimsync_pool::{Manager, Object, Pool};
//! # struct Db;
//! # impl Manager for Db {
//! #     type Connection = Vec<&'static str>;
//! #     type Error = Infallible;
//! #     async fn create(&self) -> Result<Self::Connection, Infallible> { Ok(Vec::new()) }
//! # }
//! let rt = nimsync_scheduler::Runtime::current_thread();
//! rt.block_on(async {
//!     let pool = Pool::builder(Db).max_size(1).build().unwrap();
//!     let p = pool.clone();
//!     let task = nimsync_scheduler::spawn(async move {
//!         let mut conn = p.get().await.unwrap();
//!         let mut op = Object::operation(&mut conn);
//!         op.push("BEGIN");
//!         std::future::pending::<()>().await; // cancelled here, mid-transaction
//!         op.complete();
//!     });
//!     nimsync_scheduler::yield_now().await;
//!     task.abort();
//!     assert!(task.await.unwrap_err().is_cancelled());
//!     let st = pool.status();
//!     assert_eq!((st.size, st.in_use, st.destroyed), (0, 0, 1)); // discarded, slot free
//!     assert!(pool.get().await.unwrap().is_empty()); // a fresh connection
//! });
//! ```
//!
//! ## SQLite
//!
//! With the feature `sqlite`, `nimsync_pool::sqlite::SqliteManager` pools rusqlite
//! connections (SQLite bundled, so no server and no system library): calls and transactions
//! run on the scheduler's blocking pool, and a connection left mid-call or mid-transaction by
//! a cancelled caller is discarded, never handed out again.
//!
//! ## Design
//!
//! One mutex guards the slot count, the idle queue, the waiter queue (a `BTreeMap` keyed by
//! arrival number: FIFO with O(log n) removal of a cancelled waiter) and the checkout
//! registry used for leak reports; it never runs user code. See the `state` module docs for
//! the invariants.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod acquire;
mod config;
mod error;
mod leak;
mod manager;
mod object;
mod pool;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod state;

pub use config::{Builder, QueueMode};
pub use error::{BuildError, PoolError};
pub use leak::LeakReport;
pub use manager::Manager;
pub use object::{Object, Operation};
pub use pool::{Pool, Status};
