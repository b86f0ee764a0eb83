//! `CancelScope`: a token bound to the task's scope chain, with an optional deadline fired by
//! the scheduler's timer, shielding, and Trio-style `cancel_called` / `cancelled_caught`.

use crate::current::{check_chain, current_node};
use crate::error::Cancelled;
use crate::node::{Frame, Node, PARENT, TIMEOUT};
use crate::scoped::{OwnedScope, Run, Scoped, Timeout};
use crate::token::CancelToken;
use nimsync_scheduler::{Sleep, now, sleep_until};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// A cancellation scope (Trio's `CancelScope`): a [`CancelToken`] that is a child of the
/// running task's current scope, optionally with a deadline.
///
/// * **Deadlines** fire through the scheduler's timer (the token is cancelled with
///   [`Cancelled::Timeout`] by the timer itself; `is_cancelled` never reads the clock). A
///   scope's effective deadline is the minimum of its own and its enclosing scope's; a
///   deadline already in the past cancels the scope at once. The deadline is armed when the
///   scope is created, on the timer (and clock) of the runtime current at that point (the
///   global runtime outside any): create scopes and timeouts inside the runtime they bound.
/// * [`run`](Self::run) makes the scope current while polling a future and races it against
///   the scope's cancellation: `Ok(output)` or `Err(Cancelled)`.
/// * [`shielded`](Self::shielded) scopes are not reached by the cancellation of enclosing
///   scopes until they end; enclosing `run`s keep polling a future while a shield inside it
///   is active.
/// * [`cancel_called`](Self::cancel_called) says the scope was cancelled;
///   [`cancelled_caught`](Self::cancelled_caught) says the cancellation actually
///   interrupted the work of a `run` (which then returned `Err`).
///
/// ```
/// use std::time::Duration;
/// use nimsync_cancel::{CancelScope, Cancelled};
/// use nimsync_scheduler::{Builder, sleep};
///
/// let rt = Builder::new_current_thread().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let scope = CancelScope::with_timeout(Duration::from_secs(5));
///     let out = scope.run(sleep(Duration::from_secs(60))).await;
///     assert_eq!(out, Err(Cancelled::Timeout));
///     assert!(scope.cancel_called() && scope.cancelled_caught());
///
///     let quick = CancelScope::with_timeout(Duration::from_secs(5));
///     assert_eq!(quick.run(async { 7 }).await, Ok(7));
///     assert!(!quick.cancel_called() && !quick.cancelled_caught());
/// });
/// ```
pub struct CancelScope {
    token: CancelToken,
    /// For `with_cancel`: the caller's token this scope is a child of (its reason is reported).
    linked: Option<CancelToken>,
    /// The armed deadline timer (dropping it disarms the timer).
    timer: Option<Sleep>,
    caught: AtomicBool,
}

impl CancelScope {
    /// A scope with no deadline of its own, child of the current scope.
    ///
    /// ```
    /// let scope = nimsync_cancel::CancelScope::new();
    /// assert!(!scope.cancel_called());
    /// ```
    pub fn new() -> CancelScope {
        CancelScope::build(None, false)
    }

    /// A scope cancelled at `deadline` (on the runtime's clock; at once if it has passed).
    ///
    /// ```
    /// use nimsync_cancel::{CancelScope, Cancelled};
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// rt.block_on(async {
    ///     let past = nimsync_scheduler::now() - std::time::Duration::from_secs(1);
    ///     let scope = CancelScope::with_deadline(past);
    ///     assert_eq!(scope.token().reason(), Some(Cancelled::Timeout));
    /// });
    /// ```
    pub fn with_deadline(deadline: Instant) -> CancelScope {
        CancelScope::build(Some(deadline), false)
    }

    /// A scope cancelled `timeout` from now (a zero timeout is valid: cancelled at once).
    ///
    /// ```
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// rt.block_on(async {
    ///     let scope = nimsync_cancel::CancelScope::with_timeout(std::time::Duration::ZERO);
    ///     assert!(scope.cancel_called());
    /// });
    /// ```
    pub fn with_timeout(timeout: Duration) -> CancelScope {
        let now = now();
        match now.checked_add(timeout) {
            Some(d) => CancelScope::with_deadline(d),
            None => CancelScope::new(), // beyond the clock's range: never
        }
    }

