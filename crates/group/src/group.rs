//! `TaskGroup` (the owner: join, drop = cancel and abort) and `GroupHandle` (clonable:
//! spawn, try_spawn, cancel, token, counters).

use crate::child::{Child, Finished, Outcome as ChildOutcome};
use crate::error::{GroupError, TaskError};
use crate::policy::{Policy, Reaction};
use crossbeam_utils::CachePadded;
use event_listener::Event;
use nimsync_cancel::{CancelScope, CancelToken, Cancelled, ChildScopes, hold};
use nimsync_scheduler::{JoinError, JoinHandle};
use std::fmt;
use std::future::Future;
use std::num::NonZeroUsize;
use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

type Outcome<T, E> = Result<T, TaskError<E>>;
type OnDone<T, E> = Box<dyn Fn(usize, &Outcome<T, E>) -> Reaction + Send + Sync>;

const NO_DECISIVE: usize = usize::MAX;

struct Tasks<T, E> {
    /// Handles not yet taken by `join`, in spawn order.
    handles: Vec<JoinHandle<Finished<T, E>>>,
    /// What each child takes with it (a reference to the group's state), made in batches;
    /// see [`Tasks::child_refs`].
    spare: Vec<Arc<Shared<T, E>>>,
    /// Joined or dropped: no more spawns.
    closed: bool,
}

/// The most children's references a spawn makes when [`Tasks::spare`] runs out.
const SPARE_BATCH: usize = 32;

impl<T, E> Tasks<T, E> {
    /// The reference to the group's state for child `index`, from the spare ones (made in a
    /// batch when none is left). A child hands its reference back to `join` with its result
    /// ([`Finished`]), so this count is written by the spawner and the joiner only, and the
    /// batch keeps its line in the spawner's cache. (The child's other reference, its child
    /// scope in its task's slot, is taken and dropped by the worker that runs it: see
    /// `RunChild::task`.) A batch is as large as the number of children spawned so far, up
    /// to [`SPARE_BATCH`], so a group with few children makes few spare ones.
    fn child_refs(&mut self, shared: &Arc<Shared<T, E>>, index: usize) -> Arc<Shared<T, E>> {
        if let Some(group) = self.spare.pop() {
            return group;
        }
        let batch = index.clamp(1, SPARE_BATCH);
        self.spare
            .extend(std::iter::repeat_with(|| shared.clone()).take(batch - 1));
        shared.clone()
    }

    /// Closes the list to new spawns and drops the spare references (they hold the group's
    /// state, which holds this list: a cycle until then).
    fn close(&mut self) {
        self.closed = true;
        self.spare = Vec::new();
    }
}

/// The spawner's side: the task list and how many children were spawned (the next spawn
/// index). Only spawners and `join` write here.
struct SpawnSide<T, E> {
    tasks: Mutex<Tasks<T, E>>,
    /// Written under `tasks`' lock, read without it by `running()`.
    spawned: AtomicUsize,
}

/// One worker's share of the outcome counters (see [`Outcomes`]).
#[derive(Default)]
struct Counts {
    completed: AtomicUsize,
    failed: AtomicUsize,
    cancelled: AtomicUsize,
}

/// How many [`Counts`] a group keeps (each on cache lines of its own).
const SHARDS: usize = 4;

/// The shard of the calling thread: threads take shards round-robin on first use, so the
/// workers of one runtime (started one after another) count on different lines.
fn shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
    }
    // `try_with`: a child dropped by a thread-local's destructor still counts (on shard 0).
    SHARD
        .try_with(|s| {
            let mut v = s.get();
            if v == usize::MAX {
                v = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
                s.set(v);
            }
            v
        })
        .unwrap_or(0)
}

