//! The checkout path: wait (FIFO) for a grant, then check or create the connection. Every
//! step owns what it holds in a guard, so dropping the future at any `.await` (timeout,
//! cancellation, abort) gives the slot back and destroys a half-checked connection.

use crate::error::PoolError;
use crate::manager::Manager;
use crate::object::Object;
use crate::state::{Grant, IdleConn, Inner, Meta, bump};
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Waits for an idle connection or a free slot, in arrival order.
struct Acquire<M: Manager> {
    inner: Arc<Inner<M>>,
    /// Our ticket once queued.
    id: Option<u64>,
}

impl<M: Manager> Future for Acquire<M> {
    type Output = Result<Grant<M::Connection>, PoolError<M::Error>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = Arc::clone(&self.inner);
        let mut st = inner.lock();
        if let Some(id) = self.id {
            if let Some(grant) = st.granted.remove(&id) {
                self.id = None;
                return Poll::Ready(Ok(grant));
            }
            if st.closed {
                st.waiting.remove(&id);
                self.id = None;
                return Poll::Ready(Err(PoolError::Closed));
            }
            st.waiting.insert(id, cx.waker().clone());
            return Poll::Pending;
        }
        if st.closed {
            return Poll::Ready(Err(PoolError::Closed));
        }
        if st.waiting.is_empty() {
            if let Some(ic) = inner.pop_idle(&mut st) {
                return Poll::Ready(Ok(Grant::Idle(ic)));
            }
            if st.size < inner.cfg.max_size {
                st.size += 1;
                return Poll::Ready(Ok(Grant::Slot));
            }
        }
        let id = st.next_waiter;
        st.next_waiter += 1;
        st.waiting.insert(id, cx.waker().clone());
        self.id = Some(id);
        Poll::Pending
    }
}

impl<M: Manager> Drop for Acquire<M> {
    fn drop(&mut self) {
        let Some(id) = self.id else { return };
        let grant = {
            let mut st = self.inner.lock();
            if st.waiting.remove(&id).is_some() {
                None
            } else {
                st.granted.remove(&id)
            }
        };
        // Handed something we will never use: pass it on to the next waiter.
        if let Some(g) = grant {
            self.inner.give_back(g);
        }
    }
}

/// One slot of the pool's capacity, released on drop unless turned into an `Object`.
pub(crate) struct Slot<M: Manager> {
    inner: Option<Arc<Inner<M>>>,
}

impl<M: Manager> Slot<M> {
    /// Wraps a slot already counted in `size`.
    pub(crate) fn taken(inner: Arc<Inner<M>>) -> Self {
        Slot { inner: Some(inner) }
    }

    pub(crate) fn disarm(mut self) {
        self.inner = None;
    }
}

impl<M: Manager> Drop for Slot<M> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            inner.release_slot();
        }
    }
}

/// A connection being checked: destroyed if dropped before it is handed out.
struct Checking<M: Manager> {
    inner: Arc<Inner<M>>,
    conn: Option<M::Connection>,
}

impl<M: Manager> Drop for Checking<M> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            self.inner.destroy(c);
        }
    }
}

/// The whole checkout (no timeout; the caller wraps it).
pub(crate) async fn checkout<M: Manager>(
    inner: Arc<Inner<M>>,
    location: &'static Location<'static>,
) -> Result<Object<M>, PoolError<M::Error>> {
    let grant = Acquire {
        inner: Arc::clone(&inner),
        id: None,
    }
    .await?;
    let slot = Slot::taken(Arc::clone(&inner));
    if let Grant::Idle(IdleConn { conn, meta }) = grant {
        let mut checking = Checking {
            inner: Arc::clone(&inner),
            conn: Some(conn),
        };
        let fresh = !inner.expired(&meta, inner.now(), true);
        let healthy = fresh
            && (!inner.cfg.test_on_checkout || {
                let conn = checking.conn.as_mut().expect("connection under check");
                inner.manager.is_valid(conn).await.is_ok()
            });
        if healthy {
            let conn = checking.conn.take().expect("connection under check");
            slot.disarm();
            return Ok(Object::new(inner, conn, meta, location));
        }
        if fresh {
            bump(&inner.counters.failed_checks);
        }
        // Destroy it now and use its slot for a fresh connection.
        drop(checking);
    }
    match inner.manager.create().await {
        Ok(conn) => {
            bump(&inner.counters.created);
            let now = inner.now();
            let meta = Meta {
                created: now,
                last_used: now,
                checkouts: 0,
            };
            slot.disarm();
            Ok(Object::new(inner, conn, meta, location))
        }
        Err(e) => {
            bump(&inner.counters.create_errors);
            Err(PoolError::Backend(e))
        }
    }
}