    /// A shielded scope: the cancellation of enclosing scopes does not reach inside it
    /// (neither `checkpoint()` nor enclosing `run`s) until it ends. It can still be
    /// cancelled through its own token.
    ///
    /// ```
    /// use nimsync_cancel::{CancelScope, Cancelled, checkpoint};
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// rt.block_on(async {
    ///     let outer = CancelScope::new();
    ///     let r = outer
    ///         .run(async {
    ///             outer.cancel();
    ///             let inside = CancelScope::shielded().run(async { checkpoint() }).await;
    ///             (inside, checkpoint())
    ///         })
    ///         .await;
    ///     // Inside the shield the outer cancellation is invisible; after it, it is back.
    ///     assert_eq!(r, Ok((Ok(Ok(())), Err(Cancelled::Explicit(None)))));
    /// });
    /// ```
    pub fn shielded() -> CancelScope {
        CancelScope::build(None, true)
    }

    fn build(deadline: Option<Instant>, shield: bool) -> CancelScope {
        let (mut scope, arm_at) = CancelScope::build_unarmed(deadline, shield);
        if let Some(d) = arm_at {
            scope.timer = arm(&scope.token.node, d);
        }
        scope
    }

    /// A scope whose timer is not armed yet: returns the deadline to arm, if the scope's own
    /// deadline is the effective one (an earlier inherited deadline cancels it through the
    /// parent). `timeout` arms lazily, only once the future is actually pending.
    pub(crate) fn build_unarmed(
        deadline: Option<Instant>,
        shield: bool,
    ) -> (CancelScope, Option<Instant>) {
        let node = scope_node(deadline, shield, current_node());
        let arm_at = deadline.filter(|d| Some(*d) == node.frame.deadline);
        (
            CancelScope::from_token(CancelToken::from_node(node)),
            arm_at,
        )
    }

    /// A scope over an existing token (no new node): [`run`](Self::run) makes `token` the
    /// current scope and stops when it is cancelled. Task groups run each child this way.
    ///
    /// ```
    /// use nimsync_cancel::{CancelScope, CancelToken, Cancelled};
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// rt.block_on(async {
    ///     let token = CancelToken::new();
    ///     token.cancel();
    ///     let out = CancelScope::from_token(token).run_owned(async { 1 }).await;
    ///     assert_eq!(out, Err(Cancelled::Explicit(None)));
    /// });
    /// ```
    pub fn from_token(token: CancelToken) -> CancelScope {
        CancelScope {
            token,
            linked: None,
            timer: None,
            caught: AtomicBool::new(false),
        }
    }

    /// The scope of `with_cancel`: a child of `token` and of the current scope (its
    /// enclosing one), cancelled by either (see `Node::linked_child`).
    pub(crate) fn linked_to(token: &CancelToken) -> CancelScope {
        let current = current_node();
        let frame = Frame {
            deadline: current.as_ref().and_then(|c| c.frame.deadline),
            outer: current,
            shield: false,
            report_outer: false,
            linked: true,
        };
        CancelScope {
            token: CancelToken::from_node(Node::linked_child(&token.node, frame)),
            linked: Some(token.clone()),
            timer: None,
            caught: AtomicBool::new(false),
        }
    }

    /// The scope's token (cancel it, hand it to other tasks, make children of it).
    ///
    /// ```
    /// let scope = nimsync_cancel::CancelScope::new();
    /// let child = scope.token().child();
    /// scope.cancel();
    /// assert!(child.is_cancelled());
    /// ```
    pub fn token(&self) -> &CancelToken {
        &self.token
    }

    /// Cancels the scope (same as `self.token().cancel()`).
    ///
    /// ```
    /// let scope = nimsync_cancel::CancelScope::new();
    /// scope.cancel();
    /// assert!(scope.cancel_called());
    /// ```
    pub fn cancel(&self) {
        self.token.cancel();
    }

