//! The future each child task runs: the user's future inside a lazy child scope of the group's
//! token (its own child token exists only once the child asks for it), panics caught, the
//! outcome counted and reported to the group's policy.
//!
//! One hand-written future ([`Child`]) around the cancel crate's `RunChild`: the group's state
//! is reached through the `RunChild`'s own scopes handle (one reference count per child, not
//! one for the scopes and one for the group), and a child dropped before it finished (group
//! dropped, runtime shut down) is counted as cancelled by `Child`'s drop.

use crate::error::TaskError;
use crate::group::Shared;
use crate::policy::Reaction;
use nimsync_cancel::{ChildScopes, RunChild};
use pin_project_lite::pin_project;
use std::any::Any;
use std::borrow::Borrow;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
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

/// The group's state, as the scopes a child runs in (`RunChild` owns it; the child reaches
/// the counters and the policy through it).
pub(crate) struct GroupRef<T, E>(pub(crate) Arc<Shared<T, E>>);

impl<T, E> Borrow<ChildScopes> for GroupRef<T, E> {
    fn borrow(&self) -> &ChildScopes {
        &self.0.scopes
    }
}

pin_project! {
    /// Child task `index` of a group: see the module docs.
    pub(crate) struct Child<T, E, F> {
        #[pin]
        run: RunChild<GroupRef<T, E>, CatchUnwind<F>>,
        index: usize,
        // The outcome was counted (set when the child finished).
        done: bool,
    }

    impl<T, E, F> PinnedDrop for Child<T, E, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if !*this.done {
                // Dropped before it finished (aborted with its group, or the runtime shut
                // down): it counts as cancelled and frees its slot.
                let shared = &this.run.scopes().0;
                shared.count(Outcome::Cancelled);
                shared.release_slot();
            }
        }
    }
}

impl<T, E, F> Child<T, E, F> {
    pub(crate) fn new(shared: Arc<Shared<T, E>>, index: usize, fut: F) -> Self
    where
        F: Future<Output = Result<T, E>>,
    {
        Child {
            run: RunChild::new(GroupRef(shared), CatchUnwind { fut }),
            index,
            done: false,
        }
    }
}

/// Which counter a finished child goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Completed,
    Failed,
    Cancelled,
}

impl<T, E, F> Future for Child<T, E, F>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<T, TaskError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let out = match this.run.as_mut().poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(out) => out,
        };
        let (outcome, result) = match out {
            Ok(Ok(Ok(v))) => (Outcome::Completed, Ok(v)),
            Ok(Ok(Err(e))) => (Outcome::Failed, Err(TaskError::Failed(e))),
            Ok(Err(payload)) => (Outcome::Failed, Err(TaskError::Panicked(payload))),
            Err(c) => (Outcome::Cancelled, Err(TaskError::Cancelled::<E>(c))),
        };
        *this.done = true;
        let shared = &this.run.as_ref().get_ref().scopes().0;
        shared.count(outcome);
        let index = *this.index;
        if (shared.on_done)(index, &result) == Reaction::CancelGroup {
            shared.decide(index);
        }
        shared.release_slot();
        Poll::Ready(result)
    }
}
