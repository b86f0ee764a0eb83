//! The [`Actor`] trait: typed messages, an async handler and lifecycle hooks.

use core::future::Future;

use crate::{ActorRef, Context, ExitReason, spawn_actor};

/// An actor: private state, one typed message enum, an async handler that owns `&mut self`.
///
/// The state lives inside the actor's task, so no lock is ever taken around it. Messages are
/// handled one at a time, in mailbox order (system-lane messages first).
///
/// Lifecycle of one run: [`started`](Actor::started), then `handle` per message, then
/// [`stopping`](Actor::stopping) (on a requested stop: not after a panic or kill), then
/// [`stopped`](Actor::stopped) (always, except after a kill). A panic in any of them ends
/// the run with [`ExitReason::Panicked`], which supervisors and watchers see.
///
/// Handlers are written as `async fn`; the future must be `Send` (it runs on the work-stealing
/// scheduler).
///
/// ```
/// use nimsync_actors::{Actor, Context, Reply, spawn_actor};
///
/// struct Counter { n: u64 }
/// enum Msg { Add(u64), Get(Reply<u64>) }
///
/// impl Actor for Counter {
///     type Msg = Msg;
///     async fn handle(&mut self, msg: Msg, _ctx: &mut Context<Self>) {
///         match msg {
///             Msg::Add(k) => self.n += k,
///             Msg::Get(reply) => { reply.send(self.n); }
///         }
///     }
/// }
///
/// nimsync_scheduler::block_on(async {
///     let counter = Counter { n: 0 }.start();
///     counter.tell(Msg::Add(2)).await.unwrap();
///     counter.tell(Msg::Add(3)).await.unwrap();
///     assert_eq!(counter.ask(Msg::Get).await, Ok(5));
/// });
/// ```
pub trait Actor: Sized + Send + 'static {
    /// The messages this actor handles (usually an enum; requests carry a [`Reply`](crate::Reply)).
    type Msg: Send + 'static;

    /// Handles one message.
    fn handle(
        &mut self,
        msg: Self::Msg,
        ctx: &mut Context<Self>,
    ) -> impl Future<Output = ()> + Send;

    /// Runs before the first message of each run (also after a supervised restart).
    fn started(&mut self, ctx: &mut Context<Self>) -> impl Future<Output = ()> + Send {
        let _ = ctx;
        async {}
    }

    /// Runs when the actor stops on request (stop, shutdown, [`Context::stop`],
    /// [`Context::fail`], or every address dropped); not after a panic or a kill.
    fn stopping(&mut self, ctx: &mut Context<Self>) -> impl Future<Output = ()> + Send {
        let _ = ctx;
        async {}
    }

    /// Runs last, with the reason (after a panic too, on the state the panic left); not
    /// after a kill.
    fn stopped(&mut self, reason: &ExitReason) -> impl Future<Output = ()> + Send {
        let _ = reason;
        async {}
    }

    /// Spawns the actor with the default mailbox ([`spawn_actor`]).
    fn start(self) -> ActorRef<Self> {
        spawn_actor(self)
    }
}
