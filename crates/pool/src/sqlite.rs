//! The SQLite manager (feature `sqlite`): rusqlite with SQLite bundled, every call on the
//! scheduler's blocking pool so no worker ever blocks on the database.
//!
//! A [`SqliteConnection`] is reused only when it is clean: [`SqliteManager::has_broken`]
//! (checked when its guard drops) discards a connection whose last call is still running on a
//! blocking thread (its caller was cancelled mid-call), whose lock was poisoned by a panic,
//! or that is inside a transaction (a caller cancelled between `BEGIN` and `COMMIT`).

use crate::manager::Manager;
use nimsync_scheduler::spawn_blocking;
/// The rusqlite version this manager is built on (its `Connection`, `Transaction`, errors).
pub use rusqlite;
use rusqlite::{Connection, ErrorCode, OpenFlags, Transaction, TransactionBehavior};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, TryLockError};
use std::time::{Duration, Instant};

type InitFn = Arc<dyn Fn(&Connection) -> rusqlite::Result<()> + Send + Sync>;

/// What a SQLite call can fail with.
#[derive(Debug)]
#[non_exhaustive]
pub enum SqliteError {
    /// SQLite reported an error.
    Sqlite(rusqlite::Error),
    /// The blocking call was dropped before it ran (runtime shutting down).
    Cancelled,
}

impl fmt::Display for SqliteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqliteError::Sqlite(e) => write!(f, "sqlite: {e}"),
            SqliteError::Cancelled => f.write_str("sqlite call cancelled before it ran"),
        }
    }
}

impl std::error::Error for SqliteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SqliteError::Sqlite(e) => Some(e),
            SqliteError::Cancelled => None,
        }
    }
}

impl From<rusqlite::Error> for SqliteError {
    fn from(e: rusqlite::Error) -> Self {
        SqliteError::Sqlite(e)
    }
}

/// The longest [`SqliteManager::busy_timeout`]: `i32::MAX` milliseconds (about 24.8 days),
/// the most SQLite's `sqlite3_busy_timeout` can take.
pub const MAX_BUSY_TIMEOUT: Duration = Duration::from_millis(i32::MAX as u64);

/// Opens connections to one SQLite database file.
///
/// Defaults: read-write, create if missing, WAL journal, `synchronous = NORMAL`, a 5 s busy
/// timeout (writers from several connections wait for each other instead of failing; so do
/// connections opened at once that switch a new file to WAL).
///
/// ```
/// use nimsync_pool::Pool;
/// use nimsync_pool::sqlite::SqliteManager;
///
/// let path = std::env::temp_dir().join(format!("nimsync-pool-doc-{}.db", std::process::id()));
/// let rt = nimsync_scheduler::Runtime::builder().workers(1).build().unwrap();
/// rt.block_on(async {
///     let pool = Pool::builder(SqliteManager::file(&path)).max_size(4).build().unwrap();
///     let conn = pool.get().await.unwrap();
///     conn.call(|c| c.execute_batch("CREATE TABLE t (x INTEGER)")).await.unwrap();
///     conn.transaction(|tx| tx.execute("INSERT INTO t VALUES (42)", [])).await.unwrap();
///     let x: i64 = conn.call(|c| c.query_row("SELECT x FROM t", [], |r| r.get(0))).await.unwrap();
///     assert_eq!(x, 42);
/// });
/// drop(rt);
/// nimsync_pool::sqlite::remove_database(&path);
/// ```
#[derive(Clone)]
pub struct SqliteManager {
    path: PathBuf,
    flags: OpenFlags,
    busy_timeout: Duration,
    init: Option<InitFn>,
    open: Arc<AtomicUsize>,
}

impl fmt::Debug for SqliteManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteManager")
            .field("path", &self.path)
            .field("busy_timeout", &self.busy_timeout)
            .field("open_connections", &self.open_connections())
            .finish_non_exhaustive()
    }
}

impl SqliteManager {
    /// A manager for the database file at `path` (created if missing).
    pub fn file(path: impl AsRef<Path>) -> Self {
        SqliteManager {
            path: path.as_ref().to_owned(),
            flags: OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            busy_timeout: Duration::from_secs(5),
            init: None,
            open: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Replaces the open flags.
    pub fn flags(mut self, flags: OpenFlags) -> Self {
        self.flags = flags;
        self
    }

    /// How long a statement waits for another connection's lock (default 5 s). SQLite takes
    /// it in milliseconds as a C `int`, so it is capped at [`MAX_BUSY_TIMEOUT`] (`i32::MAX`
    /// ms, about 24.8 days): a longer one ([`Duration::MAX`] included) means that cap.
    ///
    /// ```
    /// use std::time::Duration;
    /// use nimsync_pool::sqlite::{MAX_BUSY_TIMEOUT, SqliteManager};
    /// let m = SqliteManager::file("db.sqlite").busy_timeout(Duration::MAX);
    /// assert!(format!("{m:?}").contains(&format!("{MAX_BUSY_TIMEOUT:?}")));
    /// ```
    pub fn busy_timeout(mut self, d: Duration) -> Self {
        self.busy_timeout = d.min(MAX_BUSY_TIMEOUT);
        self
    }

    /// Runs `f` on every new connection after the defaults (e.g. `PRAGMA foreign_keys = ON`).
    pub fn on_connect(
        mut self,
        f: impl Fn(&Connection) -> rusqlite::Result<()> + Send + Sync + 'static,
    ) -> Self {
        self.init = Some(Arc::new(f));
        self
    }

    /// Underlying SQLite connections currently open, including ones a cancelled caller left
    /// finishing a call on a blocking thread (a leak shows up here).
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }
}

/// Counts an open connection until the connection itself is dropped.
struct Counted {
    conn: Connection,
    open: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A pooled SQLite connection; its calls run on the blocking pool.
pub struct SqliteConnection {
    inner: Arc<Mutex<Counted>>,
}

impl fmt::Debug for SqliteConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteConnection").finish_non_exhaustive()
    }
}

