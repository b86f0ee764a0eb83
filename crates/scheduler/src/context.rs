//! Thread-local state: the entered runtime, the worker running on this thread, and the
//! per-task context slot of the task being polled.
//!
//! The *task context slot* is an `Option<Arc<dyn Any + Send + Sync>>` that every task carries.
//! While a task is polled its value is installed here, so [`task_context`] and
//! [`set_task_context`] read and write the slot of the *currently running* task; a task spawned
//! from it starts with a clone of it (inheritance), and hooks see it too. This is how the
//! telemetry layer carries trace context across `spawn` with no wrapper future.
//!
//! ```
//! use std::sync::Arc;
//! use nimsync_scheduler::{Runtime, spawn, task_context, set_task_context};
//!
//! let rt = Runtime::current_thread();
//! let seen = rt.block_on(async {
//!     set_task_context(Some(Arc::new("trace-42")));
//!     spawn(async {
//!         let ctx = task_context().unwrap();
//!         *ctx.downcast_ref::<&str>().unwrap()
//!     })
//!     .await
//!     .unwrap()
//! });
//! assert_eq!(seen, "trace-42");
//! ```

use crate::runtime::Handle;
use crate::worker::WorkerCtx;
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

/// The value stored in a task's context slot.
pub type TaskContextValue = Arc<dyn Any + Send + Sync>;

/// Per-thread state of the task being polled (one thread-local, so a poll pays one look-up).
struct TaskLocal {
    /// The running task's context slot.
    ctx: Cell<Option<TaskContextValue>>,
    /// Set while a runner asks the task wrapper to cancel instead of polling.
    cancel_run: Cell<bool>,
}

thread_local! {
    static TASK: TaskLocal = const {
        TaskLocal {
            ctx: Cell::new(None),
            cancel_run: Cell::new(false),
        }
    };
    static CURRENT: RefCell<Option<Handle>> = const { RefCell::new(None) };
    static WORKER: RefCell<Option<Rc<WorkerCtx>>> = const { RefCell::new(None) };
    static IN_BLOCK_ON: Cell<bool> = const { Cell::new(false) };
}

/// Returns (a clone of) the context slot of the currently running task, or of the current
/// `block_on` future; `None` outside tasks or when the slot is empty.
///
/// ```
/// assert!(nimsync_scheduler::task_context().is_none());
/// ```
pub fn task_context() -> Option<TaskContextValue> {
    TASK.with(|t| {
        let v = t.ctx.take();
        let out = v.clone();
        t.ctx.set(v);
        out
    })
}

/// Whether the context slot of the currently running task holds `value` itself (the same
/// allocation): one thread-local look-up, no reference count touched. For a layer that
/// spawned the task with [`spawn_with_context`](crate::spawn_with_context) and wants to know
/// whether an `on_spawn` hook replaced the value.
///
/// ```
/// use std::sync::Arc;
/// use nimsync_scheduler::{spawn_with_context, task_context_is};
/// let rt = nimsync_scheduler::Runtime::current_thread();
/// let mine = Arc::new(3u8);
/// let other = Arc::new(3u8);
/// let (a, b) = (mine.clone(), other.clone());
/// let seen = rt.block_on(spawn_with_context(Some(mine), async move {
///     (task_context_is(&a), task_context_is(&b))
/// }));
/// assert_eq!(seen.unwrap(), (true, false));
/// assert!(!task_context_is(&other)); // outside any task
/// ```
#[inline]
pub fn task_context_is<T: ?Sized>(value: &Arc<T>) -> bool {
    let addr = Arc::as_ptr(value) as *const ();
    TASK.with(|t| {
        let v = t.ctx.take();
        let same = v
            .as_ref()
            .is_some_and(|v| std::ptr::eq(Arc::as_ptr(v) as *const (), addr));
        t.ctx.set(v);
        same
    })
}

