//! Lazy child scopes: `ChildScopes` runs futures each in a child scope of one parent token whose
//! own node is created only when something needs it. Task groups run every child this way, so
//! a child that never asks for its token costs no allocation, no registration on the group's
//! token and no lock.
//!
//! Until it is *materialized*, a child scope is represented in the task's context slot by the
//! shared [`Hub`] of its `ChildScopes`: `checkpoint()` and the race in [`RunChild`] observe the
//! parent's node directly. The first call that may hand the node out or hang something on it
//! ([`current_token`](crate::current_token), and every scope, shield, hold or task group
//! created inside, since they use the current node as their parent) creates a child node of
//! the parent and puts it in the slot in place of the hub; `RunChild` adopts it after the
//! poll, and from then on the scope is that node.

use crate::current::{EnterGuard, install, restore};
use crate::error::Cancelled;
use crate::node::{Frame, Node, PARENT};
use crate::token::CancelToken;
use crate::waiter::WakerSlot;
use nimsync_scheduler::{TaskContextValue, set_task_context, task_context_is};
use pin_project_lite::pin_project;
use std::any::Any;
use std::borrow::Borrow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

/// The parent end shared by every child scope of one [`ChildScopes`]; it stands for a child
/// scope that has no node yet. Aligned to 128 bytes so its contents sit on other cache lines
/// than the `Arc` counts in front of it: cloning and dropping it (on whichever worker) never
/// writes the line that children read, nor the parent node's counts or state word.
#[repr(align(128))]
pub(crate) struct Hub {
    parent: Arc<Node>,
    /// The owner's data, given to [`ChildScopes::with_data`].
    data: Option<Arc<dyn Any + Send + Sync>>,
}

impl Hub {
    /// The parent's node (what an unmaterialized child scope observes).
    pub(crate) fn parent(&self) -> &Node {
        &self.parent
    }

    /// A new child node of the parent: a child scope's own node.
    pub(crate) fn materialize(&self) -> Arc<Node> {
        let parent = &self.parent;
        Node::child(
            parent,
            Frame {
                outer: Some(parent.clone()),
                shield: false,
                deadline: parent.frame.deadline,
                report_outer: true,
                linked: false,
            },
        )
    }

    /// Whether `node` was materialized from this hub.
    fn made(&self, node: &Node) -> bool {
        node.frame.report_outer
            && node
                .frame
                .outer
                .as_ref()
                .is_some_and(|o| Arc::ptr_eq(o, &self.parent))
    }
}

/// Runs futures, each in its own child scope of one parent token, created lazily: until
/// something needs it, a child scope just observes the parent (no token node, no registration
/// on the parent, no lock, no allocation). [`run`](Self::run) makes a new child scope current
/// while polling a future; [`current_token`](crate::current_token) inside returns (and creates,
/// the first time) that scope's own child token. Cancelling it stops that scope only, never
/// the parent or sibling scopes; cancelling the parent stops every child scope, materialized
/// or not.
///
/// Tasks spawned inside a child scope inherit its token once it exists. A task spawned before
/// that starts in a new lazy child scope of the same parent: the parent's cancellation reaches
/// it, a later cancel of the child's own token does not.
///
/// Task groups run each child this way, under a `ChildScopes` of the group's token.
///
/// ```
/// use nimsync_cancel::{ChildScopes, CancelToken, current_token};
///
/// let rt = nimsync_scheduler::Runtime::current_thread();
/// rt.block_on(async {
///     let group = CancelToken::new();
///     let scopes = ChildScopes::new(&group);
///     // One child cancels its own token: the parent and its siblings go on.
///     let out = scopes.run(async { current_token().unwrap().cancel(); 1 }).await;
///     assert_eq!(out, Ok(1)); // it finished anyway
///     assert!(!group.is_cancelled());
///     assert_eq!(scopes.run(async { 2 }).await, Ok(2));
/// });
/// ```
#[derive(Clone)]
pub struct ChildScopes {
    hub: Arc<Hub>,
}

