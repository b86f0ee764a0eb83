//! Tasks: ids, the per-task wrapper future, spawning and running.
//!
//! # Why `async-task`
//!
//! Task cells are built on [`async-task`](https://docs.rs/async-task) (smol-rs), as DESIGN.md
//! recommends: one allocation per task holding the state word (flags + refcount), the future or
//! its output, the schedule function and our [`TaskMeta`]; wakers are that pointer with a
//! refcount, so cloning and waking are a few atomic operations, and waking a completed or
//! cancelled task is a no-op. It is proven code (miri-tested upstream), so the scheduler needs
//! no `unsafe` of its own.
//!
//! Around the user's future we put a [`TaskFuture`] that (1) installs the task's context slot
//! during each poll, (2) runs the poll hooks (and keeps the task's hook data for them), (3)
//! catches panics (they become [`JoinError`]s, never taking a worker down), (4) drops the
//! future and reports cancellation when the runner asks it to (abort or shutdown), and (5)
//! removes the task from its shard's registry (the list shutdown uses to drop every pending
//! future exactly once).

use crate::context;
use crate::hooks::{Hooks, SpawnInfo, TaskInfo, TaskOutcome};
use crate::join::{JoinError, JoinHandle};
use crate::shared::{Runnable, TaskShard};
use crate::sync::std_lock as lock;
use pin_project_lite::pin_project;
use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};

/// A task's unique id (unique within the process).
///
/// ```
/// let rt = nimsync_scheduler::Runtime::current_thread();
/// let a = rt.spawn(async {});
/// let b = rt.spawn(async {});
/// assert_ne!(a.id(), b.id());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(u64);

impl TaskId {
    /// The id as an integer.
    #[inline]
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// A fresh id. Ids are handed out to threads in blocks so spawning does not contend on
    /// one shared counter.
    pub(crate) fn next() -> TaskId {
        const BLOCK: u64 = 1024;
        static NEXT_BLOCK: AtomicU64 = AtomicU64::new(1);
        thread_local! {
            static RANGE: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
        }
        RANGE.with(|r| {
            let (mut next, mut end) = r.get();
            if next == end {
                next = NEXT_BLOCK.fetch_add(BLOCK, Ordering::Relaxed);
                end = next + BLOCK;
            }
            r.set((next + 1, end));
            TaskId(next)
        })
    }
}

impl fmt::Debug for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskId({})", self.0)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Per-task metadata stored in the `async-task` allocation.
#[derive(Debug)]
pub(crate) struct TaskMeta {
    pub(crate) id: TaskId,
    /// Set by `JoinHandle::abort`; checked by whoever runs the task.
    pub(crate) aborted: AtomicBool,
    /// The registry shard of a runtime task (`None` for blocking-pool cells): the schedule
    /// function finds its runtime through it, and `abort` the task's waker.
    pub(crate) shard: Option<Arc<TaskShard>>,
    /// The task's slot in that shard's registry (`usize::MAX`: none). Set once, by the spawner,
    /// after the task is allocated and before it is first scheduled (see `spawn_on_shard`);
    /// whoever reads it later got the task through that scheduling (or the join handle), so a
    /// relaxed load sees it.
    pub(crate) key: AtomicUsize,
}

impl TaskMeta {
    /// The task's slot in its shard's registry (`usize::MAX`: none).
    pub(crate) fn key(&self) -> usize {
        self.key.load(Ordering::Relaxed)
    }

    /// The hooks of the task's runtime, if it has any.
    fn hooks(&self) -> Option<&Hooks> {
        self.shard.as_ref().and_then(|s| s.shared.hooks.as_deref())
    }
}

pin_project! {
    /// The wrapper around every spawned future (see the module docs). It borrows its task's
    /// metadata (id, registry shard and key), which lives in the same `async-task` allocation
    /// and outlives the future.
    pub(crate) struct TaskFuture<'m, F> {
        #[pin]
        fut: Option<F>,
        meta: &'m TaskMeta,
        ctx: Option<context::TaskContextValue>,
        // The task's hook data (see the `hooks` module): only the hooks touch it.
        hook_data: Option<context::TaskContextValue>,
        done: bool,
        // Whether the runtime has a `before_poll` or `after_poll` hook (fixed at build time):
        // without one a poll does not look the hooks up.
        poll_hooks: bool,
    }

    impl<'m, F> PinnedDrop for TaskFuture<'m, F> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            if !*this.done {
                *this.done = true;
                let prev = context::swap_task_context(this.ctx.take());
                // The destructor runs outside any poll: release what a hook kept attached.
                crate::hooks::run_idle(this.meta.hooks());
                let _ = catch_unwind(AssertUnwindSafe(|| this.fut.as_mut().set(None)));
                finish(this.meta, this.hook_data, TaskOutcome::Cancelled, false);
                *this.ctx = context::swap_task_context(prev);
            }
        }
    }
}

