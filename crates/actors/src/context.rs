//! [`Context`]: what a running actor knows about itself, and how it stops or watches.

use std::error::Error;

use crate::{Actor, ActorId, ActorRef, ExitReason, Terminated, WeakActorRef};

/// Handed to every hook and handler of an actor.
///
/// ```
/// use nimsync_actors::{Actor, Context, ExitReason, spawn_actor};
///
/// struct OneShot;
/// impl Actor for OneShot {
///     type Msg = ();
///     async fn handle(&mut self, _: (), ctx: &mut Context<Self>) {
///         ctx.stop(); // after this message
///     }
/// }
/// nimsync_scheduler::block_on(async {
///     let a = spawn_actor(OneShot);
///     a.tell(()).await.unwrap();
///     let t = a.wait_terminated().await;
///     assert!(matches!(t.reason, ExitReason::Normal));
/// });
/// ```
pub struct Context<A: Actor> {
    myself: WeakActorRef<A>,
    pub(crate) stop_request: Option<ExitReason>,
}

impl<A: Actor> Context<A> {
    pub(crate) fn new(myself: WeakActorRef<A>) -> Self {
        Context {
            myself,
            stop_request: None,
        }
    }

    /// This actor's id.
    pub fn id(&self) -> ActorId {
        self.myself.id()
    }

    /// This actor's address, unless every [`ActorRef`] to it was dropped (the actor is then
    /// draining its mailbox before it stops).
    pub fn myself(&self) -> Option<ActorRef<A>> {
        self.myself.upgrade()
    }

    /// A weak address of this actor (does not keep it alive).
    pub fn weak_ref(&self) -> WeakActorRef<A> {
        self.myself.clone()
    }

    /// Stops this actor normally once the current handler returns. Messages still queued
    /// stay in the mailbox (for a supervised restart) or go to the dead letters.
    pub fn stop(&mut self) {
        self.stop_request.get_or_insert(ExitReason::Normal);
    }

    /// Stops this actor with an abnormal [`ExitReason::Failed`] once the current handler
    /// returns; supervisors treat it like a crash, with the error as the cause.
    pub fn fail(&mut self, err: impl Error + Send + Sync + 'static) {
        self.stop_request = Some(ExitReason::failed(err));
    }

    /// Watches `target`: this actor receives `Terminated` (converted into its message type,
    /// on the system lane) when `target` stops for good, or at once if it already has.
    pub fn watch<T: Actor>(&self, target: &ActorRef<T>)
    where
        A::Msg: From<Terminated>,
    {
        target.add_watcher(self.myself.clone());
    }

    /// Stops watching `target` (a notice already sent is not recalled).
    pub fn unwatch<T: Actor>(&self, target: &ActorRef<T>) {
        target.remove_watcher(self.id());
    }
}