impl ChildScopes {
    /// Child scopes of `parent` (nothing is registered on the parent until a scope needs it).
    ///
    /// ```
    /// let parent = nimsync_cancel::CancelToken::new();
    /// let scopes = nimsync_cancel::ChildScopes::new(&parent);
    /// assert_eq!(parent.registrations(), 0);
    /// assert!(scopes.parent().same_as(&parent));
    /// ```
    pub fn new(parent: &CancelToken) -> ChildScopes {
        ChildScopes {
            hub: Arc::new(Hub {
                parent: parent.node.clone(),
                data: None,
            }),
        }
    }

    /// Child scopes of `parent` that carry `data` (see [`data`](Self::data)): whoever runs
    /// futures in them (a task group, say) reaches its own state through the same reference
    /// count as the scopes, instead of holding a second `Arc`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let scopes = nimsync_cancel::ChildScopes::with_data(
    ///     &nimsync_cancel::CancelToken::new(),
    ///     Arc::new(String::from("group 7")),
    /// );
    /// let data = scopes.data().and_then(|d| d.downcast_ref::<String>());
    /// assert_eq!(data.map(String::as_str), Some("group 7"));
    /// ```
    pub fn with_data(parent: &CancelToken, data: Arc<dyn Any + Send + Sync>) -> ChildScopes {
        ChildScopes {
            hub: Arc::new(Hub {
                parent: parent.node.clone(),
                data: Some(data),
            }),
        }
    }

    /// The data given to [`with_data`](Self::with_data) (`None` for [`new`](Self::new)).
    ///
    /// ```
    /// let scopes = nimsync_cancel::ChildScopes::new(&nimsync_cancel::CancelToken::new());
    /// assert!(scopes.data().is_none());
    /// ```
    pub fn data(&self) -> Option<&(dyn Any + Send + Sync)> {
        self.hub.data.as_deref()
    }

    /// The parent token.
    ///
    /// ```
    /// let parent = nimsync_cancel::CancelToken::new();
    /// assert!(nimsync_cancel::ChildScopes::new(&parent).parent().same_as(&parent));
    /// ```
    pub fn parent(&self) -> CancelToken {
        CancelToken::from_node(self.hub.parent.clone())
    }

    /// Runs `fut` in a new child scope: it is the current scope while `fut` is polled (for
    /// `checkpoint()`, `current_token()`, nested scopes and spawned tasks), and `fut` is
    /// dropped with `Err(Cancelled)` as soon as the scope is cancelled (unless a shield inside
    /// is active). The error carries the parent's reason when the parent was cancelled.
    ///
    /// ```
    /// use nimsync_cancel::{ChildScopes, CancelToken, Cancelled};
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// rt.block_on(async {
    ///     let parent = CancelToken::new();
    ///     let p = parent.clone();
    ///     nimsync_scheduler::spawn(async move { p.cancel_with("done") });
    ///     let out = ChildScopes::new(&parent).run(std::future::pending::<()>()).await;
    ///     assert_eq!(out, Err(Cancelled::Explicit(Some("done".into()))));
    /// });
    /// ```
    pub fn run<F: Future>(&self, fut: F) -> RunChild<&ChildScopes, F> {
        RunChild::new(self, fut)
    }

    /// Like [`run`](Self::run), but the returned future owns the scopes (so it can be spawned).
    ///
    /// ```
    /// use nimsync_cancel::{ChildScopes, CancelToken};
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// let scopes = ChildScopes::new(&CancelToken::new());
    /// let out = rt.block_on(async {
    ///     nimsync_scheduler::spawn(scopes.clone().run_owned(async { 3 })).await.unwrap()
    /// });
    /// assert_eq!(out, Ok(3));
    /// ```
    pub fn run_owned<F: Future>(self, fut: F) -> RunChild<ChildScopes, F> {
        RunChild::new(self, fut)
    }

