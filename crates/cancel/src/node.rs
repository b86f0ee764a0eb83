//! The cancellation tree: one node per token, a state word and a locked list of what to do
//! when the node is cancelled (wake a waiter, run a callback, cancel a child).
//!
//! # Protocol
//!
//! * `state` holds the cancellation kind (0 = live) in its low two bits and a `HAS_ENTRIES`
//!   bit. `is_cancelled()` is one `Acquire` load of it. `Node` is `repr(C)` with `state`
//!   first, so the word shares a cache line with the `Arc` counts in front of it.
//! * Registering (a child, a callback, a waiter) takes the node's lock, makes sure
//!   `HAS_ENTRIES` is set (re-checking the kind), and inserts into the slab.
//! * Cancelling marks the node with one CAS that sets the kind (only the first cancel wins;
//!   the CAS first guesses a live word without entries, so a leaf costs exactly one RMW). If
//!   the word it replaced had `HAS_ENTRIES`, the canceller takes the lock and collects the
//!   entries; otherwise nobody registered before the CAS and nobody can register after it
//!   (registration re-checks the kind under the lock, after setting the bit with a `SeqCst`
//!   RMW), so the lock is skipped.
//! * Collecting, under the node's lock: wakers and callbacks are moved out (a `Taken`
//!   tombstone keeps their key); children are upgraded from their `Weak` and pushed on an
//!   explicit stack (deep trees use no call stack), while their `Weak` entries stay in the
//!   slab: dropping them is left to the child's own drop. A leaf child therefore costs one
//!   `Weak` upgrade, one CAS and one `Arc` drop. Nothing is dropped under the lock (a child
//!   whose last handle goes away meanwhile drops on the canceller's thread, after the lock
//!   is released, and then takes the lock to remove its entry).
//! * The whole subtree is marked first; then wakers are woken and callbacks run, with no
//!   lock held. A panicking callback (or waker) does not stop the others: the first panic is
//!   caught and, once every callback has run, re-raised to an explicit canceller
//!   ([`cancel`](Node::cancel)). A deadline's cancellation has no caller to report to (the
//!   scheduler's timer fires it through the node's `Wake`, and a waker is called by arbitrary
//!   code): it goes through [`cancel_quietly`](Node::cancel_quietly), which never unwinds and
//!   drops the panic (the panic hook has reported it already).
//! * A parent holds its children weakly; a child holds its parent strongly and removes its
//!   entry (under the parent's lock, cancelled or not) when it is dropped, so a long-lived
//!   parent with short-lived children does not grow (slab slots are reused).
//! * A `with_cancel` node has two parents ([`Node::linked_child`]): the caller's token (its
//!   `parent`) and its enclosing scope (`frame.outer`), each with a `Child` entry for it.
//!   Whichever is cancelled first marks it (the walk marks a node once: its CAS), and its
//!   drop removes both entries.

use crate::error::Cancelled;
use crate::sync::{AtomicUsize, Mutex, Ordering, lock};
use slab::Slab;
use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Arc, Weak};
use std::task::Waker;
use std::time::Instant;

pub(crate) const LIVE: usize = 0;
pub(crate) const EXPLICIT: usize = 1;
pub(crate) const PARENT: usize = 2;
pub(crate) const TIMEOUT: usize = 3;
const KIND_MASK: usize = 0b11;
const HAS_ENTRIES: usize = 0b100;

/// Something to do when the node is cancelled.
pub(crate) enum Entry {
    /// A pending `cancelled()` future.
    Waker(Waker),
    /// An `on_cancel` callback.
    Callback(Box<dyn FnOnce() + Send>),
    /// A child token.
    Child(Weak<Node>),
    /// A waker or callback already taken by the canceller (the key stays reserved).
    Taken,
}

struct Inner {
    entries: Slab<Entry>,
    /// The reason given to `cancel_with`, when this node was cancelled explicitly.
    reason: Option<Arc<str>>,
}

