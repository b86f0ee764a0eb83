//! The lazily built global default runtime, so `nimsync_scheduler::block_on(fut)` and
//! `spawn` work with no set-up.
//!
//! It is a multi-threaded runtime with the default settings (one worker per available core,
//! threads named `nimsync-global-N`), built on first use and never shut down.

use crate::Runtime;
use std::future::Future;
use std::sync::OnceLock;

static GLOBAL: OnceLock<Runtime> = OnceLock::new();

/// The global default runtime (built on first use).
pub(crate) fn global() -> &'static Runtime {
    GLOBAL.get_or_init(|| {
        Runtime::builder()
            .thread_name("nimsync-global")
            .build()
            .expect("nimsync: cannot start the global runtime's worker threads")
    })
}

/// Runs `fut` to completion on the global default runtime.
///
/// ```
/// let v = nimsync_scheduler::block_on(async {
///     nimsync_scheduler::spawn(async { 40 + 2 }).await.unwrap()
/// });
/// assert_eq!(v, 42);
/// ```
///
/// # Panics
/// When called from inside a runtime worker or another `block_on`.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    global().block_on(fut)
}
