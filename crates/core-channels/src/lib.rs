//! Lock-free bounded channels in four specialised modes, for threads and async code alike.
//!
//! `nimsync-core-channels` is the bottom layer of [nimsync]: it needs no executor, no timer
//! and no other nimsync crate.
//!
//! # Modes
//!
//! Each mode is its own algorithm, picked by the constructor and enforced by the types:
//!
//! | constructor | algorithm | sender | receiver |
//! |---|---|---|---|
//! | [`spsc()`] | Lamport ring with cached indices (the stamped ring without Linux `membarrier`, or under `DropOldest`) | not `Clone`, `&mut self` | not `Clone`, `&mut self` |
//! | [`mpsc()`] | sequence-stamped ring, CAS on the tail only | `Clone`, `&self` | not `Clone`, `&mut self` |
//! | [`spmc()`] | sequence-stamped ring, CAS on the head only | not `Clone`, `&mut self` | `Clone`, `&self` |
//! | [`mpmc()`] | sequence-stamped ring (Vyukov), CAS on both | `Clone`, `&self` | `Clone`, `&self` |
//!
//! ```
//! use nimsync_core_channels::spsc;
//!
//! let (mut tx, mut rx) = spsc::<u64>(1024);
//! let producer = std::thread::spawn(move || {
//!     for i in 0..10_000 {
//!         tx.send_blocking(i).unwrap();
//!     }
//!     // Dropping the only sender closes the channel.
//! });
//! let mut sum = 0;
//! while let Ok(v) = rx.recv_blocking() {
//!     sum += v;
//! }
//! producer.join().unwrap();
//! assert_eq!(sum, (0..10_000).sum::<u64>());
//! ```
//!
//! The mode is a type-level promise, checked by the compiler:
//!
//! ```compile_fail
//! // An SPSC sender cannot be cloned ...
//! let (tx, _rx) = nimsync_core_channels::spsc::<u8>(1);
//! let _second_producer = tx.clone();
//! ```
//!
//! ```compile_fail
//! // ... nor send through a shared reference (which could be on another thread) ...
//! fn send_from_shared(tx: &nimsync_core_channels::spsc::Sender<u8>) {
//!     let _ = tx.try_send(1);
//! }
//! ```
//!
//! ```compile_fail
//! // ... and an MPSC receiver cannot be cloned.
//! let (_tx, rx) = nimsync_core_channels::mpsc::<u8>(1);
//! let _second_consumer = rx.clone();
//! ```
//!
//! # Sync and async on one channel
//!
//! Every channel offers non-blocking (`try_send` / `try_recv`), blocking (`send_blocking`,
//! `recv_blocking`, `*_timeout`, `*_deadline`: a short spin, then the thread parks) and async
//! (`send(v).await`, `recv().await`) operations, and one channel may mix them. The async side
//! works on any executor: it only uses the task's `Waker`. An async wait (`send`, `recv`,
//! `send_batch`, `recv_batch`, `reserve`, a receiver's `Stream`, a sender's `Sink`) that
//! finds the ring full or empty re-checks briefly before it registers its waker: in place on
//! the shared modes' rings; on an SPSC channel by waking itself and returning `Pending` up to
//! 8 times (so an executor sees a few extra polls per wait), because registering there can
//! cost a `membarrier` system call.
//!
//! ```
//! use nimsync_core_channels::mpmc;
//!
//! let (tx, rx) = mpmc::<String>(16);
//! let t = std::thread::spawn(move || tx.send_blocking("from a thread".to_string()).unwrap());
//! let got = futures_executor::block_on(rx.recv()).unwrap();
//! assert_eq!(got, "from a thread");
//! t.join().unwrap();
//! ```
//!
//! **Cancel safety.** Dropping a pending `recv()` future never loses a value. Dropping a
//! pending `send(v)` future drops `v` without having enqueued it; when that matters (inside a
//! `select`), [`reserve`](mpmc::Sender::reserve) a [`Permit`] first and send through it.
//!
//! # Closing
//!
//! [`close`](mpmc::Sender::close) from either side, or dropping every sender (or every
//! receiver), closes the channel. Senders then fail and get their value back; receivers
//! drain what is buffered and then see `Closed`. A send either lands before the close (and is
//! received) or fails: the closed mark lives in the atomic word the producer claims its slot
//! with (SPSC: both sides agree on a final position with one CAS after the close). Values
//! never received are dropped exactly once when the channel is freed.
//!
//! # Batches, policies, counters
//!
//! `try_send_batch` / `send_batch` and `try_recv_batch` / `recv_batch` move many values per
//! synchronisation. A [`Builder`] sets the [`Policy`] applied when the ring is full: `Block`
//! (wait), `DropNewest`, `DropOldest` (evict) or `Overflow` (spill into an unbounded queue).
//! Batch sends apply it to the values that do not fit, like the same single sends in a row.
//! [`Stats`] count sent, received and dropped values.
//!
//! ```
//! use nimsync_core_channels::mpsc;
//!
//! let (tx, mut rx) = mpsc::<u32>(8);
//! let mut batch: Vec<u32> = (0..20).collect();
//! assert_eq!(tx.try_send_batch(&mut batch).unwrap(), 8); // as many as fit, one publish
//! assert_eq!(batch.len(), 12);
//! let mut out = Vec::new();
//! assert_eq!(rx.try_recv_batch(&mut out, 100).unwrap(), 8);
//! assert_eq!(out, (0..8).collect::<Vec<_>>());
//! ```
//!
//! # Selecting
//!
//! [`Select`] waits until one of several channels is ready, blocking or async, scanning from
//! a random start so no arm starves.
//!
//! # Capacity
//!
//! The requested capacity is rounded up to the next power of two. `0` and anything above
//! [`MAX_CAPACITY`] are rejected: [`Builder::build`] returns a [`BuildError`], and the
//! shorthand constructors panic with that message. There are no rendezvous channels. A
//! channel's header (everything except its slot array) is at most 256 bytes.
//!
//! [nimsync]: https://docs.rs/nimsync

