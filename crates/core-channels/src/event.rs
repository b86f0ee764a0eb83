//! Wait queues: where blocked senders and receivers (threads or tasks) wait for a change.
//!
//! Normally a thin wrapper over [`event_listener`] (an intrusive list of listeners that serves
//! threads and wakers alike and passes a notification on when a notified listener is dropped
//! unused, so a cancelled waiter never swallows a wake-up). Under `--cfg nimsync_loom` it is a
//! small mutex-based equivalent built on loom primitives, so the models check our register →
//! re-check → wait handshake against real interleavings.

#[cfg(not(nimsync_loom))]
mod imp {
    use core::future::Future;
    use core::pin::Pin;
    use core::task::{Context, Poll};
    use std::time::Instant;

    use event_listener::{IntoNotification, Listener as _};

    /// A wait queue.
    pub struct Event(event_listener::Event);

    /// A registered waiter; completes once notified.
    pub struct Listener(event_listener::EventListener);

    impl Event {
        pub(crate) const fn new() -> Self {
            Self(event_listener::Event::new())
        }

        /// Registers a waiter. Callers re-check their condition after this and before waiting.
        pub(crate) fn listen(&self) -> Listener {
            let listener = self.0.listen();
            // The listener is registered; order that before the caller's re-check of the queue
            // (the store-load half of the handshake on the waiter's side).
            std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
            Listener(listener)
        }

        /// Wakes one more waiter, issuing the SeqCst fence the handshake needs.
        ///
        /// All notifications are *additional*: each event (one value, one free slot) wakes a
        /// waiter of its own even if another waiter was notified and has not run yet, so two
        /// quick sends never wake just one of two sleeping receivers.
        pub(crate) fn notify_one(&self) {
            self.0.notify(1.additional());
        }

        /// Wakes one waiter; the caller has just performed a SeqCst read-modify-write that
        /// published its change, which serves as the handshake's fence.
        #[inline(always)]
        pub(crate) fn notify_one_after_rmw(&self) {
            self.0.notify(1.additional().relaxed());
        }

        /// Wakes `n` waiters after a SeqCst read-modify-write (as above).
        #[inline(always)]
        pub(crate) fn notify_n_after_rmw(&self, n: usize) {
            self.0.notify(n.additional().relaxed());
        }

        /// Wakes every waiter.
        pub(crate) fn notify_all(&self) {
            self.0.notify(usize::MAX);
        }
    }

    impl Listener {
        /// Blocks the thread until notified.
        pub(crate) fn wait(self) {
            self.0.wait();
        }

        /// Blocks until notified or the deadline passes; `true` if notified.
        pub(crate) fn wait_deadline(self, deadline: Instant) -> bool {
            self.0.wait_deadline(deadline).is_some()
        }
    }

    impl Future for Listener {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            Pin::new(&mut self.0).poll(cx)
        }
    }
}

#[cfg(nimsync_loom)]
mod imp {
    use core::future::Future;
    use core::pin::Pin;
    use core::task::{Context, Poll, Waker};
    use std::time::Instant;

    use loom::sync::Arc;
    use loom::sync::atomic::{AtomicUsize, Ordering, fence};

    use crate::sync::Mutex;

    enum Wake {
        None,
        Task(Waker),
        Thread(loom::thread::Thread),
    }

    struct Entry {
        id: usize,
        notified: bool,
        wake: Wake,
    }

    #[derive(Default)]
    struct State {
        next_id: usize,
        entries: Vec<Entry>,
    }

    struct Shared {
        waiters: AtomicUsize,
        state: Mutex<State>,
    }

    /// A wait queue (loom model version).
    pub struct Event(Arc<Shared>);

    /// A registered waiter (loom model version).
    pub struct Listener {
        shared: Arc<Shared>,
        id: usize,
        done: bool,
    }

    impl Event {
        pub(crate) fn new() -> Self {
            Self(Arc::new(Shared {
                waiters: AtomicUsize::new(0),
                state: Mutex::new(State::default()),
            }))
        }

        pub(crate) fn listen(&self) -> Listener {
            let mut state = self.0.state.lock().unwrap();
            let id = state.next_id;
            state.next_id += 1;
            state.entries.push(Entry {
                id,
                notified: false,
                wake: Wake::None,
            });
            drop(state);
            self.0.waiters.fetch_add(1, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            Listener {
                shared: self.0.clone(),
                id,
                done: false,
            }
        }

        fn notify(&self, n: usize) {
            fence(Ordering::SeqCst);
            if self.0.waiters.load(Ordering::SeqCst) == 0 {
                return;
            }
            notify_shared(&self.0, n);
        }

        pub(crate) fn notify_one(&self) {
            self.notify(1);
        }

        pub(crate) fn notify_one_after_rmw(&self) {
            self.notify(1);
        }

        pub(crate) fn notify_n_after_rmw(&self, n: usize) {
            self.notify(n);
        }

        pub(crate) fn notify_all(&self) {
            self.notify(usize::MAX);
        }
    }

    /// Notifies `n` more waiters (additional semantics, as in the std version).
    fn notify_shared(shared: &Shared, n: usize) {
        let mut state = shared.state.lock().unwrap();
        let mut notified = 0;
        for entry in state.entries.iter_mut() {
            if notified >= n {
                break;
            }
            if !entry.notified {
                entry.notified = true;
                notified += 1;
                match core::mem::replace(&mut entry.wake, Wake::None) {
                    Wake::None => {}
                    Wake::Task(w) => w.wake(),
                    Wake::Thread(t) => t.unpark(),
                }
            }
        }
    }

    impl Listener {
        /// Removes the entry; returns whether it had been notified.
        fn remove(&mut self) -> bool {
            if self.done {
                return false;
            }
            self.done = true;
            let mut state = self.shared.state.lock().unwrap();
            let idx = state.entries.iter().position(|e| e.id == self.id).unwrap();
            let entry = state.entries.remove(idx);
            drop(state);
            self.shared.waiters.fetch_sub(1, Ordering::SeqCst);
            entry.notified
        }

        fn check(&mut self, wake: Wake) -> bool {
            let mut state = self.shared.state.lock().unwrap();
            let entry = state.entries.iter_mut().find(|e| e.id == self.id).unwrap();
            if entry.notified {
                drop(state);
                self.remove();
                true
            } else {
                entry.wake = wake;
                false
            }
        }

        pub(crate) fn wait(mut self) {
            while !self.check(Wake::Thread(loom::thread::current())) {
                loom::thread::park();
            }
        }

        pub(crate) fn wait_deadline(self, _deadline: Instant) -> bool {
            self.wait();
            true
        }
    }

    impl Future for Listener {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.check(Wake::Task(cx.waker().clone())) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }

    impl Drop for Listener {
        fn drop(&mut self) {
            if self.remove() {
                // Notified but never used: pass the notification on.
                notify_shared(&self.shared, 1);
            }
        }
    }
}

pub(crate) use imp::{Event, Listener};
