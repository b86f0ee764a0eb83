//! Dead letters: where a message goes when it cannot be delivered or handled.
//!
//! Every message ends handled, returned to its sender (in a send error), or here with a
//! reason. A [`DeadLetterSink`] is a callback that sees each dead letter *by reference*,
//! then the message is dropped: so a request inside it fails its asker at once
//! ([`AskError::NoReply`](crate::AskError::NoReply)) instead of hanging while a log holds it.

use core::any::Any;
use core::fmt;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::ActorId;

/// Why a message became a dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeadLetterReason {
    /// The actor stopped for good with the message still in its mailbox, or a request was
    /// sent to an actor that had stopped.
    ActorStopped,
    /// The mailbox was full and its policy is
    /// [`MailboxPolicy::DeadLetterNewest`](crate::MailboxPolicy::DeadLetterNewest).
    MailboxFull,
}

/// One undeliverable message, lent to a [`DeadLetterSink`].
pub struct DeadLetter<'a> {
    /// The addressee.
    pub actor: ActorId,
    /// The addressee's type name.
    pub actor_type: &'static str,
    /// The message's type name.
    pub message_type: &'static str,
    /// Why it was not handled.
    pub reason: DeadLetterReason,
    /// The message itself (downcast it to the actor's `Msg` type).
    pub message: &'a (dyn Any + Send),
}

impl fmt::Debug for DeadLetter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadLetter")
            .field("actor", &self.actor)
            .field("actor_type", &self.actor_type)
            .field("message_type", &self.message_type)
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

/// An owned summary of a dead letter (without the message), as kept by a [`DeadLetterLog`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterRecord {
    /// The addressee.
    pub actor: ActorId,
    /// The addressee's type name.
    pub actor_type: &'static str,
    /// The message's type name.
    pub message_type: &'static str,
    /// Why it was not handled.
    pub reason: DeadLetterReason,
}

type SinkFn = dyn Fn(&DeadLetter<'_>) + Send + Sync;

/// Where an actor's dead letters go: a callback, cheap to clone.
///
/// By default every actor uses [`DeadLetterSink::global`], which counts them
/// ([`global_dead_letter_count`]). Give an actor its own sink with
/// [`ActorBuilder::dead_letters`](crate::ActorBuilder::dead_letters):
///
/// ```
/// use nimsync_actors::{Actor, ActorBuilder, Context, DeadLetterReason, DeadLetterSink};
///
/// struct Slow;
/// impl Actor for Slow { type Msg = u32; async fn handle(&mut self, _: u32, _: &mut Context<Self>) {} }
///
/// nimsync_scheduler::block_on(async {
///     let (sink, log) = DeadLetterSink::log(16);
///     let a = ActorBuilder::new().dead_letters(sink).spawn(Slow).unwrap();
///     a.kill();
///     a.wait_terminated().await;
///     assert!(a.tell(7).await.is_err()); // returned to the sender, not a dead letter
///     assert_eq!(log.total(), 0);
/// });
/// ```
#[derive(Clone)]
pub struct DeadLetterSink(Arc<SinkFn>);

impl DeadLetterSink {
    /// A sink that calls `f` with every dead letter (on the thread that produced it; keep it
    /// short and never block in it).
    pub fn new(f: impl Fn(&DeadLetter<'_>) + Send + Sync + 'static) -> Self {
        DeadLetterSink(Arc::new(f))
    }

    /// The process-wide default sink: counts dead letters and forwards them to the handler
    /// installed with [`set_global_dead_letter_handler`], if any.
    pub fn global() -> Self {
        DeadLetterSink::new(|letter| {
            GLOBAL_COUNT.fetch_add(1, Ordering::Relaxed);
            let handler = GLOBAL_HANDLER
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            if let Some(h) = handler {
                h(letter);
            }
        })
    }

    /// A sink that keeps summaries of the last `capacity` dead letters, and the log to read
    /// them.
    pub fn log(capacity: usize) -> (DeadLetterSink, DeadLetterLog) {
        let log = DeadLetterLog {
            inner: Arc::new(LogInner {
                capacity,
                total: AtomicU64::new(0),
                records: Mutex::new(VecDeque::new()),
            }),
        };
        let inner = log.inner.clone();
        let sink = DeadLetterSink::new(move |l| {
            inner.total.fetch_add(1, Ordering::Relaxed);
            if inner.capacity == 0 {
                return;
            }
            let mut r = inner.records.lock().unwrap_or_else(|e| e.into_inner());
            if r.len() == inner.capacity {
                r.pop_front();
            }
            r.push_back(DeadLetterRecord {
                actor: l.actor,
                actor_type: l.actor_type,
                message_type: l.message_type,
                reason: l.reason,
            });
        });
        (sink, log)
    }

    /// Hands one dead letter to the sink, then drops it.
    pub(crate) fn publish<M: Send + 'static>(
        &self,
        actor: ActorId,
        actor_type: &'static str,
        reason: DeadLetterReason,
        message: M,
    ) {
        (self.0)(&DeadLetter {
            actor,
            actor_type,
            message_type: core::any::type_name::<M>(),
            reason,
            message: &message,
        });
    }
}

impl fmt::Debug for DeadLetterSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeadLetterSink(..)")
    }
}

struct LogInner {
    capacity: usize,
    total: AtomicU64,
    records: Mutex<VecDeque<DeadLetterRecord>>,
}

/// The reading side of [`DeadLetterSink::log`].
#[derive(Clone)]
pub struct DeadLetterLog {
    inner: Arc<LogInner>,
}

impl DeadLetterLog {
    /// Dead letters seen so far (including those no longer kept).
    pub fn total(&self) -> u64 {
        self.inner.total.load(Ordering::Relaxed)
    }

    /// The kept summaries, oldest first.
    pub fn records(&self) -> Vec<DeadLetterRecord> {
        let r = self.inner.records.lock().unwrap_or_else(|e| e.into_inner());
        r.iter().cloned().collect()
    }
}

impl fmt::Debug for DeadLetterLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadLetterLog")
            .field("total", &self.total())
            .finish_non_exhaustive()
    }
}

static GLOBAL_COUNT: AtomicU64 = AtomicU64::new(0);
type GlobalHandler = Option<Arc<SinkFn>>;
static GLOBAL_HANDLER: Mutex<GlobalHandler> = Mutex::new(None);

/// Dead letters seen by the global sink since the process started.
///
/// ```
/// let before = nimsync_actors::global_dead_letter_count();
/// assert!(nimsync_actors::global_dead_letter_count() >= before);
/// ```
pub fn global_dead_letter_count() -> u64 {
    GLOBAL_COUNT.load(Ordering::Relaxed)
}

/// Installs (or with `None`, removes) the handler the global sink forwards to.
///
/// ```
/// nimsync_actors::set_global_dead_letter_handler(Some(|l: &nimsync_actors::DeadLetter<'_>| {
///     eprintln!("dead letter for {}: {:?}", l.actor, l.reason);
/// }));
/// nimsync_actors::set_global_dead_letter_handler(None::<fn(&nimsync_actors::DeadLetter<'_>)>);
/// ```
pub fn set_global_dead_letter_handler<F>(handler: Option<F>)
where
    F: Fn(&DeadLetter<'_>) + Send + Sync + 'static,
{
    let mut h = GLOBAL_HANDLER.lock().unwrap_or_else(|e| e.into_inner());
    *h = handler.map(|f| Arc::new(f) as Arc<SinkFn>);
}
