//! loom models of the scheduler's small concurrent protocols, run with
//! `RUSTFLAGS="--cfg nimsync_loom" cargo test -p nimsync-scheduler --release --test loom`.
//!
//! * the thread parker (permit never lost, whatever the interleaving);
//! * the idle/searching protocol: producers `notify_parked`, workers search, park (the last
//!   searcher re-scans) and wake; a lost wake-up shows up as a loom deadlock (every thread
//!   parked with work left);
//! * the hand-off between the LIFO slot, the local queue (stealable) and the injector: every
//!   task runs exactly once and none is stranded in the LIFO slot, with a thief that also
//!   steals from the slot itself (the watchdog's rescue of a stuck worker's task).
#![cfg(nimsync_loom)]

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;
use nimsync_scheduler::loom_support::{Idle, LifoCell, LifoNext, LifoSlot, Parker};
use std::collections::VecDeque;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(3);
    }
    b.check(f);
}

#[test]
fn parker_unpark_before_or_after_park() {
    model(|| {
        let p = Arc::new(Parker::new());
        let p2 = p.clone();
        let t = thread::spawn(move || p2.unpark());
        p.park(None);
        t.join().unwrap();
    });
}

#[test]
fn parker_permit_is_consumed_once() {
    model(|| {
        let p = Arc::new(Parker::new());
        let p2 = p.clone();
        let t = thread::spawn(move || {
            p2.unpark();
            p2.unpark();
        });
        p.park(None);
        t.join().unwrap();
        // At most one permit can remain: a second park returns only if the second unpark
        // came after the first park consumed a permit; make it deterministic:
        p.unpark();
        p.park(None);
    });
}

/// Shared state of the idle-protocol model.
struct World {
    idle: Idle,
    parkers: Vec<Parker>,
    /// Items available (stands for the run queues).
    queue: AtomicUsize,
    consumed: AtomicUsize,
    total: usize,
}

impl World {
    fn try_take(&self) -> bool {
        let mut cur = self.queue.load(Ordering::SeqCst);
        while cur > 0 {
            match self
                .queue
                .compare_exchange(cur, cur - 1, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return true,
                Err(v) => cur = v,
            }
        }
        false
    }

    fn notify(&self) {
        if let Some(i) = self.idle.notify_parked() {
            self.parkers[i].unpark();
        }
    }

    fn done(&self) -> bool {
        self.consumed.load(Ordering::SeqCst) == self.total
    }

    fn worker(&self, me: usize) {
        let searching = self.work(me);
        if searching {
            self.idle.transition_worker_from_searching();
        }
    }

    /// The worker loop; returns whether it ended in the searching state.
    fn work(&self, me: usize) -> bool {
        let mut searching = false;
        loop {
            if self.done() {
                return searching;
            }
            if self.try_take() {
                if searching {
                    searching = false;
                    if self.idle.transition_worker_from_searching() {
                        self.notify();
                    }
                }
                if self.consumed.fetch_add(1, Ordering::SeqCst) + 1 == self.total {
                    // Termination broadcast (not part of the protocol under test).
                    for p in &self.parkers {
                        p.unpark();
                    }
                    return searching;
                }
                continue;
            }
            if !searching {
                searching = self.idle.transition_worker_to_searching();
            }
            // Nothing found: park.
            let last_searcher = self.idle.transition_worker_to_parked(me, searching);
            if last_searcher {
                // Last searcher: re-scan before sleeping.
                if self.queue.load(Ordering::SeqCst) > 0 {
                    self.notify();
                }
            }
            // Like the worker: skip the sleep when done (shutdown), but always settle the
            // idle state afterwards.
            if !self.done() {
                self.parkers[me].park(None);
            }
            searching = self.idle.wake_self(me);
        }
    }
}

fn idle_model(workers: usize, items: usize, throttle: bool) {
    model(move || {
        let world = Arc::new(World {
            idle: Idle::new(workers, throttle),
            parkers: (0..workers).map(|_| Parker::new()).collect(),
            queue: AtomicUsize::new(0),
            consumed: AtomicUsize::new(0),
            total: items,
        });
        let ts: Vec<_> = (0..workers)
            .map(|i| {
                let w = world.clone();
                thread::spawn(move || w.worker(i))
            })
            .collect();
        // The producer (this thread) makes `items` tasks available, one at a time.
        for _ in 0..items {
            world.queue.fetch_add(1, Ordering::SeqCst);
            world.notify();
        }
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(world.consumed.load(Ordering::SeqCst), items);
        assert_eq!(world.idle.num_searching(), 0);
    });
}

