//! The scope of a `timeout` before anything needs its node.
//!
//! Most timeouts wrap a future that finishes in its first poll, and nothing inside ever looks
//! at the timeout's scope. So the first poll does not build a token node (no allocation, no
//! registration on the enclosing scope, no timer): it puts a [`LazyScope`] marker in the
//! task's context slot instead, which remembers the slot's previous value (the enclosing
//! scope) and the deadline. Whoever asks for the current scope while the marker is there
//! (`current_token()`, a nested scope, a shield, a task spawned meanwhile and asking later)
//! gets the marker's node, built once on first request exactly as an eager scope would have
//! been; `checkpoint()` answers from the enclosing scope without building anything (the
//! timeout's own scope cannot be cancelled before its node exists: no timer, no token).
//! If the first poll ends pending, the scope needs its node anyway (to arm the deadline and
//! wait for cancellation) and from then on works like any other scope.
//!
//! After the poll the marker comes back out of the slot; when nothing kept a reference to it,
//! it goes to a one-entry per-thread spare, so a ready-at-once timeout allocates nothing.

use crate::child_scope::Hub;
use crate::error::Cancelled;
use crate::node::Node;
use crate::scope::scope_node;
use nimsync_scheduler::TaskContextValue;
use std::cell::Cell;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// A timeout's scope whose node may not exist yet (see the module docs).
pub(crate) struct LazyScope {
    /// The scope's own deadline (`None`: beyond the clock's range, never).
    deadline: Option<Instant>,
    /// The slot's value before the marker was installed: the enclosing scope. Set only while
    /// the marker is unique; read-only once it is in the slot.
    outer: Option<TaskContextValue>,
    /// The scope's node, once something asked for it.
    node: OnceLock<Arc<Node>>,
}

thread_local! {
    /// A marker nobody references, kept for the next timeout on this thread.
    static SPARE: Cell<Option<Arc<LazyScope>>> = const { Cell::new(None) };
}

impl LazyScope {
    /// A unique marker for `deadline` enclosed by `outer` (the spare one when there is one).
    pub(crate) fn take(deadline: Option<Instant>, outer: Option<TaskContextValue>) -> Arc<Self> {
        if let Some(mut spare) = SPARE.with(Cell::take)
            && let Some(m) = Arc::get_mut(&mut spare)
        {
            m.deadline = deadline;
            m.outer = outer;
            return spare;
        }
        Arc::new(LazyScope {
            deadline,
            outer,
            node: OnceLock::new(),
        })
    }

    /// The scope's node, built on first request as a child of the enclosing scope (whose own
    /// node is built too if it is lazy, or a task-group child scope without one yet).
    pub(crate) fn node(&self) -> &Arc<Node> {
        self.node
            .get_or_init(|| scope_node(self.deadline, false, self.outer.as_ref().and_then(node_of)))
    }

    /// `checkpoint()` with this marker current.
    pub(crate) fn checkpoint(&self) -> Result<(), Cancelled> {
        if let Some(node) = self.node.get() {
            return crate::current::check_chain(node);
        }
        match &self.outer {
            // The node would be a child of the enclosing scope: cancelled through it.
            Some(outer) if is_cancelled(outer) => Err(Cancelled::Parent),
            Some(outer) => crate::current::check_value(outer),
            None => Ok(()),
        }
    }

    /// Takes the marker back after the poll that installed it: returns the value to restore
    /// in the slot and the node, if one was built. A marker still referenced elsewhere (by a
    /// task spawned during the poll) gets its node now, so that task and this scope agree on
    /// it from here on; a unique one goes back to the spare.
    pub(crate) fn finish(mut marker: Arc<Self>) -> (Option<TaskContextValue>, Option<Arc<Node>>) {
        let (outer, node) = match Arc::get_mut(&mut marker) {
            Some(m) => {
                let pair = (m.outer.take(), m.node.take());
                SPARE.with(|s| s.set(Some(marker)));
                pair
            }
            None => {
                let node = marker.node().clone();
                (marker.outer.clone(), Some(node))
            }
        };
        // A task-group child scope gave our node a node of its own as parent: from now on
        // that node is the child scope's identity (as when an eager scope asks for it).
        let restore = match (&node, &outer) {
            (Some(node), Some(o)) if o.downcast_ref::<Hub>().is_some() => {
                node.frame.outer.clone().map(|n| n as TaskContextValue)
            }
            _ => outer,
        };
        (restore, node)
    }
}

/// The node of the scope that a slot value stands for, building it if needed; `None` for a
/// value of another layer.
pub(crate) fn node_of(value: &TaskContextValue) -> Option<Arc<Node>> {
    if value.is::<Node>() {
        return value.clone().downcast::<Node>().ok();
    }
    if let Some(hub) = value.downcast_ref::<Hub>() {
        return Some(hub.materialize());
    }
    value.downcast_ref::<LazyScope>().map(|m| m.node().clone())
}

/// Whether a child of the scope that `value` stands for would be cancelled now.
pub(crate) fn is_cancelled(value: &TaskContextValue) -> bool {
    if let Some(node) = value.downcast_ref::<Node>() {
        node.is_cancelled()
    } else if let Some(hub) = value.downcast_ref::<Hub>() {
        hub.parent().is_cancelled()
    } else if let Some(m) = value.downcast_ref::<LazyScope>() {
        match m.node.get() {
            Some(node) => node.is_cancelled(),
            None => m.outer.as_ref().is_some_and(is_cancelled),
        }
    } else {
        false
    }
}