/// Runs the terminate hook (unless the finishing `after_poll` skipped it: `skip_terminate`),
/// drops the hook data and removes the task from its registry.
fn finish(
    meta: &TaskMeta,
    hook_data: &mut Option<context::TaskContextValue>,
    outcome: TaskOutcome,
    skip_terminate: bool,
) {
    let (Some(shard), key, id) = (meta.shard.as_ref(), meta.key(), meta.id) else {
        return;
    };
    if let Some(hook) = meta.hooks().and_then(|h| h.on_terminate.as_ref())
        && !skip_terminate
    {
        let info = TaskInfo {
            id,
            data: Cell::from_mut(hook_data),
            finishing: false,
            skip_terminate: &Cell::new(false),
        };
        let _ = catch_unwind(AssertUnwindSafe(|| hook(&info, outcome)));
    }
    if let Some(data) = hook_data.take() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(data)));
    }
    crate::shared::remove_task(shard, key);
}

impl<F: Future> Future for TaskFuture<'_, F> {
    type Output = Result<F::Output, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let meta: &TaskMeta = this.meta;
        let id = meta.id;
        let (prev, cancel) = context::enter_task_poll(this.ctx.take());
        let skip_terminate = Cell::new(false);
        let result = if cancel {
            // The future is dropped without a poll (and its hooks): as above.
            crate::hooks::run_idle(meta.hooks());
            Err(None)
        } else {
            let hooks = if *this.poll_hooks { meta.hooks() } else { None };
            let fut = this.fut.as_mut();
            let hook_data = &mut *this.hook_data;
            let skip = &skip_terminate;
            match catch_unwind(AssertUnwindSafe(|| match hooks {
                None => match fut.as_pin_mut() {
                    Some(f) => f.poll(cx),
                    None => Poll::Pending,
                },
                Some(hooks) => {
                    let mut info = TaskInfo {
                        id,
                        data: Cell::from_mut(hook_data),
                        finishing: false,
                        skip_terminate: skip,
                    };
                    if let Some(h) = &hooks.before_poll {
                        h(&info);
                    }
                    let r = match fut.as_pin_mut() {
                        Some(f) => f.poll(cx),
                        None => Poll::Pending,
                    };
                    if let Some(h) = &hooks.after_poll {
                        info.finishing = r.is_ready();
                        h(&info);
                    }
                    r
                }
            })) {
                Ok(Poll::Pending) => {
                    *this.ctx = context::swap_task_context(prev);
                    return Poll::Pending;
                }
                Ok(Poll::Ready(v)) => Ok(v),
                Err(payload) => Err(Some(payload)),
            }
        };
        // The task is over: drop the future now (with its context installed), report, and
        // unregister.
        *this.done = true;
        let _ = catch_unwind(AssertUnwindSafe(|| this.fut.as_mut().set(None)));
        let (out, outcome) = match result {
            Ok(v) => (Ok(v), TaskOutcome::Completed),
            Err(Some(p)) => (Err(JoinError::panic(id, p)), TaskOutcome::Panicked),
            Err(None) => (Err(JoinError::cancelled(id)), TaskOutcome::Cancelled),
        };
        // Only a completed task's finishing `after_poll` can have skipped `on_terminate`.
        let skip = outcome == TaskOutcome::Completed && skip_terminate.get();
        finish(meta, this.hook_data, outcome, skip);
        drop(context::swap_task_context(prev));
        Poll::Ready(out)
    }
}

