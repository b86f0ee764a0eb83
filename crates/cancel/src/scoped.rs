//! The futures that run work inside a scope: `Scoped` (behind `CancelScope::run`,
//! `timeout`, `timeout_at`, `with_cancel`) and `Shield` (behind `shield`).

use crate::current::{current_node, install, restore};
use crate::error::Cancelled;
use crate::lazy::{self, LazyScope};
use crate::node::{Frame, Node, TIMEOUT};
use crate::scope::{CancelScope, arm};
use crate::token::CancelToken;
use crate::waiter::WaitForCancel;
use nimsync_scheduler::{Sleep, now, set_task_context};
use pin_project_lite::pin_project;
use std::borrow::Borrow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The future of [`CancelScope::run`].
pub type Run<'a, F> = Scoped<&'a CancelScope, F>;

/// The future of [`timeout`], [`timeout_at`], [`with_cancel`] and
/// [`CancelScope::run_owned`] (it owns its scope).
pub type Timeout<F> = Scoped<OwnedScope, F>;

mod sealed {
    pub trait Sealed {}
}

/// What a [`Scoped`] future runs in: a borrowed [`CancelScope`] ([`CancelScope::run`]) or an
/// [`OwnedScope`]. Sealed: implemented by this crate only.
pub trait ScopeSource: Borrow<CancelScope> + sealed::Sealed {
    /// A timeout's scope that is not built yet (built on first need instead).
    #[doc(hidden)]
    fn unbuilt(&self) -> Option<&OwnedScope> {
        None
    }

    /// A timeout's own deadline, armed once its future is pending.
    #[doc(hidden)]
    fn deadline_to_arm(&self) -> Option<Instant> {
        None
    }

    /// An owned scope not built yet (of any kind): what `Debug` shows instead of building it.
    #[doc(hidden)]
    fn not_built(&self) -> Option<&OwnedScope> {
        None
    }
}

impl sealed::Sealed for &CancelScope {}
impl ScopeSource for &CancelScope {}

/// The scope a [`Timeout`] owns. A `timeout`'s scope is built when first needed: when
/// something inside asks for it (`current_token()`, a nested scope, a spawned task), when the
/// future is still pending after its first poll, or by [`Scoped::scope`]. A timeout whose
/// future finishes in its first poll with nobody asking builds none: no token node, no timer.
/// A `with_cancel`'s scope is built at its first poll (or by [`Scoped::scope`]), so its
/// enclosing scope is the one current there, as for a `timeout`.
///
/// ```
/// use std::time::Duration;
/// let t: nimsync_cancel::Timeout<_> = nimsync_cancel::timeout(Duration::from_secs(1), async {});
/// let _: &nimsync_cancel::OwnedScope = t.owned_scope();
/// ```
pub struct OwnedScope {
    /// What to build the scope from.
    source: Source,
    scope: OnceLock<CancelScope>,
}

/// What an [`OwnedScope`] builds its scope from.
enum Source {
    /// A timeout's own deadline (`None`: beyond the clock's range, or a scope given built),
    /// and whether it had passed when the timeout was made (the scope is built cancelled).
    Deadline {
        deadline: Option<Instant>,
        expired: bool,
    },
    /// `with_cancel`'s token: the scope is linked to it and to the enclosing scope.
    Linked(CancelToken),
}

impl OwnedScope {
    /// A timeout's scope, not built yet (one construction path: the future is built in place).
    #[inline]
    fn timeout(now: Instant, deadline: Option<Instant>) -> OwnedScope {
        OwnedScope {
            source: Source::Deadline {
                deadline,
                expired: deadline.is_some_and(|d| now >= d),
            },
            scope: OnceLock::new(),
        }
    }

    /// `with_cancel`'s scope, built at the first poll.
    fn linked(token: &CancelToken) -> OwnedScope {
        OwnedScope {
            source: Source::Linked(token.clone()),
            scope: OnceLock::new(),
        }
    }

    pub(crate) fn built(scope: CancelScope) -> OwnedScope {
        OwnedScope {
            source: Source::Deadline {
                deadline: None,
                expired: false,
            },
            scope: OnceLock::from(scope),
        }
    }

