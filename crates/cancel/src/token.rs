//! `CancelToken`: a clonable handle to a node of the cancellation tree, and its `DropGuard`.

use crate::error::Cancelled;
use crate::node::{EXPLICIT, Entry, Frame, Node};
use crate::registration::OnCancel;
use crate::waiter::WaitForCancel;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

/// A cancellation token: cheap to clone (clones share one state), arranged in a tree.
///
/// * [`child`](Self::child) makes a token that is cancelled when this one is; cancelling a
///   child never touches its parent. A dropped child is removed from its parent, so a
///   long-lived parent with many short-lived children stays small.
/// * [`is_cancelled`](Self::is_cancelled) is a single atomic load.
/// * [`cancelled`](Self::cancelled) is a cancel-safe future; [`on_cancel`](Self::on_cancel)
///   registers a callback; [`drop_guard`](Self::drop_guard) cancels on drop.
///
/// ```
/// use nimsync_cancel::CancelToken;
///
/// let root = CancelToken::new();
/// let child = root.child();
/// let grandchild = child.child();
/// child.cancel();
/// assert!(child.is_cancelled() && grandchild.is_cancelled());
/// assert!(!root.is_cancelled()); // cancellation flows down only
/// ```
#[derive(Clone)]
pub struct CancelToken {
    pub(crate) node: Arc<Node>,
}

impl CancelToken {
    /// A new root token.
    ///
    /// ```
    /// assert!(!nimsync_cancel::CancelToken::new().is_cancelled());
    /// ```
    pub fn new() -> CancelToken {
        CancelToken {
            node: Node::root(Frame::default()),
        }
    }

    pub(crate) fn from_node(node: Arc<Node>) -> CancelToken {
        CancelToken { node }
    }

    /// A child token: cancelled (with reason [`Cancelled::Parent`]) when this token is;
    /// already cancelled if this token is. It inherits this token's deadline and enclosing
    /// scope.
    ///
    /// ```
    /// let parent = nimsync_cancel::CancelToken::new();
    /// let child = parent.child();
    /// child.cancel();
    /// assert!(!parent.is_cancelled());
    /// ```
    pub fn child(&self) -> CancelToken {
        let f = &self.node.frame;
        CancelToken::from_node(Node::child(
            &self.node,
            Frame {
                outer: f.outer.clone(),
                shield: false,
                deadline: f.deadline,
                report_outer: false,
                linked: false,
            },
        ))
    }

    /// Cancels this token and every descendant. Cancelling twice does nothing (the first
    /// reason stays). Registered callbacks run on this thread before `cancel` returns; if
    /// one panics, the rest of the tree is still cancelled and the panic is then re-raised.
    ///
    /// ```
    /// let t = nimsync_cancel::CancelToken::new();
    /// t.cancel();
    /// assert_eq!(t.reason(), Some(nimsync_cancel::Cancelled::Explicit(None)));
    /// ```
    pub fn cancel(&self) {
        self.node.cancel(EXPLICIT, None);
    }

    /// Cancels with a reason, reported as [`Cancelled::Explicit`]`(Some(reason))`.
    ///
    /// ```
    /// use nimsync_cancel::{CancelToken, Cancelled};
    /// let t = CancelToken::new();
    /// t.cancel_with("user pressed stop");
    /// assert_eq!(t.reason(), Some(Cancelled::Explicit(Some("user pressed stop".into()))));
    /// ```
    pub fn cancel_with(&self, reason: impl Into<Arc<str>>) {
        self.node.cancel(EXPLICIT, Some(reason.into()));
    }

    /// Whether the token is cancelled: a single atomic load.
    ///
    /// ```
    /// let t = nimsync_cancel::CancelToken::new();
    /// assert!(!t.is_cancelled());
    /// t.cancel();
    /// assert!(t.is_cancelled());
    /// ```
    #[inline]
    pub fn is_cancelled(&self) -> bool {
        self.node.is_cancelled()
    }

    /// Why the token was cancelled (`None` while it is not).
    ///
    /// ```
    /// let t = nimsync_cancel::CancelToken::new();
    /// assert_eq!(t.reason(), None);
    /// ```
    pub fn reason(&self) -> Option<Cancelled> {
        self.node.reason()
    }

    /// A future that completes when the token is cancelled. Cancel-safe: dropping it just
    /// removes its registration.
    ///
    /// ```
    /// use nimsync_cancel::CancelToken;
    /// use nimsync_scheduler::{Runtime, spawn};
    ///
    /// let rt = Runtime::current_thread();
    /// let token = CancelToken::new();
    /// let t = token.clone();
    /// rt.block_on(async move {
    ///     let waiter = spawn(async move { t.cancelled().await; "stopped" });
    ///     token.cancel();
    ///     assert_eq!(waiter.await.unwrap(), "stopped");
    /// });
    /// ```
    pub fn cancelled(&self) -> WaitForCancel {
        WaitForCancel::new(self.clone())
    }