/// The children's side: one counter per outcome, written once by each child as it ends
/// (children dropped before they finish count as cancelled), sharded by thread so children
/// ending on different workers do not take one line from each other. `running` of an
/// unbounded group is `spawned` minus their sum, so a spawn writes no line a child writes.
struct Outcomes {
    shards: [CachePadded<Counts>; SHARDS],
    /// While `join` waits for every child spawned so far to end: how many that is
    /// (`NO_JOINER` otherwise). Each child reads it right after writing its counter; only
    /// `join` writes it.
    join_target: CachePadded<AtomicUsize>,
}

impl Outcomes {
    /// The sum of one counter over the shards.
    fn sum(&self, field: fn(&Counts) -> &AtomicUsize, order: Ordering) -> usize {
        self.shards.iter().map(|c| field(c).load(order)).sum()
    }
}

const NO_JOINER: usize = usize::MAX;

/// State shared by the group, its handles and its children.
pub(crate) struct Shared<T, E> {
    token: CancelToken,
    /// Runs each child in its own lazy child scope of `token` (see `spawn_acquired`).
    pub(crate) scopes: ChildScopes,
    pub(crate) on_done: OnDone<T, E>,
    decisive: AtomicUsize,
    /// `usize::MAX`: unbounded.
    limit: usize,
    /// Each side on cache lines of its own, so what the spawner writes and what the children
    /// write do not bounce one line between workers.
    spawn: CachePadded<SpawnSide<T, E>>,
    outcomes: Outcomes,
    /// Bounded groups only: slots taken (children spawned or being spawned, not ended).
    slots: CachePadded<AtomicUsize>,
    /// Notified when a slot frees up or the group closes (waiting spawners; bounded groups).
    slot_freed: Event,
    /// Notified when the children `join` waits for have all ended.
    all_ended: Event,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // No user code runs under this lock; a poisoned lock still guards consistent data.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<T, E> Shared<T, E> {
    fn bounded(&self) -> bool {
        self.limit != usize::MAX
    }

    /// Counts a child that ended (or was dropped unfinished: `Cancelled`). Release: a reader
    /// that sees the count also sees the spawn that preceded it (`running` never underflows).
    ///
    /// Then, if `join` is waiting and this was the last child it waits for, wakes it. SeqCst
    /// pairs with [`wait_ended`](Self::wait_ended): this side writes its counter then reads
    /// the target, the joiner writes the target then reads the counters, so at least one of
    /// them sees the other (no lost wake-up).
    pub(crate) fn count(&self, outcome: ChildOutcome) {
        let counts = &self.outcomes.shards[shard()];
        let c = match outcome {
            ChildOutcome::Completed => &counts.completed,
            ChildOutcome::Failed => &counts.failed,
            ChildOutcome::Cancelled => &counts.cancelled,
        };
        c.fetch_add(1, Ordering::SeqCst);
        let target = self.outcomes.join_target.load(Ordering::SeqCst);
        if target != NO_JOINER && self.ended() >= target {
            self.all_ended.notify(usize::MAX);
        }
    }

    /// Children that ended (completed, failed, cancelled or dropped unfinished).
    fn ended(&self) -> usize {
        self.outcomes
            .shards
            .iter()
            .map(|c| {
                c.completed.load(Ordering::SeqCst)
                    + c.failed.load(Ordering::SeqCst)
                    + c.cancelled.load(Ordering::SeqCst)
            })
            .sum()
    }

    /// Waits until `target` children have ended: `join` then collects their results without
    /// being woken once per child (each join handle is ready, or about to be: a child counts
    /// itself just before its task completes).
    async fn wait_ended(&self, target: usize) {
        while self.ended() < target {
            self.outcomes.join_target.store(target, Ordering::SeqCst);
            let listener = self.all_ended.listen();
            // A child that ended after the check above and missed the target is seen here.
            if self.ended() >= target {
                break;
            }
            listener.await;
        }
        self.outcomes.join_target.store(NO_JOINER, Ordering::SeqCst);
    }

    /// Frees the slot of a child that ended (bounded groups; a no-op otherwise).
    pub(crate) fn release_slot(&self) {
        if self.bounded() {
            self.slots.fetch_sub(1, Ordering::AcqRel);
            self.slot_freed.notify(1);
        }
    }