    fn deadline(&self) -> Option<Instant> {
        match self.source {
            Source::Deadline { deadline, .. } => deadline,
            Source::Linked(_) => None,
        }
    }
}

impl Borrow<CancelScope> for OwnedScope {
    /// The scope, built now if it was not (enclosed by the current scope).
    fn borrow(&self) -> &CancelScope {
        self.scope.get_or_init(|| match &self.source {
            Source::Deadline { deadline, expired } => {
                let (scope, _) = CancelScope::build_unarmed(*deadline, false);
                if *expired {
                    scope.token().node.cancel_quietly(TIMEOUT, None);
                }
                scope
            }
            Source::Linked(token) => CancelScope::linked_to(token),
        })
    }
}

impl sealed::Sealed for OwnedScope {}
impl ScopeSource for OwnedScope {
    fn unbuilt(&self) -> Option<&OwnedScope> {
        // An expired timeout builds its (cancelled) scope at its first poll, and so does
        // `with_cancel` (its node is a child of its token: no lazy marker).
        match (&self.source, self.scope.get()) {
            (Source::Deadline { expired: false, .. }, None) => Some(self),
            _ => None,
        }
    }

    fn deadline_to_arm(&self) -> Option<Instant> {
        self.deadline()
    }

    fn not_built(&self) -> Option<&OwnedScope> {
        self.scope.get().is_none().then_some(self)
    }
}

impl fmt::Debug for OwnedScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scope.get() {
            Some(scope) => scope.fmt(f),
            None => f
                .debug_struct("OwnedScope")
                .field("deadline", &self.deadline())
                .field("linked", &matches!(self.source, Source::Linked(_)))
                .field("built", &false)
                .finish(),
        }
    }
}

pin_project! {
    /// Runs a future inside a [`CancelScope`] (borrowed or owned): the scope is the task's
    /// current scope while the future is polled, and the future is dropped with
    /// `Err(Cancelled)` as soon as the scope is cancelled (unless a shield inside is active).
    /// If the future completes, its output is returned even when the scope was cancelled
    /// meanwhile.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = nimsync_scheduler::Builder::new_current_thread().start_paused(true).build().unwrap();
    /// rt.block_on(async {
    ///     let fut: nimsync_cancel::Timeout<_> =
    ///         nimsync_cancel::timeout(Duration::from_millis(10), async { 1 });
    ///     assert_eq!(fut.await, Ok(1));
    /// });
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct Scoped<S: ScopeSource, F> {
        scope: S,
        waiter: Option<WaitForCancel>,
        // A shielded scope counts itself in its enclosing scopes while it runs.
        shield_counted: bool,
        // `timeout`: whether its deadline was armed (once the future is pending), and the
        // armed timer.
        armed: bool,
        timer: Option<Sleep>,
        #[pin]
        fut: Option<F>,
    }

    impl<S: ScopeSource, F> PinnedDrop for Scoped<S, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if *this.shield_counted {
                count_shield(&(*this.scope).borrow().token().node, false);
            }
        }
    }
}

impl<S: ScopeSource, F: Future> Scoped<S, F> {
    pub(crate) fn new(scope: S, fut: F) -> Self {
        Scoped {
            scope,
            waiter: None,
            shield_counted: false,
            armed: false,
            timer: None,
            fut: Some(fut),
        }
    }

    /// The scope the future runs in. A timeout's or `with_cancel`'s scope is built by this
    /// call if it was not yet (see [`OwnedScope`]); it is then enclosed by the scope current
    /// at this call.
    ///
    /// ```
    /// let t = nimsync_cancel::timeout(std::time::Duration::from_secs(1), async {});
    /// assert!(!t.scope().cancel_called());
    /// ```
    pub fn scope(&self) -> &CancelScope {
        self.scope.borrow()
    }
}

