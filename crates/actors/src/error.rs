//! Error types of the actor API. Every send error hands the message back.

use core::fmt;

use crate::ActorId;

/// Error of [`tell`](crate::ActorRef::tell): the actor has stopped; the message comes back.
#[derive(thiserror::Error)]
#[error("the actor has stopped; the message was not delivered")]
pub struct TellError<M>(pub M);

impl<M> TellError<M> {
    /// Takes the message back.
    pub fn into_inner(self) -> M {
        self.0
    }
}

impl<M> fmt::Debug for TellError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TellError(..)")
    }
}

/// Error of [`try_tell`](crate::ActorRef::try_tell); the message comes back.
#[derive(thiserror::Error)]
pub enum TryTellError<M> {
    /// The mailbox is full (policy `Block`).
    #[error("the actor's mailbox is full")]
    Full(M),
    /// The actor has stopped.
    #[error("the actor has stopped; the message was not delivered")]
    Stopped(M),
}

impl<M> TryTellError<M> {
    /// Takes the message back.
    pub fn into_inner(self) -> M {
        match self {
            TryTellError::Full(m) | TryTellError::Stopped(m) => m,
        }
    }
}

impl<M> fmt::Debug for TryTellError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryTellError::Full(_) => f.write_str("Full(..)"),
            TryTellError::Stopped(_) => f.write_str("Stopped(..)"),
        }
    }
}

/// Error of [`ask`](crate::ActorRef::ask) and [`ask_timeout`](crate::ActorRef::ask_timeout).
///
/// ```
/// use nimsync_actors::AskError;
/// # let id = nimsync_actors::spawn_actor(Idle).id();
/// # struct Idle;
/// # impl nimsync_actors::Actor for Idle { type Msg = (); async fn handle(&mut self, _: (), _: &mut nimsync_actors::Context<Self>) {} }
/// let e = AskError::NoReply { actor: id };
/// assert!(e.to_string().contains("without replying"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AskError {
    /// The actor had stopped: the request was not delivered (it went to the dead letters).
    #[error("{actor} has stopped; the request was not delivered")]
    Stopped {
        /// The actor asked.
        actor: ActorId,
    },
    /// The request was delivered but the actor dropped it without replying: it stopped,
    /// panicked or was killed first, or its handler dropped the [`Reply`](crate::Reply).
    #[error("{actor} dropped the request without replying (stopped, panicked or ignored it)")]
    NoReply {
        /// The actor asked.
        actor: ActorId,
    },
    /// The mailbox was full and its policy sends new messages to the dead letters.
    #[error("{actor}'s mailbox is full; the request went to the dead letters")]
    MailboxFull {
        /// The actor asked.
        actor: ActorId,
    },
    /// No reply within the timeout.
    #[error("{actor} did not reply in time")]
    Timeout {
        /// The actor asked.
        actor: ActorId,
    },
}

/// Error of [`ActorBuilder`](crate::ActorBuilder): the mailbox cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpawnError {
    /// The mailbox capacity is invalid (zero or too large).
    #[error("invalid mailbox: {0}")]
    Mailbox(#[from] nimsync_core_channels::BuildError),
    /// `sample_handle_time(0)` was given; use 1 to time every message.
    #[error("handle-time sampling interval must be at least 1")]
    ZeroSampling,
}

/// Error of the named registry ([`register`](crate::register), [`lookup`](crate::lookup)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// A live actor already holds the name.
    #[error("the name {0:?} is already registered to a live actor")]
    NameTaken(String),
    /// No live actor has the name.
    #[error("no live actor is registered as {0:?}")]
    NotFound(String),
    /// The actor registered under the name is of another type.
    #[error("{name:?} is a {found}, not a {expected}")]
    WrongType {
        /// The name looked up.
        name: String,
        /// The type asked for.
        expected: &'static str,
        /// The registered actor's type.
        found: &'static str,
    },
}
