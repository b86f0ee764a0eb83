//! Task hooks: user callbacks at spawn, around every poll and at termination.
//!
//! Hooks are set on the [`Builder`](crate::Builder) and are how upper layers (telemetry) observe
//! tasks with no wrapper future. They run on the thread that spawns / polls / drops the task,
//! with the task's [context slot](crate::task_context) installed, so a hook can read or replace
//! it (e.g. to enter a tracing span in `before_poll` and leave it in `after_poll`). A runtime
//! with no hook set pays one well-predicted branch per poll.
//!
//! Besides the context slot (which the task's own code and lower layers such as cancellation
//! use), every task has a *hook data* slot that only the hooks see: `on_spawn` may fill it
//! ([`SpawnInfo::set_hook_data`]), the other hooks take and put it back through their
//! [`TaskInfo`] (a move, no thread-local, no reference count), and it is dropped after
//! `on_terminate`. It is not inherited and never installed in a thread-local: a layer that
//! keeps per-task state there neither hides nor wraps the task's context slot.
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use nimsync_scheduler::Runtime;
//!
//! let polls = Arc::new(AtomicUsize::new(0));
//! let p = polls.clone();
//! let rt = Runtime::builder()
//!     .workers(1)
//!     .before_poll(move |_task| { p.fetch_add(1, Ordering::Relaxed); })
//!     .build()
//!     .unwrap();
//! rt.block_on(async { nimsync_scheduler::spawn(async {}).await.unwrap() });
//! assert!(polls.load(Ordering::Relaxed) >= 1);
//! ```

use crate::context::TaskContextValue;
use crate::task::TaskId;
use std::cell::Cell;
use std::fmt;
use std::sync::Arc;

/// What a hook learns about the task it is called for: its id, its hook data slot and, in
/// `after_poll`, whether that poll ended the task ([`TaskInfo::is_finishing`]) and a way to
/// say that `on_terminate` has nothing left to do for it ([`TaskInfo::skip_terminate`]).
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use nimsync_scheduler::Runtime;
///
/// // Count each task's polls in its hook data; report the count when it ends.
/// let seen = Arc::new(AtomicU32::new(0));
/// let s = seen.clone();
/// let rt = Runtime::builder()
///     .workers(1)
///     .on_spawn(|info| info.set_hook_data(Some(Arc::new(AtomicU32::new(0)))))
///     .before_poll(|task| {
///         let data = task.take_hook_data();
///         if let Some(n) = data.as_ref().and_then(|d| d.downcast_ref::<AtomicU32>()) {
///             n.fetch_add(1, Ordering::Relaxed);
///         }
///         task.set_hook_data(data);
///     })
///     .on_terminate(move |task, _| {
///         if let Some(n) = task.take_hook_data().and_then(|d| d.downcast::<AtomicU32>().ok()) {
///             s.store(n.load(Ordering::Relaxed), Ordering::Relaxed);
///         }
///     })
///     .build()
///     .unwrap();
/// rt.block_on(async {
///     nimsync_scheduler::spawn(async { nimsync_scheduler::yield_now().await }).await.unwrap()
/// });
/// assert_eq!(seen.load(Ordering::Relaxed), 2);
/// ```
#[derive(Clone, Copy)]
pub struct TaskInfo<'a> {
    pub(crate) id: TaskId,
    pub(crate) data: &'a Cell<Option<TaskContextValue>>,
    pub(crate) finishing: bool,
    /// Set by [`TaskInfo::skip_terminate`] in the finishing `after_poll`.
    pub(crate) skip_terminate: &'a Cell<bool>,
}