impl<F: Future> Scoped<OwnedScope, F> {
    /// The owned scope, without building it.
    ///
    /// ```
    /// let t = nimsync_cancel::timeout(std::time::Duration::from_secs(1), async {});
    /// println!("{:?}", t.owned_scope()); // not built yet
    /// ```
    pub fn owned_scope(&self) -> &OwnedScope {
        &self.scope
    }
}

/// The first poll of a timeout whose scope is not built: polls `fut` with a lazy marker as the
/// current scope (see `lazy.rs`). `None` if the enclosing scope is cancelled already: the
/// caller builds the scope and goes the usual way. Otherwise the poll's result; when it is
/// pending the scope is built (it needs its node from now on).
fn first_poll<F: Future>(
    owned: &OwnedScope,
    fut: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Option<Poll<F::Output>> {
    let prev = set_task_context(None);
    if prev.as_ref().is_some_and(lazy::is_cancelled) {
        restore(prev);
        return None;
    }
    let marker = LazyScope::take(owned.deadline(), prev);
    drop(set_task_context(Some(marker.clone())));
    let polled = fut.poll(cx);
    drop(set_task_context(None));
    if polled.is_pending() {
        marker.node();
    }
    let (prev, node) = LazyScope::finish(marker);
    restore(prev);
    if let Some(node) = node {
        let _ = owned
            .scope
            .set(CancelScope::from_token(CancelToken::from_node(node)));
    }
    Some(polled)
}

/// Whether a scope wrapper on `node` must stop its future now.
fn must_stop(node: &Node) -> bool {
    node.is_cancelled() && node.shields.load(Ordering::Acquire) == 0
}

impl<S: ScopeSource, F: Future> Future for Scoped<S, F> {
    type Output = Result<F::Output, Cancelled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        assert!(this.fut.is_some(), "`Scoped` polled after completion");
        // A timeout's first poll: no scope built unless something needs it.
        let mut first = None;
        if let Some(owned) = this.scope.unbuilt()
            && let Some(f) = this.fut.as_mut().as_pin_mut()
        {
            first = first_poll(owned, f, cx);
            if let Some(Poll::Ready(v)) = first {
                this.fut.set(None);
                return Poll::Ready(Ok(v));
            }
        }
        let scope: &CancelScope = (*this.scope).borrow();
        let node = &scope.token().node;
        if node.frame.shield && !*this.shield_counted {
            *this.shield_counted = true;
            count_shield(node, true);
        }
        loop {
            if must_stop(node) {
                this.fut.set(None);
                *this.waiter = None;
                if std::mem::take(this.shield_counted) {
                    count_shield(node, false);
                }
                scope.set_caught();
                return Poll::Ready(Err(scope.report()));
            }
            let polled = match first.take() {
                Some(polled) => polled,
                None => {
                    let prev = install(node.clone());
                    let polled = match this.fut.as_mut().as_pin_mut() {
                        Some(f) => f.poll(cx),
                        None => Poll::Pending,
                    };
                    restore(prev);
                    polled
                }
            };
            if let Poll::Ready(v) = polled {
                this.fut.set(None);
                *this.waiter = None;
                if std::mem::take(this.shield_counted) {
                    count_shield(node, false);
                }
                return Poll::Ready(Ok(v));
            }
            if node.is_cancelled() {
                if must_stop(node) {
                    continue;
                }
                // Shielded work inside is still running; its own wake-ups re-poll us.
                return Poll::Pending;
            }
            // Only when the scope's own deadline is the effective one (an earlier inherited
            // deadline cancels it through the enclosing scope).
            if !std::mem::replace(this.armed, true)
                && let Some(d) = this.scope.deadline_to_arm()
                && node.frame.deadline == Some(d)
            {
                // Pending for the first time: now the deadline needs the timer.
                *this.timer = arm(node, d);
                if node.is_cancelled() {
                    continue;
                }
            }
            let waiter = this
                .waiter
                .get_or_insert_with(|| WaitForCancel::new(scope.token().clone()));
            if !waiter.poll_cancelled(cx.waker()) {
                return Poll::Pending;
            }
        }
    }
}

