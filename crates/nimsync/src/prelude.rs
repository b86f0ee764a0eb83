//! The everyday names of every enabled layer: `use nimsync::prelude::*;`.
//!
#![cfg_attr(all(feature = "channels", feature = "scheduler"), doc = "```")]
#![cfg_attr(
    not(all(feature = "channels", feature = "scheduler")),
    doc = "```ignore"
)]
//! use nimsync::prelude::*;
//!
//! let (mut tx, mut rx) = spsc::<u32>(4);
//! tx.try_send(7).unwrap();
//! assert_eq!(rx.try_recv(), Ok(7));
//! let doubled = block_on(async { spawn(async { 7 * 2 }).await.unwrap() });
//! assert_eq!(doubled, 14);
//! ```
//!
//! The `main`/`test` attribute macros are left out on purpose: glob-importing a `test` would
//! shadow the built-in `#[test]`. Write `#[nimsync::main]` / `#[nimsync::test]`.

#[cfg(feature = "channels")]
pub use nimsync_core_channels::{
    Policy, RecvError, Select, SendError, TryRecvError, TrySendError, mpmc, mpsc, spmc, spsc,
};

#[cfg(feature = "scheduler")]
pub use nimsync_scheduler::{
    JoinError, JoinHandle, Runtime, block_on, sleep, spawn, spawn_blocking, yield_now,
};

#[cfg(feature = "cancel")]
pub use nimsync_cancel::{CancelScope, CancelToken, Cancelled, timeout, timeout_at, with_cancel};

#[cfg(feature = "group")]
pub use nimsync_group::{CollectAll, FailFast, FirstSuccess, GroupError, Supervise, task_group};

#[cfg(feature = "streams")]
pub use nimsync_streams::StreamExt;

#[cfg(feature = "actors")]
pub use nimsync_actors::{Actor, ActorRef, Context, spawn_actor};
