//! Error policies: what a group does when a child finishes, and what `join` returns.

use crate::error::{GroupError, TaskError};
use nimsync_cancel::Cancelled;

/// What the group does after a child finished (returned by [`Policy::on_done`]).
///
/// ```
/// use nimsync_group::{Policy, FailFast, Reaction, TaskError};
/// let r: Result<u8, TaskError<&str>> = Err(TaskError::Failed("x"));
/// assert_eq!(Policy::<u8, &str>::on_done(&FailFast, 0, &r), Reaction::CancelGroup);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    /// Keep the other children running.
    Continue,
    /// Cancel every other child (the first child to cause this is the *decisive* one).
    CancelGroup,
}

/// A group's error policy. The four built-in ones cover the usual needs; the trait is public
/// so a program can write its own.
///
/// ```
/// use nimsync_group::{task_group, Policy, Reaction, GroupError, TaskError};
/// use nimsync_cancel::Cancelled;
///
/// /// Counts successes, never cancels.
/// struct CountOk;
/// impl<T, E> Policy<T, E> for CountOk {
///     type Output = usize;
///     fn on_done(&self, _: usize, _: &Result<T, TaskError<E>>) -> Reaction {
///         Reaction::Continue
///     }
///     fn finish(
///         &self,
///         results: Vec<Result<T, TaskError<E>>>,
///         _: Option<usize>,
///         _: Option<Cancelled>,
///     ) -> Result<usize, GroupError<E>> {
///         Ok(results.iter().filter(|r| r.is_ok()).count())
///     }
/// }
///
/// let rt = nimsync_scheduler::Runtime::current_thread();
/// let n = rt.block_on(task_group(CountOk, |g| async move {
///     for i in 0..5u32 {
///         g.spawn(async move { if i % 2 == 0 { Ok(i) } else { Err(()) } }).await?;
///     }
///     Ok(())
/// }));
/// assert_eq!(n.unwrap(), 3);
/// ```
pub trait Policy<T, E>: Send + Sync + 'static {
    /// What [`join`](crate::TaskGroup::join) returns on success.
    type Output;

    /// Called once per child as it finishes (on the thread that ran it), with its spawn
    /// index and result.
    ///
    /// A panic here (or in an `on_cancel` callback that the group's cancellation runs when
    /// this returns [`Reaction::CancelGroup`]) is caught and dropped once the panic hook has
    /// reported it: the child keeps its own result, its `max_tasks` slot is freed, and the
    /// group goes on as if this had returned `Continue` (a cancellation already started
    /// completes, and the child stays the decisive one).
    fn on_done(&self, index: usize, result: &Result<T, TaskError<E>>) -> Reaction;

    /// Builds the group's result from every child's result (spawn order), the index of the
    /// decisive child (the first whose `on_done` returned `CancelGroup`) and, if the group was
    /// cancelled otherwise (by `cancel()` or an enclosing scope), why.
    fn finish(
        &self,
        results: Vec<Result<T, TaskError<E>>>,
        decisive: Option<usize>,
        cancelled: Option<Cancelled>,
    ) -> Result<Self::Output, GroupError<E>>;
}

/// The first child to fail or panic cancels all the others; `join` returns that error as
/// [`GroupError::Task`], or every value in spawn order if all succeed.
///
/// ```
/// use nimsync_group::{task_group, FailFast};
/// let rt = nimsync_scheduler::Runtime::current_thread();
/// let v = rt.block_on(task_group(FailFast, |g| async move {
///     for i in 0..3u32 {
///         g.spawn(async move { Ok::<_, ()>(i * 10) }).await?;
///     }
///     Ok(())
/// }));
/// assert_eq!(v.unwrap(), vec![0, 10, 20]);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct FailFast;

/// Waits for every child; `join` returns every result in spawn order. Never cancels.
///
/// ```
/// use nimsync_group::{task_group, CollectAll};
/// let rt = nimsync_scheduler::Runtime::current_thread();
/// let v = rt.block_on(task_group(CollectAll, |g| async move {
///     g.spawn(async { Ok::<u8, &str>(1) }).await?;
///     g.spawn(async { Err("no") }).await?;
///     Ok(())
/// }));
/// let v = v.unwrap();
/// assert!(v[0].is_ok() && v[1].is_err());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CollectAll;

/// Like [`CollectAll`], and every failure or panic is reported through the callback as it
/// happens (spawn index, error); siblings keep running. The callback runs on the worker that
/// ran the failed child, right after it ended and outside its cancel scope: a `checkpoint()`
/// there sees no scope, and a task spawned from it is not cancelled with the group. A panic
/// in the callback is caught and dropped (after the panic hook reported it): the child's
/// result stays its own error (see [`Policy::on_done`]).
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use nimsync_group::{task_group, Supervise};
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let s = seen.clone();
/// let rt = nimsync_scheduler::Runtime::current_thread();
/// let v = rt.block_on(task_group(
///     Supervise::new(move |i, e: &nimsync_group::TaskError<String>| {
///         s.lock().unwrap().push((i, e.to_string()))
///     }),
///     |g| async move {
///         g.spawn(async { Err::<(), String>("flaky".into()) }).await?;
///         g.spawn(async { Ok(()) }).await?;
///         Ok(())
///     },
/// ));
/// assert_eq!(v.unwrap().len(), 2);
/// assert_eq!(*seen.lock().unwrap(), vec![(0, "task failed: flaky".to_string())]);
/// ```
pub struct Supervise<F> {
    report: F,
}

