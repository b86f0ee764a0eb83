//! `Pool`: the handle users clone and check connections out of; status, leaks, maintenance.

use crate::acquire::checkout;
use crate::config::{Builder, Config};
use crate::error::PoolError;
use crate::leak::{LeakReport, default_leak_handler};
use crate::manager::Manager;
use crate::object::Object;
use crate::state::{IdleConn, Inner, Meta, PanicPayload, bump, resume};
use nimsync_cancel::{CancelToken, timeout, with_cancel};
use nimsync_scheduler::Handle;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

/// A snapshot of a pool (see [`Pool::status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Status {
    /// The configured maximum.
    pub max_size: usize,
    /// Connections alive or being created/checked (idle + in use + in flight).
    pub size: usize,
    /// Idle connections ready for checkout.
    pub idle: usize,
    /// Checked-out guards.
    pub in_use: usize,
    /// Checkouts waiting for a connection.
    pub waiters: usize,
    /// Connections created so far.
    pub created: u64,
    /// Connections destroyed so far (failed checks, expired, tainted, broken, closed).
    pub destroyed: u64,
    /// Successful checkouts so far.
    pub checkouts: u64,
    /// Checkouts that timed out.
    pub timeouts: u64,
    /// Idle connections that failed their health check on checkout.
    pub failed_checks: u64,
    /// `create` errors (checkouts and min-idle refills).
    pub create_errors: u64,
    /// Leaks reported to the leak handler.
    pub leaks_reported: u64,
}

/// A pool of connections made by a [`Manager`]. Cloning is cheap (shared handle).
///
/// ```
/// use std::convert::Infallible;
/// use nimsync_pool::{Manager, Pool};
///
/// struct Strings;
/// impl Manager for Strings {
///     type Connection = String;
///     type Error = Infallible;
///     async fn create(&self) -> Result<String, Infallible> { Ok(String::new()) }
/// }
///
/// let rt = nimsync_scheduler::Runtime::builder().workers(2).build().unwrap();
/// rt.block_on(async {
///     let pool = Pool::builder(Strings).max_size(2).build().unwrap();
///     let tasks: Vec<_> = (0..10)
///         .map(|i| {
///             let pool = pool.clone();
///             nimsync_scheduler::spawn(async move {
///                 let mut s = pool.get().await.unwrap();
///                 s.push_str(&i.to_string());
///             })
///         })
///         .collect();
///     for t in tasks {
///         t.await.unwrap();
///     }
///     let st = pool.status();
///     assert!(st.size <= 2);
///     assert_eq!((st.in_use, st.waiters), (0, 0));
/// });
/// ```
pub struct Pool<M: Manager> {
    inner: Arc<Inner<M>>,
}

impl<M: Manager> Clone for Pool<M> {
    fn clone(&self) -> Self {
        Pool {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<M: Manager> fmt::Debug for Pool<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("cfg", &self.inner.cfg)
            .field("status", &self.status())
            .finish()
    }
}

impl<M: Manager> Pool<M> {
    /// Starts configuring a pool around `manager` (see [`Builder`]).
    pub fn builder(manager: M) -> Builder<M> {
        Builder::new(manager)
    }

    pub(crate) fn from_parts(manager: M, cfg: Config) -> Self {
        let needs_reaper = cfg.needs_reaper();
        let every = cfg.reaper_interval;
        let handle = if needs_reaper {
            Some(Handle::current())
        } else {
            Handle::try_current()
        };
        let inner = Arc::new(Inner::new(manager, cfg, handle.clone()));
        if let (true, Some(h)) = (needs_reaper, handle) {
            let weak = Arc::downgrade(&inner);
            drop(h.spawn(reaper(weak, every)));
        }
        Pool { inner }
    }

    /// Checks a connection out, waiting in FIFO order if none is free, up to the configured
    /// [`acquire_timeout`](Builder::acquire_timeout). Cancel-safe: dropping the future at
    /// any point leaks nothing. The caller's location is recorded for leak reports.
    #[track_caller]
    pub fn get(
        &self,
    ) -> impl Future<Output = Result<Object<M>, PoolError<M::Error>>> + Send + 'static {
        self.get_inner(self.inner.cfg.acquire_timeout, Location::caller())
    }

