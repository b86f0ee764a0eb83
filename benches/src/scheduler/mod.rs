//! Scheduler workloads: nimsync's runtime against tokio's multi-thread runtime and
//! async-executor, every contender with the same number of worker threads ([`WORKERS`]).
//!
//! Each repetition builds a fresh runtime (not timed), spawns one *root* task on it and times
//! the workload inside that task, so every spawn happens from a worker thread ("from inside
//! the runtime") and thread start-up is excluded. async-executor has no thread pool of its
//! own: [`on_async_executor`] drives it with `WORKERS` threads each running `Executor::run`
//! (the smol pattern), and the calling thread only waits for the root task.

use std::future::Future;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use crate::harness::Workload;

pub mod chained_spawn;
pub mod hook_overhead;
pub mod ping_pong;
pub mod spawn_many;
pub mod timers;
pub mod yield_many;

/// Worker threads of every contender (the machine's 2 cores).
pub const WORKERS: usize = 2;

/// Every scheduler workload, in run order.
pub fn workloads() -> Vec<Workload> {
    vec![
        spawn_many::workload(),
        chained_spawn::workload(),
        yield_many::workload(),
        ping_pong::workload(),
        timers::workload(),
        hook_overhead::workload(),
    ]
}

/// A nimsync runtime with [`WORKERS`] workers.
pub fn nimsync_runtime() -> nimsync_scheduler::Runtime {
    nimsync_scheduler::Runtime::builder()
        .workers(WORKERS)
        .build()
        .expect("nimsync runtime")
}

/// Runs `root` as a task on `rt` and returns the duration it measured.
pub fn on_nimsync_rt<Fut>(rt: &nimsync_scheduler::Runtime, root: Fut) -> Duration
where
    Fut: Future<Output = Duration> + Send + 'static,
{
    rt.block_on(rt.spawn(root)).expect("root task panicked")
}

/// Runs `root` as a task on a fresh nimsync runtime.
pub fn on_nimsync<Fut>(root: Fut) -> Duration
where
    Fut: Future<Output = Duration> + Send + 'static,
{
    on_nimsync_rt(&nimsync_runtime(), root)
}

/// Runs `root` as a task on a fresh tokio multi-thread runtime (time driver enabled).
pub fn on_tokio<Fut>(root: Fut) -> Duration
where
    Fut: Future<Output = Duration> + Send + 'static,
{
    on_tokio_built(
        tokio::runtime::Builder::new_multi_thread().enable_time(),
        root,
    )
}

/// Runs `root` as a task on a fresh tokio multi-thread runtime with the I/O driver (sockets)
/// enabled instead of the timer.
pub fn on_tokio_io<Fut>(root: Fut) -> Duration
where
    Fut: Future<Output = Duration> + Send + 'static,
{
    on_tokio_built(
        tokio::runtime::Builder::new_multi_thread().enable_io(),
        root,
    )
}

/// Builds `builder` with [`WORKERS`] workers and runs `root` as a task on it.
fn on_tokio_built<Fut>(builder: &mut tokio::runtime::Builder, root: Fut) -> Duration
where
    Fut: Future<Output = Duration> + Send + 'static,
{
    let rt = builder
        .worker_threads(WORKERS)
        .build()
        .expect("tokio runtime");
    rt.block_on(rt.spawn(root)).expect("root task panicked")
}

/// An async-executor shared by its driving threads and the tasks (which spawn through it).
pub type Ex = Arc<async_executor::Executor<'static>>;

/// Runs `root(ex)` as a task on a fresh async-executor driven by [`WORKERS`] threads, each
/// in `Executor::run`. With `timers`, the threads block in `async_io::block_on` (which also
/// drives async-io's timers when idle, as smol does); otherwise in futures-lite's `block_on`.
pub fn on_async_executor<Fut>(timers: bool, root: impl FnOnce(Ex) -> Fut) -> Duration
where
    Fut: Future<Output = Duration> + Send + 'static,
{
    let ex: Ex = Arc::new(async_executor::Executor::new());
    let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
    let started = Barrier::new(WORKERS + 1);
    std::thread::scope(|s| {
        for _ in 0..WORKERS {
            let (ex, stop, started) = (ex.clone(), stop_rx.clone(), &started);
            s.spawn(move || {
                started.wait();
                let run = ex.run(async move {
                    let _ = stop.recv().await;
                });
                if timers {
                    async_io::block_on(run)
                } else {
                    futures_lite::future::block_on(run)
                }
            });
        }
        started.wait();
        let d = futures_lite::future::block_on(ex.spawn(root(ex.clone())));
        stop_tx.close();
        d
    })
}
