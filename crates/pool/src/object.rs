//! `Object`: the checkout guard (returns its connection on drop) and `Operation`, the marker
//! that decides whether a dropped guard's connection is safe to reuse.
//!
//! # The return rule
//!
//! When an [`Object`] is dropped its *slot* always goes back to the pool (to the oldest
//! waiter first), whatever happened: normal end, `?`, panic, task abort, cancellation. Its
//! *connection* goes back to the idle queue only if all of these hold; otherwise
//! [`Manager::destroy`] runs and the next checkout creates a fresh one:
//!
//! 1. the guard is not dropped while its thread is panicking (unwinding through the holder);
//! 2. no [`Operation`] of it was dropped without [`Operation::complete`] (the holder was
//!    cancelled, panicked or bailed out mid-operation) and [`Object::taint`] was not called;
//! 3. [`Manager::has_broken`] returns `false`;
//! 4. the connection is within its [`max_lifetime`](crate::Builder::max_lifetime) and the
//!    pool is not closed.
//!
//! The slot is held by a guard (`HeldSlot`) while the drop runs the manager's code, so a
//! panic there still frees it (see "Panics in the manager's code" on [`Object`]).

use crate::manager::Manager;
use crate::state::{Checkout, HeldSlot, IdleConn, Inner, Meta, bump, resume};
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

/// A checked-out connection; derefs to `M::Connection` and returns it to the pool on drop
/// (the exact return rule is in the [crate docs](crate#what-it-guarantees)).
///
/// # Panics in the manager's code
///
/// Dropping a guard runs the manager's code ([`Manager::has_broken`], maybe
/// [`Manager::destroy`]) while a guard holds the slot, so a panic there never costs the pool
/// a slot. If `has_broken` panics, the connection counts as broken: it is destroyed, its slot
/// freed, then the panic goes on in the dropping thread. If `destroy` panics, the slot is
/// freed and the panic goes on. (A guard dropped while its thread already unwinds calls no
/// `has_broken`; a `destroy` that panics then aborts the process, as any panic in a
/// destructor during unwinding does.)
///
/// ```
/// # use nimsync_pool::{Manager, Pool};
/// # struct M;
/// # impl Manager for M {
/// #     type Connection = Vec<u8>;
/// #     type Error = std::convert::Infallible;
/// #     async fn create(&self) -> Result<Vec<u8>, Self::Error> { Ok(Vec::new()) }
/// # }
/// let rt = nimsync_scheduler::Runtime::current_thread();
/// rt.block_on(async {
///     let pool = Pool::builder(M).max_size(1).build().unwrap();
///     {
///         let mut conn = pool.get().await.unwrap();
///         conn.push(1); // DerefMut to the connection
///         assert_eq!(pool.status().in_use, 1);
///     } // dropped: back in the pool
///     assert_eq!(pool.status().idle, 1);
///     assert_eq!(*pool.get().await.unwrap(), vec![1]);
/// });
/// ```
pub struct Object<M: Manager> {
    conn: Option<M::Connection>,
    meta: Meta,
    id: u64,
    tainted: bool,
    inner: Arc<Inner<M>>,
}

impl<M: Manager> Object<M> {
    pub(crate) fn new(
        inner: Arc<Inner<M>>,
        conn: M::Connection,
        mut meta: Meta,
        location: &'static Location<'static>,
    ) -> Self {
        let now = inner.now();
        meta.checkouts += 1;
        meta.last_used = now;
        let id = {
            let mut st = inner.lock();
            let id = st.next_object;
            st.next_object += 1;
            st.checked_out.insert(
                id,
                Checkout {
                    since: now,
                    location,
                    reported: false,
                },
            );
            id
        };
        bump(&inner.counters.checkouts);
        Object {
            conn: Some(conn),
            meta,
            id,
            tainted: false,
            inner,
        }
    }

    /// This guard's id, unique within its pool (matches [`LeakReport::object_id`](crate::LeakReport)).
    pub fn id(this: &Self) -> u64 {
        this.id
    }

    /// When the connection was created (on the pool's clock).
    pub fn created_at(this: &Self) -> Instant {
        this.meta.created
    }

    /// How many checkouts this connection has served, this one included.
    pub fn checkouts(this: &Self) -> u64 {
        this.meta.checkouts
    }