    /// Takes a slot for a spawn (always succeeds in an unbounded group, which counts nothing
    /// here: its spawns are counted under the task-list lock).
    fn try_acquire(&self) -> bool {
        if !self.bounded() {
            return true;
        }
        self.slots
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |r| {
                (r < self.limit).then_some(r + 1)
            })
            .is_ok()
    }

    /// Gives back a slot taken by `try_acquire` for a spawn that did not happen.
    fn unacquire(&self) {
        self.release_slot();
    }

    fn running(&self) -> usize {
        if self.bounded() {
            return self.slots.load(Ordering::Acquire);
        }
        // Ended children first: each was spawned before it ended, so the later load of
        // `spawned` counts it too.
        let ended = self.ended();
        self.spawn
            .spawned
            .load(Ordering::Acquire)
            .saturating_sub(ended)
    }

    /// Records `index` as the decisive child (if it is the first) and cancels the group.
    pub(crate) fn decide(&self, index: usize) {
        let _ =
            self.decisive
                .compare_exchange(NO_DECISIVE, index, Ordering::AcqRel, Ordering::Acquire);
        self.token.cancel_with("task group policy");
    }

    fn is_closed(&self) -> bool {
        lock(&self.spawn.tasks).closed
    }

    /// Closes the group to new spawns and returns the handles not yet joined.
    fn close(&self) -> Vec<JoinHandle<Finished<T, E>>> {
        let taken = {
            let mut t = lock(&self.spawn.tasks);
            t.close();
            std::mem::take(&mut t.handles)
        };
        self.slot_freed.notify(usize::MAX);
        taken
    }
}

/// A clonable handle to a task group: spawn into it, cancel it, read its counters. Given to
/// the body of [`task_group`](crate::task_group) and usable from inside children (to spawn
/// siblings). It does not keep the group open: once the group is joined or dropped, spawning
/// fails with [`GroupError::Closed`].
///
/// ```
/// use nimsync_group::{task_group, CollectAll};
/// let rt = nimsync_scheduler::Runtime::builder().workers(2).build().unwrap();
/// let out = rt.block_on(task_group(CollectAll, |g| async move {
///     let g2 = g.clone();
///     g.spawn(async move {
///         g2.spawn(async { Ok::<u8, ()>(2) }).await.unwrap(); // a sibling
///         Ok(1)
///     })
///     .await?;
///     Ok(())
/// }));
/// let v: Vec<u8> = out.unwrap().into_iter().map(Result::unwrap).collect();
/// assert_eq!(v, vec![1, 2]);
/// ```
pub struct GroupHandle<T, E> {
    shared: Arc<Shared<T, E>>,
}

impl<T, E> Clone for GroupHandle<T, E> {
    fn clone(&self) -> Self {
        GroupHandle {
            shared: self.shared.clone(),
        }
    }
}

/// Why [`GroupHandle::try_spawn`] did not spawn; the future is given back.
///
/// ```
/// use std::num::NonZeroUsize;
/// use nimsync_group::{TaskGroup, CollectAll, TrySpawnError};
/// let rt = nimsync_scheduler::Runtime::current_thread();
/// rt.block_on(async {
///     let g = TaskGroup::with_max_tasks(CollectAll, NonZeroUsize::new(1).unwrap());
///     g.try_spawn(std::future::pending::<Result<(), ()>>()).unwrap();
///     let err = g.try_spawn(async { Ok(()) }).unwrap_err();
///     assert!(matches!(err, TrySpawnError::Full(_)));
///     g.cancel();
///     let _ = g.join().await;
/// });
/// ```
pub enum TrySpawnError<F> {
    /// The group already runs `max_tasks` children.
    Full(F),
    /// The group is joined or dropped.
    Closed(F),
}

impl<F> TrySpawnError<F> {
    /// The future that was not spawned.
    ///
    /// ```
    /// let e = nimsync_group::TrySpawnError::Full(7);
    /// assert_eq!(e.into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> F {
        match self {
            TrySpawnError::Full(f) | TrySpawnError::Closed(f) => f,
        }
    }
}

