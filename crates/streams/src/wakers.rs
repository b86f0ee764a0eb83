//! `WakerList`: one waker slot per consumer of a shared upstream, and a `Waker` that wakes
//! them all (the waker the shared upstream is polled with).

use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Wake, Waker};

pub(crate) struct WakerList {
    slots: Mutex<Vec<Option<Waker>>>,
}

impl WakerList {
    pub(crate) fn new(consumers: usize) -> Arc<Self> {
        Arc::new(Self {
            slots: Mutex::new(vec![None; consumers]),
        })
    }

    /// Remembers consumer `i`'s waker (replacing an older one).
    pub(crate) fn register(&self, i: usize, waker: &Waker) {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut slots[i] {
            Some(w) if w.will_wake(waker) => {}
            slot => *slot = Some(waker.clone()),
        }
    }

    /// Forgets consumer `i`'s waker.
    pub(crate) fn clear(&self, i: usize) {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)[i] = None;
    }

    /// Wakes (and forgets) every registered consumer.
    pub(crate) fn wake_all(&self) {
        let woken: Vec<Waker> = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            slots.iter_mut().filter_map(Option::take).collect()
        };
        for w in woken {
            w.wake();
        }
    }
}

impl Wake for WakerList {
    fn wake(self: Arc<Self>) {
        self.wake_all();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wake_all();
    }
}
