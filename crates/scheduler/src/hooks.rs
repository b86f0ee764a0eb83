//! Task hooks: user callbacks at spawn, around every poll and at termination.
//!
//! Hooks are set on the [`Builder`](crate::Builder) and are how upper layers (telemetry) observe
//! tasks with no wrapper future. They run on the thread that spawns / polls / drops the task,
//! with the task's [context slot](crate::task_context) installed, so a hook can read or replace
//! it (e.g. to enter a tracing span in `before_poll` and leave it in `after_poll`). A runtime
//! with no hook set pays one well-predicted branch per poll.
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
use std::fmt;

/// What a hook learns about the task it is called for.
#[derive(Debug, Clone, Copy)]
pub struct TaskInfo {
    pub(crate) id: TaskId,
}

impl TaskInfo {
    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }
}

/// Handed to the `on_spawn` hook: the new task's id and its context slot, already holding a
/// clone of the spawning task's context (inheritance); the hook may replace it.
pub struct SpawnInfo<'a> {
    pub(crate) id: TaskId,
    pub(crate) context: &'a mut Option<TaskContextValue>,
}

impl SpawnInfo<'_> {
    /// The new task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The context the child will start with (inherited from the parent).
    pub fn context(&self) -> Option<&TaskContextValue> {
        self.context.as_ref()
    }

    /// Replaces the child's context.
    pub fn set_context(&mut self, ctx: Option<TaskContextValue>) {
        *self.context = ctx;
    }
}

impl fmt::Debug for SpawnInfo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpawnInfo")
            .field("id", &self.id)
            .field("has_context", &self.context.is_some())
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
pub(crate) type PollHook = Box<dyn Fn(&TaskInfo) + Send + Sync>;
pub(crate) type TerminateHook = Box<dyn Fn(&TaskInfo, TaskOutcome) + Send + Sync>;

/// The set of task hooks of a runtime.
#[derive(Default)]
pub(crate) struct Hooks {
    pub(crate) on_spawn: Option<SpawnHook>,
    pub(crate) before_poll: Option<PollHook>,
    pub(crate) after_poll: Option<PollHook>,
    pub(crate) on_terminate: Option<TerminateHook>,
}

impl Hooks {
    pub(crate) fn is_empty(&self) -> bool {
        self.on_spawn.is_none()
            && self.before_poll.is_none()
            && self.after_poll.is_none()
            && self.on_terminate.is_none()
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("on_spawn", &self.on_spawn.is_some())
            .field("before_poll", &self.before_poll.is_some())
            .field("after_poll", &self.after_poll.is_some())
            .field("on_terminate", &self.on_terminate.is_some())
            .finish()
    }
}