impl TaskInfo<'_> {
    /// The task's id.
    #[inline]
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// Takes the task's hook data (set by `on_spawn` or an earlier hook), leaving it empty.
    #[inline]
    pub fn take_hook_data(&self) -> Option<TaskContextValue> {
        self.data.take()
    }

    /// Whether the task's hook data is `value` itself (the same allocation): no reference count
    /// touched, nothing moved for good. A hook that keeps a reference of its own to a task's
    /// value (e.g. from an earlier poll) can recognize it without taking it out and downcasting
    /// it.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// let mine: Arc<u32> = Arc::new(7);
    /// let (m, seen) = (mine.clone(), Arc::new(AtomicBool::new(false)));
    /// let s = seen.clone();
    /// let rt = nimsync_scheduler::Runtime::builder()
    ///     .workers(1)
    ///     .on_spawn(move |info| info.set_hook_data(Some(m.clone())))
    ///     .before_poll(move |task| s.store(task.hook_data_is(&mine), Ordering::Relaxed))
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async { nimsync_scheduler::spawn(async {}).await.unwrap() });
    /// assert!(seen.load(Ordering::Relaxed));
    /// ```
    #[inline]
    pub fn hook_data_is<T: ?Sized>(&self, value: &Arc<T>) -> bool {
        std::ptr::eq(self.hook_data_ptr(), Arc::as_ptr(value).cast::<()>())
    }

    /// The address of the task's hook data (what `Arc::as_ptr(..).cast::<()>()` gives for the
    /// same allocation), null when it has none: read once, it can be compared with several
    /// values a hook keeps (see [`hook_data_is`](Self::hook_data_is)); nothing is moved.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// let mine: Arc<u32> = Arc::new(7);
    /// let (m, seen) = (mine.clone(), Arc::new(AtomicBool::new(false)));
    /// let s = seen.clone();
    /// let rt = nimsync_scheduler::Runtime::builder()
    ///     .workers(1)
    ///     .on_spawn(move |info| info.set_hook_data(Some(m.clone())))
    ///     .before_poll(move |task| {
    ///         s.store(task.hook_data_ptr() == Arc::as_ptr(&mine).cast::<()>(), Ordering::Relaxed)
    ///     })
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async { nimsync_scheduler::spawn(async {}).await.unwrap() });
    /// assert!(seen.load(Ordering::Relaxed));
    /// ```
    #[inline]
    pub fn hook_data_ptr(&self) -> *const () {
        // SAFETY: a shared reference to the slot's contents that ends within this function.
        // The slot is a `Cell` (`!Sync`), so only this thread reaches it, and nothing runs
        // while the reference lives (no call out, no drop), so the slot is not written
        // meanwhile: the reference never aliases a write.
        let data = unsafe { &*self.data.as_ptr() };
        data.as_ref()
            .map_or(std::ptr::null(), |d| Arc::as_ptr(d).cast::<()>())
    }

    /// Stores `data` as the task's hook data (dropping the previous value).
    #[inline]
    pub fn set_hook_data(&self, data: Option<TaskContextValue>) {
        drop(self.data.replace(data));
    }

    /// In `after_poll`: whether the poll just made ended the task (its future returned
    /// `Ready`), so that `on_terminate` follows on this thread with the task's hook data as
    /// `after_poll` leaves it. A hook may then finish its per-task work here, in one go, and
    /// leave the hook data empty. `false` in every other hook, and in `after_poll` when the
    /// task goes on (a panicking poll runs no `after_poll`). The task's future is dropped
    /// between this `after_poll` and `on_terminate`, so state freed here is gone before the
    /// future's destructor runs.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// let finished = Arc::new(AtomicUsize::new(0));
    /// let f = finished.clone();
    /// let rt = nimsync_scheduler::Runtime::builder()
    ///     .workers(1)
    ///     .after_poll(move |task| {
    ///         if task.is_finishing() {
    ///             f.fetch_add(1, Ordering::Relaxed);
    ///         }
    ///     })
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async {
    ///     nimsync_scheduler::spawn(async { nimsync_scheduler::yield_now().await }).await.unwrap()
    /// });
    /// // Two polls, the second one ends the task.
    /// assert_eq!(finished.load(Ordering::Relaxed), 1);
    /// ```
    #[inline]
    pub fn is_finishing(&self) -> bool {
        self.finishing
    }

    /// In `after_poll` when [`is_finishing`](Self::is_finishing): the hooks are done with this
    /// task, so `on_terminate` is not called for it (it completed; whatever hook data is left
    /// is dropped as usual). A hook that finishes its per-task work in that `after_poll` saves
    /// a call. No effect anywhere else (`on_terminate` still runs for every task that panics
    /// or is cancelled, and for every task whose finishing `after_poll` did not call this).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// let terminated = Arc::new(AtomicUsize::new(0));
    /// let t = terminated.clone();
    /// let rt = nimsync_scheduler::Runtime::builder()
    ///     .workers(1)
    ///     .after_poll(|task| {
    ///         if task.is_finishing() {
    ///             task.skip_terminate();
    ///         }
    ///     })
    ///     .on_terminate(move |_, _| {
    ///         t.fetch_add(1, Ordering::Relaxed);
    ///     })
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async { nimsync_scheduler::spawn(async {}).await.unwrap() });
    /// assert_eq!(terminated.load(Ordering::Relaxed), 0);
    /// ```
    #[inline]
    pub fn skip_terminate(&self) {
        if self.finishing {
            self.skip_terminate.set(true);
        }
    }
}