impl<S: ScopeSource, F> fmt::Debug for Scoped<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Scoped");
        match self.scope.not_built() {
            Some(owned) => d.field("scope", owned),
            None => d.field("scope", self.scope.borrow()),
        };
        d.field("done", &self.fut.is_none()).finish()
    }
}

/// Runs `fut` with a time limit of `duration`: `Err(Cancelled::Timeout)` if it has not
/// finished by then (it is dropped at that point). A zero duration is valid: the future is
/// not polled at all. The limit is a [`CancelScope`], so `checkpoint()` inside and tasks
/// spawned inside see it, and it nests with enclosing scopes (the earliest deadline wins):
/// the scopes current where the timeout is first polled. The deadline is `duration` from this
/// call. The scope is built only when needed (see [`OwnedScope`]): a future that finishes in
/// its first poll, with nothing inside asking for the scope, costs no allocation and no timer.
///
/// ```
/// use std::time::Duration;
/// use nimsync_cancel::{timeout, Cancelled};
/// use nimsync_scheduler::{Builder, sleep};
///
/// let rt = Builder::new_current_thread().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let slow = timeout(Duration::from_millis(50), sleep(Duration::from_secs(1))).await;
///     assert_eq!(slow, Err(Cancelled::Timeout));
///     let fast = timeout(Duration::from_millis(50), async { "done" }).await;
///     assert_eq!(fast, Ok("done"));
/// });
/// ```
#[inline]
pub fn timeout<F: Future>(duration: Duration, fut: F) -> Timeout<F> {
    let now = now();
    // Beyond the clock's range: never.
    Scoped::new(OwnedScope::timeout(now, now.checked_add(duration)), fut)
}

/// Runs `fut` until `deadline` (on the runtime's clock): `Err(Cancelled::Timeout)` if it has
/// not finished by then. A deadline in the past cancels at once (the future is not polled).
///
/// ```
/// use std::time::Duration;
/// use nimsync_cancel::{timeout_at, Cancelled};
/// let rt = nimsync_scheduler::Runtime::current_thread();
/// rt.block_on(async {
///     let past = nimsync_scheduler::now() - Duration::from_secs(1);
///     assert_eq!(timeout_at(past, async { 1 }).await, Err(Cancelled::Timeout));
/// });
/// ```
#[inline]
pub fn timeout_at<F: Future>(deadline: Instant, fut: F) -> Timeout<F> {
    Scoped::new(OwnedScope::timeout(now(), Some(deadline)), fut)
}

/// Runs `fut` until `token` is cancelled: `Err` with the token's reason (or the enclosing
/// scope's, since `fut` also runs inside the current scope) if that happens first.
///
/// The scope `fut` runs in is cancelled by both `token` and the enclosing scope (the one
/// current where this future is first polled, as for [`timeout`]): tokens, scopes and task
/// groups created inside are reached by either, e.g. by a `timeout` around the
/// `with_cancel`. When both are cancelled, the token's reason is the one reported.
///
/// ```
/// use nimsync_cancel::{with_cancel, CancelToken, Cancelled};
/// let rt = nimsync_scheduler::Runtime::current_thread();
/// rt.block_on(async {
///     let token = CancelToken::new();
///     let t = token.clone();
///     nimsync_scheduler::spawn(async move { t.cancel_with("stop") });
///     let out = with_cancel(&token, std::future::pending::<()>()).await;
///     assert_eq!(out, Err(Cancelled::Explicit(Some("stop".into()))));
/// });
/// ```
pub fn with_cancel<F: Future>(token: &CancelToken, fut: F) -> Timeout<F> {
    Scoped::new(OwnedScope::linked(token), fut)
}

pin_project! {
    /// The future of [`shield`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct Shield<F> {
        node: Option<Arc<Node>>,
        #[pin]
        fut: F,
    }

    impl<F> PinnedDrop for Shield<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(node) = this.project().node.take() {
                count_shield(&node, false);
            }
        }
    }
}

