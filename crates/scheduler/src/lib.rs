//! # nimsync-scheduler — the L1 executor of nimsync
//!
//! A multi-threaded work-stealing async runtime (plus a current-thread flavour) with timers, a
//! blocking pool, task hooks with an inherited per-task context slot, and metrics. Everything
//! above it in nimsync (cancellation, task groups, actors, telemetry) runs on it; it depends on
//! no other nimsync crate.
//!
//! ## Running futures
//!
//! The quickest start is the global default runtime, built on first use:
//!
//! ```
//! let answer = nimsync_scheduler::block_on(async { 6 * 7 });
//! assert_eq!(answer, 42);
//! ```
//!
//! Or build your own with [`Runtime::builder`]:
//!
//! ```
//! use nimsync_scheduler::{Runtime, spawn};
//!
//! let rt = Runtime::builder().workers(2).build().unwrap();
//! let total = rt.block_on(async {
//!     let tasks: Vec<_> = (1..=4u32).map(|i| spawn(async move { i * 10 })).collect();
//!     let mut sum = 0;
//!     for t in tasks {
//!         sum += t.await.unwrap();
//!     }
//!     sum
//! });
//! assert_eq!(total, 100);
//! ```
//!
//! ## Tasks and `JoinHandle`
//!
//! [`spawn`] returns a [`JoinHandle`]: awaiting it gives `Result<T, JoinError>`. A panic inside a
//! task is caught and comes back as a [`JoinError`] carrying the payload; it never takes a
//! worker down. [`JoinHandle::abort`] cancels a task; dropping the handle detaches it.
//!
//! ```
//! use nimsync_scheduler::{Runtime, spawn};
//!
//! let rt = Runtime::current_thread();
//! rt.block_on(async {
//!     let err = spawn(async { panic!("oops") }).await.unwrap_err();
//!     assert!(err.is_panic());
//!
//!     let forever = spawn(std::future::pending::<()>());
//!     forever.abort();
//!     assert!(forever.await.unwrap_err().is_cancelled());
//! });
//! ```
//!
//! Blocking code goes to the blocking pool with [`spawn_blocking`]; [`yield_now`] lets other
//! tasks run.
//!
//! ## Time
//!
//! [`sleep`], [`sleep_until`] and [`interval`] run on per-worker hierarchical timer wheels. For
//! tests, build the runtime with `start_paused(true)`: the clock then stands still, and jumps
//! to the next timer whenever the runtime is idle (or moves by [`Runtime::advance`]), so timer
//! logic is tested exactly and instantly:
//!
//! ```
//! use std::time::Duration;
//! use nimsync_scheduler::{Builder, sleep, now};
//!
//! let rt = Builder::new_current_thread().start_paused(true).build().unwrap();
//! rt.block_on(async {
//!     let t0 = now();
//!     sleep(Duration::from_secs(3600)).await; // returns at once in real time
//!     assert_eq!(now() - t0, Duration::from_secs(3600));
//! });
//! ```
//!
//! ## Hooks and the task context slot
//!
//! Each task carries a context slot (`Option<Arc<dyn Any + Send + Sync>>`), read and written by
//! [`task_context`] / [`set_task_context`] while it runs and inherited by the tasks it spawns;
//! the builder's `on_spawn`, `before_poll`, `after_poll` and `on_terminate` hooks see it. The
//! hooks also have a per-task *hook data* slot of their own, which the task's code never sees
//! (see [`TaskInfo`]). This is how telemetry propagates trace context across `spawn` with no
//! wrapper.
//!
//! ## Design
//!
//! Tasks are [`async-task`](https://docs.rs/async-task) cells (see the `task` module docs for
//! why); queues are `crossbeam-deque`. See the module docs of `worker` (run loop), `queue::idle`
//! (parking protocol), `queue::lifo` (LIFO slot), `timer` (wheels) and [`metrics`].

#![warn(missing_docs)]

mod blocking;
mod builder;
mod context;
pub mod coop;
mod global;
mod hooks;
mod join;
pub mod metrics;
mod park;
mod placement;
mod queue;
mod runtime;
mod shared;
mod sync;
mod task;
mod timer;
mod worker;

