//! [`ActorRef`]: the address of an actor (tell, ask, stop, kill, watch), and [`WeakActorRef`].

use core::fmt;
use core::future::{Future, poll_fn};
use core::hash::{Hash, Hasher};
use core::pin::pin;
use core::task::Poll;
use std::sync::{Arc, Weak};
use std::time::Duration;

use nimsync_core_channels::{TrySendError, mpsc};

use crate::cell::Cell;
use crate::dead_letters::{DeadLetterReason, DeadLetterSink};
use crate::hooks::{Envelope, MessageInfo};
use crate::mailbox::{MailboxPolicy, System};
use crate::{
    Actor, ActorId, ActorStats, AskError, ExitReason, Reply, TellError, Terminated, TryTellError,
};

pub(crate) struct RefInner<A: Actor> {
    pub(crate) user: mpsc::Sender<Envelope<A::Msg>>,
    pub(crate) system: mpsc::Sender<System<A::Msg>>,
    pub(crate) cell: Arc<Cell>,
    pub(crate) policy: MailboxPolicy,
    pub(crate) sink: DeadLetterSink,
}

impl<A: Actor> RefInner<A> {
    /// Sends on the system lane (it never refuses while open) and wakes the actor.
    fn send_system(&self, s: System<A::Msg>) -> Result<(), System<A::Msg>> {
        let r = self.system.try_send(s).map_err(|e| e.into_inner());
        if r.is_ok() {
            self.cell.doorbell.ring();
        }
        r
    }
}

impl<A: Actor> Drop for RefInner<A> {
    /// The last address is gone: close the mailbox now (rather than when the sender field is
    /// dropped, after this) so that the woken actor sees it closed, drains it and stops.
    fn drop(&mut self) {
        self.user.close();
        self.cell.doorbell.ring();
    }
}

/// The address of an actor of type `A`: cheap to clone (one reference count), `Send + Sync`,
/// compared and hashed by [`ActorId`].
///
/// When the last `ActorRef` is dropped the mailbox closes: the actor handles what is queued
/// and stops normally. A restarted (supervised) actor keeps its address.
///
/// ```
/// use nimsync_actors::{Actor, Context, Reply, spawn_actor};
///
/// struct Echo;
/// impl Actor for Echo {
///     type Msg = (String, Reply<String>);
///     async fn handle(&mut self, (s, reply): Self::Msg, _: &mut Context<Self>) {
///         reply.send(s);
///     }
/// }
/// nimsync_scheduler::block_on(async {
///     let echo = spawn_actor(Echo);
///     let again = echo.clone();
///     assert_eq!(echo, again);
///     assert_eq!(again.ask(|r| ("hi".to_string(), r)).await.unwrap(), "hi");
///     assert!(echo.is_alive());
///     echo.stop_and_wait().await;
///     assert!(!echo.is_alive());
/// });
/// ```
pub struct ActorRef<A: Actor> {
    inner: Arc<RefInner<A>>,
}

/// An address that does not keep the actor alive; [`upgrade`](WeakActorRef::upgrade) it to
/// send.
///
/// ```
/// use nimsync_actors::{Actor, Context, spawn_actor};
/// struct Nop;
/// impl Actor for Nop { type Msg = (); async fn handle(&mut self, _: (), _: &mut Context<Self>) {} }
/// nimsync_scheduler::block_on(async {
///     let a = spawn_actor(Nop);
///     let weak = a.downgrade();
///     assert_eq!(weak.upgrade().as_ref(), Some(&a));
///     drop(a); // the last address: the actor stops
///     assert!(weak.upgrade().is_none());
/// });
/// ```
pub struct WeakActorRef<A: Actor> {
    inner: Weak<RefInner<A>>,
    id: ActorId,
}

impl<A: Actor> ActorRef<A> {
    pub(crate) fn from_inner(inner: Arc<RefInner<A>>) -> Self {
        ActorRef { inner }
    }

    pub(crate) fn cell(&self) -> &Arc<Cell> {
        &self.inner.cell
    }