    /// Registers `callback` to run once when the token is cancelled (on the cancelling
    /// thread). If the token is already cancelled it runs now, on this thread. Dropping the
    /// returned [`OnCancel`] unregisters it (a callback already running is not waited for).
    ///
    /// A panic in the callback never stops the cancellation: the rest of the tree is
    /// cancelled and every other callback runs. It is then re-raised to an explicit
    /// [`cancel`](Self::cancel) / [`cancel_with`](Self::cancel_with) call (the first panic, if
    /// several). A deadline (a scope's, a `timeout`'s, or an enclosing one's) fires on the
    /// scheduler's timer with no caller to report to: there the panic is dropped after the
    /// panic hook has reported it, and nothing unwinds into the timer.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::sync::Arc;
    ///
    /// let t = nimsync_cancel::CancelToken::new();
    /// let flag = Arc::new(AtomicBool::new(false));
    /// let f = flag.clone();
    /// let _reg = t.on_cancel(move || f.store(true, Ordering::SeqCst));
    /// t.cancel();
    /// assert!(flag.load(Ordering::SeqCst));
    /// ```
    pub fn on_cancel(&self, callback: impl FnOnce() + Send + 'static) -> OnCancel {
        match self.node.register(Entry::Callback(Box::new(callback))) {
            Ok(key) => OnCancel::new(self.clone(), Some(key)),
            Err(Entry::Callback(f)) => {
                f();
                OnCancel::new(self.clone(), None)
            }
            Err(_) => OnCancel::new(self.clone(), None),
        }
    }

    /// A guard that cancels this token when dropped (unless [disarmed](DropGuard::disarm)).
    /// A panicking [`on_cancel`](Self::on_cancel) callback is re-raised from the guard's drop
    /// as from [`cancel`](Self::cancel), except while the thread is already unwinding (a
    /// second panic would abort the process): then it is dropped after the panic hook has
    /// reported it, and the cancellation is complete either way.
    ///
    /// ```
    /// let t = nimsync_cancel::CancelToken::new();
    /// {
    ///     let _guard = t.clone().drop_guard();
    /// }
    /// assert!(t.is_cancelled());
    /// ```
    pub fn drop_guard(self) -> DropGuard {
        DropGuard { token: Some(self) }
    }

    /// The effective deadline of the scope this token belongs to, if any (see
    /// [`CancelScope`](crate::CancelScope)).
    ///
    /// ```
    /// assert_eq!(nimsync_cancel::CancelToken::new().deadline(), None);
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.node.frame.deadline
    }

    /// How many registrations (live children, callbacks, pending waiters) the token holds
    /// right now; 0 once cancelled. A diagnostic: it shows that dropped children are freed.
    ///
    /// ```
    /// let parent = nimsync_cancel::CancelToken::new();
    /// let child = parent.child();
    /// assert_eq!(parent.registrations(), 1);
    /// drop(child);
    /// assert_eq!(parent.registrations(), 0);
    /// ```
    pub fn registrations(&self) -> usize {
        self.node.registrations()
    }

    /// Whether both tokens are handles of the same node.
    ///
    /// ```
    /// let a = nimsync_cancel::CancelToken::new();
    /// assert!(a.same_as(&a.clone()));
    /// assert!(!a.same_as(&a.child()));
    /// ```
    pub fn same_as(&self, other: &CancelToken) -> bool {
        Arc::ptr_eq(&self.node, &other.node)
    }
}

impl Default for CancelToken {
    fn default() -> Self {
        CancelToken::new()
    }
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken")
            .field("reason", &self.reason())
            .finish()
    }
}

/// Cancels its token when dropped; see [`CancelToken::drop_guard`].
///
/// ```
/// let t = nimsync_cancel::CancelToken::new();
/// let guard = t.clone().drop_guard();
/// let back = guard.disarm();
/// assert!(!back.is_cancelled());
/// ```
#[derive(Debug)]
#[must_use = "dropping the guard cancels the token at once"]
pub struct DropGuard {
    token: Option<CancelToken>,
}

impl DropGuard {
    /// Gives the token back without cancelling it.
    pub fn disarm(mut self) -> CancelToken {
        self.token
            .take()
            .expect("a DropGuard holds its token until disarmed or dropped")
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        let Some(t) = self.token.take() else {
            return;
        };
        if std::thread::panicking() {
            // Dropped during an unwind (the guard's usual job): a callback's panic must not
            // become a second panic, which aborts. Every callback still runs; the panic is
            // dropped, as for a deadline's cancellation (the hook has reported it).
            t.node.cancel_quietly(EXPLICIT, None);
        } else {
            t.cancel();
        }
    }
}
