//! # nimsync — one crate for the whole toolkit
//!
//! nimsync is a layered concurrency toolkit: lock-free channels at the bottom, a
//! work-stealing async runtime on top of them, and (as they land) cancellation, task groups,
//! streams, backpressure, actors, supervision, NUMA placement and telemetry. Each layer is its
//! own small crate; this facade re-exports every one as a module behind a cargo feature of
//! the same name, all on by default. Depend on `nimsync` for everything, or on
//! `nimsync = { default-features = false, features = ["channels"] }` for the channels alone
//! (that build contains no executor).
//!
//! ## A first program
//!
//! ```
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
//! ```
//! let v = nimsync::block_on(async { nimsync::spawn(async { 6 * 7 }).await.unwrap() });
//! assert_eq!(v, 42);
//! ```
//!
//! ## Layers and features
//!
//! | module | crate | feature | layer | status |
//! |---|---|---|---|---|
//! | [`channels`] | `nimsync-core-channels` | `channels` | L0 | available |
//! | [`scheduler`] | `nimsync-scheduler` | `scheduler` | L1 | available |
//! | `cancel` | `nimsync-cancel` | `cancel` | L2 | being built |
//! | `group` | `nimsync-group` | `group` | L3 | being built |
//! | `numa` | `nimsync-numa` | `numa` | L3 | being built |
//! | `streams` | `nimsync-streams` | `streams` | L4 | being built |
//! | `backpressure` | `nimsync-backpressure` | `backpressure` | L4 | being built |
//! | `actors` | `nimsync-actors` | `actors` | L5 | being built |
//! | `supervision` | `nimsync-supervision` | `supervision` | L6 | being built |
//! | `telemetry` | `nimsync-telemetry` | `telemetry` | L7 | being built |
//!
//! The `macros` feature (on by default, implies `scheduler`) provides [`main`] and [`test`].
//! Top-level shortcuts: [`block_on`], [`spawn`], [`sleep`] (feature `scheduler`). The
//! [`prelude`] brings the everyday names of every enabled layer into scope.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod prelude;

// One re-export per layer: `#[cfg(feature = "<name>")] #[doc(inline)] pub use <crate> as <name>;`
#[cfg(feature = "channels")]
#[doc(inline)]
pub use nimsync_core_channels as channels;
#[cfg(feature = "scheduler")]
#[doc(inline)]
pub use nimsync_scheduler as scheduler;

#[cfg(feature = "scheduler")]
#[doc(inline)]
pub use nimsync_scheduler::{block_on, sleep, spawn};

#[cfg(feature = "macros")]
#[doc(inline)]
pub use nimsync_macros::{main, test};
