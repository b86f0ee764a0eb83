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
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering, fence};
    use std::time::Instant;

    use event_listener::{IntoNotification, Listener as _};

    /// A wait queue.
    ///
    /// `event_listener` takes its internal lock on every *additional* notification, even with
    /// nobody waiting, so the queue keeps its own count of registered listeners: a notifier that
    /// finds it zero returns after one load. The count is the same Dekker handshake as the one
    /// between a value and its waiter (the loom version below models it): a waiter increments,
    /// registers and re-checks; a notifier publishes, fences and reads the count.
    pub struct Event {
        inner: event_listener::Event,
        /// Listeners registered and not yet dropped. Shared with them through an `Arc` so a
        /// listener stored next to the channel's `Arc` (a handle's stream/sink listener) may be
        /// dropped in any order.
        waiters: Arc<AtomicUsize>,
    }

    /// A registered waiter; completes once notified.
    pub struct Listener {
        inner: event_listener::EventListener,
        _registered: Registered,
    }

    /// Holds one unit of [`Event`]'s listener count; gives it back when dropped.
    struct Registered(Arc<AtomicUsize>);

    impl Drop for Registered {
        fn drop(&mut self) {
            // A stale non-zero count only costs a notifier one unneeded lock.
            self.0.fetch_sub(1, Ordering::Relaxed);
        }
    }

    impl Event {
        pub(crate) fn new() -> Self {
            Self {
                inner: event_listener::Event::new(),
                waiters: Arc::new(AtomicUsize::new(0)),
            }
        }

        /// Registers a waiter. Callers re-check their condition after this and before waiting.
        pub(crate) fn listen(&self) -> Listener {
            self.waiters.fetch_add(1, Ordering::SeqCst);
            // `listen` ends with a SeqCst fence: the registration is ordered before the caller's
            // re-check of the queue (the store-load half of the handshake on the waiter's side).
            let inner = self.inner.listen();
            Listener {
                inner,
                _registered: Registered(Arc::clone(&self.waiters)),
            }
        }

        /// Whether any listener may be registered. Must follow a SeqCst fence or read-modify-write
        /// that published the change the listeners wait for.
        #[inline(always)]
        fn has_waiters(&self) -> bool {
            self.waiters.load(Ordering::SeqCst) != 0
        }

        /// Wakes one more waiter, issuing the SeqCst fence the handshake needs.
        ///
        /// All notifications are *additional*: each event (one value, one free slot) wakes a
        /// waiter of its own even if another waiter was notified and has not run yet, so two
        /// quick sends never wake just one of two sleeping receivers.
        pub(crate) fn notify_one(&self) {
            fence(Ordering::SeqCst);
            if self.has_waiters() {
                self.inner.notify(1.additional().relaxed());
            }
        }

        /// Wakes one waiter; the caller has just performed a SeqCst read-modify-write that
        /// published its change, which serves as the handshake's fence.
        #[inline(always)]
        pub(crate) fn notify_one_after_rmw(&self) {
            if self.has_waiters() {
                self.inner.notify(1.additional().relaxed());
            }
        }

        /// Wakes `n` waiters after a SeqCst read-modify-write (as above).
        #[inline(always)]
        pub(crate) fn notify_n_after_rmw(&self, n: usize) {
            if self.has_waiters() {
                self.inner.notify(n.additional().relaxed());
            }
        }

        /// Wakes every waiter.
        pub(crate) fn notify_all(&self) {
            fence(Ordering::SeqCst);
            if self.has_waiters() {
                self.inner.notify(usize::MAX.relaxed());
            }
        }
    }

    impl Listener {
        /// Blocks the thread until notified.
        pub(crate) fn wait(self) {
            self.inner.wait();
        }

        /// Blocks until notified or the deadline passes; `true` if notified.
        pub(crate) fn wait_deadline(self, deadline: Instant) -> bool {
            self.inner.wait_deadline(deadline).is_some()
        }
    }

    impl Future for Listener {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            Pin::new(&mut self.inner).poll(cx)
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