    /// Makes "a new child scope" the current scope of the running task until the guard is
    /// dropped: a task spawned meanwhile starts in a new lazy child scope of the parent. When
    /// that task's top-level future is a [`run`](Self::run) of these scopes, the run finds its
    /// scope already in the task's context slot and installs nothing around its polls (task
    /// groups use [`RunChild::task`] instead). A `run` of the same scopes polled directly inside
    /// another, before the outer scope has its token, takes the outer scope for its own.
    ///
    /// ```
    /// use nimsync_cancel::{ChildScopes, CancelToken, current_token};
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// rt.block_on(async {
    ///     let parent = CancelToken::new();
    ///     let scopes = ChildScopes::new(&parent);
    ///     let task = {
    ///         let _in = scopes.enter();
    ///         nimsync_scheduler::spawn(scopes.clone().run_owned(async { current_token().unwrap() }))
    ///     };
    ///     let token = task.await.unwrap().unwrap();
    ///     parent.cancel();
    ///     assert!(token.is_cancelled() && !token.same_as(&parent));
    /// });
    /// ```
    pub fn enter(&self) -> EnterGuard {
        EnterGuard::new(set_task_context(Some(self.hub.clone())))
    }

    /// The task-context value that stands for "a new child scope" (what [`enter`](Self::enter)
    /// installs): a task spawned with it by
    /// [`spawn_with_context`](nimsync_scheduler::spawn_with_context) starts in a new lazy
    /// child scope of the parent, as if spawned under `enter()`, without swapping the
    /// spawner's slot. (Task groups use [`RunChild::task`] instead, which puts it there on
    /// the child's first poll.)
    ///
    /// ```
    /// use nimsync_cancel::{ChildScopes, CancelToken, current_token};
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// rt.block_on(async {
    ///     let parent = CancelToken::new();
    ///     let scopes = ChildScopes::new(&parent);
    ///     let task = nimsync_scheduler::spawn_with_context(
    ///         Some(scopes.task_context()),
    ///         scopes.clone().run_owned(async { current_token().unwrap() }),
    ///     );
    ///     let token = task.await.unwrap().unwrap();
    ///     parent.cancel();
    ///     assert!(token.is_cancelled() && !token.same_as(&parent));
    /// });
    /// ```
    pub fn task_context(&self) -> TaskContextValue {
        self.hub.clone()
    }
}

impl fmt::Debug for ChildScopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildScopes")
            .field("parent_cancelled", &self.hub.parent.is_cancelled())
            .finish()
    }
}

/// How a [`RunChild`] keeps its scope current.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// Not polled yet.
    Unknown,
    /// Not polled yet, made by [`RunChild::task`]: the first poll puts the scope in the
    /// task's slot if that is empty.
    Claim,
    /// The task's slot already holds the scope (the task was spawned under
    /// [`ChildScopes::enter`] and this is its top-level future): nothing to install; the
    /// slot persists across polls, materialized or not.
    Task,
    /// Like `Task`, the scope put in the slot by this run's first poll (`Claim`): the run
    /// empties the slot again when it finishes.
    Claimed,
    /// Install the scope (hub or own node) around each poll, like a `CancelScope::run`.
    Install,
}

pin_project! {
    /// The future of [`ChildScopes::run`].
    ///
    /// ```
    /// let scopes = nimsync_cancel::ChildScopes::new(&nimsync_cancel::CancelToken::new());
    /// let fut: nimsync_cancel::RunChild<_, _> = scopes.run(async { 1 });
    /// assert_eq!(futures_executor::block_on(fut), Ok(1));
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct RunChild<S: Borrow<ChildScopes>, F> {
        // `None` once [`RunChild::take_scopes`] took them (the run is over then).
        scopes: Option<S>,
        // The scope's own node, once materialized.
        own: Option<Arc<Node>>,
        mode: Mode,
        // Registered on the observed node once `fut` is pending: on `own` if `on_own`, else
        // on the parent (a flag, not a handle to the node: every group child carries this
        // future, so its size is memory per child).
        waiting: WakerSlot,
        on_own: bool,
        #[pin]
        fut: Option<F>,
    }

    impl<S: Borrow<ChildScopes>, F> PinnedDrop for RunChild<S, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            // Taken scopes: the run finished, and unregistered its waker then.
            if let Some(scopes) = this.scopes.as_ref() {
                let hub = &scopes.borrow().hub;
                this.waiting.unregister(registered_on(*this.on_own, this.own.as_ref(), hub));
                // Dropped pending after claiming the slot: a task's top-level run goes with
                // its task, but a nested one (it lost a `select`, a timeout fired) must not
                // leave its scope in the task's slot.
                if *this.mode == Mode::Claimed && this.fut.is_some() {
                    release_claim(hub);
                }
            }
        }
    }
}

