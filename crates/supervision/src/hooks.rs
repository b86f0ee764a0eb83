//! The restart hook: a process-wide, optional [`RestartHook`] that upper layers (telemetry)
//! install to observe every supervised restart, whatever the supervisor's own event hook.
//!
//! **Cost when no hook is installed:** one acquire load per restart.

use std::sync::OnceLock;
use std::time::Duration;

use nimsync_actors::{ActorId, ExitReason};

/// One restart decision of a supervisor, for [`RestartHook::on_restart`].
#[derive(Debug)]
pub struct RestartInfo<'a> {
    /// The supervisor (its actor id).
    pub supervisor: ActorId,
    /// The child whose exit caused the restart (its name in the spec).
    pub child: &'a str,
    /// That child's address id (it keeps it across restarts).
    pub child_id: Option<ActorId>,
    /// Why it exited.
    pub reason: &'a ExitReason,
    /// Restarts in the intensity window before this one (0 for the first).
    pub attempt: u32,
    /// Every child restarted with it (strategy), in start order.
    pub restarted: &'a [String],
    /// The backoff delay before they start.
    pub delay: Duration,
}

/// Observes supervised restarts: a process-wide, optional hook that upper layers (telemetry)
/// install with [`set_restart_hook`] to see every restart, whatever each supervisor's own
/// event hook. Costs one acquire load per restart when none is installed.
///
/// Runs on the supervisor's task, inline: keep it cheap, and do not panic in it.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use nimsync_supervision::{RestartHook, RestartInfo};
///
/// static RESTARTS: AtomicU32 = AtomicU32::new(0);
/// struct Count;
/// impl RestartHook for Count {
///     fn on_restart(&self, info: &RestartInfo<'_>) {
///         println!("{} restarts after {}", info.child, info.reason);
///         RESTARTS.fetch_add(1, Ordering::Relaxed);
///     }
/// }
/// static COUNT: Count = Count;
/// // Once per process; a second install is refused.
/// let _ = nimsync_supervision::set_restart_hook(&COUNT);
/// assert!(nimsync_supervision::set_restart_hook(&COUNT).is_err());
/// ```
pub trait RestartHook: Send + Sync + 'static {
    /// A supervisor decided to restart `info.restarted` after `info.child` exited.
    fn on_restart(&self, info: &RestartInfo<'_>);
}

/// [`set_restart_hook`] was called before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the supervision restart hook is already installed")]
pub struct RestartHookAlreadySet;

static HOOK: OnceLock<&'static dyn RestartHook> = OnceLock::new();

/// Installs the process-wide restart hook (once: later calls return
/// [`RestartHookAlreadySet`]). [`RestartHook`] shows a counting hook.
///
/// ```
/// use nimsync_supervision::{RestartHook, RestartInfo};
/// struct Quiet;
/// impl RestartHook for Quiet { fn on_restart(&self, _: &RestartInfo<'_>) {} }
/// static QUIET: Quiet = Quiet;
/// let _ = nimsync_supervision::set_restart_hook(&QUIET);
/// assert!(nimsync_supervision::set_restart_hook(&QUIET).is_err());
/// ```
pub fn set_restart_hook(hook: &'static dyn RestartHook) -> Result<(), RestartHookAlreadySet> {
    HOOK.set(hook).map_err(|_| RestartHookAlreadySet)
}

/// The installed hook (one acquire load).
#[inline]
pub(crate) fn installed() -> Option<&'static dyn RestartHook> {
    HOOK.get().copied()
}
