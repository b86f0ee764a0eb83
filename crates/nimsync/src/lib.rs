//! # nimsync — one crate for the whole toolkit
//!
//! nimsync is a layered concurrency toolkit: lock-free channels at the bottom, a
//! work-stealing async runtime on top of them, then cancellation, task groups, NUMA placement,
//! streams, backpressure, actors, supervision and telemetry. Each layer is its
//! own small crate; this facade re-exports every one as a module behind a cargo feature of
//! the same name, all on by default. Depend on `nimsync` for everything, or on
//! `nimsync = { default-features = false, features = ["channels"] }` for the channels alone
//! (that build contains no executor).
//!
//! ## A first program
//!
// Doc examples run only with the features they use (`cargo test` with fewer features
// must build; rustdoc shows them as plain code then).
#![cfg_attr(all(feature = "macros", feature = "channels"), doc = "```")]
#![cfg_attr(not(all(feature = "macros", feature = "channels")), doc = "```ignore")]
//! use nimsync::prelude::*;
//!
//! #[nimsync::main]
//! async fn main() {
//!     let (tx, rx) = mpmc::<u64>(64);
//!     let producers: Vec<_> = (0..4u64)
//!         .map(|p| {
//!             let tx = tx.clone();
//!             spawn(async move {
//!                 for i in 0..100 {
//!                     tx.send(p * 1000 + i).await.unwrap();
//!                 }
//!             })
//!         })
//!         .collect();
//!     drop(tx); // the channel closes when the last producer is done
//!     let mut received = 0;
//!     while rx.recv().await.is_ok() {
//!         received += 1;
//!     }
//!     for p in producers {
//!         p.await.unwrap();
//!     }
//!     assert_eq!(received, 400);
//! }
//! ```
//!
//! Without the macro, [`block_on`] runs a future on the global runtime (built on first use):
//!
#![cfg_attr(feature = "scheduler", doc = "```")]
#![cfg_attr(not(feature = "scheduler"), doc = "```ignore")]
//! let v = nimsync::block_on(async { nimsync::spawn(async { 6 * 7 }).await.unwrap() });
//! assert_eq!(v, 42);
//! ```
//!
//! ## Layers and features
//!
//! | module | crate | feature | layer | status |
//! |---|---|---|---|---|
//! | [`channels`] | `nimsync-core-channels` | `channels` | L0 | lock-free SPSC/MPSC/SPMC/MPMC channels, select |
//! | [`scheduler`] | `nimsync-scheduler` | `scheduler` | L1 | work-stealing runtime, timers, blocking pool |
//! | [`cancel`] | `nimsync-cancel` | `cancel` | L2 | cancel tokens, scopes, deadlines, timeouts |
//! | [`group`] | `nimsync-group` | `group` | L3 | task groups with error policies |
//! | [`numa`] | `nimsync-numa` | `numa` (+ `hwloc`, off by default) | L3 | topology, placement, NUMA-local channels, hwloc detection and memory binding |
//! | [`streams`] | `nimsync-streams` | `streams` | L4 | bounded stream stages |
//! | [`backpressure`] | `nimsync-backpressure` | `backpressure` | L4 | credits, adaptive limits, rate limits |
//! | [`pool`] | `nimsync-pool` | `pool` (+ `sqlite`, off by default) | L4 | leak-free connection pool, SQLite manager |
//! | [`net`] | `async-net` | `net` | L4 | TCP/UDP/Unix sockets on the async-io reactor |
//! | [`actors`] | `nimsync-actors` | `actors` | L5 | typed actors, tell/ask |
//! | [`supervision`] | `nimsync-supervision` | `supervision` | L6 | supervisor trees, breaker, bulkhead |
//! | [`telemetry`] | `nimsync-telemetry` | `telemetry` | L7 | OpenTelemetry tracing, Prometheus metrics |
//!
//! Every layer crate pulls in the layers below it that it needs, whatever features are on
//! here. The `macros` feature (on by default, implies `scheduler`) provides [`main`] and
//! [`test`]. Top-level shortcuts: [`block_on`], [`spawn`], [`sleep`] (feature `scheduler`),
//! [`timeout`] (`cancel`), [`task_group`] (`group`). The [`prelude`] brings the everyday
//! names of every enabled layer into scope.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod prelude;

// One re-export per layer: `#[cfg(feature = "<name>")] #[doc(inline)] pub use <crate> as <name>;`
#[cfg(feature = "actors")]
#[doc(inline)]
pub use nimsync_actors as actors;
#[cfg(feature = "backpressure")]
#[doc(inline)]
pub use nimsync_backpressure as backpressure;
#[cfg(feature = "cancel")]
#[doc(inline)]
pub use nimsync_cancel as cancel;
#[cfg(feature = "channels")]
#[doc(inline)]
pub use nimsync_core_channels as channels;
#[cfg(feature = "group")]
#[doc(inline)]
pub use nimsync_group as group;
#[cfg(feature = "net")]
pub mod net;
#[cfg(feature = "numa")]
#[doc(inline)]
pub use nimsync_numa as numa;
#[cfg(feature = "pool")]
#[doc(inline)]
pub use nimsync_pool as pool;
#[cfg(feature = "scheduler")]
#[doc(inline)]
pub use nimsync_scheduler as scheduler;
#[cfg(feature = "streams")]
#[doc(inline)]
pub use nimsync_streams as streams;
#[cfg(feature = "supervision")]
#[doc(inline)]
pub use nimsync_supervision as supervision;
#[cfg(feature = "telemetry")]
#[doc(inline)]
pub use nimsync_telemetry as telemetry;

#[cfg(feature = "scheduler")]
#[doc(inline)]
pub use nimsync_scheduler::{block_on, sleep, spawn};

#[cfg(feature = "cancel")]
#[doc(inline)]
pub use nimsync_cancel::timeout;
#[cfg(feature = "group")]
#[doc(inline)]
pub use nimsync_group::task_group;

#[cfg(feature = "macros")]
#[doc(inline)]
pub use nimsync_macros::{main, test};
