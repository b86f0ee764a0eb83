//! The state an actor's address and its task share: identity, liveness, watchers, names,
//! statistics and the [`Doorbell`] that wakes an idle actor. Behind one `Arc`; the lifecycle
//! part behind a mutex taken only on watch, register and termination (never per message).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::doorbell::Doorbell;
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