    /// Like [`get`](Self::get) with an explicit timeout for this checkout.
    ///
    /// [`Duration::ZERO`] means "try once without waiting": the checkout is polled once and
    /// fails with [`PoolError::Timeout`] unless it completes at once: an idle connection
    /// whose health check ([`Manager::is_valid`], if [`test_on_checkout`](Builder::test_on_checkout))
    /// answers without waiting, or a free slot whose [`Manager::create`] does. A manager
    /// whose check or create waits (the SQLite manager runs both on a blocking thread) never
    /// completes at once, and a connection abandoned in its health check is destroyed, as on
    /// any timeout: there use a short non-zero timeout, or turn `test_on_checkout` off.
    ///
    /// ```
    /// use std::time::Duration;
    /// use nimsync_pool::{Pool, PoolError};
    /// # struct M;
    /// # impl nimsync_pool::Manager for M {
    /// #     type Connection = ();
    /// #     type Error = std::convert::Infallible;
    /// #     async fn create(&self) -> Result<(), Self::Error> { Ok(()) }
    /// # }
    /// let rt = nimsync_scheduler::Builder::new_current_thread().start_paused(true).build().unwrap();
    /// rt.block_on(async {
    ///     let pool = Pool::builder(M).max_size(1).build().unwrap();
    ///     let _held = pool.get().await.unwrap();
    ///     let r = pool.get_timeout(Duration::from_secs(1)).await;
    ///     assert!(matches!(r, Err(PoolError::Timeout)));
    ///     assert_eq!(pool.status().waiters, 0);
    ///     drop(_held);
    ///     assert!(pool.get_timeout(Duration::ZERO).await.is_ok()); // idle one ready: no wait
    /// });
    /// ```
    #[track_caller]
    pub fn get_timeout(
        &self,
        limit: Duration,
    ) -> impl Future<Output = Result<Object<M>, PoolError<M::Error>>> + Send + 'static {
        self.get_inner(Some(limit), Location::caller())
    }

    /// Like [`get`](Self::get) (the configured [`acquire_timeout`](Builder::acquire_timeout)
    /// applies too), abandoned with [`PoolError::Cancelled`] when `token` is cancelled first.
    ///
    /// ```
    /// use nimsync_cancel::{CancelToken, Cancelled};
    /// use nimsync_pool::{Pool, PoolError};
    /// # struct M;
    /// # impl nimsync_pool::Manager for M {
    /// #     type Connection = ();
    /// #     type Error = std::convert::Infallible;
    /// #     async fn create(&self) -> Result<(), Self::Error> { Ok(()) }
    /// # }
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// rt.block_on(async {
    ///     let pool = Pool::builder(M).max_size(1).build().unwrap();
    ///     let _held = pool.get().await.unwrap();
    ///     let token = CancelToken::new();
    ///     token.cancel_with("shutdown");
    ///     let r = pool.get_with_cancel(&token).await;
    ///     assert!(matches!(r, Err(PoolError::Cancelled(Cancelled::Explicit(_)))));
    /// });
    /// ```
    #[track_caller]
    pub fn get_with_cancel(
        &self,
        token: &CancelToken,
    ) -> impl Future<Output = Result<Object<M>, PoolError<M::Error>>> + Send + 'static {
        let work = self.get_inner(self.inner.cfg.acquire_timeout, Location::caller());
        let fut = with_cancel(token, work);
        async move { fut.await.map_err(PoolError::from_cancelled)? }
    }

    fn get_inner(
        &self,
        limit: Option<Duration>,
        location: &'static Location<'static>,
    ) -> impl Future<Output = Result<Object<M>, PoolError<M::Error>>> + Send + 'static {
        let inner = Arc::clone(&self.inner);
        async move {
            let work = checkout(Arc::clone(&inner), location);
            match limit {
                None => work.await,
                // "Try once without waiting": `timeout` would not poll at all.
                Some(Duration::ZERO) => match poll_once(work).await {
                    Some(r) => r,
                    None => {
                        bump(&inner.counters.timeouts);
                        Err(PoolError::Timeout)
                    }
                },
                Some(d) => match timeout(d, work).await {
                    Ok(r) => r,
                    Err(c) => {
                        if c.is_timeout() {
                            bump(&inner.counters.timeouts);
                        }
                        Err(PoolError::from_cancelled(c))
                    }
                },
            }
        }
    }

    /// A snapshot of sizes and counters.
    ///
    /// ```
    /// # use nimsync_pool::Pool;
    /// # struct M;
    /// # impl nimsync_pool::Manager for M {
    /// #     type Connection = ();
    /// #     type Error = std::convert::Infallible;
    /// #     async fn create(&self) -> Result<(), Self::Error> { Ok(()) }
    /// # }
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// rt.block_on(async {
    ///     let pool = Pool::builder(M).max_size(3).build().unwrap();
    ///     let a = pool.get().await.unwrap();
    ///     let b = pool.get().await.unwrap();
    ///     drop(b);
    ///     let st = pool.status();
    ///     assert_eq!((st.max_size, st.size, st.idle, st.in_use, st.waiters), (3, 2, 1, 1, 0));
    ///     drop(a);
    /// });
    /// ```
    pub fn status(&self) -> Status {
        let c = &self.inner.counters;
        let st = self.inner.lock();
        Status {
            max_size: self.inner.cfg.max_size,
            size: st.size,
            idle: st.idle.len(),
            in_use: st.checked_out.len(),
            waiters: st.waiting.len(),
            created: c.created.load(Ordering::Relaxed),
            destroyed: c.destroyed.load(Ordering::Relaxed),
            checkouts: c.checkouts.load(Ordering::Relaxed),
            timeouts: c.timeouts.load(Ordering::Relaxed),
            failed_checks: c.failed_checks.load(Ordering::Relaxed),
            create_errors: c.create_errors.load(Ordering::Relaxed),
            leaks_reported: c.leaks_reported.load(Ordering::Relaxed),
        }
    }

    /// Guards held longer than the [`leak_threshold`](Builder::leak_threshold) (empty when
    /// none is set), oldest first, with where they were acquired. It only looks: every leak
    /// listed here is still reported (once) to the [`on_leak`](Builder::on_leak) handler by
    /// the next [`maintain`](Self::maintain) pass, and stays listed until its guard is dropped.
    pub fn leaks(&self) -> Vec<LeakReport> {
        self.collect_leaks(false)
    }

    fn collect_leaks(&self, mark: bool) -> Vec<LeakReport> {
        let Some(limit) = self.inner.cfg.leak_threshold else {
            return Vec::new();
        };
        let now = self.inner.now();
        let mut st = self.inner.lock();
        let mut out: Vec<LeakReport> = st
            .checked_out
            .iter_mut()
            .filter_map(|(&id, c)| {
                let held_for = now.saturating_duration_since(c.since);
                if held_for < limit || (mark && c.reported) {
                    return None;
                }
                // Only the reaper's pass marks a leak as reported: `leaks()` just looks.
                if mark {
                    c.reported = true;
                }
                Some(LeakReport {
                    object_id: id,
                    held_for,
                    acquired_at: c.location,
                })
            })
            .collect();
        drop(st);
        out.sort_by(|a, b| {
            b.held_for
                .cmp(&a.held_for)
                .then(a.object_id.cmp(&b.object_id))
        });
        out
    }

    /// One maintenance pass (the reaper runs it every
    /// [`reaper_interval`](Builder::reaper_interval)): closes idle connections past their
    /// idle timeout (keeping `min_idle`) or max lifetime, creates connections up to
    /// `min_idle`, and reports new leaks once each. Returns how many connections it created.
    ///
    /// A panic in [`Manager::destroy`] or in the leak handler is re-raised when the pass is
    /// done (every other connection destroyed, every slot freed, every leak reported); one
    /// in [`Manager::create`] at once, its slot freed. The background reaper survives such
    /// a pass (the panic hook reports it) and runs the next one as usual.
    ///
    /// ```
    /// # use nimsync_pool::Pool;
    /// # struct M;
    /// # impl nimsync_pool::Manager for M {
    /// #     type Connection = ();
    /// #     type Error = std::convert::Infallible;
    /// #     async fn create(&self) -> Result<(), Self::Error> { Ok(()) }
    /// # }
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// rt.block_on(async {
    ///     let pool = Pool::builder(M).max_size(4).min_idle(2).build().unwrap();
    ///     pool.maintain().await;
    ///     assert_eq!(pool.status().idle, 2);
    /// });
    /// ```
    pub async fn maintain(&self) -> usize {
        let inner = &self.inner;
        let now = inner.now();
        let evicted: Vec<M::Connection> = {
            let mut st = inner.lock();
            let mut keep_idle = st.idle.len();
            let mut evicted = Vec::new();
            let mut kept = std::collections::VecDeque::with_capacity(st.idle.len());
            while let Some(ic) = st.idle.pop_front() {
                let old = inner.expired(&ic.meta, now, false);
                let stale = keep_idle > inner.cfg.min_idle && inner.expired(&ic.meta, now, true);
                if old || stale {
                    keep_idle -= 1;
                    evicted.push(ic.conn);
                } else {
                    kept.push_back(ic);
                }
            }
            st.idle = kept;
            evicted
        };
        // A panicking `destroy` (or leak handler) is re-raised at the end of the pass.
        let mut panic = inner.discard_all(evicted);
        let mut created = 0;
        loop {
            {
                let mut st = inner.lock();
                let short = st.idle.len() < inner.cfg.min_idle;
                if st.closed || !short || st.size >= inner.cfg.max_size || !st.waiting.is_empty() {
                    break;
                }
                st.size += 1;
            }
            let slot = crate::acquire::Slot::taken(Arc::clone(inner));
            match inner.manager.create().await {
                Ok(conn) => {
                    bump(&inner.counters.created);
                    created += 1;
                    let now = inner.now();
                    slot.disarm();
                    inner.return_idle(IdleConn {
                        conn,
                        meta: Meta {
                            created: now,
                            last_used: now,
                            checkouts: 0,
                        },
                    });
                }
                Err(_) => {
                    bump(&inner.counters.create_errors);
                    break;
                }
            }
        }
        let leaks = self.collect_leaks(true);
        for leak in &leaks {
            bump(&inner.counters.leaks_reported);
            let report = || match &inner.cfg.on_leak {
                Some(f) => f(leak),
                None => default_leak_handler(leak),
            };
            if let Err(p) = catch_unwind(AssertUnwindSafe(report)) {
                panic.get_or_insert(p);
            }
        }
        resume(panic);
        created
    }

    /// Closes the pool: idle connections are destroyed now, checked-out ones when returned;
    /// waiting and future checkouts fail with [`PoolError::Closed`]. A panic in
    /// [`Manager::destroy`] is re-raised here once every idle connection is destroyed and
    /// every slot freed.
    ///
    /// ```
    /// # use nimsync_pool::{Pool, PoolError};
    /// # struct M;
    /// # impl nimsync_pool::Manager for M {
    /// #     type Connection = ();
    /// #     type Error = std::convert::Infallible;
    /// #     async fn create(&self) -> Result<(), Self::Error> { Ok(()) }
    /// # }
    /// let rt = nimsync_scheduler::Runtime::current_thread();
    /// rt.block_on(async {
    ///     let pool = Pool::builder(M).build().unwrap();
    ///     drop(pool.get().await.unwrap());
    ///     pool.close();
    ///     assert_eq!(pool.status().size, 0);
    ///     assert!(matches!(pool.get().await, Err(PoolError::Closed)));
    /// });
    /// ```
    pub fn close(&self) {
        let (idle, wakers) = {
            let mut st = self.inner.lock();
            st.closed = true;
            let idle: Vec<_> = st.idle.drain(..).collect();
            let wakers: Vec<_> = st.waiting.values().cloned().collect();
            (idle, wakers)
        };
        for w in wakers {
            w.wake();
        }
        resume(self.inner.discard_all(idle.into_iter().map(|ic| ic.conn)));
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.inner.lock().closed
    }

    /// The manager.
    pub fn manager(&self) -> &M {
        &self.inner.manager
    }
}

/// Polls `fut` once: its output if that poll completes it, else `None` (`fut` is dropped
/// before this returns, so its guards give back whatever it held).
async fn poll_once<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| match fut.as_mut().poll(cx) {
        Poll::Ready(out) => Poll::Ready(Some(out)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

/// Background maintenance: fill to `min_idle` at once, then every `every`; ends when the
/// pool is dropped or closed.
async fn reaper<M: Manager>(weak: Weak<Inner<M>>, every: Duration) {
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let pool = Pool { inner };
        if pool.is_closed() {
            return;
        }
        // A pass that panics (the manager's code, the leak handler) has been reported by the
        // panic hook and left the pool consistent; the next pass runs as usual.
        let _ = CatchUnwind(Box::pin(pool.maintain())).await;
        drop(pool);
        nimsync_scheduler::sleep(every).await;
    }
}

/// Runs a future, turning a panic in its `poll` into an `Err` (the reaper must outlive one).
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, PanicPayload>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fut = self.0.as_mut();
        match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(p) => Poll::Ready(Err(p)),
        }
    }
}
