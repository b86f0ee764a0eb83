//! The `Manager` trait: how a pool creates, checks and destroys its connections.

use std::future::Future;

/// Creates, checks and destroys the connections of a [`Pool`](crate::Pool).
///
/// Only [`create`](Manager::create) is required. The pool calls
/// [`is_valid`](Manager::is_valid) on checkout (the health check, when
/// [`test_on_checkout`](crate::Builder::test_on_checkout) is on), [`has_broken`](Manager::has_broken)
/// synchronously when a guard is dropped, and [`destroy`](Manager::destroy) for every
/// connection it discards (failed check, expired, tainted, pool closed).
///
/// ```
/// use std::convert::Infallible;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use nimsync_pool::Manager;
///
/// /// Hands out numbered "connections".
/// struct Numbers(AtomicU32);
///
/// impl Manager for Numbers {
///     type Connection = u32;
///     type Error = Infallible;
///     async fn create(&self) -> Result<u32, Infallible> {
///         Ok(self.0.fetch_add(1, Ordering::Relaxed))
///     }
/// }
///
/// let rt = nimsync_scheduler::Runtime::current_thread();
/// rt.block_on(async {
///     let pool = nimsync_pool::Pool::builder(Numbers(AtomicU32::new(7))).build().unwrap();
///     assert_eq!(*pool.get().await.unwrap(), 7);
/// });
/// ```
pub trait Manager: Send + Sync + 'static {
    /// The pooled connection.
    type Connection: Send + 'static;
    /// What creating or checking a connection can fail with.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Opens a new connection.
    fn create(&self) -> impl Future<Output = Result<Self::Connection, Self::Error>> + Send;

    /// Health check run on checkout of an idle connection (the default accepts every
    /// connection). An `Err` discards the connection; the caller then gets a fresh one.
    fn is_valid(
        &self,
        conn: &mut Self::Connection,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        let _ = conn;
        async { Ok(()) }
    }

    /// Cheap synchronous check when a guard is dropped: `true` discards the connection
    /// instead of returning it (e.g. an open transaction, a socket known dead). Default `false`.
    fn has_broken(&self, conn: &mut Self::Connection) -> bool {
        let _ = conn;
        false
    }

    /// Disposes of a connection the pool discards (default: drop it). Runs synchronously,
    /// outside the pool's lock; it must not block for long.
    fn destroy(&self, conn: Self::Connection) {
        drop(conn);
    }
}