impl fmt::Debug for TaskInfo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskInfo")
            .field("id", &self.id)
            .field("finishing", &self.finishing)
            .finish()
    }
}

/// Handed to the `on_spawn` hook: the new task's id, its context slot, already holding a
/// clone of the spawning task's context (inheritance), which the hook may replace, and its
/// hook data slot (empty; see [`TaskInfo`]).
pub struct SpawnInfo<'a> {
    pub(crate) id: TaskId,
    pub(crate) context: &'a mut Option<TaskContextValue>,
    pub(crate) data: &'a mut Option<TaskContextValue>,
}

impl SpawnInfo<'_> {
    /// The new task's id.
    #[inline]
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The context the child will start with (inherited from the parent).
    #[inline]
    pub fn context(&self) -> Option<&TaskContextValue> {
        self.context.as_ref()
    }

    /// Replaces the child's context.
    #[inline]
    pub fn set_context(&mut self, ctx: Option<TaskContextValue>) {
        *self.context = ctx;
    }

    /// Sets the child's hook data: only the hooks see it (see [`TaskInfo::take_hook_data`]).
    #[inline]
    pub fn set_hook_data(&mut self, data: Option<TaskContextValue>) {
        *self.data = data;
    }
}

impl fmt::Debug for SpawnInfo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpawnInfo")
            .field("id", &self.id)
            .field("has_context", &self.context.is_some())
            .field("has_hook_data", &self.data.is_some())
            .finish()
    }
}

/// How a task ended (passed to `on_terminate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskOutcome {
    /// The future returned `Ready`.
    Completed,
    /// The future panicked.
    Panicked,
    /// The task was aborted, or dropped at shutdown, before completing.
    Cancelled,
}

pub(crate) type SpawnHook = Box<dyn Fn(&mut SpawnInfo<'_>) + Send + Sync>;
pub(crate) type PollHook = Box<dyn Fn(&TaskInfo<'_>) + Send + Sync>;
pub(crate) type TerminateHook = Box<dyn Fn(&TaskInfo<'_>, TaskOutcome) + Send + Sync>;
pub(crate) type IdleHook = Box<dyn Fn() + Send + Sync>;

/// The set of task hooks of a runtime.
#[derive(Default)]
pub(crate) struct Hooks {
    pub(crate) on_spawn: Option<SpawnHook>,
    pub(crate) before_poll: Option<PollHook>,
    pub(crate) after_poll: Option<PollHook>,
    pub(crate) on_terminate: Option<TerminateHook>,
    pub(crate) on_idle: Option<IdleHook>,
}

impl Hooks {
    pub(crate) fn is_empty(&self) -> bool {
        self.on_spawn.is_none()
            && self.before_poll.is_none()
            && self.after_poll.is_none()
            && self.on_terminate.is_none()
            && self.on_idle.is_none()
    }
}

/// Runs the `on_idle` hook of `hooks`, if any (a panic in it is swallowed, like the other
/// hooks').
#[inline]
pub(crate) fn run_idle(hooks: Option<&Hooks>) {
    if let Some(hook) = hooks.and_then(|h| h.on_idle.as_ref()) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(hook));
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("on_spawn", &self.on_spawn.is_some())
            .field("before_poll", &self.before_poll.is_some())
            .field("after_poll", &self.after_poll.is_some())
            .field("on_terminate", &self.on_terminate.is_some())
            .field("on_idle", &self.on_idle.is_some())
            .finish()
    }
}
