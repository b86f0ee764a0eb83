//! The LIFO slot: the task a worker woke most recently runs next (message-passing fast path).
//!
//! When task A, running on a worker, wakes task B (typically by sending it a message), B goes
//! into the worker's LIFO slot instead of the back of its queue, so B runs right after A while
//! the message is still in cache. The slot is owned by its worker (not stealable: tokio made it
//! stealable and lost up to 29 % of message-passing throughput, tokio#8065). Two guards keep it
//! from starving the queue:
//!
//! * at most `max_polls` tasks run from the slot per scheduler tick; after that the slot's task
//!   is moved to the back of the queue (a ping-pong pair cannot monopolise the worker);
//! * a task that wakes *itself* (e.g. `yield_now`) never enters the slot.
//!
//! The policy is a plain value type so the loom model can drive it; the worker keeps it in a
//! `RefCell`. It can be switched off with `Builder::lifo_slot(false)`.

/// LIFO slot with a per-tick poll cap (see the module docs).
#[derive(Debug)]
pub struct LifoSlot<T> {
    slot: Option<T>,
    polls_this_tick: u32,
    max_polls: u32,
    enabled: bool,
}

/// What the worker should do with the task it asked the slot for.
#[derive(Debug, PartialEq, Eq)]
pub enum LifoNext<T> {
    /// Nothing in the slot.
    Empty,
    /// Run this task now.
    Run(T),
    /// The per-tick cap is reached: push this task to the back of the run queue.
    Requeue(T),
}

impl<T> LifoSlot<T> {
    /// A slot allowing `max_polls` LIFO polls per tick; `enabled = false` turns it off.
    pub fn new(enabled: bool, max_polls: u32) -> Self {
        LifoSlot {
            slot: None,
            polls_this_tick: 0,
            max_polls,
            enabled: enabled && max_polls > 0,
        }
    }

    /// Offers a freshly woken task. Returns the task that must go to the run queue instead:
    /// the previous occupant (evicted by the newer one), or `task` itself if the slot is off.
    pub fn push(&mut self, task: T) -> Option<T> {
        if !self.enabled {
            return Some(task);
        }
        self.slot.replace(task)
    }

    /// Starts a new scheduler tick (a task taken from the run queue).
    pub fn start_tick(&mut self) {
        self.polls_this_tick = 0;
    }

    /// The next task to run from the slot, honouring the per-tick cap.
    pub fn next(&mut self) -> LifoNext<T> {
        match self.slot.take() {
            None => LifoNext::Empty,
            Some(t) if self.polls_this_tick >= self.max_polls => LifoNext::Requeue(t),
            Some(t) => {
                self.polls_this_tick += 1;
                LifoNext::Run(t)
            }
        }
    }

    /// Empties the slot (shutdown, parking).
    pub fn take(&mut self) -> Option<T> {
        self.slot.take()
    }

    /// Whether a task waits in the slot.
    #[cfg_attr(not(any(test, nimsync_loom)), allow(dead_code))]
    pub fn is_occupied(&self) -> bool {
        self.slot.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_task_evicts_older() {
        let mut s = LifoSlot::new(true, 3);
        assert_eq!(s.push(1), None);
        assert_eq!(s.push(2), Some(1));
        assert_eq!(s.next(), LifoNext::Run(2));
        assert_eq!(s.next(), LifoNext::Empty);
    }

    #[test]
    fn cap_per_tick_requeues() {
        let mut s = LifoSlot::new(true, 2);
        s.start_tick();
        for i in 0..2 {
            assert_eq!(s.push(i), None);
            assert_eq!(s.next(), LifoNext::Run(i));
        }
        s.push(9);
        assert_eq!(s.next(), LifoNext::Requeue(9));
        s.start_tick();
        s.push(10);
        assert_eq!(s.next(), LifoNext::Run(10));
    }

    #[test]
    fn disabled_slot_passes_through() {
        let mut s = LifoSlot::new(false, 3);
        assert_eq!(s.push(5), Some(5));
        assert!(!s.is_occupied());
    }
}
