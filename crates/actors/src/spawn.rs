//! Creating actors: [`ActorBuilder`] (mailbox capacity, policy, dead-letter sink, sampling)
//! and the [`spawn_actor`] shorthand.

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};

use nimsync_core_channels::{Builder, Policy};

use crate::actor_ref::RefInner;
use crate::cell::Cell;
use crate::dead_letters::DeadLetterSink;
use crate::mailbox::{Mailbox, MailboxPolicy};
use crate::{Actor, ActorRef, SpawnError, WeakActorRef};

/// Default user-mailbox capacity.
pub const DEFAULT_MAILBOX_CAPACITY: usize = 1024;

/// Ring size of the system lane (it spills beyond, so it never refuses).
const SYSTEM_LANE_CAPACITY: usize = 16;

/// Default handle-time sampling: one message in this many is timed.
pub const DEFAULT_HANDLE_TIME_SAMPLING: u32 = 16;

/// Configures and spawns actors.
///
/// ```
/// use nimsync_actors::{Actor, ActorBuilder, Context, MailboxPolicy, SpawnError};
/// struct Nop;
/// impl Actor for Nop { type Msg = (); async fn handle(&mut self, _: (), _: &mut Context<Self>) {} }
///
/// nimsync_scheduler::block_on(async {
///     let a = ActorBuilder::new()
///         .capacity(64)
///         .policy(MailboxPolicy::Block)
///         .spawn(Nop)
///         .unwrap();
///     a.tell(()).await.unwrap();
///     assert!(matches!(ActorBuilder::new().capacity(0).spawn(Nop), Err(SpawnError::Mailbox(_))));
/// });
/// ```
#[derive(Debug, Clone)]
pub struct ActorBuilder {
    capacity: usize,
    policy: MailboxPolicy,
    sink: Option<DeadLetterSink>,
    sample_every: u32,
}

impl Default for ActorBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ActorBuilder {
    /// Capacity [`DEFAULT_MAILBOX_CAPACITY`], policy `Block`, the global dead-letter sink,
    /// one message in [`DEFAULT_HANDLE_TIME_SAMPLING`] timed.
    pub fn new() -> Self {
        ActorBuilder {
            capacity: DEFAULT_MAILBOX_CAPACITY,
            policy: MailboxPolicy::Block,
            sink: None,
            sample_every: DEFAULT_HANDLE_TIME_SAMPLING,
        }
    }

    /// User-mailbox capacity (rounded up to a power of two; 0 is an error at spawn).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// What `tell` does on a full mailbox.
    pub fn policy(mut self, policy: MailboxPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Where this actor's dead letters go (default: [`DeadLetterSink::global`]).
    pub fn dead_letters(mut self, sink: DeadLetterSink) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Times one handled message in `every` for the handle-time histogram (1 = all; each
    /// timing costs two clock reads). 0 is an error at spawn.
    pub fn sample_handle_time(mut self, every: u32) -> Self {
        self.sample_every = every;
        self
    }

    /// Creates an address and its mailbox without running anything (for supervisors and
    /// custom runners: see [`Mailbox`]).
    pub fn mailbox<A: Actor>(&self) -> Result<(ActorRef<A>, Mailbox<A>), SpawnError> {
        if self.sample_every == 0 {
            return Err(SpawnError::ZeroSampling);
        }
        let policy = match self.policy {
            MailboxPolicy::Block | MailboxPolicy::DeadLetterNewest => Policy::Block,
            MailboxPolicy::Unbounded => Policy::Overflow,
        };
        let (user_tx, user_rx) = Builder::new(self.capacity).policy(policy).mpsc()?;
        let (sys_tx, sys_rx) = Builder::new(SYSTEM_LANE_CAPACITY)
            .policy(Policy::Overflow)
            .mpsc()?;
        let cell = Arc::new(Cell::new(core::any::type_name::<A>()));
        let sink = self.sink.clone().unwrap_or_else(global_sink);
        let inner = Arc::new(RefInner {
            user: user_tx,
            system: sys_tx,
            cell: cell.clone(),
            policy: self.policy,
            sink: sink.clone(),
        });
        let myself = WeakActorRef::new(Arc::downgrade(&inner), cell.id);
        let mailbox = Mailbox {
            user: user_rx,
            system: sys_rx,
            pending: VecDeque::new(),
            cell,
            myself,
            sink,
            sample_every: self.sample_every,
            runs: 0,
            terminated: false,
        };
        Ok((ActorRef::from_inner(inner), mailbox))
    }

    /// Spawns `actor` on the current nimsync runtime (or the global one). Its address ends
    /// when the actor stops.
    pub fn spawn<A: Actor>(&self, actor: A) -> Result<ActorRef<A>, SpawnError> {
        let (addr, mut mailbox) = self.mailbox::<A>()?;
        drop(nimsync_scheduler::spawn(async move {
            let reason = mailbox.run(actor).await;
            mailbox.terminate(reason);
        }));
        Ok(addr)
    }
}

fn global_sink() -> DeadLetterSink {
    static GLOBAL: OnceLock<DeadLetterSink> = OnceLock::new();
    GLOBAL.get_or_init(DeadLetterSink::global).clone()
}

/// Spawns `actor` with the default [`ActorBuilder`] on the current nimsync runtime (or the
/// global one) and returns its address.
///
/// ```
/// use nimsync_actors::{Actor, Context, spawn_actor};
/// struct Printer;
/// impl Actor for Printer {
///     type Msg = String;
///     async fn handle(&mut self, line: String, _: &mut Context<Self>) { println!("{line}"); }
/// }
/// nimsync_scheduler::block_on(async {
///     let p = spawn_actor(Printer);
///     p.tell("hello".into()).await.unwrap();
///     p.stop_and_wait().await;
/// });
/// ```
pub fn spawn_actor<A: Actor>(actor: A) -> ActorRef<A> {
    match ActorBuilder::new().spawn(actor) {
        Ok(addr) => addr,
        // The default capacity and sampling are valid.
        Err(e) => unreachable!("the default actor configuration is valid: {e}"),
    }
}