/// Where a node sits in the frame chain of `checkpoint()` (see `current.rs`).
#[derive(Default)]
pub(crate) struct Frame {
    /// The enclosing scope (the task's current scope when this node was created).
    pub(crate) outer: Option<Arc<Node>>,
    /// A shielded scope: `checkpoint()` stops walking here.
    pub(crate) shield: bool,
    /// The effective deadline (own deadline, or the minimum with the enclosing scope's).
    pub(crate) deadline: Option<Instant>,
    /// A [`ChildScopes`](crate::ChildScopes) child scope's node: when it is cancelled through its parent
    /// (kind `PARENT`), `checkpoint()` reports the parent's reason instead.
    pub(crate) report_outer: bool,
    /// A `with_cancel` scope's node, also a child of `outer` (see [`Node::linked_child`]):
    /// when it is cancelled through `outer` (its token is not cancelled), `checkpoint()`
    /// reports `outer`'s reason.
    pub(crate) linked: bool,
}

/// A node of the cancellation tree. `repr(C)` keeps `state` first (see the module docs).
#[repr(C)]
pub(crate) struct Node {
    state: AtomicUsize,
    inner: Mutex<Inner>,
    /// The parent and our key in its slab (`None` for roots and for children born cancelled).
    parent: Option<(Arc<Node>, usize)>,
    pub(crate) frame: Frame,
    /// Active shielded scopes nested inside this one (in the same task or its children):
    /// while non-zero, a scope wrapper does not drop its future on cancellation.
    pub(crate) shields: std::sync::atomic::AtomicUsize,
    /// A [`linked_child`](Self::linked_child): our key in the enclosing scope's
    /// (`frame.outer`'s) slab, `NO_LINK` otherwise. Written once, right after creation.
    link: std::sync::atomic::AtomicUsize,
}

/// `Node::link` of a node with no entry in its enclosing scope.
const NO_LINK: usize = usize::MAX;

impl Node {
    fn with(state: usize, parent: Option<(Arc<Node>, usize)>, frame: Frame) -> Node {
        Node {
            state: AtomicUsize::new(state),
            inner: Mutex::new(Inner {
                entries: Slab::new(),
                reason: None,
            }),
            parent,
            frame,
            shields: std::sync::atomic::AtomicUsize::new(0),
            link: std::sync::atomic::AtomicUsize::new(NO_LINK),
        }
    }

    /// A new root node.
    pub(crate) fn root(frame: Frame) -> Arc<Node> {
        Arc::new(Node::with(LIVE, None, frame))
    }

    /// A new child of `parent`: cancelled when `parent` is (born cancelled if it already is).
    pub(crate) fn child(parent: &Arc<Node>, frame: Frame) -> Arc<Node> {
        match parent.lock_open() {
            Some(mut inner) => {
                let slot = inner.entries.vacant_entry();
                let node = Arc::new(Node::with(LIVE, Some((parent.clone(), slot.key())), frame));
                slot.insert(Entry::Child(Arc::downgrade(&node)));
                node
            }
            None => Arc::new(Node::with(PARENT, None, frame)),
        }
    }

    /// A child of `parent` that is also a child of its enclosing scope, `frame.outer` (the
    /// node of `with_cancel`, `frame.linked`): cancelled by whichever is cancelled first
    /// (born cancelled if one already is), and removed from both when dropped.
    pub(crate) fn linked_child(parent: &Arc<Node>, frame: Frame) -> Arc<Node> {
        let node = Node::child(parent, frame);
        if node.is_cancelled() {
            return node;
        }
        if let Some(outer) = &node.frame.outer {
            // The node exists (its `Weak` upgrades): a cancel of `outer` from here on reaches
            // it through this entry, one before it makes `register` fail.
            match outer.register(Entry::Child(Arc::downgrade(&node))) {
                Ok(key) => node.link.store(key, std::sync::atomic::Ordering::Release),
                Err(_) => {
                    // No user code to run: nothing is registered on the node yet.
                    node.cancel_quietly(PARENT, None);
                }
            }
        }
        node
    }

    /// Whether a [`linked_child`](Self::linked_child) was cancelled through its enclosing
    /// scope and not through its token (whose reason, if it is cancelled too, comes first):
    /// `checkpoint()` then reports the enclosing scope's reason.
    pub(crate) fn cancelled_via_outer(&self) -> bool {
        // Born cancelled through its token, it has no parent left: that is not this case.
        self.frame.linked
            && self.kind() == PARENT
            && self.parent.as_ref().is_some_and(|(p, _)| !p.is_cancelled())
    }

    /// Whether the node is cancelled: one atomic load.
    #[inline]
    pub(crate) fn is_cancelled(&self) -> bool {
        self.state.load(Ordering::Acquire) & KIND_MASK != LIVE
    }

