//! [`ActorId`]: the unique, comparable identity of an actor address.

use core::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// The identity of an actor address: unique in the process, never reused, kept across
/// supervised restarts (a restarted actor keeps its address).
///
/// ```
/// use nimsync_actors::{Actor, Context, spawn_actor};
/// struct Nop;
/// impl Actor for Nop {
///     type Msg = ();
///     async fn handle(&mut self, _: (), _: &mut Context<Self>) {}
/// }
/// nimsync_scheduler::block_on(async {
///     let (a, b) = (spawn_actor(Nop), spawn_actor(Nop));
///     assert_ne!(a.id(), b.id());
///     assert!(a.id().as_u64() > 0);
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActorId(u64);

impl ActorId {
    /// A fresh id.
    pub(crate) fn next() -> ActorId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        ActorId(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "actor#{}", self.0)
    }
}