impl<F> Supervise<F> {
    /// A supervising policy that calls `report(index, &error)` for each failed child.
    pub fn new(report: F) -> Self {
        Supervise { report }
    }
}

impl<F> std::fmt::Debug for Supervise<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervise").finish_non_exhaustive()
    }
}

/// The first child to succeed wins: the others are cancelled and `join` returns its value;
/// [`GroupError::AllFailed`] (every error, spawn order) if none succeeds.
///
/// ```
/// use std::time::Duration;
/// use nimsync_group::{task_group, FirstSuccess};
/// use nimsync_scheduler::{Builder, sleep};
///
/// let rt = Builder::new_current_thread().start_paused(true).build().unwrap();
/// let v = rt.block_on(task_group(FirstSuccess, |g| async move {
///     g.spawn(async { sleep(Duration::from_secs(9)).await; Ok::<_, ()>("slow mirror") }).await?;
///     g.spawn(async { sleep(Duration::from_secs(1)).await; Ok("fast mirror") }).await?;
///     Ok(())
/// }));
/// assert_eq!(v.unwrap(), "fast mirror");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct FirstSuccess;

fn is_failure<T, E>(r: &Result<T, TaskError<E>>) -> bool {
    matches!(r, Err(TaskError::Failed(_) | TaskError::Panicked(_)))
}

impl<T: 'static, E: 'static> Policy<T, E> for FailFast {
    type Output = Vec<T>;

    fn on_done(&self, _: usize, result: &Result<T, TaskError<E>>) -> Reaction {
        if is_failure(result) {
            Reaction::CancelGroup
        } else {
            Reaction::Continue
        }
    }

    fn finish(
        &self,
        results: Vec<Result<T, TaskError<E>>>,
        decisive: Option<usize>,
        cancelled: Option<Cancelled>,
    ) -> Result<Vec<T>, GroupError<E>> {
        let mut values = Vec::with_capacity(results.len());
        let mut first_err = None;
        let mut decisive_err = None;
        for (index, r) in results.into_iter().enumerate() {
            match r {
                Ok(v) => values.push(v),
                Err(error) if Some(index) == decisive => decisive_err = Some((index, error)),
                Err(error) => {
                    if first_err.is_none() {
                        first_err = Some((index, error));
                    }
                }
            }
        }
        if let Some((index, error)) = decisive_err {
            return Err(GroupError::Task { index, error });
        }
        match (first_err, cancelled) {
            (None, _) => Ok(values),
            (Some(_), Some(c)) => Err(GroupError::Cancelled(c)),
            (Some((index, error)), None) => Err(GroupError::Task { index, error }),
        }
    }
}

impl<T: 'static, E: 'static> Policy<T, E> for CollectAll {
    type Output = Vec<Result<T, TaskError<E>>>;

    fn on_done(&self, _: usize, _: &Result<T, TaskError<E>>) -> Reaction {
        Reaction::Continue
    }

    fn finish(
        &self,
        results: Vec<Result<T, TaskError<E>>>,
        _: Option<usize>,
        _: Option<Cancelled>,
    ) -> Result<Self::Output, GroupError<E>> {
        Ok(results)
    }
}

impl<T: 'static, E: 'static, F> Policy<T, E> for Supervise<F>
where
    F: Fn(usize, &TaskError<E>) + Send + Sync + 'static,
{
    type Output = Vec<Result<T, TaskError<E>>>;

    fn on_done(&self, index: usize, result: &Result<T, TaskError<E>>) -> Reaction {
        if let Err(e) = result
            && !e.is_cancelled()
        {
            (self.report)(index, e);
        }
        Reaction::Continue
    }

    fn finish(
        &self,
        results: Vec<Result<T, TaskError<E>>>,
        _: Option<usize>,
        _: Option<Cancelled>,
    ) -> Result<Self::Output, GroupError<E>> {
        Ok(results)
    }
}

impl<T: 'static, E: 'static> Policy<T, E> for FirstSuccess {
    type Output = T;

    fn on_done(&self, _: usize, result: &Result<T, TaskError<E>>) -> Reaction {
        if result.is_ok() {
            Reaction::CancelGroup
        } else {
            Reaction::Continue
        }
    }

    fn finish(
        &self,
        results: Vec<Result<T, TaskError<E>>>,
        decisive: Option<usize>,
        cancelled: Option<Cancelled>,
    ) -> Result<T, GroupError<E>> {
        let mut errors = Vec::new();
        let mut first_ok = None;
        for (index, r) in results.into_iter().enumerate() {
            match r {
                Ok(v) if Some(index) == decisive || (decisive.is_none() && first_ok.is_none()) => {
                    first_ok = Some(v)
                }
                Ok(_) => {}
                Err(e) => errors.push(e),
            }
        }
        match (first_ok, cancelled) {
            (Some(v), _) => Ok(v),
            (None, Some(c)) => Err(GroupError::Cancelled(c)),
            (None, None) => Err(GroupError::AllFailed(errors)),
        }
    }
}
