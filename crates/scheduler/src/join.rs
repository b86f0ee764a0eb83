//! `JoinHandle`: await a task's output, abort it, or detach it by dropping the handle.

use crate::task::{TaskId, TaskMeta};
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};

/// An owned permission to await a spawned task.
///
/// * `.await` gives `Ok(output)`, or `Err(JoinError)` if the task panicked (with the payload) or
///   was cancelled (aborted, or dropped when the runtime shut down).
/// * [`abort`](Self::abort) cancels the task: its future is dropped at its next scheduling
///   point (right away if it is idle). Aborting a finished task does nothing (its output stays).
/// * Dropping the handle *detaches* the task: it keeps running.
///
/// Polling the handle again after it returned `Ready` panics.
///
/// ```
/// use nimsync_scheduler::{Runtime, spawn};
/// let rt = Runtime::builder().workers(2).build().unwrap();
/// let v = rt.block_on(async { spawn(async { 6 * 7 }).await });
/// assert_eq!(v.unwrap(), 42);
/// ```
pub struct JoinHandle<T> {
    task: Option<async_task::Task<Result<T, JoinError>, TaskMeta>>,
    /// How `abort` wakes the task when its runtime registry cannot (blocking-pool cells);
    /// runtime tasks keep no waker here: `abort` wakes them through their registry slot.
    waker: Option<Waker>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(
        task: async_task::Task<Result<T, JoinError>, TaskMeta>,
        waker: Option<Waker>,
    ) -> Self {
        JoinHandle {
            task: Some(task),
            waker,
        }
    }

    fn task(&self) -> &async_task::Task<Result<T, JoinError>, TaskMeta> {
        self.task
            .as_ref()
            .expect("JoinHandle used after completion")
    }

    /// Cancels the task. Awaiting the handle afterwards returns `Err(JoinError)` with
    /// [`is_cancelled`](JoinError::is_cancelled), unless the task had already finished.
    ///
    /// ```
    /// use nimsync_scheduler::{Runtime, spawn};
    /// let rt = Runtime::current_thread();
    /// rt.block_on(async {
    ///     let h = spawn(std::future::pending::<()>());
    ///     h.abort();
    ///     assert!(h.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort(&self) {
        let meta = self.task().metadata();
        meta.aborted.store(true, Ordering::Release);
        match (&self.waker, &meta.shard) {
            (Some(w), _) => w.wake_by_ref(),
            // Wake it through its registry slot (a finished task's slot may have been reused:
            // the other task then gets a spurious wake-up, which is harmless).
            (None, Some(shard)) => shard.wake_slot(meta.key()),
            (None, None) => {}
        }
    }

    /// Whether the task has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(|t| t.is_finished())
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.task().metadata().id
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let task = self
            .task
            .as_mut()
            .expect("JoinHandle polled after completion");
        match Pin::new(task).poll(cx) {
            Poll::Ready(out) => {
                self.task = None;
                Poll::Ready(out)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.detach();
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("JoinHandle");
        if let Some(t) = &self.task {
            d.field("id", &t.metadata().id)
                .field("finished", &t.is_finished());
        }
        d.finish()
    }
}

enum Repr {
    Cancelled,
    Panic(Box<dyn Any + Send + 'static>),
}

/// Why a task did not produce its output.
///
/// ```
/// use nimsync_scheduler::{Runtime, spawn};
/// let rt = Runtime::current_thread();
/// let err = rt.block_on(async { spawn(async { panic!("boom") }).await.unwrap_err() });
/// assert!(err.is_panic());
/// assert_eq!(err.panic_message(), Some("boom"));
/// ```
pub struct JoinError {
    id: TaskId,
    repr: Repr,
}

impl JoinError {
    pub(crate) fn cancelled(id: TaskId) -> Self {
        JoinError {
            id,
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(id: TaskId, payload: Box<dyn Any + Send + 'static>) -> Self {
        JoinError {
            id,
            repr: Repr::Panic(payload),
        }
    }

    /// The task was aborted or dropped at shutdown.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// The task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The id of the task.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The panic message, when the payload is a `&str` or `String`.
    pub fn panic_message(&self) -> Option<&str> {
        match &self.repr {
            Repr::Panic(p) => p
                .downcast_ref::<&'static str>()
                .copied()
                .or_else(|| p.downcast_ref::<String>().map(String::as_str)),
            Repr::Cancelled => None,
        }
    }

    /// The panic payload (e.g. to `std::panic::resume_unwind` it).
    ///
    /// # Panics
    /// If the error is a cancellation; see [`try_into_panic`](Self::try_into_panic).
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("`JoinError::into_panic` called on a cancellation")
    }

    /// The panic payload, or the error back if it is a cancellation.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(p) => Ok(p),
            Repr::Cancelled => Err(self),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "JoinError::Cancelled({:?})", self.id),
            Repr::Panic(_) => write!(
                f,
                "JoinError::Panic({:?}, {:?})",
                self.id,
                self.panic_message().unwrap_or("<non-string payload>")
            ),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "task {} was cancelled", self.id),
            Repr::Panic(_) => match self.panic_message() {
                Some(m) => write!(f, "task {} panicked: {m}", self.id),
                None => write!(f, "task {} panicked", self.id),
            },
        }
    }
}

impl std::error::Error for JoinError {}