/// The node a [`RunChild`]'s waker is registered on: its own (`on_own`) or the parent's.
fn registered_on<'a>(on_own: bool, own: Option<&'a Arc<Node>>, hub: &'a Hub) -> &'a Node {
    match own {
        Some(own) if on_own => own,
        _ => &hub.parent,
    }
}

impl<S: Borrow<ChildScopes>, F> RunChild<S, F> {
    /// Runs `fut` in a new child scope of `scopes`, like [`ChildScopes::run`], for any owner
    /// of the scopes (an `Arc` of a structure holding them, say), so a wrapper can keep its
    /// own state and the scopes behind one reference count (see [`scopes`](Self::scopes)).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use nimsync_cancel::{ChildScopes, CancelToken, RunChild};
    /// struct Group { scopes: ChildScopes, name: &'static str }
    /// struct ByGroup(Arc<Group>);
    /// impl std::borrow::Borrow<ChildScopes> for ByGroup {
    ///     fn borrow(&self) -> &ChildScopes { &self.0.scopes }
    /// }
    /// let g = Arc::new(Group { scopes: ChildScopes::new(&CancelToken::new()), name: "g" });
    /// let fut = RunChild::new(ByGroup(g), async { 5 });
    /// assert_eq!(fut.scopes().unwrap().0.name, "g");
    /// assert_eq!(futures_executor::block_on(fut), Ok(5));
    /// ```
    pub fn new(scopes: S, fut: F) -> Self {
        Self::with_mode(scopes, fut, Mode::Unknown)
    }

    /// Like [`new`](Self::new), for the top-level future of a task spawned with an empty
    /// context slot (`spawn_with_context(None, ..)`): its first poll puts (a clone of) the
    /// scope in the task's slot, where it stays while the run lasts, as if the task had been
    /// spawned with [`ChildScopes::task_context`], and the run empties the slot when it
    /// finishes. So the spawner takes no reference count for the slot: the thread that runs
    /// the task takes it, and drops it. If the slot is not empty at the first poll (an
    /// `on_spawn` hook put a value there, say), the run installs its scope around each poll
    /// instead, like [`new`](Self::new). Task groups spawn each child this way.
    ///
    /// Meant for a task's top-level future. Nested in a task whose slot is empty, it still
    /// claims the slot: while it is pending, whatever else that task polls sees its scope as
    /// current; it empties the slot when it finishes or is dropped.
    ///
    /// ```
    /// use nimsync_cancel::{ChildScopes, CancelToken, RunChild, current_token};
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// rt.block_on(async {
    ///     let parent = CancelToken::new();
    ///     let scopes = ChildScopes::new(&parent);
    ///     let task = nimsync_scheduler::spawn_with_context(
    ///         None,
    ///         RunChild::task(scopes, async { current_token().unwrap() }),
    ///     );
    ///     let token = task.await.unwrap().unwrap();
    ///     parent.cancel();
    ///     assert!(token.is_cancelled() && !token.same_as(&parent));
    /// });
    /// ```
    pub fn task(scopes: S, fut: F) -> Self {
        Self::with_mode(scopes, fut, Mode::Claim)
    }

    fn with_mode(scopes: S, fut: F, mode: Mode) -> Self {
        RunChild {
            scopes: Some(scopes),
            own: None,
            mode,
            waiting: WakerSlot::new(),
            on_own: false,
            fut: Some(fut),
        }
    }

