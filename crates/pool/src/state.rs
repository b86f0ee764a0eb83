//! The pool's shared core: slot accounting, the idle queue, FIFO waiters and the checkout
//! registry, all behind one mutex that never runs user code.
//!
//! Invariants (under the lock):
//! * `size` counts *slots*: idle connections + checked-out connections + creations and
//!   health checks in flight. `size <= max_size`.
//! * A waiter exists only while there is neither an idle connection nor a free slot: every
//!   freed slot or returned connection is handed straight to the oldest waiter (`granted`),
//!   so newcomers never overtake (FIFO) and a hand-off to a waiter that has gone away is
//!   passed on by the waiter's `Drop`.
//! * The manager's code (`has_broken`, `destroy`, ...) runs outside the lock, while the slot
//!   of the connection it handles is held by a guard ([`HeldSlot`], or the checkout's
//!   `Slot`): a panic there unwinds through the guard, which frees the slot.

use crate::config::{Config, QueueMode};
use crate::manager::Manager;
use nimsync_scheduler::Handle;
use std::any::Any;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::panic::Location;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::{Duration, Instant};

/// Bookkeeping carried with every connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Meta {
    pub(crate) created: Instant,
    pub(crate) last_used: Instant,
    pub(crate) checkouts: u64,
}

pub(crate) struct IdleConn<C> {
    pub(crate) conn: C,
    pub(crate) meta: Meta,
}

/// What a waiter is handed: an idle connection or the right to create one (a slot).
pub(crate) enum Grant<C> {
    Idle(IdleConn<C>),
    Slot,
}

pub(crate) struct Checkout {
    pub(crate) since: Instant,
    pub(crate) location: &'static Location<'static>,
    pub(crate) reported: bool,
}

pub(crate) struct State<C> {
    pub(crate) idle: VecDeque<IdleConn<C>>,
    pub(crate) size: usize,
    pub(crate) waiting: BTreeMap<u64, Waker>,
    pub(crate) granted: HashMap<u64, Grant<C>>,
    pub(crate) next_waiter: u64,
    pub(crate) checked_out: HashMap<u64, Checkout>,
    pub(crate) next_object: u64,
    pub(crate) closed: bool,
}

/// Cumulative counters (relaxed atomics, read by `status`).
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) created: AtomicU64,
    pub(crate) destroyed: AtomicU64,
    pub(crate) checkouts: AtomicU64,
    pub(crate) timeouts: AtomicU64,
    pub(crate) failed_checks: AtomicU64,
    pub(crate) create_errors: AtomicU64,
    pub(crate) leaks_reported: AtomicU64,
}

pub(crate) struct Inner<M: Manager> {
    pub(crate) manager: M,
    pub(crate) cfg: Config,
    pub(crate) state: Mutex<State<M::Connection>>,
    pub(crate) handle: Option<Handle>,
    pub(crate) counters: Counters,
}

pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl<M: Manager> Inner<M> {
    pub(crate) fn new(manager: M, cfg: Config, handle: Option<Handle>) -> Self {
        Inner {
            manager,
            cfg,
            state: Mutex::new(State {
                idle: VecDeque::new(),
                size: 0,
                waiting: BTreeMap::new(),
                granted: HashMap::new(),
                next_waiter: 0,
                checked_out: HashMap::new(),
                next_object: 0,
                closed: false,
            }),
            handle,
            counters: Counters::default(),
        }
    }

    /// No user code ever runs under this lock, so poisoning cannot leave it inconsistent.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State<M::Connection>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The pool's clock: the runtime it was built in (paused in tests), else real time.
    pub(crate) fn now(&self) -> Instant {
        match &self.handle {
            Some(h) => h.now(),
            None => Instant::now(),
        }
    }

    /// Whether a connection must not be used any more (max lifetime or idle timeout).
    pub(crate) fn expired(&self, meta: &Meta, now: Instant, check_idle: bool) -> bool {
        let past = |since: Instant, limit: Option<Duration>| {
            limit.is_some_and(|l| now.saturating_duration_since(since) >= l)
        };
        past(meta.created, self.cfg.max_lifetime)
            || (check_idle && past(meta.last_used, self.cfg.idle_timeout))
    }

    pub(crate) fn pop_idle(
        &self,
        st: &mut State<M::Connection>,
    ) -> Option<IdleConn<M::Connection>> {
        match self.cfg.queue_mode {
            QueueMode::Fifo => st.idle.pop_front(),
            QueueMode::Lifo => st.idle.pop_back(),
        }
    }

    /// Gives up one slot: handed to the oldest waiter (who will create a connection), or
    /// the pool shrinks by one.
    pub(crate) fn release_slot(&self) {
        let waker = {
            let mut st = self.lock();
            match st.waiting.pop_first() {
                Some((id, waker)) if !st.closed => {
                    st.granted.insert(id, Grant::Slot);
                    Some(waker)
                }
                Some((id, waker)) => {
                    // Closed: the waiter wakes up to `Closed`; keep it registered.
                    st.waiting.insert(id, waker.clone());
                    st.size -= 1;
                    Some(waker)
                }
                None => {
                    st.size -= 1;
                    None
                }
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Puts a healthy connection back: to the oldest waiter, else into the idle queue.
    /// A closed pool destroys it instead.
    pub(crate) fn return_idle(&self, ic: IdleConn<M::Connection>) {
        let mut st = self.lock();
        if st.closed {
            drop(st);
            self.discard(ic.conn);
            return;
        }
        match st.waiting.pop_first() {
            Some((id, waker)) => {
                st.granted.insert(id, Grant::Idle(ic));
                drop(st);
                waker.wake();
            }
            None => st.idle.push_back(ic),
        }
    }

    /// Gives back whatever a waiter was handed but never took.
    pub(crate) fn give_back(&self, grant: Grant<M::Connection>) {
        match grant {
            Grant::Idle(ic) => self.return_idle(ic),
            Grant::Slot => self.release_slot(),
        }
    }

    /// Destroys a connection (its slot is handled by the caller).
    pub(crate) fn destroy(&self, conn: M::Connection) {
        bump(&self.counters.destroyed);
        self.manager.destroy(conn);
    }

    /// Destroys a connection and frees its slot, even if [`Manager::destroy`] panics (the
    /// panic then goes on, after the slot is freed).
    pub(crate) fn discard(&self, conn: M::Connection) {
        let _slot = HeldSlot::new(self);
        self.destroy(conn);
    }

    /// [`discard`](Self::discard)s every connection, even if `destroy` panics for some: each
    /// slot is freed, and the first panic is returned for the caller to resume once its own
    /// bookkeeping is done (see [`resume`]).
    pub(crate) fn discard_all(
        &self,
        conns: impl IntoIterator<Item = M::Connection>,
    ) -> Option<PanicPayload> {
        let mut first = None;
        for conn in conns {
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| self.discard(conn))) {
                first.get_or_insert(p);
            }
        }
        first
    }
}

/// What a caught panic carries.
pub(crate) type PanicPayload = Box<dyn Any + Send + 'static>;

/// Resumes a panic caught in the manager's code, unless this thread is already unwinding
/// (the panic hook has reported it; raising a second panic there would abort the process).
pub(crate) fn resume(panic: Option<PanicPayload>) {
    if let Some(p) = panic
        && !std::thread::panicking()
    {
        resume_unwind(p);
    }
}

/// A slot counted in `size` whose connection is out of the pool's lock for a moment (being
/// judged by `has_broken`, destroyed): freed when this guard drops, also while unwinding
/// from a panic in the manager's code, unless [`keep`](Self::keep) says the connection went
/// back to the pool with its slot.
pub(crate) struct HeldSlot<'a, M: Manager> {
    inner: Option<&'a Inner<M>>,
}

impl<'a, M: Manager> HeldSlot<'a, M> {
    pub(crate) fn new(inner: &'a Inner<M>) -> Self {
        HeldSlot { inner: Some(inner) }
    }

    /// The slot stays taken (its connection is back in the idle queue or with a waiter).
    pub(crate) fn keep(mut self) {
        self.inner = None;
    }
}

impl<M: Manager> Drop for HeldSlot<'_, M> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            inner.release_slot();
        }
    }
}
