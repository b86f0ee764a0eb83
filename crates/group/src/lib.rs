//! # nimsync-group — structured concurrency (L3)
//!
//! A [`TaskGroup`] (Trio's nursery) owns the tasks spawned into it: none outlives the group,
//! every panic is caught and surfaced, results come back in spawn order, and an error policy
//! decides what a failure does to the siblings. Built on `nimsync-cancel` and
//! `nimsync-scheduler`: each child runs under its own child token of the group's token, so
//! `checkpoint()` inside a child sees the group's cancellation, groups nested in a child are
//! children of that token (they cancel recursively), and a child that cancels its own token
//! (`current_token().cancel()`) stops itself only, never the group or its siblings. The child
//! token is lazy (see [`ChildScopes`](nimsync_cancel::ChildScopes)): it is created only when
//! the child asks for it or creates something under it; until then the child observes the
//! group's token directly, so a spawn costs no allocation and no registration on the group's
//! token. A task a child spawns before it has its token starts in a lazy child scope of the
//! group's token of its own (the group's cancel reaches it; the child's own cancel does not).
//!
//! ```
//! use nimsync_group::{task_group, FailFast, GroupError, TaskError};
//!
//! let rt = nimsync_scheduler::Runtime::builder().workers(2).build().unwrap();
//! let pages = rt.block_on(task_group(FailFast, |g| async move {
//!     for id in 1..=3u32 {
//!         g.spawn(async move { Ok::<_, String>(format!("page {id}")) }).await?;
//!     }
//!     Ok(())
//! }));
//! assert_eq!(pages.unwrap(), ["page 1", "page 2", "page 3"]);
//! ```
//!
//! ## Policies
//!
//! | policy | a child fails or panics | `join` returns |
//! |---|---|---|
//! | [`FailFast`] | every sibling is cancelled | `Ok(Vec<T>)` or the first failure ([`GroupError::Task`]) |
//! | [`CollectAll`] | nothing | every `Result<T, TaskError<E>>`, spawn order |
//! | [`Supervise`] | reported through the callback; siblings go on | same as `CollectAll` |
//! | [`FirstSuccess`] | nothing (the first `Ok` cancels the rest) | the first `T`, or [`GroupError::AllFailed`] |
//!
//! ## Bounded groups
//!
//! [`TaskGroup::with_max_tasks`] caps the children running at once: `spawn` waits for a slot
//! (backpressure), [`try_spawn`](GroupHandle::try_spawn) fails fast. Counters: `running`,
//! `completed`, `failed`, `cancelled`.
//!
//! ## Why children are `'static`
//!
//! A spawn that borrows from the caller (like `std::thread::scope`) would need the group to
//! block in its destructor until the children stop; async code cannot block there, and a
//! future can be leaked with `mem::forget` without running its destructor at all, which would
//! leave children with dangling borrows (the "scoped task trilemma"). Children therefore own
//! what they use (`move`, `Arc`), and the group instead guarantees that dropping it cancels
//! and aborts every child.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod child;
mod error;
mod group;
mod policy;

pub use error::{GroupError, TaskError};
pub use group::{GroupHandle, TaskGroup, TrySpawnError};
pub use policy::{CollectAll, FailFast, FirstSuccess, Policy, Reaction, Supervise};

use std::future::Future;

/// Runs `body` with a handle to a new task group using `policy`, then waits for every child
/// and returns the policy's result. The body runs inside the group's cancel scope; if it
/// returns `Err`, the children are cancelled and joined and that error is returned. Dropping
/// the returned future cancels and aborts every child.
///
/// ```
/// use std::time::Duration;
/// use nimsync_group::{task_group, FailFast, GroupError, TaskError};
/// use nimsync_scheduler::{Builder, sleep};
///
/// let rt = Builder::new_multi_thread().workers(2).start_paused(true).build().unwrap();
/// let out = rt.block_on(task_group(FailFast, |g| async move {
///     g.spawn(async { sleep(Duration::from_secs(3600)).await; Ok(()) }).await?; // cancelled
///     g.spawn(async { Err("boom") }).await?;
///     Ok(())
/// }));
/// match out {
///     Err(GroupError::Task { index: 1, error: TaskError::Failed("boom") }) => {}
///     other => panic!("{other:?}"),
/// }
/// ```
pub async fn task_group<T, E, P, B, Fut>(policy: P, body: B) -> Result<P::Output, GroupError<E>>
where
    T: Send + 'static,
    E: Send + 'static,
    P: Policy<T, E>,
    B: FnOnce(GroupHandle<T, E>) -> Fut,
    Fut: Future<Output = Result<(), GroupError<E>>>,
{
    TaskGroup::new(policy).run(body).await
}
