//! Message hooks: a process-wide, optional [`MessageHooks`] that upper layers (telemetry)
//! install to follow a message from its sender into the handler that runs it.

use core::any::Any;
use core::fmt;
use std::sync::OnceLock;

use crate::ActorId;

/// What a hook knows about a message: the actor it is for and the types involved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageInfo {
    /// The receiving actor.
    pub actor: ActorId,
    /// The actor's type name (`core::any::type_name`).
    pub actor_type: &'static str,
    /// The message type's name (`core::any::type_name` of `Actor::Msg`).
    pub message_type: &'static str,
    /// Whether it travels on the system lane ([`tell_priority`](crate::ActorRef::tell_priority)).
    pub priority: bool,
}

/// How a handler run ended, for [`MessageHooks::on_handle_end`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandleOutcome {
    /// The handler returned.
    Completed,
    /// The handler panicked (the actor stops with `Panicked`).
    Panicked,
    /// The actor was killed while the handler waited.
    Killed,
}

/// An opaque value a hook attaches to a message (e.g. the sender's trace context).
///
/// ```
/// let cx = nimsync_actors::MessageContext::new(42_u32);
/// assert_eq!(cx.downcast::<u32>().ok(), Some(42));
/// ```
pub struct MessageContext(Box<dyn Any + Send>);

impl MessageContext {
    /// Wraps `value`.
    pub fn new<T: Any + Send>(value: T) -> Self {
        MessageContext(Box::new(value))
    }

    /// Takes the value back if it is a `T` (the context itself otherwise).
    pub fn downcast<T: Any>(self) -> Result<T, MessageContext> {
        match self.0.downcast::<T>() {
            Ok(v) => Ok(*v),
            Err(other) => Err(MessageContext(other)),
        }
    }

    /// A reference to the value if it is a `T`.
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

impl fmt::Debug for MessageContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MessageContext(..)")
    }
}

/// Hooks around actor messages, installed once per process with [`set_message_hooks`].
///
/// * [`on_send`](MessageHooks::on_send) runs on the sender's task at every `tell`, `try_tell`,
///   `ask` and `tell_priority`; what it returns (an opaque [`MessageContext`], e.g. the
///   sender's trace context) travels in the mailbox with the message.
/// * [`on_handle_start`](MessageHooks::on_handle_start) runs on the actor's task before the
///   handler, with that context (e.g. makes it current, opens a span);
///   [`on_handle_end`](MessageHooks::on_handle_end) after it, with how it ended.
///
/// **Cost when no hook is installed:** one acquire load per send and per handled message,
/// plus one pointer-sized field per queued message (always `None`).
///
/// Only one set of hooks can be installed per process (the first
/// [`set_message_hooks`] wins), and it stays for the life of the process: install a
/// dispatcher that decides per message (telemetry does so from the running task's tracer).
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use nimsync_actors::{Actor, Context, HandleOutcome, MessageContext, MessageHooks, MessageInfo};
///
/// static SENT: AtomicUsize = AtomicUsize::new(0);
/// struct Count;
/// impl MessageHooks for Count {
///     fn on_send(&self, _: &MessageInfo) -> Option<MessageContext> {
///         Some(MessageContext::new(SENT.fetch_add(1, Ordering::Relaxed)))
///     }
///     fn on_handle_start(&self, _: &MessageInfo, sent: Option<MessageContext>) -> Option<MessageContext> {
///         sent // kept until the handler ends
///     }
///     fn on_handle_end(&self, _: &MessageInfo, scope: Option<MessageContext>, outcome: HandleOutcome) {
///         let n = scope.and_then(|s| s.downcast::<usize>().ok());
///         assert!(n.is_some() && outcome == HandleOutcome::Completed);
///     }
/// }
/// static COUNT: Count = Count;
///
/// struct Nop;
/// impl Actor for Nop { type Msg = (); async fn handle(&mut self, _: (), _: &mut Context<Self>) {} }
///
/// if nimsync_actors::set_message_hooks(&COUNT).is_ok() {
///     nimsync_scheduler::block_on(async {
///         let a = nimsync_actors::spawn_actor(Nop);
///         a.tell(()).await.unwrap();
///         a.stop_and_wait().await;
///     });
///     assert!(SENT.load(Ordering::Relaxed) >= 1);
/// }
/// ```
///
/// They run inline on hot paths: keep them cheap, and do not panic in them.
pub trait MessageHooks: Send + Sync + 'static {
    /// On the sender's task, when a message is enqueued (also for messages that end in the
    /// dead letters). The value travels with the message.
    fn on_send(&self, info: &MessageInfo) -> Option<MessageContext>;

    /// On the actor's task, before the handler runs: `sent` is what `on_send` returned. The
    /// result is handed to [`on_handle_end`](Self::on_handle_end).
    fn on_handle_start(
        &self,
        info: &MessageInfo,
        sent: Option<MessageContext>,
    ) -> Option<MessageContext>;

    /// On the actor's task, after the handler (also after a panic or a kill).
    fn on_handle_end(
        &self,
        info: &MessageInfo,
        scope: Option<MessageContext>,
        outcome: HandleOutcome,
    );
}

/// [`set_message_hooks`] was called before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("actor message hooks are already installed")]
pub struct HooksAlreadySet;

static HOOKS: OnceLock<&'static dyn MessageHooks> = OnceLock::new();

/// Installs the process-wide message hooks (once: later calls return [`HooksAlreadySet`]).
///
/// ```
/// use nimsync_actors::{HandleOutcome, MessageContext, MessageHooks, MessageInfo};
/// struct Quiet;
/// impl MessageHooks for Quiet {
///     fn on_send(&self, _: &MessageInfo) -> Option<MessageContext> { None }
///     fn on_handle_start(&self, _: &MessageInfo, _: Option<MessageContext>) -> Option<MessageContext> { None }
///     fn on_handle_end(&self, _: &MessageInfo, _: Option<MessageContext>, _: HandleOutcome) {}
/// }
/// static QUIET: Quiet = Quiet;
/// let _ = nimsync_actors::set_message_hooks(&QUIET);
/// // Installed now (by this call or an earlier one): a second call is refused.
/// assert!(nimsync_actors::set_message_hooks(&QUIET).is_err());
/// ```
pub fn set_message_hooks(hooks: &'static dyn MessageHooks) -> Result<(), HooksAlreadySet> {
    HOOKS.set(hooks).map_err(|_| HooksAlreadySet)
}

/// The installed hooks (one acquire load).
#[inline(always)]
pub(crate) fn installed() -> Option<&'static dyn MessageHooks> {
    HOOKS.get().copied()
}

/// A message in the mailbox with what the hooks attached to it (a thin pointer, `None`
/// without hooks).
pub(crate) struct Envelope<M> {
    pub(crate) msg: M,
    pub(crate) cx: Option<Box<MessageContext>>,
}

impl<M> Envelope<M> {
    /// Wraps `msg`, asking the installed hooks (if any) for the sender's context.
    #[inline(always)]
    pub(crate) fn new(msg: M, info: impl FnOnce() -> MessageInfo) -> Self {
        let cx = match installed() {
            None => None,
            Some(h) => h.on_send(&info()).map(Box::new),
        };
        Envelope { msg, cx }
    }
}
