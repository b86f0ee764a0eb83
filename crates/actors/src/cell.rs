//! The state an actor's address and its task share: identity, liveness, watchers, names,
//! statistics and the [`Doorbell`] that wakes an idle actor. Behind one `Arc`; the lifecycle
//! part behind a mutex taken only on watch, register and termination (never per message).

use core::task::Waker;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering, fence};

use atomic_waker::AtomicWaker;

use crate::stats::StatsCell;
use crate::{ActorId, Terminated};

/// Called once with the termination notice.
pub(crate) type Notify = Box<dyn FnOnce(Terminated) + Send>;

struct Watcher {
    /// The watching actor, if the watcher is one (for `unwatch`).
    by: Option<ActorId>,
    notify: Notify,
}

#[derive(Default)]
struct Life {
    terminated: Option<Terminated>,
    watchers: Vec<Watcher>,
    names: Vec<String>,
}

pub(crate) struct Cell {
    pub(crate) id: ActorId,
    pub(crate) type_name: &'static str,
    alive: AtomicBool,
    life: Mutex<Life>,
    pub(crate) stats: StatsCell,
    pub(crate) doorbell: Doorbell,
}

/// How senders wake an idle actor: its task's waker and a `sleeping` flag.
///
/// An actor has exactly one receiving task, so it does not need the channel's general wait
/// queue (a listener allocation and a lock per wait): it parks with [`park`](Self::park)
/// (register the waker, raise the flag, then re-check both lanes) and every send rings
/// [`ring`](Self::ring) after enqueuing (one load when the actor is busy).
///
/// No lost wake-up (Dekker's store-load pairing, with a SeqCst fence on each side): the
/// actor stores the flag, fences and re-checks the lanes; a sender enqueues, fences and loads
/// the flag. The two fences are totally ordered, so either the actor's re-check sees the
/// message or the sender sees the flag. The sender's fence is its own, not borrowed from how
/// the channel happens to publish a value, so a change inside core-channels cannot break it.
///
/// Aligned to its own cache line pair: senders read it on every send, and it must not share a
/// line with the counters the actor writes per message.
#[repr(align(128))]
pub(crate) struct Doorbell {
    waker: AtomicWaker,
    sleeping: AtomicBool,
}

impl Doorbell {
    fn new() -> Self {
        Doorbell {
            waker: AtomicWaker::new(),
            sleeping: AtomicBool::new(false),
        }
    }

    /// Called by the actor before re-checking its lanes and returning `Pending`.
    pub(crate) fn park(&self, waker: &Waker) {
        self.waker.register(waker);
        self.sleeping.store(true, Ordering::Relaxed);
        // Orders the flag before the re-check's loads (the store-load half of the handshake).
        fence(Ordering::SeqCst);
    }

    /// Called by the actor when its re-check after [`park`](Self::park) found work (a wake
    /// already under way is harmless: the task polls once more).
    #[inline]
    pub(crate) fn unpark(&self) {
        self.sleeping.store(false, Ordering::Relaxed);
    }

    /// Called by every sender after enqueuing (and when the mailbox closes).
    #[inline]
    pub(crate) fn ring(&self) {
        // Orders the enqueue before the flag load (the sender's half of the handshake).
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::Relaxed) && self.sleeping.swap(false, Ordering::AcqRel) {
            self.waker.wake();
        }
    }
}

impl Cell {
    pub(crate) fn new(type_name: &'static str) -> Self {
        Cell {
            id: ActorId::next(),
            type_name,
            alive: AtomicBool::new(true),
            life: Mutex::new(Life::default()),
            stats: StatsCell::new(),
            doorbell: Doorbell::new(),
        }
    }

    fn life(&self) -> std::sync::MutexGuard<'_, Life> {
        // Nothing that can panic runs under this lock; recover from poisoning anyway.
        self.life.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    /// Registers `notify`; calls it at once (outside the lock) if the address already stopped.
    pub(crate) fn add_watcher(&self, by: Option<ActorId>, notify: Notify) {
        let mut life = self.life();
        match life.terminated.clone() {
            Some(t) => {
                drop(life);
                notify(t);
            }
            None => life.watchers.push(Watcher { by, notify }),
        }
    }

    /// Removes every watch registered by `by`.
    pub(crate) fn remove_watchers(&self, by: ActorId) {
        self.life().watchers.retain(|w| w.by != Some(by));
    }

    /// Records a registered name; `false` if the address already stopped.
    pub(crate) fn add_name(&self, name: &str) -> bool {
        let mut life = self.life();
        if life.terminated.is_some() {
            return false;
        }
        life.names.push(name.to_owned());
        true
    }

    /// Marks the address stopped (once), unregisters its names and notifies the watchers in
    /// registration order.
    pub(crate) fn terminate(&self, t: Terminated) {
        let (watchers, names) = {
            let mut life = self.life();
            if life.terminated.is_some() {
                return;
            }
            life.terminated = Some(t.clone());
            self.alive.store(false, Ordering::Release);
            (
                std::mem::take(&mut life.watchers),
                std::mem::take(&mut life.names),
            )
        };
        for name in names {
            crate::registry::remove_if(&name, self.id);
        }
        for w in watchers {
            (w.notify)(t.clone());
        }
    }
}