    /// The cancellation kind (`LIVE` if not cancelled).
    pub(crate) fn kind(&self) -> usize {
        self.state.load(Ordering::Acquire) & KIND_MASK
    }

    /// Why the node was cancelled, if it was.
    pub(crate) fn reason(&self) -> Option<Cancelled> {
        match self.kind() {
            LIVE => None,
            PARENT => Some(Cancelled::Parent),
            TIMEOUT => Some(Cancelled::Timeout),
            _ => Some(Cancelled::Explicit(lock(&self.inner).reason.clone())),
        }
    }

    /// Locks the entry list if the node is still live, with `HAS_ENTRIES` set (see the
    /// module docs); `None` once it is cancelled.
    fn lock_open(&self) -> Option<crate::sync::MutexGuard<'_, Inner>> {
        let inner = lock(&self.inner);
        let s = self.state.load(Ordering::SeqCst);
        if s & KIND_MASK != LIVE {
            return None;
        }
        if s & HAS_ENTRIES == 0
            && self.state.fetch_or(HAS_ENTRIES, Ordering::SeqCst) & KIND_MASK != LIVE
        {
            return None;
        }
        Some(inner)
    }

    /// Registers `entry`; gives it back if the node is already cancelled.
    pub(crate) fn register(&self, entry: Entry) -> Result<usize, Entry> {
        match self.lock_open() {
            Some(mut inner) => Ok(inner.entries.insert(entry)),
            None => Err(entry),
        }
    }

    /// Removes a registration (no-op if the cancel already took it). Returns the entry so
    /// the caller drops it (e.g. a callback's captures) outside the lock.
    pub(crate) fn unregister(&self, key: usize) -> Option<Entry> {
        if self.is_cancelled() {
            // The canceller takes (or has taken) every waker and callback.
            return None;
        }
        lock(&self.inner).entries.try_remove(key)
    }

    /// Removes a child's entry, whether or not this node is cancelled (a cancelled parent
    /// keeps its children's `Weak` entries until the children go; see the module docs).
    fn remove_child(&self, key: usize) -> Option<Entry> {
        lock(&self.inner).entries.try_remove(key)
    }

    /// Replaces the waker of a registered waiter, unless the one there wakes the same task.
    /// Returns `false` when the entry is gone (the node was cancelled).
    pub(crate) fn update_waker(&self, key: usize, waker: &Waker) -> bool {
        let mut inner = lock(&self.inner);
        match inner.entries.get_mut(key) {
            Some(Entry::Waker(w)) => {
                if !w.will_wake(waker) {
                    *w = waker.clone();
                }
                true
            }
            _ => false,
        }
    }

    /// Number of live registrations (children, callbacks, waiters).
    pub(crate) fn registrations(&self) -> usize {
        if self.is_cancelled() {
            return 0;
        }
        lock(&self.inner).entries.len()
    }

    /// Cancels this node and its subtree with `kind` (and `reason` for `EXPLICIT`).
    /// Returns whether this call did it (`false`: it was already cancelled). Callback panics
    /// are re-raised after the whole subtree is cancelled and every callback has run.
    pub(crate) fn cancel(&self, kind: usize, reason: Option<Arc<str>>) -> bool {
        let (did, panic) = self.cancel_catching(kind, reason);
        if let Some(p) = panic {
            resume_unwind(p);
        }
        did
    }

    /// [`cancel`](Self::cancel) for a canceller with no caller to report a callback's panic
    /// to (a deadline: the timer wakes the node, see `impl Wake`): never unwinds. Every
    /// callback still runs; a panic is dropped once they have (the panic hook has reported
    /// it when it happened).
    pub(crate) fn cancel_quietly(&self, kind: usize, reason: Option<Arc<str>>) -> bool {
        let (did, panic) = self.cancel_catching(kind, reason);
        if let Some(p) = panic {
            discard(p);
        }
        did
    }

    /// The cancel itself: marks the subtree, then wakes its wakers and runs its callbacks,
    /// catching their panics. Returns whether this call did it and the first panic.
    fn cancel_catching(
        &self,
        kind: usize,
        reason: Option<Arc<str>>,
    ) -> (bool, Option<Box<dyn Any + Send>>) {
        let prev = match self.mark(kind, reason) {
            Some(prev) => prev,
            None => return (false, None),
        };
        if prev & HAS_ENTRIES == 0 {
            return (true, None);
        }
        let mut nodes: Vec<Arc<Node>> = Vec::new();
        let mut actions: Vec<Entry> = Vec::new();
        self.collect(&mut nodes, &mut actions);
        while let Some(node) = nodes.pop() {
            if let Some(prev) = node.mark(PARENT, None)
                && prev & HAS_ENTRIES != 0
            {
                node.collect(&mut nodes, &mut actions);
            }
            // `node` may be the last handle (its token was dropped meanwhile): it drops here,
            // with no lock held.
        }
        let mut panic: Option<Box<dyn Any + Send>> = None;
        for entry in actions {
            let run = match entry {
                Entry::Waker(w) => catch_unwind(AssertUnwindSafe(|| w.wake())),
                Entry::Callback(f) => catch_unwind(AssertUnwindSafe(f)),
                Entry::Child(_) | Entry::Taken => Ok(()),
            };
            if let Err(p) = run {
                match panic {
                    None => panic = Some(p),
                    Some(_) => discard(p),
                }
            }
        }
        (true, panic)
    }

    /// Marks this node cancelled with `kind`; returns the state word it replaced, or `None`
    /// if it was already cancelled.
    fn mark(&self, kind: usize, reason: Option<Arc<str>>) -> Option<usize> {
        if reason.is_some() {
            // An explicit reason is written under the lock, before the kind is published,
            // so `reason()` (which locks) never sees EXPLICIT without it.
            let mut inner = lock(&self.inner);
            let prev = self.set_kind(kind)?;
            inner.reason = reason;
            return Some(prev);
        }
        self.set_kind(kind)
    }

    /// The CAS of [`mark`](Self::mark): first guesses a live word with no entries (a leaf),
    /// so a leaf is marked with a single RMW.
    fn set_kind(&self, kind: usize) -> Option<usize> {
        let mut cur = LIVE;
        loop {
            if cur & KIND_MASK != LIVE {
                return None;
            }
            match self.state.compare_exchange_weak(
                cur,
                cur | kind,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(prev) => return Some(prev),
                Err(actual) => cur = actual,
            }
        }
    }

    /// Collects, under the lock, what cancelling this (already marked) node must do: live
    /// children go on `nodes`, wakers and callbacks on `actions`. Children's `Weak` entries
    /// stay (see the module docs); nothing is dropped while the lock is held.
    fn collect(&self, nodes: &mut Vec<Arc<Node>>, actions: &mut Vec<Entry>) {
        let mut inner = lock(&self.inner);
        for (_, entry) in inner.entries.iter_mut() {
            match entry {
                Entry::Child(weak) => {
                    if let Some(child) = weak.upgrade() {
                        nodes.push(child);
                    }
                }
                Entry::Taken => {}
                Entry::Waker(_) | Entry::Callback(_) => {
                    actions.push(std::mem::replace(entry, Entry::Taken));
                }
            }
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some((parent, key)) = &self.parent {
            // Our entry is a dead `Weak` now: remove it so the parent's slab does not grow
            // (and the `Weak` stops holding our allocation), even if the parent is cancelled.
            let entry = parent.remove_child(*key);
            drop(entry);
        }
        let link = *self.link.get_mut();
        if link != NO_LINK
            && let Some(outer) = &self.frame.outer
        {
            // The same for the entry of a linked child in its enclosing scope.
            drop(outer.remove_child(link));
        }
    }
}