    /// The effective deadline: the earliest of this scope's and its enclosing scopes' (up to
    /// a shield).
    ///
    /// ```
    /// use std::time::Duration;
    /// use nimsync_cancel::CancelScope;
    /// let rt = nimsync_scheduler::Builder::new_current_thread().start_paused(true).build().unwrap();
    /// rt.block_on(async {
    ///     let outer = CancelScope::with_timeout(Duration::from_secs(1));
    ///     let d = outer
    ///         .run(async { CancelScope::with_timeout(Duration::from_secs(10)).deadline() })
    ///         .await
    ///         .unwrap();
    ///     assert_eq!(d, outer.deadline());
    /// });
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.token.deadline()
    }

    /// Whether the scope has been cancelled (explicitly, by its deadline or by an enclosing
    /// scope), whether or not that interrupted anything.
    ///
    /// ```
    /// let scope = nimsync_cancel::CancelScope::new();
    /// assert!(!scope.cancel_called());
    /// ```
    pub fn cancel_called(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Whether a [`run`](Self::run) of this scope was interrupted by its cancellation (it
    /// returned `Err`). `false` when the work finished first, even if cancel was called.
    ///
    /// ```
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// rt.block_on(async {
    ///     let scope = nimsync_cancel::CancelScope::new();
    ///     let out = scope.run(async { scope.cancel(); 1 }).await; // finishes anyway
    ///     assert_eq!(out, Ok(1));
    ///     assert!(scope.cancel_called() && !scope.cancelled_caught());
    /// });
    /// ```
    pub fn cancelled_caught(&self) -> bool {
        self.caught.load(Ordering::Acquire)
    }

    /// Runs `fut` inside this scope: it is the current scope while `fut` is polled (for
    /// `checkpoint()`, nested scopes and spawned tasks), and `fut` is dropped as soon as the
    /// scope is cancelled (unless a shielded scope inside it is active), giving
    /// `Err(Cancelled)`.
    ///
    /// ```
    /// use nimsync_cancel::{CancelScope, Cancelled};
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// rt.block_on(async {
    ///     let scope = CancelScope::new();
    ///     let t = scope.token().clone();
    ///     nimsync_scheduler::spawn(async move { t.cancel_with("enough") });
    ///     let out = scope.run(std::future::pending::<()>()).await;
    ///     assert_eq!(out, Err(Cancelled::Explicit(Some("enough".into()))));
    /// });
    /// ```
    pub fn run<F: Future>(&self, fut: F) -> Run<'_, F> {
        Scoped::new(self, fut)
    }

    /// Like [`run`](Self::run), but the returned future owns the scope (so it can be spawned).
    ///
    /// ```
    /// use nimsync_cancel::CancelScope;
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// let out = rt.block_on(async {
    ///     nimsync_scheduler::spawn(CancelScope::new().run_owned(async { 2 })).await.unwrap()
    /// });
    /// assert_eq!(out, Ok(2));
    /// ```
    pub fn run_owned<F: Future>(self, fut: F) -> Timeout<F> {
        Scoped::new(OwnedScope::built(self), fut)
    }

    /// The reason to report for this scope's cancellation. A `with_cancel` scope cancelled
    /// through a parent reports its token's reason if the token is cancelled, else the
    /// enclosing scope's (the token first when both are).
    pub(crate) fn report(&self) -> Cancelled {
        let node = &self.token.node;
        if node.kind() == PARENT
            && let Some(linked) = &self.linked
        {
            if let Some(r) = linked.reason() {
                return r;
            }
            if let Some(outer) = &node.frame.outer
                && let Err(r) = check_chain(outer)
            {
                return r;
            }
        }
        node.reason().unwrap_or(Cancelled::Parent)
    }

    pub(crate) fn set_caught(&self) {
        self.caught.store(true, Ordering::Release);
    }
}

/// The node of a new scope enclosed by `current` (the current scope when the scope is
/// made): a child of it unless shielded, with the earlier of `deadline` and the inherited
/// deadline as its effective one.
pub(crate) fn scope_node(
    deadline: Option<Instant>,
    shield: bool,
    current: Option<Arc<Node>>,
) -> Arc<Node> {
    let inherited = if shield {
        None
    } else {
        current.as_ref().and_then(|c| c.frame.deadline)
    };
    let effective = match (deadline, inherited) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let frame = Frame {
        outer: current.clone(),
        shield,
        deadline: effective,
        report_outer: false,
        linked: false,
    };
    match (&current, shield) {
        (Some(parent), false) => Node::child(parent, frame),
        _ => Node::root(frame),
    }
}

/// Arms the scheduler timer for `deadline` with a waker that cancels `node` (`Timeout`).
/// Cancels at once (and arms nothing) if the deadline has passed.
pub(crate) fn arm(node: &Arc<Node>, deadline: Instant) -> Option<Sleep> {
    let mut sleep = sleep_until(deadline);
    let waker = Waker::from(node.clone());
    match Pin::new(&mut sleep).poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(()) => {
            // A deadline, as when the timer fires: callbacks' panics are not raised here.
            node.cancel_quietly(TIMEOUT, None);
            None
        }
        Poll::Pending => Some(sleep),
    }
}

impl Default for CancelScope {
    fn default() -> Self {
        CancelScope::new()
    }
}

impl fmt::Debug for CancelScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelScope")
            .field("reason", &self.token.reason())
            .field("deadline", &self.deadline())
            .field("shielded", &self.token.node.frame.shield)
            .field("armed", &self.timer.is_some())
            .field("cancelled_caught", &self.cancelled_caught())
            .finish()
    }
}