impl<F> fmt::Debug for TrySpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrySpawnError::Full(_) => "Full(..)",
            TrySpawnError::Closed(_) => "Closed(..)",
        })
    }
}

impl<F> fmt::Display for TrySpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrySpawnError::Full(_) => "the task group is full (max_tasks children running)",
            TrySpawnError::Closed(_) => "the task group is closed (joined or dropped)",
        })
    }
}

impl<F> std::error::Error for TrySpawnError<F> {}

impl<T, E> GroupHandle<T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    /// Spawns `fut` as a child of the group (on the current runtime). It runs under its own
    /// child token of the group's token, created lazily (see
    /// [`ChildScopes`](nimsync_cancel::ChildScopes)): `checkpoint()` inside sees the group's
    /// cancellation, groups or scopes created inside are children of the child's token, and
    /// cancelling `current_token()` stops this child only (it ends as
    /// [`TaskError::Cancelled`](crate::TaskError::Cancelled)). Panics are caught. When the
    /// group has a `max_tasks` limit and is full, this waits for a slot (backpressure).
    /// `Err(GroupError::Closed)` if the group is joined or dropped.
    ///
    /// Children are `'static`: they cannot borrow from the spawner. A borrowing spawn would
    /// need the group's drop to block until the children stop, which an async drop cannot
    /// guarantee (a future may be leaked with `mem::forget`, so its borrows could dangle:
    /// the "scoped task trilemma"); move or `Arc` what children need instead.
    ///
    /// ```
    /// use nimsync_group::{task_group, FailFast};
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// let words = std::sync::Arc::new(vec!["a", "b"]);
    /// let out = rt.block_on(task_group(FailFast, |g| async move {
    ///     for i in 0..words.len() {
    ///         let w = words.clone();
    ///         g.spawn(async move { Ok::<_, ()>(w[i].to_uppercase()) }).await?;
    ///     }
    ///     Ok(())
    /// }));
    /// assert_eq!(out.unwrap(), vec!["A", "B"]);
    /// ```
    pub async fn spawn<F>(&self, fut: F) -> Result<(), GroupError<E>>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        let shared = &self.shared;
        loop {
            if shared.try_acquire() {
                break;
            }
            if shared.is_closed() {
                return Err(GroupError::Closed);
            }
            let listener = shared.slot_freed.listen();
            if shared.try_acquire() {
                break;
            }
            if shared.is_closed() {
                return Err(GroupError::Closed);
            }
            listener.await;
        }
        self.spawn_acquired(fut).map_err(|_| GroupError::Closed)
    }

    /// Spawns `fut` if the group has a free slot and is open; otherwise gives it back at once.
    ///
    /// ```
    /// use nimsync_group::{TaskGroup, FailFast};
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// let v = rt.block_on(async {
    ///     let g = TaskGroup::new(FailFast);
    ///     g.try_spawn(async { Ok::<_, ()>(1) }).unwrap();
    ///     g.join().await
    /// });
    /// assert_eq!(v.unwrap(), vec![1]);
    /// ```
    pub fn try_spawn<F>(&self, fut: F) -> Result<(), TrySpawnError<F>>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        if !self.shared.try_acquire() {
            return Err(if self.shared.is_closed() {
                TrySpawnError::Closed(fut)
            } else {
                TrySpawnError::Full(fut)
            });
        }
        self.spawn_acquired(fut).map_err(TrySpawnError::Closed)
    }

    /// Spawns with a slot already acquired (released again if the group is closed).
    fn spawn_acquired<F>(&self, fut: F) -> Result<(), F>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        let shared = &self.shared;
        let mut tasks = lock(&shared.spawn.tasks);
        if tasks.closed {
            drop(tasks);
            shared.unacquire();
            return Err(fut);
        }
        // Only spawners write `spawned`, under the lock: a plain store, no read-modify-write.
        let index = shared.spawn.spawned.load(Ordering::Relaxed);
        shared.spawn.spawned.store(index + 1, Ordering::Release);
        // The child task starts with an empty slot (not the spawner's scope), where its
        // top-level `RunChild` puts a new lazy child scope of the group's token on its first
        // poll and installs nothing per poll after that; spawning touches neither the
        // spawner's slot nor its scope's reference count.
        let group = tasks.child_refs(shared, index);
        let handle = nimsync_scheduler::spawn_with_context(None, Child::new(group, index, fut));
        tasks.handles.push(handle);
        Ok(())
    }
}