/// Drops a caught panic's payload; a payload whose own drop panics is dropped (leaked) inside
/// `catch_unwind` too, so this never unwinds.
fn discard(payload: Box<dyn Any + Send>) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
}

/// Waking a node's waker cancels it with `TIMEOUT`: the scheduler's timer fires a scope's
/// deadline through this (see `scope.rs`). A waker is called by arbitrary code (a timer, a
/// worker loop), so this never unwinds: callbacks' panics are dropped
/// ([`Node::cancel_quietly`]).
impl std::task::Wake for Node {
    fn wake(self: Arc<Self>) {
        self.cancel_quietly(TIMEOUT, None);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.cancel_quietly(TIMEOUT, None);
    }
}

#[cfg(all(test, not(nimsync_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as StdAtomicUsize;

    /// A node's waker is called by arbitrary code (the scheduler's timer fires a deadline
    /// through it): a panicking callback must not unwind out of `wake`, and the other
    /// callbacks, in the node and its subtree, still run.
    #[test]
    fn waking_a_node_never_unwinds_and_runs_every_callback() {
        for by_ref in [false, true] {
            let node = Node::root(Frame::default());
            let child = Node::child(&node, Frame::default());
            let ran = Arc::new(StdAtomicUsize::new(0));
            let callback = |ran: &Arc<StdAtomicUsize>| {
                let r = ran.clone();
                Entry::Callback(Box::new(move || {
                    r.fetch_add(1, Ordering::SeqCst);
                }))
            };
            node.register(callback(&ran)).ok().unwrap();
            node.register(Entry::Callback(Box::new(|| panic!("callback bug"))))
                .ok()
                .unwrap();
            child
                .register(Entry::Callback(Box::new(|| panic!("second callback bug"))))
                .ok()
                .unwrap();
            child.register(callback(&ran)).ok().unwrap();
            let waker = Waker::from(node.clone());
            let woken = catch_unwind(AssertUnwindSafe(|| {
                if by_ref {
                    waker.wake_by_ref();
                } else {
                    waker.wake();
                }
            }));
            assert!(
                woken.is_ok(),
                "a callback's panic unwound out of Waker::wake"
            );
            assert_eq!(ran.load(Ordering::SeqCst), 2, "every other callback ran");
            assert_eq!(node.kind(), TIMEOUT);
            assert_eq!(child.kind(), PARENT);
        }
    }

    /// An explicit cancel still re-raises the first callback panic, after every callback ran.
    #[test]
    fn an_explicit_cancel_re_raises_a_callback_panic() {
        let node = Node::root(Frame::default());
        let ran = Arc::new(StdAtomicUsize::new(0));
        let r = ran.clone();
        node.register(Entry::Callback(Box::new(|| panic!("callback bug"))))
            .ok()
            .unwrap();
        node.register(Entry::Callback(Box::new(move || {
            r.fetch_add(1, Ordering::SeqCst);
        })))
        .ok()
        .unwrap();
        let out = catch_unwind(AssertUnwindSafe(|| node.cancel(EXPLICIT, None)));
        assert!(out.is_err());
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }

    fn linked_frame(outer: &Arc<Node>) -> Frame {
        Frame {
            outer: Some(outer.clone()),
            linked: true,
            ..Frame::default()
        }
    }

    fn entries(node: &Node) -> usize {
        lock(&node.inner).entries.len()
    }

    /// A linked child is cancelled by either parent, and leaves both when dropped (cancelled
    /// or not): no entry stays behind, no reference cycle keeps a parent alive.
    #[test]
    fn a_linked_child_is_cancelled_by_either_parent_and_leaves_both() {
        for cancel_outer in [false, true] {
            let token = Node::root(Frame::default());
            let outer = Node::root(Frame::default());
            let child = Node::linked_child(&token, linked_frame(&outer));
            assert_eq!((entries(&token), entries(&outer)), (1, 1));
            let by = if cancel_outer { &outer } else { &token };
            by.cancel(EXPLICIT, None);
            assert_eq!(child.kind(), PARENT);
            assert_eq!(child.cancelled_via_outer(), cancel_outer);
            drop(child);
            assert_eq!((entries(&token), entries(&outer)), (0, 0));
            assert_eq!(
                (Arc::strong_count(&token), Arc::strong_count(&outer)),
                (1, 1)
            );
        }
        // Born cancelled through either: no entry at all.
        for cancel_outer in [false, true] {
            let token = Node::root(Frame::default());
            let outer = Node::root(Frame::default());
            let by = if cancel_outer { &outer } else { &token };
            by.cancel(EXPLICIT, None);
            let child = Node::linked_child(&token, linked_frame(&outer));
            assert_eq!(child.kind(), PARENT);
            assert_eq!(child.cancelled_via_outer(), cancel_outer);
            // Only the live token holds an entry (a cancelled parent takes no new child).
            assert_eq!(
                (entries(&token), entries(&outer)),
                (usize::from(cancel_outer), 0)
            );
            drop(child);
            assert_eq!((entries(&token), entries(&outer)), (0, 0));
            assert_eq!(
                (Arc::strong_count(&token), Arc::strong_count(&outer)),
                (1, 1)
            );
        }
    }
}
