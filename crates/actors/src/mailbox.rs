//! The mailbox: a user lane (a bounded core-channels MPSC with a policy) and a system lane
//! (a small MPSC that never refuses) polled first, so stop, kill and watch notices are never
//! stuck behind a full user mailbox. [`Mailbox`] is the receiving side an actor runs on.

use std::collections::VecDeque;
use std::sync::Arc;

use nimsync_core_channels::mpsc;

use crate::cell::Cell;
use crate::dead_letters::{DeadLetterReason, DeadLetterSink};
use crate::hooks::Envelope;
use crate::{Actor, ActorId, ActorRef, ExitReason, Terminated, WeakActorRef};

/// What happens when a message is told to an actor whose mailbox is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MailboxPolicy {
    /// `tell` waits for room (backpressure); `try_tell` returns `Full` with the message.
    #[default]
    Block,
    /// `tell` never waits: a message that does not fit goes to the actor's dead-letter sink
    /// with [`DeadLetterReason::MailboxFull`] (counted, observable; never silently dropped).
    DeadLetterNewest,
    /// Never full: beyond the capacity, messages spill into an unbounded queue (memory grows
    /// with a slow actor). The capacity is the fast ring in front of it.
    Unbounded,
}

/// Messages of the system lane.
pub(crate) enum System<M> {
    /// Handle what is queued now, then stop (`Normal`).
    Stop,
    /// Stop after the current message without draining (`Shutdown`); for supervisors.
    Shutdown,
    /// Stop now, abandoning the running handler (`Killed`).
    Kill,
    /// A user message that overtakes the user lane (watch notices, supervisor events).
    Priority(Envelope<M>),
}

/// The receiving side of an actor's address: what an actor task runs on.
///
/// [`spawn_actor`](crate::spawn_actor) hides it. Supervisors use it directly: the address
/// ([`ActorRef`]) and the mailbox exist before and across the runs of an actor, so a
/// restarted actor keeps its address and the messages queued for it.
///
/// ```
/// use nimsync_actors::{Actor, ActorBuilder, Context, ExitReason};
///
/// struct Fragile;
/// impl Actor for Fragile {
///     type Msg = u32;
///     async fn handle(&mut self, n: u32, _: &mut Context<Self>) {
///         assert!(n != 0, "zero");
///     }
/// }
/// nimsync_scheduler::block_on(async {
///     let (addr, mut mailbox) = ActorBuilder::new().mailbox::<Fragile>().unwrap();
///     addr.tell(0).await.unwrap(); // will panic
///     addr.tell(1).await.unwrap(); // waits in the mailbox
///     let reason = mailbox.run(Fragile).await;
///     assert_eq!(reason.panic_message(), Some("zero"));
///     assert_eq!(addr.stats().mailbox_depth, 1); // still queued for the next run
///     addr.stop();
///     assert!(matches!(mailbox.run(Fragile).await, ExitReason::Normal)); // same address
///     assert_eq!(addr.stats().restarts, 1);
///     mailbox.terminate(ExitReason::Normal);
///     assert!(!addr.is_alive());
/// });
/// ```
pub struct Mailbox<A: Actor> {
    pub(crate) user: mpsc::Receiver<Envelope<A::Msg>>,
    pub(crate) system: mpsc::Receiver<System<A::Msg>>,
    /// System messages taken while a handler ran (kill is acted on at once; these wait).
    pub(crate) pending: VecDeque<System<A::Msg>>,
    pub(crate) cell: Arc<Cell>,
    pub(crate) myself: WeakActorRef<A>,
    pub(crate) sink: DeadLetterSink,
    pub(crate) sample_every: u32,
    pub(crate) runs: u64,
    pub(crate) terminated: bool,
}

impl<A: Actor> Mailbox<A> {
    /// The address's id.
    pub fn id(&self) -> ActorId {
        self.cell.id
    }

    /// The address, unless every [`ActorRef`] was dropped.
    pub fn actor_ref(&self) -> Option<ActorRef<A>> {
        self.myself.upgrade()
    }

    /// Ends the address for good: closes the mailbox, sends what is still queued to the
    /// dead letters, unregisters its names and notifies its watchers with `reason`.
    pub fn terminate(mut self, reason: ExitReason) -> Terminated {
        self.finish(reason)
    }

    fn finish(&mut self, reason: ExitReason) -> Terminated {
        self.terminated = true;
        self.user.close();
        self.system.close();
        let (id, ty) = (self.cell.id, self.cell.type_name);
        while let Ok(m) = self.user.try_recv() {
            self.sink
                .publish(id, ty, DeadLetterReason::ActorStopped, m.msg);
        }
        let leftover: Vec<_> = self.pending.drain(..).collect();
        for s in leftover.into_iter().chain(self.system.try_iter()) {
            if let System::Priority(m) = s {
                self.sink
                    .publish(id, ty, DeadLetterReason::ActorStopped, m.msg);
            }
        }
        let t = Terminated { id, reason };
        self.cell.terminate(t.clone());
        t
    }
}

impl<A: Actor> Drop for Mailbox<A> {
    /// A mailbox dropped without [`terminate`](Mailbox::terminate) (its task was dropped,
    /// e.g. at runtime shutdown) ends the address as `Killed`.
    fn drop(&mut self) {
        if !self.terminated {
            self.finish(ExitReason::Killed);
        }
    }
}

impl<A: Actor> core::fmt::Debug for Mailbox<A> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Mailbox")
            .field("id", &self.cell.id)
            .field("queued", &self.user.len())
            .field("runs", &self.runs)
            .finish()
    }
}