impl<T, E> GroupHandle<T, E> {
    /// Cancels the group: every child's token (and everything under it, nested groups
    /// included) is cancelled; children stop at their next await point or `checkpoint()`.
    ///
    /// ```
    /// use nimsync_group::{task_group, CollectAll};
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// let out = rt.block_on(task_group(CollectAll, |g| async move {
    ///     g.spawn(std::future::pending::<Result<(), ()>>()).await?;
    ///     g.cancel();
    ///     Ok(())
    /// }));
    /// assert!(out.unwrap()[0].as_ref().unwrap_err().is_cancelled());
    /// ```
    pub fn cancel(&self) {
        self.shared.token.cancel();
    }

    /// The group's token (every child's token is a child of it; cancelling it cancels the
    /// group).
    ///
    /// ```
    /// use nimsync_group::{TaskGroup, CollectAll};
    /// let g: TaskGroup<(), (), _> = TaskGroup::new(CollectAll);
    /// let t = g.token().clone();
    /// g.cancel();
    /// assert!(t.is_cancelled());
    /// ```
    pub fn token(&self) -> &CancelToken {
        &self.shared.token
    }

    /// Children spawned and not finished yet. In an unbounded group it is computed from the
    /// spawn count and the three outcome counters (so spawning writes nothing the children
    /// write); under concurrent spawns and completions it is a snapshot of those counters.
    ///
    /// ```
    /// let g: nimsync_group::TaskGroup<(), (), _> = nimsync_group::TaskGroup::new(nimsync_group::CollectAll);
    /// assert_eq!(g.running(), 0);
    /// ```
    pub fn running(&self) -> usize {
        self.shared.running()
    }

    /// Children that returned `Ok`.
    ///
    /// ```
    /// let g: nimsync_group::TaskGroup<(), (), _> = nimsync_group::TaskGroup::new(nimsync_group::CollectAll);
    /// assert_eq!(g.completed(), 0);
    /// ```
    pub fn completed(&self) -> usize {
        self.shared
            .outcomes
            .sum(|c| &c.completed, Ordering::Acquire)
    }

    /// Children that returned `Err` or panicked.
    ///
    /// ```
    /// let g: nimsync_group::TaskGroup<(), (), _> = nimsync_group::TaskGroup::new(nimsync_group::CollectAll);
    /// assert_eq!(g.failed(), 0);
    /// ```
    pub fn failed(&self) -> usize {
        self.shared.outcomes.sum(|c| &c.failed, Ordering::Acquire)
    }

    /// Children that were cancelled before finishing, including children aborted when the
    /// group was dropped unjoined (counted once the scheduler has dropped their futures).
    ///
    /// ```
    /// let g: nimsync_group::TaskGroup<(), (), _> = nimsync_group::TaskGroup::new(nimsync_group::CollectAll);
    /// assert_eq!(g.cancelled(), 0);
    /// ```
    pub fn cancelled(&self) -> usize {
        self.shared
            .outcomes
            .sum(|c| &c.cancelled, Ordering::Acquire)
    }
}

impl<T, E> fmt::Debug for GroupHandle<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupHandle")
            .field("running", &self.running())
            .field("completed", &self.completed())
            .field("failed", &self.failed())
            .field("cancelled", &self.cancelled())
            .finish()
    }
}