    /// The scopes this future runs in (what [`ChildScopes::run`] or
    /// [`run_owned`](ChildScopes::run_owned) was given), for a wrapper that owns its group's
    /// state through them and needs it again after the future is done; `None` once
    /// [`take_scopes`](Self::take_scopes) took them.
    ///
    /// ```
    /// let scopes = nimsync_cancel::ChildScopes::new(&nimsync_cancel::CancelToken::new());
    /// let fut = scopes.clone().run_owned(async { 1 });
    /// assert!(fut.scopes().unwrap().parent().same_as(&scopes.parent()));
    /// ```
    pub fn scopes(&self) -> Option<&S> {
        self.scopes.as_ref()
    }

    /// Once the run has returned `Ready`: takes its scopes out, so that the caller decides
    /// where their reference count is dropped (a task group hands it back to its joiner with
    /// the child's result: the workers that run its children then never write the count the
    /// spawner increments). `None` before the run is over, or if they were taken already.
    ///
    /// ```
    /// use nimsync_cancel::{ChildScopes, CancelToken};
    /// use std::future::Future;
    /// let scopes = ChildScopes::new(&CancelToken::new());
    /// let mut run = Box::pin(scopes.clone().run_owned(async { 7 }));
    /// assert!(run.as_mut().take_scopes().is_none()); // not finished
    /// let out = futures_executor::block_on(run.as_mut());
    /// assert_eq!(out, Ok(7));
    /// let taken = run.as_mut().take_scopes().unwrap();
    /// assert!(taken.parent().same_as(&scopes.parent()) && run.scopes().is_none());
    /// ```
    pub fn take_scopes(self: Pin<&mut Self>) -> Option<S> {
        let this = self.project();
        if this.fut.is_some() {
            return None;
        }
        this.scopes.take()
    }

    /// The node that decides whether the scope is cancelled right now (`None`: scopes taken).
    fn observed(&self) -> Option<&Arc<Node>> {
        let scopes = self.scopes.as_ref()?;
        Some(self.own.as_ref().unwrap_or(&scopes.borrow().hub.parent))
    }
}

/// The first poll of a [`RunChild::task`]: puts a clone of the hub in the task's slot if it
/// is empty (`Claimed`); otherwise the run installs its scope around each poll (`Install`),
/// or finds it there already (`Task`).
fn claim_slot(hub: &Arc<Hub>) -> Mode {
    // One swap in the common case (an empty slot); an occupied one gets its value back.
    let Some(prev) = set_task_context(Some(hub.clone())) else {
        return Mode::Claimed;
    };
    let same = is_hub(&prev, hub);
    restore(Some(prev));
    if same { Mode::Task } else { Mode::Install }
}

/// Whether the slot value `value` is `hub` itself.
fn is_hub(value: &TaskContextValue, hub: &Arc<Hub>) -> bool {
    std::ptr::eq(
        Arc::as_ptr(value) as *const (),
        Arc::as_ptr(hub) as *const (),
    )
}

/// The slot value `value` as a node materialized from `hub`, if it is one.
fn made_node<'a>(value: &'a TaskContextValue, hub: &Hub) -> Option<&'a Node> {
    value.downcast_ref::<Node>().filter(|node| hub.made(node))
}

/// A pending `Claimed` run being dropped: empties the running task's slot if it still holds
/// the run's scope (the hub, or the node materialized from it); leaves anything else there.
/// Outside a task there is no slot and nothing to do.
fn release_claim(hub: &Arc<Hub>) {
    let slot = set_task_context(None);
    let ours = slot
        .as_ref()
        .is_some_and(|value| is_hub(value, hub) || made_node(value, hub).is_some());
    if !ours {
        restore(slot);
    }
}

/// A finished run that put its scope in the task's slot (`Claimed`) empties it again.
#[inline]
fn release_slot(mode: Mode) {
    if mode == Mode::Claimed {
        restore(None);
    }
}

/// Whether the scope must drop its future now. Before materialization nothing inside can be
/// shielded (a shield or hold materializes the scope), so the parent's shield count (which
/// counts other tasks' shields) is not consulted.
#[inline]
fn must_stop(own: Option<&Arc<Node>>, hub: &Hub) -> bool {
    match own {
        Some(own) => own.is_cancelled() && own.shields.load(Ordering::Acquire) == 0,
        None => hub.parent.is_cancelled(),
    }
}