#[test]
fn idle_protocol_no_lost_wakeup_one_worker() {
    idle_model(1, 2, true);
}

#[test]
fn idle_protocol_no_lost_wakeup_two_workers() {
    idle_model(2, 1, true);
}

#[test]
fn idle_protocol_no_lost_wakeup_two_workers_unthrottled() {
    idle_model(2, 2, false);
}

/// LIFO slot + local queue + injector hand-off: the owner schedules tasks the running task
/// wakes (LIFO, evicting the previous one to the local queue, which spills to the injector
/// when full) and runs them with the per-tick cap; a thief steals from the local queue, the
/// injector and the LIFO cell concurrently. Every task must run exactly once; the slot ends
/// empty.
#[test]
fn lifo_slot_handoff_runs_every_task_once() {
    model(|| {
        const TASKS: usize = 4;
        const CAP: usize = 2;
        let local: Arc<Mutex<VecDeque<usize>>> = Arc::new(Mutex::new(VecDeque::new()));
        let injector: Arc<Mutex<VecDeque<usize>>> = Arc::new(Mutex::new(VecDeque::new()));
        let cell: Arc<LifoCell<Box<usize>>> = Arc::new(LifoCell::new());
        let runs = Arc::new((0..TASKS).map(|_| AtomicUsize::new(0)).collect::<Vec<_>>());

        let (l2, i2, c2, r2) = (local.clone(), injector.clone(), cell.clone(), runs.clone());
        let thief = thread::spawn(move || {
            for _ in 0..2 {
                let t = c2.take().map(|b| *b);
                let t = t.or_else(|| l2.lock().unwrap().pop_front());
                let t = t.or_else(|| i2.lock().unwrap().pop_front());
                if let Some(t) = t {
                    r2[t].fetch_add(1, Ordering::SeqCst);
                }
            }
        });

        let push_back = |t: usize| {
            let mut q = local.lock().unwrap();
            if q.len() >= CAP {
                let spill: Vec<usize> = (0..CAP / 2).filter_map(|_| q.pop_front()).collect();
                drop(q);
                injector.lock().unwrap().extend(spill);
                q = local.lock().unwrap();
            }
            q.push_back(t);
        };
        let mut lifo = LifoSlot::new(true, 2);
        lifo.start_tick();
        // The running task wakes every other task (message fan-out).
        for t in 0..TASKS {
            if let Some(evicted) = lifo.push(&cell, Box::new(t)) {
                push_back(*evicted);
            }
        }
        // Run from the LIFO slot (capped), then drain the queues like the worker would.
        loop {
            match lifo.next(&cell) {
                LifoNext::Run(t) => {
                    runs[*t].fetch_add(1, Ordering::SeqCst);
                }
                LifoNext::Requeue(t) => push_back(*t),
                LifoNext::Empty => {
                    let t = local.lock().unwrap().pop_front();
                    let t = t.or_else(|| injector.lock().unwrap().pop_front());
                    match t {
                        Some(t) => {
                            lifo.start_tick();
                            runs[t].fetch_add(1, Ordering::SeqCst);
                        }
                        None => break,
                    }
                }
            }
        }
        thief.join().unwrap();
        assert!(!cell.is_occupied());
        // Whatever the thief did not take, the owner did; nothing ran twice or got lost.
        for r in runs.iter() {
            assert_eq!(r.load(Ordering::SeqCst), 1);
        }
    });
}

/// The LIFO cell alone: the owner pushes (evicting) and takes while a thief steals; each task
/// is taken exactly once, by one side.
#[test]
fn lifo_cell_push_take_steal_exactly_once() {
    model(|| {
        let cell: Arc<LifoCell<Box<usize>>> = Arc::new(LifoCell::new());
        let c2 = cell.clone();
        let thief = thread::spawn(move || c2.take().map(|b| *b));
        let mut got = Vec::new();
        for t in 0..2 {
            if let Some(old) = cell.push(Box::new(t)) {
                got.push(*old);
            }
        }
        if let Some(t) = cell.take() {
            got.push(*t);
        }
        if let Some(t) = thief.join().unwrap() {
            got.push(t);
        }
        got.sort_unstable();
        assert_eq!(got, [0, 1]);
        assert!(!cell.is_occupied());
    });
}