    /// The actor's id.
    pub fn id(&self) -> ActorId {
        self.inner.cell.id
    }

    /// Whether the address is still alive (it may be between two supervised runs).
    pub fn is_alive(&self) -> bool {
        self.inner.cell.is_alive()
    }

    /// The actor type's name.
    pub fn type_name(&self) -> &'static str {
        self.inner.cell.type_name
    }

    /// A weak address.
    pub fn downgrade(&self) -> WeakActorRef<A> {
        WeakActorRef {
            inner: Arc::downgrade(&self.inner),
            id: self.id(),
        }
    }

    /// Sends a message, waiting while the mailbox is full (policy `Block`). Under
    /// `DeadLetterNewest` it never waits (a message that does not fit goes to the dead
    /// letters). If the actor has stopped, the message comes back in the error.
    pub async fn tell(&self, msg: A::Msg) -> Result<(), TellError<A::Msg>> {
        let env = self.envelope(msg, false);
        if self.inner.policy == MailboxPolicy::DeadLetterNewest {
            return match self.inner.user.try_send(env) {
                Ok(()) => {
                    self.inner.cell.doorbell.ring();
                    Ok(())
                }
                Err(TrySendError::Full(m)) => {
                    self.dead_letter(DeadLetterReason::MailboxFull, m.msg);
                    Ok(())
                }
                Err(TrySendError::Closed(m)) => Err(TellError(m.msg)),
            };
        }
        match self.inner.user.send(env).await {
            Ok(()) => {
                self.inner.cell.doorbell.ring();
                Ok(())
            }
            Err(e) => Err(TellError(e.0.msg)),
        }
    }

    /// Sends without waiting: `Full` (policy `Block` only) or `Stopped` give the message back.
    pub fn try_tell(&self, msg: A::Msg) -> Result<(), TryTellError<A::Msg>> {
        match self.inner.user.try_send(self.envelope(msg, false)) {
            Ok(()) => {
                self.inner.cell.doorbell.ring();
                Ok(())
            }
            Err(TrySendError::Full(m)) if self.inner.policy == MailboxPolicy::DeadLetterNewest => {
                self.dead_letter(DeadLetterReason::MailboxFull, m.msg);
                Ok(())
            }
            Err(TrySendError::Full(m)) => Err(TryTellError::Full(m.msg)),
            Err(TrySendError::Closed(m)) => Err(TryTellError::Stopped(m.msg)),
        }
    }

    /// Sends a message on the system lane: it overtakes the user mailbox and never waits
    /// (the lane is unbounded). Meant for notices (watch, supervision events), not traffic.
    pub fn tell_priority(&self, msg: A::Msg) -> Result<(), TellError<A::Msg>> {
        match self
            .inner
            .send_system(System::Priority(self.envelope(msg, true)))
        {
            Ok(()) => Ok(()),
            Err(System::Priority(m)) => Err(TellError(m.msg)),
            Err(_) => unreachable!("the value sent comes back"),
        }
    }

    /// Sends a request built around a fresh [`Reply`] slot and waits for the answer.
    ///
    /// Never hangs on a dead actor: if the actor has stopped the request goes to the dead
    /// letters and this returns [`AskError::Stopped`]; if the actor stops, panics or drops
    /// the request before replying, [`AskError::NoReply`].
    pub async fn ask<R: Send + 'static>(
        &self,
        make: impl FnOnce(Reply<R>) -> A::Msg,
    ) -> Result<R, AskError> {
        let (tx, rx) = oneshot::channel();
        let env = self.envelope(make(Reply::new(tx)), false);
        let actor = self.id();
        if self.inner.policy == MailboxPolicy::DeadLetterNewest {
            match self.inner.user.try_send(env) {
                Ok(()) => {}
                Err(TrySendError::Full(m)) => {
                    self.dead_letter(DeadLetterReason::MailboxFull, m.msg);
                    return Err(AskError::MailboxFull { actor });
                }
                Err(TrySendError::Closed(m)) => {
                    self.dead_letter(DeadLetterReason::ActorStopped, m.msg);
                    return Err(AskError::Stopped { actor });
                }
            }
        } else if let Err(e) = self.inner.user.send(env).await {
            self.dead_letter(DeadLetterReason::ActorStopped, e.0.msg);
            return Err(AskError::Stopped { actor });
        }
        self.inner.cell.doorbell.ring();
        rx.await.map_err(|_| AskError::NoReply { actor })
    }

    /// [`ask`](Self::ask) with an upper bound on the whole exchange (waiting for room and for
    /// the reply); [`AskError::Timeout`] after `timeout` (on the scheduler's clock).
    pub async fn ask_timeout<R: Send + 'static>(
        &self,
        make: impl FnOnce(Reply<R>) -> A::Msg,
        timeout: Duration,
    ) -> Result<R, AskError> {
        let mut ask = pin!(self.ask(make));
        let mut timer = pin!(nimsync_scheduler::sleep(timeout));
        poll_fn(|cx| {
            if let Poll::Ready(r) = ask.as_mut().poll(cx) {
                return Poll::Ready(r);
            }
            if timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(AskError::Timeout { actor: self.id() }));
            }
            Poll::Pending
        })
        .await
    }

    /// Graceful stop: the actor handles the messages queued now, then stops (`Normal`).
    /// The request travels on the system lane, so a full mailbox does not delay it. During
    /// that drain the system lane is still read before each message: a [`kill`](Self::kill)
    /// (graceful stop, then kill after a timeout) or a [`shutdown`](Self::shutdown) cuts it
    /// short.
    pub fn stop(&self) {
        let _ = self.inner.send_system(System::Stop);
    }

    /// Stops now, also while a [`stop`](Self::stop) is draining the mailbox: the running
    /// handler is abandoned at its next `.await` (a handler that never yields cannot be
    /// interrupted), no hook runs, queued messages go to the dead letters (`Killed`).
    pub fn kill(&self) {
        let _ = self.inner.send_system(System::Kill);
    }

    /// Ends the current run after the current message, without draining the mailbox and
    /// with reason `Shutdown`. Supervisors use it: the queued messages wait for the next run.
    /// Asked for between two runs, or reaching a run that then ends another way (a panic, a
    /// stop, a failure), it is dropped: it never ends the next run.
    pub fn shutdown(&self) {
        let _ = self.inner.send_system(System::Shutdown);
    }

    /// [`stop`](Self::stop), then waits until the address has stopped.
    pub async fn stop_and_wait(&self) -> Terminated {
        self.stop();
        self.wait_terminated().await
    }

    /// [`kill`](Self::kill), then waits until the address has stopped.
    pub async fn kill_and_wait(&self) -> Terminated {
        self.kill();
        self.wait_terminated().await
    }

    /// Waits until the address stops for good (at once if it already has).
    pub async fn wait_terminated(&self) -> Terminated {
        let (tx, rx) = oneshot::channel();
        self.inner.cell.add_watcher(
            None,
            Box::new(move |t| {
                let _ = tx.send(t);
            }),
        );
        rx.await.unwrap_or(Terminated {
            id: self.id(),
            reason: ExitReason::Killed,
        })
    }

    /// Makes `self` watch `target`: when `target` stops for good (normally, after a panic,
    /// killed), `self` receives `Terminated` (converted into its message type) on its system
    /// lane; at once if `target` already stopped. A watch does not keep `self` alive.
    ///
    /// ```
    /// use nimsync_actors::{Actor, Context, ExitReason, Reply, Terminated, spawn_actor};
    ///
    /// struct Victim;
    /// impl Actor for Victim { type Msg = (); async fn handle(&mut self, _: (), _: &mut Context<Self>) { panic!("boom") } }
    ///
    /// struct Mourner { seen: Vec<Terminated> }
    /// enum Msg { Down(Terminated), Seen(Reply<Vec<Terminated>>) }
    /// impl From<Terminated> for Msg { fn from(t: Terminated) -> Self { Msg::Down(t) } }
    /// impl Actor for Mourner {
    ///     type Msg = Msg;
    ///     async fn handle(&mut self, msg: Msg, _: &mut Context<Self>) {
    ///         match msg {
    ///             Msg::Down(t) => self.seen.push(t),
    ///             Msg::Seen(r) => { r.send(self.seen.clone()); }
    ///         }
    ///     }
    /// }
    /// nimsync_scheduler::block_on(async {
    ///     let victim = spawn_actor(Victim);
    ///     let mourner = spawn_actor(Mourner { seen: vec![] });
    ///     mourner.watch(&victim);
    ///     victim.tell(()).await.unwrap();
    ///     victim.wait_terminated().await;
    ///     let seen = mourner.ask(Msg::Seen).await.unwrap();
    ///     assert_eq!(seen[0].id, victim.id());
    ///     assert_eq!(seen[0].reason.panic_message(), Some("boom"));
    /// });
    /// ```
    pub fn watch<T: Actor>(&self, target: &ActorRef<T>)
    where
        A::Msg: From<Terminated>,
    {
        target.add_watcher(self.downgrade());
    }

    /// Stops watching `target`.
    pub fn unwatch<T: Actor>(&self, target: &ActorRef<T>) {
        target.remove_watcher(self.id());
    }

    pub(crate) fn add_watcher<W: Actor>(&self, watcher: WeakActorRef<W>)
    where
        W::Msg: From<Terminated>,
    {
        let by = watcher.id();
        self.inner.cell.add_watcher(
            Some(by),
            Box::new(move |t| {
                if let Some(w) = watcher.upgrade() {
                    let _ = w.tell_priority(W::Msg::from(t));
                }
            }),
        );
    }

    pub(crate) fn remove_watcher(&self, by: ActorId) {
        self.inner.cell.remove_watchers(by);
    }

    /// A snapshot of the actor's statistics.
    pub fn stats(&self) -> ActorStats {
        self.inner.cell.stats.snapshot(self.inner.user.len())
    }

    /// Wraps `msg` with what the message hooks (if installed) capture from the sender.
    #[inline(always)]
    fn envelope(&self, msg: A::Msg, priority: bool) -> Envelope<A::Msg> {
        Envelope::new(msg, || MessageInfo {
            actor: self.id(),
            actor_type: self.type_name(),
            message_type: core::any::type_name::<A::Msg>(),
            priority,
        })
    }

    fn dead_letter(&self, reason: DeadLetterReason, msg: A::Msg) {
        let cell = &self.inner.cell;
        self.inner
            .sink
            .publish(cell.id, cell.type_name, reason, msg);
    }
}