/// Why the scope is cancelled: its own reason, or the parent's when it came from there.
fn report(own: Option<&Arc<Node>>, hub: &Hub) -> Cancelled {
    let node = match own {
        Some(own) if own.kind() != PARENT => own,
        _ => &hub.parent,
    };
    node.reason().unwrap_or(Cancelled::Parent)
}

/// Takes a look at the slot value after a poll: a node materialized from `hub` is returned
/// (cloned) for adoption.
fn adopt(slot: &Option<TaskContextValue>, hub: &Hub) -> Option<Arc<Node>> {
    let value = slot.as_ref()?;
    // Check the type before cloning: the slot usually still holds the shared hub.
    made_node(value, hub)?;
    value.clone().downcast::<Node>().ok()
}

impl<S: Borrow<ChildScopes>, F: Future> Future for RunChild<S, F> {
    type Output = Result<F::Output, Cancelled>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        assert!(this.fut.is_some(), "`RunChild` polled after completion");
        let hub: &Arc<Hub> = &this
            .scopes
            .as_ref()
            .expect("a pending `RunChild` has its scopes")
            .borrow()
            .hub;
        match *this.mode {
            // Whether the slot holds our hub itself (one look-up, no reference count).
            Mode::Unknown if task_context_is(hub) => *this.mode = Mode::Task,
            Mode::Unknown => *this.mode = Mode::Install,
            Mode::Claim => *this.mode = claim_slot(hub),
            _ => {}
        }
        let out = loop {
            if must_stop(this.own.as_ref(), hub) {
                break None;
            }
            let polled = if matches!(*this.mode, Mode::Task | Mode::Claimed) {
                let polled = match this.fut.as_mut().as_pin_mut() {
                    Some(f) => f.poll(cx),
                    None => Poll::Pending,
                };
                // A finished future needs no node: only a pending one adopts it (a child
                // that ends in its first poll, the common case, never touches the slot).
                if polled.is_pending() && this.own.is_none() {
                    let slot = set_task_context(None);
                    *this.own = adopt(&slot, hub);
                    restore(slot);
                }
                polled
            } else {
                let prev = match this.own.as_ref() {
                    Some(own) => install(own.clone()),
                    None => set_task_context(Some(hub.clone())),
                };
                let polled = match this.fut.as_mut().as_pin_mut() {
                    Some(f) => f.poll(cx),
                    None => Poll::Pending,
                };
                let after = set_task_context(prev);
                if polled.is_pending() && this.own.is_none() {
                    *this.own = adopt(&after, hub);
                }
                polled
            };
            if let Poll::Ready(v) = polled {
                break Some(v);
            }
            let own = this.own.as_ref();
            let observed = own.unwrap_or(&hub.parent);
            if observed.is_cancelled() {
                if must_stop(own, hub) {
                    continue;
                }
                // Shielded work inside is still running; its own wake-ups re-poll us.
                return Poll::Pending;
            }
            // Wait on the observed node; once the own node appears, the registration moves
            // to it (it is cancelled with the parent, and on its own).
            if !*this.on_own && own.is_some() {
                this.waiting.unregister(&hub.parent);
                *this.on_own = true;
            }
            if !this.waiting.poll_cancelled(observed, cx.waker()) {
                return Poll::Pending;
            }
        };
        // Finished or stopped: the future goes (before `report` reads why), and so do the
        // waker's registration and a slot this run claimed.
        this.fut.set(None);
        this.waiting
            .unregister(registered_on(*this.on_own, this.own.as_ref(), hub));
        release_slot(*this.mode);
        Poll::Ready(out.ok_or_else(|| report(this.own.as_ref(), hub)))
    }
}

impl<S: Borrow<ChildScopes>, F> fmt::Debug for RunChild<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunChild")
            .field("materialized", &self.own.is_some())
            .field(
                "cancelled",
                &self.observed().is_some_and(|n| n.is_cancelled()),
            )
            .field("done", &self.fut.is_none())
            .finish()
    }
}
