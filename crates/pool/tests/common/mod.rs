//! A test manager that counts live connections (a leak shows up as `live() != 0` at the end)
//! and can be told to fail health checks, creations, or report connections broken.

#![allow(dead_code)]

use nimsync_pool::Manager;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};

#[derive(Debug)]
pub struct TestError(pub &'static str);

impl std::fmt::Display for TestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}
impl std::error::Error for TestError {}

/// A connection: its id, and a live counter decremented when it is dropped.
#[derive(Debug)]
pub struct Conn {
    pub id: usize,
    pub dirty: bool,
    live: Arc<AtomicIsize>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Default)]
pub struct Knobs {
    pub invalid: AtomicBool,
    pub fail_create: AtomicBool,
    pub yield_in_create: AtomicBool,
    /// `has_broken` panics.
    pub panic_in_has_broken: AtomicBool,
    /// `destroy` panics (after dropping the connection).
    pub panic_in_destroy: AtomicBool,
}

#[derive(Clone, Default)]
pub struct TestManager {
    pub live: Arc<AtomicIsize>,
    pub next: Arc<AtomicUsize>,
    pub knobs: Arc<Knobs>,
}

impl TestManager {
    pub fn live(&self) -> isize {
        self.live.load(Ordering::SeqCst)
    }
}

impl Manager for TestManager {
    type Connection = Conn;
    type Error = TestError;

    async fn create(&self) -> Result<Conn, TestError> {
        if self.knobs.yield_in_create.load(Ordering::SeqCst) {
            nimsync_scheduler::yield_now().await;
        }
        if self.knobs.fail_create.load(Ordering::SeqCst) {
            return Err(TestError("refused"));
        }
        self.live.fetch_add(1, Ordering::SeqCst);
        Ok(Conn {
            id: self.next.fetch_add(1, Ordering::SeqCst),
            dirty: false,
            live: Arc::clone(&self.live),
        })
    }

    async fn is_valid(&self, _conn: &mut Conn) -> Result<(), TestError> {
        if self.knobs.invalid.load(Ordering::SeqCst) {
            Err(TestError("unhealthy"))
        } else {
            Ok(())
        }
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        if self.knobs.panic_in_has_broken.load(Ordering::SeqCst) {
            panic!("has_broken panicked (test knob)");
        }
        conn.dirty
    }

    fn destroy(&self, conn: Conn) {
        drop(conn);
        if self.knobs.panic_in_destroy.load(Ordering::SeqCst) {
            panic!("destroy panicked (test knob)");
        }
    }
}

/// A current-thread runtime with a paused, auto-advancing clock.
pub fn paused() -> nimsync_scheduler::Runtime {
    nimsync_scheduler::Builder::new_current_thread()
        .start_paused(true)
        .build()
        .expect("runtime")
}
