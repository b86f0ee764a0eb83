//! The future each child task runs: the user's future inside a lazy child scope of the group's
//! token (its own child token exists only once the child asks for it), panics caught, the
//! outcome counted and reported to the group's policy.
//!
//! One hand-written future ([`Child`]) around the cancel crate's `RunChild`, which owns the
//! group's state ([`Group`]) and reaches the group's `ChildScopes` inside it (no downcast, no
//! second handle), and hands it back to `join` with the result ([`Finished`]); a child
//! dropped before it finished (group dropped, runtime shut down) is counted as cancelled by
//! `Child`'s drop.

use crate::error::TaskError;
use crate::group::Shared;
use crate::policy::Reaction;
use nimsync_cancel::{ChildScopes, RunChild};
use pin_project_lite::pin_project;
use std::any::Any;
use std::borrow::Borrow;
use std::future::Future;
use std::marker::PhantomData;
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

/// A child's handle to its group's state: what its `RunChild` owns, lending it the group's
/// child scopes.
pub(crate) struct Group<T, E>(pub(crate) Arc<Shared<T, E>>);

impl<T, E> Borrow<ChildScopes> for Group<T, E> {
    fn borrow(&self) -> &ChildScopes {
        &self.0.scopes
    }
}

pin_project! {
    /// Child task `index` of a group: see the module docs.
    pub(crate) struct Child<T: 'static, E: 'static, F> {
        #[pin]
        run: RunChild<Group<T, E>, CatchUnwind<F>>,
        // The spawn index; `DONE` once the outcome is counted (no separate flag: a child
        // future sits in every child's task cell, so its size is memory per child).
        index: usize,
        // The group's result types (its state is `Shared<T, E>`).
        group: PhantomData<fn() -> (T, E)>,
    }

    impl<T: 'static, E: 'static, F> PinnedDrop for Child<T, E, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if *this.index != DONE {
                // Dropped before it finished (aborted with its group, or the runtime shut
                // down): it counts as cancelled and frees its slot.
                if let Some(Group(shared)) = this.run.scopes() {
                    shared.count(Outcome::Cancelled);
                    shared.release_slot();
                }
            }
        }
    }
}

impl<T: 'static, E: 'static, F> Child<T, E, F> {
    /// Child `index` of `group`.
    pub(crate) fn new(group: Arc<Shared<T, E>>, index: usize, fut: F) -> Self
    where
        F: Future<Output = Result<T, E>>,
    {
        Child {
            // Spawned with an empty task slot: the worker that first polls the child puts
            // the group's child scope there (a reference count the spawner does not take).
            run: RunChild::task(Group(group), CatchUnwind { fut }),
            index,
            group: PhantomData,
        }
    }
}

/// `Child::index` once the child has finished (no group spawns `usize::MAX` children: the
/// spawn count would overflow first).
const DONE: usize = usize::MAX;

/// What a child task returns to `join`: its result, and its reference to the group's state,
/// handed back so that the joiner drops it. The spawner takes the children's references (in
/// batches, see `Tasks::child_refs`); dropped by the workers that run the children, they
/// would take that count's cache line from the spawner once per child while it spawns.
pub(crate) struct Finished<T, E> {
    pub(crate) result: Result<T, TaskError<E>>,
    _group: Group<T, E>,
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
    T: 'static,
    E: 'static,
    F: Future<Output = Result<T, E>>,
{
    type Output = Finished<T, E>;

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
        let index = std::mem::replace(this.index, DONE);
        let group = this
            .run
            .take_scopes()
            .expect("a finished run still has its scopes");
        let shared = &group.0;
        shared.count(outcome);
        // User code (the policy's `on_done`, e.g. a `Supervise` report, and the `on_cancel`
        // callbacks a policy's cancel runs, which re-raise their panics) must neither skip
        // the slot's release (`index` is `DONE`: the drop would not release it either) nor
        // replace this child's result: its panic is caught and dropped (the panic hook has
        // reported it). A panicking `on_done` reacts as `Continue`; a cancel once started
        // completes (see `Policy::on_done`).
        let _ = catch_unwind(AssertUnwindSafe(|| {
            if (shared.on_done)(index, &result) == Reaction::CancelGroup {
                shared.decide(index);
            }
        }));
        shared.release_slot();
        Poll::Ready(Finished {
            result,
            _group: group,
        })
    }
}