/// Spawns `fut` into `shard` (of its runtime) and schedules it; the task's context slot
/// starts as `ctx()` (what the `on_spawn` hook then sees): [`context::task_context`] to
/// inherit the spawner's. (A closure rather than a value: called where the plain spawn
/// always read the slot, it keeps that path's code as it was.)
pub(crate) fn spawn_on_shard<F, C>(shard: &Arc<TaskShard>, ctx: C, fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    C: FnOnce() -> Option<context::TaskContextValue>,
{
    let id = TaskId::next();
    let mut ctx = ctx();
    let mut hook_data = None;
    let shared = &shard.shared;
    if let Some(hook) = shared.hooks.as_ref().and_then(|h| h.on_spawn.as_ref()) {
        hook(&mut SpawnInfo {
            id,
            context: &mut ctx,
            data: &mut hook_data,
        });
    }
    let poll_hooks = shared
        .hooks
        .as_ref()
        .is_some_and(|h| h.before_poll.is_some() || h.after_poll.is_some());
    // The registry slot is reserved after the allocation below, not around it: the lock is
    // shared with the workers that remove finished tasks, and an allocation (a page fault on
    // fresh memory, at worst) under it makes them wait in the kernel.
    let meta = TaskMeta {
        id,
        aborted: AtomicBool::new(false),
        shard: Some(shard.clone()),
        key: AtomicUsize::new(usize::MAX),
    };
    // The schedule function captures nothing (it finds the runtime through the metadata), so
    // async-task takes no extra reference around each schedule call.
    let schedule = async_task::WithInfo(crate::shared::schedule_task);
    // SAFETY: `spawn_unchecked` only lets the future borrow the task's own metadata, which is
    // allowed by its contract (the metadata lives in the task allocation and is dropped after
    // the future); everything else is `Send + 'static`, as `spawn` would require.
    let (runnable, task) = unsafe {
        async_task::Builder::new().metadata(meta).spawn_unchecked(
            move |meta: &TaskMeta| TaskFuture {
                fut: Some(fut),
                meta,
                ctx,
                hook_data,
                done: false,
                poll_hooks,
            },
            schedule,
        )
    };
    let mut reg = lock(&shard.registry);
    match reg.reserve() {
        Some(k) => {
            // Before the task can run (it is scheduled below), so every reader sees it.
            runnable.metadata().key.store(k, Ordering::Relaxed);
            reg.fill(k, runnable.waker());
            drop(reg);
            runnable.schedule();
        }
        None => {
            // The runtime is shut down: the task is cancelled at once.
            drop(reg);
            run_runnable(runnable, true);
        }
    }
    JoinHandle::new(task, None)
}

/// Spawns a task that is not scheduled on the workers (blocking pool): no registry, no hooks.
pub(crate) fn spawn_detached_cell<F, S>(
    fut: F,
    schedule: S,
) -> (
    Runnable,
    async_task::Task<Result<F::Output, JoinError>, TaskMeta>,
)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Fn(Runnable) + Send + Sync + 'static,
{
    let id = TaskId::next();
    let meta = TaskMeta {
        id,
        aborted: AtomicBool::new(false),
        shard: None,
        key: AtomicUsize::new(usize::MAX),
    };
    let ctx = context::task_context();
    // SAFETY: as in `spawn_on_shard`: the future borrows only its own task's metadata; the
    // future, its output and `schedule` are `Send + 'static`.
    unsafe {
        async_task::Builder::new().metadata(meta).spawn_unchecked(
            move |meta: &TaskMeta| TaskFuture {
                fut: Some(fut),
                meta,
                ctx,
                hook_data: None,
                done: false,
                poll_hooks: false,
            },
            schedule,
        )
    }
}

/// Runs a task's `Runnable`, cancelling it instead when it was aborted or `cancel` is set.
/// Never unwinds.
pub(crate) fn run_runnable(r: Runnable, cancel: bool) {
    let cancel = cancel || r.metadata().aborted.load(Ordering::Acquire);
    if cancel {
        context::set_cancel_run(true);
    }
    let _ = catch_unwind(AssertUnwindSafe(|| r.run()));
    if cancel {
        context::set_cancel_run(false);
    }
}

thread_local! {
    static CANCELLING: Cell<bool> = const { Cell::new(false) };
    static DEFERRED: std::cell::RefCell<Vec<Runnable>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Cancels a task outside any worker (shutdown paths). Re-entrant calls (a dropped future
/// waking another task) are deferred to a loop, so cancellation chains use no stack.
pub(crate) fn cancel_runnable(r: Runnable) {
    if CANCELLING.with(|c| c.replace(true)) {
        DEFERRED.with(|d| d.borrow_mut().push(r));
        return;
    }
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            CANCELLING.with(|c| c.set(false));
        }
    }
    let _reset = Reset;
    run_runnable(r, true);
    while let Some(next) = DEFERRED.with(|d| d.borrow_mut().pop()) {
        run_runnable(next, true);
    }
}