    /// Marks an operation in progress: until [`Operation::complete`] is called, dropping the
    /// operation (cancellation, panic, early return) taints the guard, so its connection is
    /// destroyed instead of reused. The operation derefs to the connection.
    ///
    /// ```
    /// # use nimsync_pool::{Manager, Object, Pool};
    /// # struct M;
    /// # impl Manager for M {
    /// #     type Connection = Vec<u8>;
    /// #     type Error = std::convert::Infallible;
    /// #     async fn create(&self) -> Result<Vec<u8>, Self::Error> { Ok(Vec::new()) }
    /// # }
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// rt.block_on(async {
    ///     let pool = Pool::builder(M).build().unwrap();
    ///     let mut conn = pool.get().await.unwrap();
    ///     let mut op = Object::operation(&mut conn);
    ///     op.push(1);
    ///     op.complete(); // finished cleanly
    ///     assert!(!Object::is_tainted(&conn));
    ///     {
    ///         let mut op = Object::operation(&mut conn);
    ///         op.push(2); // ... and then the holder is cancelled: `op` dropped unfinished
    ///     }
    ///     assert!(Object::is_tainted(&conn));
    ///     drop(conn);
    ///     assert_eq!(pool.status().size, 0); // destroyed, not returned
    /// });
    /// ```
    pub fn operation(this: &mut Self) -> Operation<'_, M> {
        Operation {
            obj: this,
            done: false,
        }
    }

    /// Marks the connection unfit for reuse: it is destroyed when the guard drops.
    pub fn taint(this: &mut Self) {
        this.tainted = true;
    }

    /// Whether the connection will be destroyed rather than returned (so far).
    pub fn is_tainted(this: &Self) -> bool {
        this.tainted
    }

    /// Takes the connection out of the pool for good: its slot is freed, the pool forgets it
    /// (no [`Manager::destroy`]).
    ///
    /// ```
    /// # use nimsync_pool::{Manager, Object, Pool};
    /// # struct M;
    /// # impl Manager for M {
    /// #     type Connection = u8;
    /// #     type Error = std::convert::Infallible;
    /// #     async fn create(&self) -> Result<u8, Self::Error> { Ok(5) }
    /// # }
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// rt.block_on(async {
    ///     let pool = Pool::builder(M).build().unwrap();
    ///     let five: u8 = Object::detach(pool.get().await.unwrap());
    ///     assert_eq!(five, 5);
    ///     assert_eq!(pool.status().size, 0);
    /// });
    /// ```
    pub fn detach(mut this: Self) -> M::Connection {
        let conn = this
            .conn
            .take()
            .expect("an Object always holds its connection");
        this.inner.lock().checked_out.remove(&this.id);
        this.inner.release_slot();
        conn
    }
}

impl<M: Manager> Drop for Object<M> {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return; // detached
        };
        let inner = &*self.inner;
        inner.lock().checked_out.remove(&self.id);
        // Held across the manager's code below: a panic there still frees the slot.
        let slot = HeldSlot::new(inner);
        let now = inner.now();
        let mut panic = None;
        let discard = self.tainted
            || std::thread::panicking()
            || match catch_unwind(AssertUnwindSafe(|| inner.manager.has_broken(&mut conn))) {
                Ok(broken) => broken,
                Err(p) => {
                    panic = Some(p); // judged broken; re-raised once it is destroyed
                    true
                }
            }
            || inner.expired(&self.meta, now, false);
        if discard {
            inner.destroy(conn);
            drop(slot);
            resume(panic);
        } else {
            slot.keep();
            let mut meta = self.meta;
            meta.last_used = now;
            inner.return_idle(IdleConn { conn, meta });
        }
    }
}

impl<M: Manager> Deref for Object<M> {
    type Target = M::Connection;
    fn deref(&self) -> &M::Connection {
        self.conn
            .as_ref()
            .expect("an Object always holds its connection")
    }
}

impl<M: Manager> DerefMut for Object<M> {
    fn deref_mut(&mut self) -> &mut M::Connection {
        self.conn
            .as_mut()
            .expect("an Object always holds its connection")
    }
}

impl<M: Manager> fmt::Debug for Object<M>
where
    M::Connection: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Object")
            .field("id", &self.id)
            .field("conn", &self.conn)
            .field("tainted", &self.tainted)
            .finish()
    }
}

/// An operation in progress on a checked-out connection (see [`Object::operation`]):
/// dropped without [`complete`](Operation::complete), it taints the guard.
pub struct Operation<'a, M: Manager> {
    obj: &'a mut Object<M>,
    done: bool,
}

impl<M: Manager> Operation<'_, M> {
    /// The operation finished and left the connection reusable.
    pub fn complete(mut self) {
        self.done = true;
    }
}

impl<M: Manager> Drop for Operation<'_, M> {
    fn drop(&mut self) {
        if !self.done {
            self.obj.tainted = true;
        }
    }
}

impl<M: Manager> Deref for Operation<'_, M> {
    type Target = M::Connection;
    fn deref(&self) -> &M::Connection {
        self.obj
    }
}

impl<M: Manager> DerefMut for Operation<'_, M> {
    fn deref_mut(&mut self) -> &mut M::Connection {
        self.obj
    }
}

impl<M: Manager> fmt::Debug for Operation<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Operation")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