#![warn(missing_docs)]

mod barrier;
mod builder;
mod chan;
mod error;
mod event;
mod future;
mod handle;
mod mode;
mod owner;
mod park;
mod permit;
mod queue;
mod select;
mod stats;
mod stream;
mod sync;
mod wait;

pub use builder::{Builder, MAX_CAPACITY, Policy};
pub use error::{
    BuildError, RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError,
    TryReserveError, TrySendError,
};
pub use future::{RecvBatchFuture, RecvFuture, ReserveFuture, SendBatchFuture, SendFuture};
pub use handle::{Receiver, Sender, WeakSender};
pub use mode::{Mode, Mpmc, Mpsc, Spmc, Spsc};
pub use permit::Permit;
pub use select::{ReadyFuture, Select, SelectTimeout};
pub use stats::Stats;

/// The bytes of a channel's slot array, as returned by
/// [`Sender::slot_memory`] / [`Receiver::slot_memory`]: interior-mutable, possibly
/// uninitialised bytes, so the view is sound while the channel keeps writing its slots.
pub type SlotMemory = [core::cell::UnsafeCell<core::mem::MaybeUninit<u8>>];

macro_rules! mode_module {
    ($name:ident, $mode:ident, $doc:literal) => {
        #[doc = $doc]
        pub mod $name {
            /// The sending half.
            pub type Sender<T> = crate::Sender<T, crate::$mode>;
            /// The receiving half.
            pub type Receiver<T> = crate::Receiver<T, crate::$mode>;
            /// A permit of reserved capacity.
            pub type Permit<'a, T> = crate::Permit<'a, T, crate::$mode>;
        }
    };
}

mode_module!(
    spsc,
    Spsc,
    "Type aliases for single-producer single-consumer channels."
);
mode_module!(
    mpsc,
    Mpsc,
    "Type aliases for multi-producer single-consumer channels."
);
mode_module!(
    spmc,
    Spmc,
    "Type aliases for single-producer multi-consumer channels."
);
mode_module!(
    mpmc,
    Mpmc,
    "Type aliases for multi-producer multi-consumer channels."
);

/// Weak sender aliases for the multi-producer modes.
pub mod weak {
    /// A weak MPSC sender.
    pub type MpscWeakSender<T> = crate::WeakSender<T, crate::Mpsc>;
    /// A weak MPMC sender.
    pub type MpmcWeakSender<T> = crate::WeakSender<T, crate::Mpmc>;
}

/// Creates a single-producer single-consumer channel with the `Block` policy.
///
/// # Panics
/// If `capacity` is 0 or above [`MAX_CAPACITY`]; [`Builder`] returns an error instead.
pub fn spsc<T: Send>(capacity: usize) -> (spsc::Sender<T>, spsc::Receiver<T>) {
    builder::build_or_panic(capacity)
}

/// Creates a multi-producer single-consumer channel with the `Block` policy.
///
/// # Panics
/// If `capacity` is 0 or above [`MAX_CAPACITY`]; [`Builder`] returns an error instead.
pub fn mpsc<T: Send>(capacity: usize) -> (mpsc::Sender<T>, mpsc::Receiver<T>) {
    builder::build_or_panic(capacity)
}

/// Creates a single-producer multi-consumer channel with the `Block` policy.
///
/// # Panics
/// If `capacity` is 0 or above [`MAX_CAPACITY`]; [`Builder`] returns an error instead.
pub fn spmc<T: Send>(capacity: usize) -> (spmc::Sender<T>, spmc::Receiver<T>) {
    builder::build_or_panic(capacity)
}

/// Creates a multi-producer multi-consumer channel with the `Block` policy.
///
/// # Panics
/// If `capacity` is 0 or above [`MAX_CAPACITY`]; [`Builder`] returns an error instead.
pub fn mpmc<T: Send>(capacity: usize) -> (mpmc::Sender<T>, mpmc::Receiver<T>) {
    builder::build_or_panic(capacity)
}

/// Size in bytes of a channel's shared header (everything but the slot array), per mode.
#[doc(hidden)]
pub fn header_size<M: Mode>() -> usize {
    M::header_size()
}