/// A task group (a nursery): children spawned into it cannot outlive it.
///
/// * [`join`](Self::join) waits for every child (including ones spawned while joining) and
///   returns the policy's result, children's results in spawn order.
/// * Cancellation through scopes waits: when an enclosing scope, `timeout` or parent group
///   is cancelled, a group that is joining (or running its `task_group` body) is not dropped
///   mid-way (it [holds](nimsync_cancel::hold) the enclosing scopes); its token is cancelled
///   through the tree, and it returns only after every child has stopped.
/// * Dropping an unjoined group by other means (`drop`, `abort`, a plain `select`) cancels
///   the group's token and aborts every child: from then on no child starts another poll (a
///   poll already running on another worker finishes), and each child's future is dropped
///   by the scheduler at its next scheduling point. A drop cannot `.await`, so it does not
///   wait for that; the `no_orphans` tests check that every child is gone. The drop does not
///   panic: a panic of an `on_cancel` callback that the cancellation runs is dropped (after
///   the panic hook reported it), and every child is aborted all the same.
/// * It derefs to a [`GroupHandle`] for `spawn`, `try_spawn`, `cancel`, `token` and counters.
///
/// ```
/// use nimsync_group::{TaskGroup, CollectAll};
/// let rt = nimsync_scheduler::Runtime::builder().workers(2).build().unwrap();
/// let sum: u64 = rt.block_on(async {
///     let group = TaskGroup::new(CollectAll);
///     for i in 0..100u64 {
///         group.spawn(async move { Ok::<_, ()>(i) }).await.unwrap();
///     }
///     group.join().await.unwrap().into_iter().map(Result::unwrap).sum()
/// });
/// assert_eq!(sum, 4950);
/// ```
pub struct TaskGroup<T, E, P> {
    handle: GroupHandle<T, E>,
    policy: Arc<P>,
    /// Handles taken by a `join` in progress, not collected yet (aborted if it is dropped).
    pending: std::vec::IntoIter<JoinHandle<Finished<T, E>>>,
    joined: bool,
}

