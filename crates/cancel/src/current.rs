//! The task's current scope, kept in the scheduler's per-task context slot, and
//! `checkpoint()`.
//!
//! The slot of the running task holds the `Node` of its innermost scope (an
//! `Arc<dyn Any + Send + Sync>` that downcasts to our private node type). Scope wrappers
//! ([`CancelScope::run`](crate::CancelScope::run), [`timeout`](crate::timeout),
//! [`with_cancel`](crate::with_cancel)) install their node around each poll of the wrapped
//! future; tasks spawned meanwhile inherit it (the scheduler copies the slot at spawn), and
//! [`CancelToken::enter`] installs a token for the rest of the task. A
//! [`ChildScopes`](crate::ChildScopes) child scope (each task-group child runs in one) puts
//! its shared hub there instead: it observes its parent until something asks for its node.
//! A timeout's first poll puts a lazy marker there (see `lazy.rs`), which gets its node the
//! same way. Each node remembers its enclosing scope, so `checkpoint()` walks the chain up
//! to the first shielded scope, one atomic load per level.
//!
//! The slot holds one value: another layer that also stores a value there while a scope is
//! current hides the scope from `checkpoint()` until it restores the slot.

use crate::child_scope::Hub;
use crate::error::Cancelled;
use crate::lazy::{LazyScope, node_of};
use crate::node::{Node, PARENT};
use crate::token::CancelToken;
use nimsync_scheduler::{TaskContextValue, set_task_context};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

/// The node of the running task's current scope, if any. An unmaterialized child scope (a
/// [`ChildScopes`](crate::ChildScopes) hub in the slot) gets its own node now, which replaces
/// the hub in the slot (whoever asks for the node may hand it out or hang children and
/// registrations on it).
pub(crate) fn current_node() -> Option<Arc<Node>> {
    // Take the value out and put it back: no reference-count traffic on a shared hub.
    let slot = set_task_context(None)?;
    let node = node_of(&slot);
    // A hub is replaced by the node just built for it (from now on that node is the child
    // scope's identity); a timeout's lazy scope stays in the slot, its node built once.
    let back = match &node {
        Some(node) if slot.is::<Hub>() => node.clone() as TaskContextValue,
        _ => slot,
    };
    restore(Some(back));
    node
}

/// Installs `node` as the current scope; returns the previous slot value.
pub(crate) fn install(node: Arc<Node>) -> Option<TaskContextValue> {
    set_task_context(Some(node))
}

/// Restores a slot value returned by [`install`].
pub(crate) fn restore(prev: Option<TaskContextValue>) {
    drop(set_task_context(prev));
}

/// Returns `Err` if the running task's current scope, or any enclosing one up to the nearest
/// shielded scope, is cancelled; the error says why (the innermost cancelled scope's
/// reason). `Ok(())` outside any scope. Cheap: one atomic load per enclosing scope, so call
/// it often inside long computations.
///
/// ```
/// use nimsync_cancel::{CancelScope, Cancelled, checkpoint};
///
/// let rt = nimsync_scheduler::Runtime::current_thread();
/// rt.block_on(async {
///     let scope = CancelScope::new();
///     let out = scope
///         .run(async {
///             for i in 0.. {
///                 if i == 10 {
///                     nimsync_cancel::current_token().unwrap().cancel();
///                 }
///                 checkpoint()?; // the seed's checkCancelled()
///             }
///             Ok::<(), Cancelled>(())
///         })
///         .await;
///     assert_eq!(out, Ok(Err(Cancelled::Explicit(None))));
/// });
/// ```
pub fn checkpoint() -> Result<(), Cancelled> {
    // Take the value out and put it back: no reference-count traffic.
    let slot = set_task_context(None);
    let out = match &slot {
        None => Ok(()),
        Some(ctx) => check_value(ctx),
    };
    restore(slot);
    out
}

/// `checkpoint()` with the slot value `ctx` current.
pub(crate) fn check_value(ctx: &TaskContextValue) -> Result<(), Cancelled> {
    if let Some(node) = ctx.downcast_ref::<Node>() {
        return check_chain(node);
    }
    // A child scope with no node yet observes its parent directly.
    if let Some(hub) = ctx.downcast_ref::<Hub>() {
        return check_chain(hub.parent());
    }
    match ctx.downcast_ref::<LazyScope>() {
        Some(lazy) => lazy.checkpoint(),
        None => Ok(()),
    }
}

/// `checkpoint()` from `node` up the chain of enclosing scopes.
pub(crate) fn check_chain(mut node: &Node) -> Result<(), Cancelled> {
    loop {
        if node.is_cancelled() {
            if ((node.frame.report_outer && node.kind() == PARENT) || node.cancelled_via_outer())
                && let Some(outer) = &node.frame.outer
            {
                // A child scope cancelled through its parent reports the parent's reason, and
                // a `with_cancel` scope cancelled through its enclosing scope that one's.
                node = outer;
                continue;
            }
            return Err(node.reason().unwrap_or(Cancelled::Parent));
        }
        if node.frame.shield {
            return Ok(());
        }
        match &node.frame.outer {
            Some(outer) => node = outer,
            None => return Ok(()),
        }
    }
}

/// The token of the running task's current scope (`None` outside any scope). Inside a child
/// scope of [`ChildScopes`](crate::ChildScopes) (a task-group child) this is the child's own
/// token, created by this call if it did not exist yet.
///
/// ```
/// use nimsync_cancel::{CancelScope, current_token};
/// let rt = nimsync_scheduler::Runtime::current_thread();
/// rt.block_on(async {
///     assert!(current_token().is_none());
///     let scope = CancelScope::new();
///     let inner = scope.run(async { current_token().unwrap() }).await.unwrap();
///     assert!(inner.same_as(scope.token()));
/// });
/// ```
pub fn current_token() -> Option<CancelToken> {
    current_node().map(CancelToken::from_node)
}

impl CancelToken {
    /// Makes this token the current scope of the running task until the guard is dropped:
    /// `checkpoint()` sees it, and tasks spawned meanwhile inherit it. Drop guards in reverse
    /// order of creation.
    ///
    /// ```
    /// use nimsync_cancel::{CancelToken, checkpoint};
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// rt.block_on(async {
    ///     let token = CancelToken::new();
    ///     let _guard = token.enter();
    ///     let child = nimsync_scheduler::spawn(async { checkpoint() });
    ///     token.cancel();
    ///     assert!(child.await.unwrap().is_err());
    /// });
    /// ```
    pub fn enter(&self) -> EnterGuard {
        EnterGuard::new(install(self.node.clone()))
    }
}

/// Restores the previous current scope when dropped; see [`CancelToken::enter`].
///
/// ```
/// let rt = nimsync_scheduler::Runtime::current_thread();
/// rt.block_on(async {
///     let t = nimsync_cancel::CancelToken::new();
///     drop(t.enter());
///     assert!(nimsync_cancel::current_token().is_none());
/// });
/// ```
#[must_use = "the scope is left as soon as the guard is dropped"]
pub struct EnterGuard {
    prev: Option<TaskContextValue>,
    _not_send: PhantomData<*const ()>,
}

impl EnterGuard {
    /// A guard that restores `prev` (the slot value before an install).
    pub(crate) fn new(prev: Option<TaskContextValue>) -> EnterGuard {
        EnterGuard {
            prev,
            _not_send: PhantomData,
        }
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        restore(self.prev.take());
    }
}

impl fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}
