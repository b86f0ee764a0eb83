//! # nimsync-streams — bounded, backpressure-aware streams (L4)
//!
//! Stages for any [`futures_core::Stream`] (so futures-util and tokio-stream streams, and
//! nimsync channel receivers, which are streams): [`StreamExt`] adds `map`, `then`,
//! `filter`, `filter_map`, fair `merge`, `batch`, `batch_timeout`, `buffered` /
//! `buffer_unordered`, `throttle`, `take_until` (a [`CancelToken`](nimsync_cancel::CancelToken)),
//! `fan_out` / `broadcast`, `into_channel` / `into_sink` and `spawn_stage`; sources are
//! [`iter`], [`from_receiver`] and [`ticks`].
//!
//! **Bounded everywhere.** Stages pull: nothing is read from upstream until downstream asks,
//! and each stage holds a fixed number of items at most (`batch(n)`: `n`; `buffered(n)`: `n`
//! futures; `throttle`: 1; `broadcast(k, cap)`: `cap`; `spawn_stage(n)`: `n`). A slow
//! consumer therefore slows the producer and memory stays flat, however fast the source.
//!
//! **Inline by default.** Stages run on the consumer's task (one task for a whole
//! pipeline, no hand-offs); `.spawn_stage(n)` is the explicit boundary that puts the
//! upstream on its own scheduler task with a bounded channel in between. That task is
//! spawned when `spawn_stage` is called, on the runtime entered on that thread (the global
//! default runtime when none is), so build a pipeline inside `block_on(async { .. })` or a
//! task of the runtime it should use. A panic upstream of the boundary is re-raised in the
//! consumer, never turned into a normal end of stream.
//!
//! ```
//! use nimsync_scheduler::Runtime;
//! use nimsync_streams::{StreamExt, iter};
//!
//! let rt = Runtime::builder().workers(2).build().unwrap();
//! // Built inside `block_on`, so `spawn_stage` spawns its task on `rt`.
//! let batches = rt.block_on(async {
//!     iter(0..10_000u64)
//!         .map(|x| x * 3)
//!         .filter(|x| x % 2 == 0)
//!         .spawn_stage(256) // the steps above run on their own task of `rt`
//!         .batch(100)
//!         .collect_vec()
//!         .await
//! });
//! assert_eq!(batches.len(), 50);
//! assert!(batches.iter().all(|b| b.len() == 100));
//! ```
//!
//! **Sizes.** A sized stage given 0 (`batch(0)`, `buffered(0)`, `fan_out(0)`, ...) panics
//! at construction with a message naming the argument, as futures-util does; each has a
//! `try_*` twin (`try_batch`, `try_buffered`, ..., [`try_ticks`]) returning a
//! [`StageError`] for sizes that come from configuration. Nothing panics once built.
//!
//! Timers (`batch_timeout`, `throttle`, `ticks`) are the scheduler's, so a runtime built
//! with `start_paused(true)` tests them exactly and instantly.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod batch;
mod batch_timeout;
mod broadcast;
mod buffered;
mod error;
mod ext;
mod fan_out;
mod filter;
mod forward;
mod map;
mod merge;
mod source;
mod spawn_stage;
mod take_until;
mod throttle;
mod wakers;

pub use batch::Batch;
pub use batch_timeout::BatchTimeout;
pub use broadcast::Broadcast;
pub use buffered::{BufferUnordered, Buffered, BufferedWith};
pub use error::StageError;
pub use ext::{CollectVec, Next, StreamExt};
pub use fan_out::FanOut;
pub use filter::{Filter, FilterMap};
pub use forward::Forward;
pub use map::{Map, Then};
pub use merge::{Merge, merge};
pub use source::{Iter, Ticks, from_receiver, iter, ticks, try_ticks};
pub use spawn_stage::SpawnStage;
pub use take_until::TakeUntil;
pub use throttle::{Rate, Throttle};