pub use builder::{BuildError, Builder};
pub use context::{TaskContextValue, set_task_context, task_context, task_context_is};
pub use coop::{YieldNow, yield_now};
pub use global::block_on;
pub use hooks::{SpawnInfo, TaskInfo, TaskOutcome};
pub use join::{JoinError, JoinHandle};
pub use metrics::{RuntimeMetrics, WorkerStats};
pub use placement::{Placement, RoundRobin};
pub use runtime::{Handle, Runtime};
pub use task::TaskId;
pub use timer::interval::{Interval, MissedTickBehavior, interval, interval_at};
pub use timer::sleep::{Sleep, instant_after, now, sleep, sleep_until};

use std::future::Future;

/// Spawns a task on the runtime entered on this thread (a worker, `block_on` or blocking
/// thread of it), or on the global default runtime when none is.
///
/// ```
/// let rt = nimsync_scheduler::Runtime::current_thread();
/// let v = rt.block_on(async { nimsync_scheduler::spawn(async { "hi" }).await.unwrap() });
/// assert_eq!(v, "hi");
/// ```
#[inline]
pub fn spawn<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_with(context::task_context, fut)
}

/// Like [`spawn`], but the new task's context slot starts as `ctx` instead of a clone of the
/// spawner's (the `on_spawn` hook still sees it and may replace it). For layers that give
/// each task its own context value: it is moved in, with no swap of the spawner's slot
/// around the spawn and no extra reference count.
///
/// ```
/// use std::sync::Arc;
/// use nimsync_scheduler::{spawn_with_context, task_context};
/// let rt = nimsync_scheduler::Runtime::current_thread();
/// let v = rt.block_on(async {
///     spawn_with_context(Some(Arc::new("mine")), async {
///         *task_context().unwrap().downcast_ref::<&str>().unwrap()
///     })
///     .await
///     .unwrap()
/// });
/// assert_eq!(v, "mine");
/// assert!(rt.block_on(spawn_with_context(None, async { task_context().is_none() })).unwrap());
/// ```
pub fn spawn_with_context<F>(ctx: Option<TaskContextValue>, fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_with(move || ctx, fut)
}

/// [`spawn`] with the context slot `ctx()` gives. Fast path on a worker: spawn into its own
/// shard, no `Handle` clone.
#[inline]
fn spawn_with<F, C>(ctx: C, fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    C: FnOnce() -> Option<TaskContextValue>,
{
    let mut args = Some((ctx, fut));
    let local = context::with_worker(|w| {
        w.map(|w| {
            let (ctx, fut) = args.take().expect("arguments");
            task::spawn_on_shard(&w.shard, ctx, fut)
        })
    });
    match local {
        Some(handle) => handle,
        None => {
            let (ctx, fut) = args.take().expect("arguments");
            Handle::current().spawn_with(ctx, fut)
        }
    }
}

/// Runs a blocking closure on the blocking pool of the current (or global) runtime. The pool
/// grows on demand up to `max_blocking_threads` and shrinks when idle.
///
/// ```
/// let rt = nimsync_scheduler::Runtime::builder().workers(1).build().unwrap();
/// let v = rt.block_on(async {
///     nimsync_scheduler::spawn_blocking(|| std::thread::current().name().map(str::to_owned))
///         .await
///         .unwrap()
/// });
/// assert!(v.unwrap().contains("blocking"));
/// ```
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    Handle::current().spawn_blocking(f)
}

/// Moves the paused clock of the current runtime forward by `dur` (see [`Runtime::advance`]).
/// Returns `false` when there is no current runtime or its clock is not paused.
pub fn advance(dur: std::time::Duration) -> bool {
    Handle::try_current().is_some_and(|h| h.advance(dur))
}

/// Internals exposed for the loom models in `tests/loom.rs` only (`--cfg nimsync_loom`).
#[cfg(nimsync_loom)]
#[doc(hidden)]
pub mod loom_support {
    pub use crate::park::Parker;
    pub use crate::queue::idle::Idle;
    pub use crate::queue::lifo::{LifoCell, LifoNext, LifoSlot};
}
