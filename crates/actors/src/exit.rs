//! Why an actor stopped: [`ExitReason`], and the [`Terminated`] notice watchers receive.

use core::fmt;
use std::error::Error;
use std::sync::Arc;

use crate::ActorId;

/// Why an actor (or one run of it, under a supervisor) stopped.
///
/// `Normal` and `Shutdown` are normal exits; `Killed`, `Panicked` and `Failed` are abnormal
/// (a `Transient` child is restarted only after those). As an [`Error`], a `Failed` reason
/// exposes its cause through [`source`](Error::source), so the chain is never lost.
///
/// ```
/// use nimsync_actors::ExitReason;
/// let r = ExitReason::failed(std::io::Error::other("disk full"));
/// assert!(r.is_abnormal());
/// assert_eq!(r.to_string(), "failed: disk full");
/// assert!(std::error::Error::source(&r).is_some());
/// assert!(!ExitReason::Normal.is_abnormal());
/// ```
#[derive(Clone)]
pub enum ExitReason {
    /// Stopped on request ([`stop`](crate::ActorRef::stop), [`Context::stop`](crate::Context::stop))
    /// or because every [`ActorRef`](crate::ActorRef) was dropped and the mailbox drained.
    Normal,
    /// Stopped by its supervisor (ordered shutdown, or a sibling's restart).
    Shutdown,
    /// Killed: [`kill`](crate::ActorRef::kill) aborted it, or its task was dropped.
    Killed,
    /// A hook or handler panicked; the panic message.
    Panicked(Arc<str>),
    /// The actor gave up with an error ([`Context::fail`](crate::Context::fail)).
    Failed(Arc<dyn Error + Send + Sync>),
}

impl ExitReason {
    /// A `Failed` reason wrapping `err`.
    pub fn failed(err: impl Error + Send + Sync + 'static) -> ExitReason {
        ExitReason::Failed(Arc::new(err))
    }

    /// Whether this is an abnormal exit (`Killed`, `Panicked`, `Failed`).
    pub fn is_abnormal(&self) -> bool {
        matches!(
            self,
            ExitReason::Killed | ExitReason::Panicked(_) | ExitReason::Failed(_)
        )
    }

    /// The panic message, if the actor panicked.
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            ExitReason::Panicked(m) => Some(m),
            _ => None,
        }
    }
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitReason::Normal => f.write_str("normal"),
            ExitReason::Shutdown => f.write_str("shutdown"),
            ExitReason::Killed => f.write_str("killed"),
            ExitReason::Panicked(m) => write!(f, "panicked: {m}"),
            ExitReason::Failed(e) => write!(f, "failed: {e}"),
        }
    }
}

impl fmt::Debug for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitReason::Failed(e) => f.debug_tuple("Failed").field(e).finish(),
            ExitReason::Panicked(m) => f.debug_tuple("Panicked").field(m).finish(),
            other => fmt::Display::fmt(other, f),
        }
    }
}

impl Error for ExitReason {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ExitReason::Failed(e) => Some(&**e as &(dyn Error + 'static)),
            _ => None,
        }
    }
}

/// The notice a watcher receives when a watched actor's address stops for good
/// (see [`ActorRef::watch`](crate::ActorRef::watch)).
///
/// ```
/// use nimsync_actors::{ExitReason, Terminated};
/// # let id = nimsync_actors::spawn_actor(Idle).id();
/// # struct Idle;
/// # impl nimsync_actors::Actor for Idle { type Msg = (); async fn handle(&mut self, _: (), _: &mut nimsync_actors::Context<Self>) {} }
/// let t = Terminated { id, reason: ExitReason::Killed };
/// assert!(t.reason.is_abnormal());
/// ```
#[derive(Debug, Clone)]
pub struct Terminated {
    /// The address that stopped.
    pub id: ActorId,
    /// Why it stopped.
    pub reason: ExitReason,
}
