//! Leak detection: a guard held longer than the configured threshold, and where it came from.

use std::fmt;
use std::panic::Location;
use std::time::Duration;

/// A connection guard held longer than the pool's
/// [`leak_threshold`](crate::Builder::leak_threshold).
///
/// `acquired_at` is the caller of [`Pool::get`](crate::Pool::get) (captured with
/// `#[track_caller]`), so the report names the line that forgot to give the connection back.
///
/// ```
/// use std::time::Duration;
/// use nimsync_pool::Pool;
/// # struct M;
/// # impl nimsync_pool::Manager for M {
/// #     type Connection = ();
/// #     type Error = std::convert::Infallible;
/// #     async fn create(&self) -> Result<(), Self::Error> { Ok(()) }
/// # }
/// let rt = nimsync_scheduler::Builder::new_current_thread().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let pool = Pool::builder(M).leak_threshold(Duration::from_secs(10)).build().unwrap();
///     let held = pool.get().await.unwrap(); // line reported below
///     nimsync_scheduler::sleep(Duration::from_secs(11)).await;
///     let leaks = pool.leaks();
///     assert_eq!(leaks.len(), 1);
///     assert!(leaks[0].held_for >= Duration::from_secs(10));
///     assert_eq!(leaks[0].acquired_at.file(), file!());
///     drop(held);
///     assert!(pool.leaks().is_empty());
/// });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeakReport {
    /// The guard's id (unique within its pool, see [`Object::id`](crate::Object::id)).
    pub object_id: u64,
    /// How long it has been held so far.
    pub held_for: Duration,
    /// Where it was acquired.
    pub acquired_at: &'static Location<'static>,
}

impl fmt::Display for LeakReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "nimsync-pool: connection #{} held for {:?} (possible leak), acquired at {}",
            self.object_id, self.held_for, self.acquired_at
        )
    }
}

pub(crate) fn default_leak_handler(report: &LeakReport) {
    eprintln!("{report}");
}