impl<T, E, P> TaskGroup<T, E, P>
where
    T: Send + 'static,
    E: Send + 'static,
    P: Policy<T, E>,
{
    /// A group with `policy` and no limit on running children. Its token is a child of the
    /// current scope's token (so an enclosing cancel scope or group cancels it).
    ///
    /// ```
    /// let g: nimsync_group::TaskGroup<u8, (), _> = nimsync_group::TaskGroup::new(nimsync_group::FailFast);
    /// assert_eq!(g.running(), 0);
    /// ```
    pub fn new(policy: P) -> Self {
        Self::build(policy, usize::MAX)
    }

    /// A group that runs at most `max_tasks` children at once: [`spawn`](GroupHandle::spawn)
    /// waits for a free slot, [`try_spawn`](GroupHandle::try_spawn) fails fast.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use nimsync_group::{TaskGroup, CollectAll};
    /// let rt = nimsync_scheduler::Runtime::builder().workers(2).build().unwrap();
    /// let n = rt.block_on(async {
    ///     let g = TaskGroup::with_max_tasks(CollectAll, NonZeroUsize::new(4).unwrap());
    ///     for i in 0..100u32 {
    ///         g.spawn(async move { Ok::<_, ()>(i) }).await.unwrap();
    ///         assert!(g.running() <= 4);
    ///     }
    ///     g.join().await.unwrap().len()
    /// });
    /// assert_eq!(n, 100);
    /// ```
    pub fn with_max_tasks(policy: P, max_tasks: NonZeroUsize) -> Self {
        Self::build(policy, max_tasks.get())
    }

    fn build(policy: P, limit: usize) -> Self {
        let policy = Arc::new(policy);
        let p = policy.clone();
        let token = CancelScope::new().token().clone();
        let shared = Arc::new(Shared {
            scopes: ChildScopes::new(&token),
            token,
            on_done: Box::new(move |i, r| p.on_done(i, r)),
            decisive: AtomicUsize::new(NO_DECISIVE),
            limit,
            spawn: CachePadded::new(SpawnSide {
                tasks: Mutex::new(Tasks {
                    handles: Vec::new(),
                    spare: Vec::new(),
                    closed: false,
                }),
                spawned: AtomicUsize::new(0),
            }),
            outcomes: Outcomes {
                shards: Default::default(),
                join_target: CachePadded::new(AtomicUsize::new(NO_JOINER)),
            },
            slots: CachePadded::new(AtomicUsize::new(0)),
            slot_freed: Event::new(),
            all_ended: Event::new(),
        });
        TaskGroup {
            handle: GroupHandle { shared },
            policy,
            pending: Vec::new().into_iter(),
            joined: false,
        }
    }

    /// A clonable handle (for the body, or for children that spawn siblings).
    ///
    /// ```
    /// let g: nimsync_group::TaskGroup<(), (), _> = nimsync_group::TaskGroup::new(nimsync_group::CollectAll);
    /// let h = g.handle();
    /// h.cancel();
    /// assert!(g.token().is_cancelled());
    /// ```
    pub fn handle(&self) -> GroupHandle<T, E> {
        self.handle.clone()
    }

    /// Waits for every child and returns the policy's result (see [`FailFast`](crate::FailFast),
    /// [`CollectAll`](crate::CollectAll), [`Supervise`](crate::Supervise),
    /// [`FirstSuccess`](crate::FirstSuccess)). The group is closed afterwards.
    ///
    /// ```
    /// use nimsync_group::{TaskGroup, FailFast};
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// let v = rt.block_on(async {
    ///     let g = TaskGroup::new(FailFast);
    ///     g.spawn(async { Ok::<_, ()>('x') }).await.unwrap();
    ///     g.join().await
    /// });
    /// assert_eq!(v.unwrap(), vec!['x']);
    /// ```
    pub async fn join(mut self) -> Result<P::Output, GroupError<E>> {
        // Hold the enclosing scopes: if they are cancelled, our children are too (through
        // the token tree), and we wait for them to stop instead of being dropped mid-join.
        let results = hold(self.join_all()).await;
        let shared = &self.handle.shared;
        let decisive = match shared.decisive.load(Ordering::Acquire) {
            NO_DECISIVE => None,
            i => Some(i),
        };
        let cancelled = match decisive {
            None => shared.token.reason(),
            Some(_) => None,
        };
        self.policy.finish(results, decisive, cancelled)
    }

    /// Awaits every child in spawn order, then closes the group.
    async fn join_all(&mut self) -> Vec<Outcome<T, E>> {
        let mut results = Vec::new();
        loop {
            let spawned = {
                let shared = &self.handle.shared;
                let mut t = lock(&shared.spawn.tasks);
                if t.handles.is_empty() {
                    t.close();
                    break;
                }
                // `pending` is empty here: take the spawners' vector whole (no copy).
                self.pending = std::mem::take(&mut t.handles).into_iter();
                // Exact under the lock: the children taken are the ones spawned so far.
                shared.spawn.spawned.load(Ordering::Relaxed)
            };
            // One wait for the whole batch instead of one wake-up per child still running.
            self.handle.shared.wait_ended(spawned).await;
            // Every handle is ready now, or about to be (a child counts itself just before
            // its task completes): collect the batch in one pass without a waker (no
            // `.await`, a state-machine round trip, per child).
            let (out, late) = collect_ready(std::mem::take(&mut self.pending), results.len());
            if results.is_empty() {
                results = out;
            } else {
                results.extend(out);
            }
            // The few that were not: await them, and put their results in their places.
            let (places, handles): (Vec<usize>, Vec<_>) = late.into_iter().unzip();
            self.pending = handles.into_iter();
            for i in places {
                let Some(h) = self.pending.as_mut_slice().first_mut() else {
                    break;
                };
                let r = child_result(h.await);
                self.pending.next();
                results[i] = r;
            }
        }
        self.joined = true;
        self.handle.shared.slot_freed.notify(usize::MAX);
        results
    }

    /// Runs `body` with a handle to this group, inside the group's scope (so the body sees the
    /// group's cancellation too), then joins. If the body returns `Err`, the children are
    /// cancelled and joined and that error is returned. This is what
    /// [`task_group`](crate::task_group) does.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use nimsync_group::{TaskGroup, CollectAll};
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// let n = rt.block_on(
    ///     TaskGroup::with_max_tasks(CollectAll, NonZeroUsize::new(2).unwrap()).run(|g| async move {
    ///         for _ in 0..10 {
    ///             g.spawn(async { Ok::<_, ()>(()) }).await?;
    ///         }
    ///         Ok(())
    ///     }),
    /// );
    /// assert_eq!(n.unwrap().len(), 10);
    /// ```
    pub async fn run<B, Fut>(mut self, body: B) -> Result<P::Output, GroupError<E>>
    where
        B: FnOnce(GroupHandle<T, E>) -> Fut,
        Fut: Future<Output = Result<(), GroupError<E>>>,
    {
        hold(async move {
            let body = CancelScope::from_token(self.token().clone()).run_owned(body(self.handle()));
            match body.await {
                Ok(Err(e)) => {
                    self.cancel();
                    self.join_all().await;
                    Err(e)
                }
                Ok(Ok(())) | Err(_) => self.join().await,
            }
        })
        .await
    }
}

