//! `TaskError` (how one child failed) and `GroupError` (how a whole group failed).

use nimsync_cancel::Cancelled;
use std::any::Any;
use std::fmt;

/// How a child task of a group did not produce its value.
///
/// ```
/// use nimsync_group::{task_group, CollectAll, TaskError};
///
/// let rt = nimsync_scheduler::Runtime::current_thread();
/// let results = rt.block_on(task_group(CollectAll, |g| async move {
///     g.spawn(async { Err::<u8, &str>("bad input") }).await?;
///     g.spawn(async { panic!("bug") }).await?;
///     Ok(())
/// }));
/// let results = results.unwrap();
/// assert!(matches!(results[0], Err(TaskError::Failed("bad input"))));
/// assert_eq!(results[1].as_ref().unwrap_err().panic_message(), Some("bug"));
/// ```
#[non_exhaustive]
pub enum TaskError<E> {
    /// The child returned `Err(e)`.
    Failed(E),
    /// The child panicked; the payload is kept (see [`TaskError::panic_message`]).
    Panicked(Box<dyn Any + Send + 'static>),
    /// The child was cancelled (group cancelled, a sibling failed, an enclosing scope ended).
    Cancelled(Cancelled),
}

impl<E> TaskError<E> {
    /// The panic message, when the child panicked with a `&str` or `String`.
    ///
    /// ```
    /// let e = nimsync_group::TaskError::<()>::Panicked(Box::new("boom"));
    /// assert_eq!(e.panic_message(), Some("boom"));
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            TaskError::Panicked(p) => p
                .downcast_ref::<&'static str>()
                .copied()
                .or_else(|| p.downcast_ref::<String>().map(String::as_str)),
            _ => None,
        }
    }

    /// Whether the child was cancelled (as opposed to failing or panicking).
    ///
    /// ```
    /// use nimsync_cancel::Cancelled;
    /// assert!(nimsync_group::TaskError::<()>::Cancelled(Cancelled::Parent).is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TaskError::Cancelled(_))
    }
}

impl<E: fmt::Debug> fmt::Debug for TaskError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Failed(e) => f.debug_tuple("Failed").field(e).finish(),
            TaskError::Panicked(_) => f
                .debug_tuple("Panicked")
                .field(&self.panic_message().unwrap_or("<non-string payload>"))
                .finish(),
            TaskError::Cancelled(c) => f.debug_tuple("Cancelled").field(c).finish(),
        }
    }
}

impl<E: fmt::Display> fmt::Display for TaskError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Failed(e) => write!(f, "task failed: {e}"),
            TaskError::Panicked(_) => match self.panic_message() {
                Some(m) => write!(f, "task panicked: {m}"),
                None => f.write_str("task panicked"),
            },
            TaskError::Cancelled(c) => write!(f, "task {c}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for TaskError<E> {}

/// How a group (or spawning into it) failed.
///
/// ```
/// use nimsync_group::{task_group, FailFast, GroupError, TaskError};
///
/// let rt = nimsync_scheduler::Runtime::current_thread();
/// let out = rt.block_on(task_group(FailFast, |g| async move {
///     g.spawn(async { Ok::<u32, String>(1) }).await?;
///     g.spawn(async { Err("disk full".to_string()) }).await?;
///     Ok(())
/// }));
/// match out {
///     Err(GroupError::Task { index, error: TaskError::Failed(e) }) => {
///         assert_eq!((index, e.as_str()), (1, "disk full"));
///     }
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
#[non_exhaustive]
pub enum GroupError<E> {
    /// `FailFast`: the first child (in time) that failed or panicked; the others were
    /// cancelled. `index` is its spawn position.
    Task {
        /// Spawn position of the failed child.
        index: usize,
        /// How it failed.
        error: TaskError<E>,
    },
    /// `FirstSuccess`: no child succeeded; every child's error, in spawn order.
    AllFailed(Vec<TaskError<E>>),
    /// The group was cancelled from outside (`cancel()`, an enclosing scope) before the
    /// policy could produce its result.
    Cancelled(Cancelled),
    /// Spawning into a group that is already joined or dropped.
    Closed,
    /// The body of [`task_group`](crate::task_group) returned this error (children were
    /// cancelled and joined first).
    Body(E),
}

impl<E> GroupError<E> {
    /// Whether this is [`GroupError::Closed`].
    ///
    /// ```
    /// assert!(nimsync_group::GroupError::<()>::Closed.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, GroupError::Closed)
    }
}

impl<E: fmt::Debug> fmt::Debug for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupError::Task { index, error } => f
                .debug_struct("Task")
                .field("index", index)
                .field("error", error)
                .finish(),
            GroupError::AllFailed(v) => f.debug_tuple("AllFailed").field(v).finish(),
            GroupError::Cancelled(c) => f.debug_tuple("Cancelled").field(c).finish(),
            GroupError::Closed => f.write_str("Closed"),
            GroupError::Body(e) => f.debug_tuple("Body").field(e).finish(),
        }
    }
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupError::Task { index, error } => write!(f, "child {index}: {error}"),
            GroupError::AllFailed(v) => write!(f, "all {} children failed", v.len()),
            GroupError::Cancelled(c) => write!(f, "group {c}"),
            GroupError::Closed => f.write_str("the task group is closed (joined or dropped)"),
            GroupError::Body(e) => write!(f, "group body failed: {e}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for GroupError<E> {}
