//! The future each child task runs: the user's future inside a lazy child scope of the group's
//! token (its own child token exists only once the child asks for it), panics caught, the
//! result reported to the group's policy.

use crate::error::TaskError;
use crate::group::Shared;
use crate::policy::Reaction;
use pin_project_lite::pin_project;
use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

pin_project! {
    /// Polls the inner future, turning a panic into `Err(payload)`.
    pub(crate) struct CatchUnwind<F> {
        #[pin]
        fut: F,
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send + 'static>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fut = self.project().fut;
        match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(p) => Poll::Ready(Err(p)),
        }
    }
}

/// Frees the child's slot in the group when the child ends, however it ends (completion,
/// abort, runtime shutdown).
struct Slot<T, E>(Arc<Shared<T, E>>);

impl<T, E> Drop for Slot<T, E> {
    fn drop(&mut self) {
        self.0.release_slot();
    }
}

/// The body of child task `index`.
pub(crate) async fn run_child<T, E, F>(
    shared: Arc<Shared<T, E>>,
    index: usize,
    fut: F,
) -> Result<T, TaskError<E>>
where
    F: Future<Output = Result<T, E>>,
{
    let slot = Slot(shared);
    // Borrows the group's `ChildScopes` from the `Arc` this child already holds (no reference
    // count of its own).
    let out = slot.0.scopes.run(CatchUnwind { fut }).await;
    let shared = &slot.0;
    let result = match out {
        Ok(Ok(Ok(v))) => {
            shared.completed.fetch_add(1, Ordering::Relaxed);
            Ok(v)
        }
        Ok(Ok(Err(e))) => {
            shared.failed.fetch_add(1, Ordering::Relaxed);
            Err(TaskError::Failed(e))
        }
        Ok(Err(payload)) => {
            shared.failed.fetch_add(1, Ordering::Relaxed);
            Err(TaskError::Panicked(payload))
        }
        Err(c) => {
            shared.cancelled.fetch_add(1, Ordering::Relaxed);
            Err(TaskError::Cancelled(c))
        }
    };
    if (shared.on_done)(index, &result) == Reaction::CancelGroup {
        shared.decide(index);
    }
    result
}
