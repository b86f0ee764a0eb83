//! [`Reply`]: the one-shot slot a request message carries for its answer.

use core::fmt;

/// The reply slot of a request: [`ask`](crate::ActorRef::ask) builds the message around it,
/// the handler answers through [`send`](Reply::send). Dropping it unanswered makes the
/// asker's `ask` fail with [`AskError::NoReply`](crate::AskError::NoReply) (never a hang).
///
/// Built on the `oneshot` crate: one allocation per request, a lock-free send and an async
/// receive.
///
/// ```
/// use nimsync_actors::{Actor, Context, Reply, spawn_actor};
///
/// struct Doubler;
/// enum Msg { Double(u32, Reply<u32>) }
/// impl Actor for Doubler {
///     type Msg = Msg;
///     async fn handle(&mut self, Msg::Double(x, reply): Msg, _: &mut Context<Self>) {
///         reply.send(2 * x);
///     }
/// }
/// nimsync_scheduler::block_on(async {
///     let d = spawn_actor(Doubler);
///     assert_eq!(d.ask(|r| Msg::Double(21, r)).await, Ok(42));
/// });
/// ```
pub struct Reply<R>(oneshot::Sender<R>);

impl<R> Reply<R> {
    pub(crate) fn new(tx: oneshot::Sender<R>) -> Self {
        Reply(tx)
    }

    /// Sends the answer. Returns `false` if the asker is gone (it timed out or was dropped).
    pub fn send(self, value: R) -> bool {
        self.0.send(value).is_ok()
    }

    /// Whether the asker is gone (sending would be pointless).
    pub fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
}

impl<R> fmt::Debug for Reply<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("closed", &self.is_closed())
            .finish()
    }
}