/// Runs `fut` shielded from the cancellation of enclosing scopes: `checkpoint()` inside
/// does not see it, and enclosing scope wrappers (`run`, `timeout`, task-group children)
/// keep polling until the shielded future completes. Use it for cleanup that must finish.
/// (It cannot stop a caller that drops the future by other means, e.g. a plain `select`.)
///
/// ```
/// use std::time::Duration;
/// use nimsync_cancel::{shield, timeout, checkpoint, Cancelled};
/// use nimsync_scheduler::{Builder, sleep};
///
/// let rt = Builder::new_current_thread().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let out = timeout(Duration::from_secs(1), async {
///         shield(async {
///             sleep(Duration::from_secs(5)).await; // outlives the timeout: shielded
///             checkpoint()
///         })
///         .await
///     })
///     .await;
///     // The cleanup finished and saw no cancellation; the output is kept.
///     assert_eq!(out, Ok(Ok(())));
/// });
/// ```
pub fn shield<F: Future>(fut: F) -> Shield<F> {
    Shield { node: None, fut }
}

/// Adds (or removes) one active shield to every scope enclosing `node`.
fn count_shield(node: &Arc<Node>, add: bool) {
    let mut cur = node.frame.outer.as_ref();
    while let Some(n) = cur {
        if add {
            n.shields.fetch_add(1, Ordering::AcqRel);
        } else {
            n.shields.fetch_sub(1, Ordering::AcqRel);
        }
        cur = n.frame.outer.as_ref();
    }
}

impl<F: Future> Future for Shield<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let node = this.node.get_or_insert_with(|| {
            let node = Node::root(Frame {
                outer: current_node(),
                shield: true,
                deadline: None,
                report_outer: false,
                linked: false,
            });
            count_shield(&node, true);
            node
        });
        let prev = install(node.clone());
        let out = this.fut.poll(cx);
        restore(prev);
        if out.is_ready()
            && let Some(node) = this.node.take()
        {
            count_shield(&node, false);
        }
        out
    }
}

impl<F> fmt::Debug for Shield<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shield")
            .field("active", &self.node.is_some())
            .finish()
    }
}

pin_project! {
    /// The future of [`hold`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct Hold<F> {
        held: Option<Arc<Node>>,
        #[pin]
        fut: F,
    }

    impl<F> PinnedDrop for Hold<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(node) = this.project().held.take() {
                count_from(&node, false);
            }
        }
    }
}

/// Runs `fut` so that enclosing scope wrappers (`run`, `timeout`, task-group children) do
/// not drop it when they are cancelled: they keep polling it until it completes. Unlike
/// [`shield`], the cancellation stays visible inside (`checkpoint()`, tokens), so `fut` must
/// react to it and finish by itself. Task groups hold their enclosing scopes while joining,
/// so a cancelled group still waits for its (cancelled) children to stop.
///
/// ```
/// use std::time::Duration;
/// use nimsync_cancel::{hold, timeout, checkpoint, current_token, Cancelled};
/// use nimsync_scheduler::{Builder, sleep};
///
/// let rt = Builder::new_current_thread().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let out = timeout(Duration::from_secs(1), async {
///         hold(async {
///             // Sees the timeout, and winds down on its own.
///             current_token().unwrap().cancelled().await;
///             checkpoint()
///         })
///         .await
///     })
///     .await;
///     assert_eq!(out, Ok(Err(Cancelled::Timeout)));
/// });
/// ```
pub fn hold<F: Future>(fut: F) -> Hold<F> {
    Hold { held: None, fut }
}

impl<F: Future> Future for Hold<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        if this.held.is_none()
            && let Some(node) = current_node()
        {
            count_from(&node, true);
            *this.held = Some(node);
        }
        let out = this.fut.poll(cx);
        if out.is_ready()
            && let Some(node) = this.held.take()
        {
            count_from(&node, false);
        }
        out
    }
}

/// [`count_shield`] including `node` itself.
fn count_from(node: &Arc<Node>, add: bool) {
    if add {
        node.shields.fetch_add(1, Ordering::AcqRel);
    } else {
        node.shields.fetch_sub(1, Ordering::AcqRel);
    }
    count_shield(node, add);
}

impl<F> fmt::Debug for Hold<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hold")
            .field("holding", &self.held.is_some())
            .finish()
    }
}