/// A child's result from what its join handle gave (a panic or an abort as the scheduler
/// reported it).
fn child_result<T, E>(out: Result<Finished<T, E>, JoinError>) -> Outcome<T, E> {
    match out {
        // The child's reference to the group's state is dropped here (see `Finished`).
        Ok(f) => f.result,
        Err(e) => match e.try_into_panic() {
            Ok(p) => Err(TaskError::Panicked(p)),
            Err(_) => Err(TaskError::Cancelled(Cancelled::Parent)),
        },
    }
}

/// The results of a batch of handles, in order, polled once without a waker. It maps the
/// handles' vector into the results' one, which the standard library does in place when a
/// result is no larger than a handle (24 bytes, e.g. `Result<u64, TaskError<()>>`): a join
/// then allocates no second vector and writes each result where its handle was, on a line
/// it has just read. A handle that is not ready yet is returned with its place (`first` +
/// its index in the batch), which holds a placeholder meanwhile.
#[allow(clippy::type_complexity)]
fn collect_ready<T, E>(
    batch: std::vec::IntoIter<JoinHandle<Finished<T, E>>>,
    first: usize,
) -> (Vec<Outcome<T, E>>, Vec<(usize, JoinHandle<Finished<T, E>>)>) {
    let mut late = Vec::new();
    let mut cx = Context::from_waker(Waker::noop());
    let out = batch
        .enumerate()
        .map(|(i, mut h)| match Pin::new(&mut h).poll(&mut cx) {
            Poll::Ready(out) => child_result(out),
            Poll::Pending => {
                late.push((first + i, h));
                Err(TaskError::Cancelled(Cancelled::Parent))
            }
        })
        .collect();
    (out, late)
}

impl<T, E, P> Deref for TaskGroup<T, E, P> {
    type Target = GroupHandle<T, E>;

    fn deref(&self) -> &GroupHandle<T, E> {
        &self.handle
    }
}

impl<T, E, P> Drop for TaskGroup<T, E, P> {
    fn drop(&mut self) {
        if self.joined {
            return;
        }
        let shared = &self.handle.shared;
        let rest = shared.close();
        // An `on_cancel` callback's panic (re-raised by the cancel) must not skip the aborts
        // (the children would be orphaned), nor unwind out of a destructor (the scheduler
        // may be dropping this group's task; during an unwind it would abort the process):
        // it is dropped, after the panic hook has reported it.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            shared.token.cancel_with("task group dropped before join")
        }));
        for h in self.pending.by_ref().chain(rest) {
            h.abort();
        }
    }
}

impl<T, E, P> fmt::Debug for TaskGroup<T, E, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("handle", &self.handle)
            .field("joined", &self.joined)
            .finish()
    }
}