/// Replaces the context slot of the currently running task (or `block_on` future) and returns
/// the previous value. Tasks spawned afterwards inherit the new value.
///
/// ```
/// use std::sync::Arc;
/// let rt = nimsync_scheduler::Runtime::current_thread();
/// rt.block_on(async {
///     let prev = nimsync_scheduler::set_task_context(Some(Arc::new(7u32)));
///     assert!(prev.is_none());
///     let now = nimsync_scheduler::task_context().unwrap();
///     assert_eq!(now.downcast_ref::<u32>(), Some(&7));
/// });
/// ```
#[inline]
pub fn set_task_context(value: Option<TaskContextValue>) -> Option<TaskContextValue> {
    swap_task_context(value)
}

#[inline]
pub(crate) fn swap_task_context(value: Option<TaskContextValue>) -> Option<TaskContextValue> {
    TASK.with(|t| t.ctx.replace(value))
}

/// Installs a task's context for its poll: returns the previous slot value and whether the
/// runner asked for cancellation instead of a poll (one thread-local look-up for both).
pub(crate) fn enter_task_poll(value: Option<TaskContextValue>) -> (Option<TaskContextValue>, bool) {
    TASK.with(|t| (t.ctx.replace(value), t.cancel_run.get()))
}

/// Set by whoever runs a task's `Runnable` to ask the task wrapper to cancel instead of
/// polling (abort, shutdown).
pub(crate) fn set_cancel_run(v: bool) {
    TASK.with(|t| t.cancel_run.set(v));
}

/// The runtime entered on this thread (by a worker, `block_on` or the blocking pool).
pub(crate) fn current_handle() -> Option<Handle> {
    with_current_handle(|h| h.cloned())
}

/// Runs `f` with the runtime entered on this thread (the worker's, else the one entered by
/// `block_on` or the blocking pool), borrowed.
pub(crate) fn with_current_handle<R>(f: impl FnOnce(Option<&Handle>) -> R) -> R {
    WORKER.with(|w| {
        let worker = w.try_borrow().ok();
        match worker.as_deref().and_then(|o| o.as_deref()) {
            Some(ctx) => f(Some(&ctx.handle)),
            None => CURRENT.with(|c| f(c.borrow().as_ref())),
        }
    })
}

/// Runs `f` with the worker context of this thread, if this thread is a runtime worker.
pub(crate) fn with_worker<R>(f: impl FnOnce(Option<&WorkerCtx>) -> R) -> R {
    WORKER.with(|w| match w.try_borrow() {
        Ok(b) => f(b.as_deref()),
        Err(_) => f(None),
    })
}

pub(crate) fn set_worker(ctx: Option<Rc<WorkerCtx>>) -> Option<Rc<WorkerCtx>> {
    WORKER.with(|w| w.replace(ctx))
}

/// Restores the previously entered runtime on drop.
#[derive(Debug)]
pub(crate) struct EnterGuard {
    prev: Option<Handle>,
}

pub(crate) fn enter(handle: Handle) -> EnterGuard {
    let prev = CURRENT.with(|c| c.replace(Some(handle)));
    EnterGuard { prev }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        CURRENT.with(|c| *c.borrow_mut() = prev);
    }
}

/// Marks this thread as inside `block_on`; panics with a clear message on misuse.
#[derive(Debug)]
pub(crate) struct BlockOnGuard(());

pub(crate) fn enter_block_on() -> BlockOnGuard {
    let on_worker = with_worker(|w| w.is_some());
    if on_worker || IN_BLOCK_ON.with(|c| c.get()) {
        panic!(
            "nimsync_scheduler: `block_on` was called from inside an asynchronous context \
             (a runtime worker thread or another `block_on`). Blocking here would stall the \
             executor and can deadlock. Use `.await` instead, or run the blocking code with \
             `spawn_blocking`."
        );
    }
    IN_BLOCK_ON.with(|c| c.set(true));
    BlockOnGuard(())
}

impl Drop for BlockOnGuard {
    fn drop(&mut self) {
        IN_BLOCK_ON.with(|c| c.set(false));
    }
}
