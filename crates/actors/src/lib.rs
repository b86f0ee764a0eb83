//! # nimsync-actors — typed actors (L5)
//!
//! An actor is private state plus a typed message enum, run by one task on nimsync's
//! scheduler: its handler owns `&mut self`, so the state needs no lock. You talk to it
//! through an [`ActorRef`]: [`tell`](ActorRef::tell) (fire and forget, waits when the
//! mailbox is full), [`try_tell`](ActorRef::try_tell), [`ask`](ActorRef::ask) /
//! [`ask_timeout`](ActorRef::ask_timeout) (request and reply), [`stop`](ActorRef::stop)
//! (graceful: drain, then stop) and [`kill`](ActorRef::kill) (now).
//!
//! ```
//! use nimsync_actors::{Actor, Context, Reply, spawn_actor};
//!
//! struct Account { balance: i64 }
//!
//! enum Msg {
//!     Deposit(i64),
//!     Balance(Reply<i64>),
//! }
//!
//! impl Actor for Account {
//!     type Msg = Msg;
//!     async fn handle(&mut self, msg: Msg, _ctx: &mut Context<Self>) {
//!         match msg {
//!             Msg::Deposit(n) => self.balance += n,
//!             Msg::Balance(reply) => { reply.send(self.balance); }
//!         }
//!     }
//! }
//!
//! nimsync_scheduler::block_on(async {
//!     let account = spawn_actor(Account { balance: 0 });
//!     for _ in 0..10 {
//!         account.tell(Msg::Deposit(5)).await.unwrap();
//!     }
//!     assert_eq!(account.ask(Msg::Balance).await, Ok(50));
//!     account.stop_and_wait().await;
//!     // Asking a stopped actor is a clear error, never a hang.
//!     assert!(account.ask(Msg::Balance).await.is_err());
//! });
//! ```
//!
//! ## Mailbox
//!
//! Two lanes, both core-channels MPSC rings: the *user lane* (bounded,
//! [`ActorBuilder::capacity`], with a [`MailboxPolicy`]) and the *system lane* (stop, kill,
//! shutdown, watch notices and [`tell_priority`](ActorRef::tell_priority); it never refuses),
//! which the actor polls first, so a stop is never stuck behind a full mailbox.
//!
//! ## Failure, death and dead letters
//!
//! A panic in a hook or handler stops the actor with [`ExitReason::Panicked`]; supervisors
//! (nimsync-supervision) and watchers ([`ActorRef::watch`], [`Context::watch`]) see the
//! reason in a [`Terminated`] notice. Every message ends handled, returned to its sender in a
//! send error, or in a [`DeadLetterSink`] with a [`DeadLetterReason`]: none is dropped
//! silently. [`ActorRef::stats`] gives messages handled, mailbox depth, restarts and a
//! handle-time histogram.
//!
//! ## Registry
//!
//! [`register`] a name, [`lookup`] it typed; the name is released when the actor stops.
//!
//! ## Design
//!
//! `runner` holds the receive loop (biased towards the system lane, panics caught per poll,
//! kill honoured while a handler awaits; it handles every queued message in one poll, with a
//! voluntary yield every 128); `mailbox` the two lanes and termination; `cell` the state the
//! address and the task share, including the *doorbell* an idle actor parks on (its waker
//! plus a flag: a send costs one load while the actor is busy, and waking it one swap, with
//! no listener allocation or lock). The reply slot of `ask` is the `oneshot` crate (one
//! allocation, lock-free, loom-tested). Everything is safe code.
//!
//! ## Hooks for upper layers
//!
//! [`set_message_hooks`] installs process-wide [`MessageHooks`]: a value captured at `tell` /
//! `ask` travels with the message and is handed to hooks around its handler (telemetry uses
//! it to carry trace context into `handle`). Without hooks: one acquire load per send and per
//! handled message.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod actor;
mod actor_ref;
mod cell;
mod context;
mod dead_letters;
mod doorbell;
mod error;
mod exit;
mod hooks;
mod id;
mod mailbox;
mod registry;
mod reply;
mod runner;
mod spawn;
mod stats;

pub use actor::Actor;
pub use actor_ref::{ActorRef, WeakActorRef};
pub use context::Context;
pub use dead_letters::{
    DeadLetter, DeadLetterLog, DeadLetterReason, DeadLetterRecord, DeadLetterSink,
    global_dead_letter_count, set_global_dead_letter_handler,
};
pub use error::{AskError, RegistryError, SpawnError, TellError, TryTellError};
pub use exit::{ExitReason, Terminated};
pub use hooks::{
    HandleOutcome, HooksAlreadySet, MessageContext, MessageHooks, MessageInfo, set_message_hooks,
};
pub use id::ActorId;
pub use mailbox::{Mailbox, MailboxPolicy};
pub use registry::{lookup, register, unregister};
pub use reply::Reply;
pub use spawn::{
    ActorBuilder, DEFAULT_HANDLE_TIME_SAMPLING, DEFAULT_MAILBOX_CAPACITY, spawn_actor,
};
pub use stats::{ActorStats, HISTOGRAM_BUCKETS, HandleTimeHistogram};