impl SqliteConnection {
    /// Runs `f` with the connection on the blocking pool. A panic in `f` resumes in the caller
    /// (and the connection is discarded when its guard drops).
    pub async fn call<F, R>(&self, f: F) -> Result<R, SqliteError>
    where
        F: FnOnce(&mut Connection) -> rusqlite::Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let res = spawn_blocking(move || {
            let mut guard = inner.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut guard.conn)
        })
        .await;
        match res {
            Ok(r) => r.map_err(SqliteError::Sqlite),
            Err(e) => match e.try_into_panic() {
                Ok(payload) => std::panic::resume_unwind(payload),
                Err(_) => Err(SqliteError::Cancelled),
            },
        }
    }

    /// Runs `f` inside one `BEGIN IMMEDIATE` … `COMMIT` on the blocking pool: committed when
    /// `f` returns `Ok`, rolled back on `Err` or panic. The caller learning `Ok` means the
    /// commit happened.
    pub async fn transaction<F, R>(&self, f: F) -> Result<R, SqliteError>
    where
        F: FnOnce(&Transaction<'_>) -> rusqlite::Result<R> + Send + 'static,
        R: Send + 'static,
    {
        self.call(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let r = f(&tx)?;
            tx.commit()?;
            Ok(r)
        })
        .await
    }

    /// Whether the connection is clean: no call running, not poisoned, no open transaction.
    fn is_clean(&self) -> bool {
        if Arc::strong_count(&self.inner) > 1 {
            return false; // a call abandoned by its caller still runs on a blocking thread
        }
        match self.inner.try_lock() {
            Ok(g) => g.conn.is_autocommit(),
            Err(TryLockError::Poisoned(_) | TryLockError::WouldBlock) => false,
        }
    }
}

/// Switches `conn` to WAL, retrying while the database is busy, for up to `timeout`.
///
/// On a database not yet in WAL mode the switch needs an exclusive lock, which SQLite takes by
/// upgrading a shared one; when several connections do that at once (a pool opening its
/// connections on a new file), SQLite answers all but one with `SQLITE_BUSY` at once, without
/// calling the busy handler (waiting there could deadlock). Once one of them has switched the
/// file (the mode is stored in it), the others' switch is a no-op.
fn enable_wal(conn: &Connection, timeout: Duration) -> rusqlite::Result<()> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match conn.execute_batch("PRAGMA journal_mode = WAL;") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == ErrorCode::DatabaseBusy && start.elapsed() < timeout =>
            {
                // A blocking-pool thread (see `create`): sleeping here blocks no task.
                std::thread::sleep(pause.min(timeout.saturating_sub(start.elapsed())));
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

impl Manager for SqliteManager {
    type Connection = SqliteConnection;
    type Error = SqliteError;

    async fn create(&self) -> Result<SqliteConnection, SqliteError> {
        let (path, flags, busy, init) = (
            self.path.clone(),
            self.flags,
            self.busy_timeout,
            self.init.clone(),
        );
        let open = Arc::clone(&self.open);
        let res = spawn_blocking(move || -> rusqlite::Result<Counted> {
            let conn = Connection::open_with_flags(&path, flags)?;
            conn.busy_timeout(busy)?;
            enable_wal(&conn, busy)?;
            conn.execute_batch("PRAGMA synchronous = NORMAL;")?;
            if let Some(f) = &init {
                f(&conn)?;
            }
            open.fetch_add(1, Ordering::SeqCst);
            Ok(Counted { conn, open })
        })
        .await;
        match res {
            Ok(Ok(c)) => Ok(SqliteConnection {
                inner: Arc::new(Mutex::new(c)),
            }),
            Ok(Err(e)) => Err(SqliteError::Sqlite(e)),
            Err(e) => match e.try_into_panic() {
                Ok(payload) => std::panic::resume_unwind(payload),
                Err(_) => Err(SqliteError::Cancelled),
            },
        }
    }

    async fn is_valid(&self, conn: &mut SqliteConnection) -> Result<(), SqliteError> {
        conn.call(|c| c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)))
            .await
            .map(drop)
    }

    fn has_broken(&self, conn: &mut SqliteConnection) -> bool {
        !conn.is_clean()
    }
}

/// Deletes a database file and its `-wal` / `-shm` companions (missing files are fine).
///
/// ```
/// let p = std::env::temp_dir().join("nimsync-pool-never-created.db");
/// nimsync_pool::sqlite::remove_database(&p);
/// ```
pub fn remove_database(path: impl AsRef<Path>) {
    let path = path.as_ref();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}