impl<A: Actor> WeakActorRef<A> {
    pub(crate) fn new(inner: Weak<RefInner<A>>, id: ActorId) -> Self {
        WeakActorRef { inner, id }
    }

    /// The actor's id.
    pub fn id(&self) -> ActorId {
        self.id
    }

    /// A strong address, unless every [`ActorRef`] was dropped.
    pub fn upgrade(&self) -> Option<ActorRef<A>> {
        self.inner.upgrade().map(ActorRef::from_inner)
    }
}

impl<A: Actor> Clone for ActorRef<A> {
    fn clone(&self) -> Self {
        ActorRef {
            inner: self.inner.clone(),
        }
    }
}

impl<A: Actor> Clone for WeakActorRef<A> {
    fn clone(&self) -> Self {
        WeakActorRef {
            inner: self.inner.clone(),
            id: self.id,
        }
    }
}

impl<A: Actor> PartialEq for ActorRef<A> {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl<A: Actor> Eq for ActorRef<A> {}

impl<A: Actor> Hash for ActorRef<A> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id().hash(state);
    }
}

impl<A: Actor> PartialOrd for ActorRef<A> {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<A: Actor> Ord for ActorRef<A> {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.id().cmp(&other.id())
    }
}

impl<A: Actor> fmt::Debug for ActorRef<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorRef")
            .field("id", &self.id())
            .field("type", &self.type_name())
            .field("alive", &self.is_alive())
            .finish()
    }
}

impl<A: Actor> fmt::Debug for WeakActorRef<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakActorRef")
            .field("id", &self.id)
            .finish()
    }
}
