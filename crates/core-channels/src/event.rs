//! Wait queues: where blocked senders and receivers (threads or tasks) wait for a change.
//!
//! Two kinds of waiter share one waiter word per event:
//!
//! * the handle of a single side waits in the event's owner slot (`owner.rs`: a bit in the
//!   word, no list, no allocation);
//! * everyone else waits in a list: [`event_listener`] normally (an intrusive list of
//!   listeners that serves threads and wakers alike), counted in the word only until a
//!   notifier accounts for notifying it, and a notified listener dropped unused passes the
//!   notification on, so a cancelled waiter never swallows a wake-up.
//!
//! A publisher that finds the word zero (nobody waiting, or everyone already notified) pays
//! one load. Under `--cfg nimsync_loom` the list is a small mutex-based equivalent built on
//! loom primitives, so the models check our register → re-check → wait handshake against
//! real interleavings.
//!
//! # Events on an asymmetric ring
//! The SPSC ring publishes with a plain store and the light half of an asymmetric barrier
//! ([`crate::barrier`]); its events (`heavy`) pair that with one of two modes, chosen by the
//! waiting side (one thread at a time: the ring has a single producer and a single consumer):
//!
//! * *light*: a registration runs the heavy barrier (a `membarrier` system call, microseconds);
//!   publishers run nothing more. Right when waits are rare (blocking waits after a spin).
//! * *fenced*: publishers add a SeqCst fence after every publish, read from a flag next to
//!   the listener count; a registration needs only its own fence. Right when waits are
//!   frequent (an async consumer that keeps catching up with its producer).
//!
//! A registration less than [`FREQUENT`] after the previous one switches to fenced (running
//! the heavy barrier one last time, so every publisher reads the flag afterwards); a later one
//! switches back to light and runs the heavy barrier itself. Only the waiting side writes the
//! flag, so it always knows which half it owes.
//!
//! Time alone misjudges a fast channel whose waiting side catches up now and then: waits
//! tens of µs apart look frequent, but at 60 M messages/s each of the thousands of publishes
//! in between pays a fence (measured: async SPSC at about 0.76x kanal with a 500 µs
//! threshold, 0.95x with this one). So the threshold is short, and fenced publishes are
//! counted: a registration that finds more than [`MANY_PUBLISHES`] since the previous one
//! goes light and stays light for [`LIGHT_HOLD`] (then time decides again, so a channel whose
//! waits become frequent per message returns to fenced mode).

/// Registrations closer together than this (in nanoseconds) make an asymmetric event fenced:
/// a few `membarrier` costs (0.4-10 µs measured here), so a light event spends at most a
/// fraction of its time in the heavy barrier. (It was 500 µs, which kept a fast async channel
/// whose consumer caught up every 50 µs or so fenced on every publish.)
#[cfg(not(nimsync_loom))]
const FREQUENT: u64 = 20_000;

/// Fenced publishes between two registrations above which a light registration (one
/// `membarrier`, measured at 0.4-10 µs on a small VM) costs less than the publishes' fences
/// (about 10-20 ns each with the out-of-line notify).
#[cfg(not(nimsync_loom))]
const MANY_PUBLISHES: u64 = 64;

/// How long (in nanoseconds) an event that left fenced mode for [`MANY_PUBLISHES`] stays light.
#[cfg(not(nimsync_loom))]
const LIGHT_HOLD: u64 = 10_000_000;

/// The waiting side of an asymmetric event, after its registration's SeqCst fence and before
/// its re-check: sets the mode for `frequent` waits and runs the barrier that mode owes.
fn pair(fenced: &impl FencedFlag, frequent: bool) {
    if frequent {
        if !fenced.get() {
            // From now on publishers fence. Those that read the flag before this barrier's
            // point in their thread are covered by the barrier itself.
            fenced.set(true);
            crate::barrier::heavy();
        }
        // Already fenced: every publish since the barrier that set the flag is followed by a
        // SeqCst fence, which pairs with the registration's.
    } else {
        fenced.set(false);
        crate::barrier::heavy();
    }
}

/// The mode flag of [`pair`], over std or loom atomics.
trait FencedFlag {
    fn get(&self) -> bool;
    fn set(&self, fenced: bool);
}

#[cfg(not(nimsync_loom))]
mod imp {
    use core::future::Future;
    use core::pin::Pin;
    use core::task::{Context, Poll};
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};
    use std::sync::{Arc, OnceLock};
    use std::time::Instant;

    use super::pair;
    use crate::owner::{self, OWNER, OwnerState};

    use event_listener::{IntoNotification, Listener as _};

    /// A wait queue.
    ///
    /// `event_listener` takes its internal lock on every *additional* notification, even with
    /// nobody left to notify, so the queue keeps its own count of waiters not yet notified: a
    /// notifier that finds it zero returns after one load. The count is the same Dekker handshake as the one
    /// between a value and its waiter (the loom version below models it): a waiter increments,
    /// registers and re-checks; a notifier publishes, fences and reads the count.
    pub struct Event {
        /// The waiter word and what it counts. Shared with the listeners through an `Arc` so a
        /// listener stored next to the channel's `Arc` (a handle's stream/sink listener) may be
        /// dropped in any order.
        waiters: Arc<Counts>,
        /// The notifiers publish with a light barrier: pair it (see the module doc).
        heavy: bool,
        /// A single side's event: its handle waits in the owner slot ([`crate::owner`]).
        single: bool,
    }

    /// The shared part of an event, as the owner slot reaches it.
    pub type Host = Arc<Counts>;

    /// The waiter word, the pairing mode of `heavy` events, the list and the owner slot, in
    /// one allocation (the notifier reads the word after every publish).
    pub struct Counts {
        /// List waiters not yet notified, in units of [`WAITER`]; bit 0 is [`FENCED`], the
        /// top bit [`OWNER`]. One word, so a notifier in light mode reads it all with one load.
        word: AtomicUsize,
        /// When the waiting side last registered (see [`now_ns`]).
        last: AtomicU64,
        /// Publishes made in fenced mode, counted by the notify path of `heavy` events (one
        /// publishing side, so a load and a store; `close()` notifying at the same time may
        /// lose a count, which only nudges a heuristic).
        published: AtomicU64,
        /// `published` as the waiting side saw it at its last registration.
        seen: AtomicU64,
        /// Until when (see [`now_ns`]) the waiting side keeps the event light.
        light_until: AtomicU64,
        /// The list of waiters (here, so a listener can pass a notification on by itself).
        list: event_listener::Event,
        /// The owner's wait slot (single sides); its bit is [`OWNER`] in `word`.
        owner: OwnerState,
    }

    impl owner::Host for Arc<Counts> {
        fn word(&self) -> &AtomicUsize {
            &self.word
        }
        fn owner(&self) -> &OwnerState {
            &self.owner
        }
    }

    /// Fenced mode: publishers fence after every publish.
    const FENCED: usize = 1;
    /// One registered listener.
    const WAITER: usize = 2;

    /// The mode bit of a [`Counts`] word.
    struct ModeBit<'a>(&'a AtomicUsize);

    impl super::FencedFlag for ModeBit<'_> {
        fn get(&self) -> bool {
            self.0.load(Ordering::Relaxed) & FENCED != 0
        }
        fn set(&self, fenced: bool) {
            if fenced {
                self.0.fetch_or(FENCED, Ordering::Relaxed);
            } else {
                self.0.fetch_and(!FENCED, Ordering::Relaxed);
            }
        }
    }

    /// Nanoseconds since a process-wide origin, for [`Counts::last`].
    fn now_ns() -> u64 {
        static EPOCH: OnceLock<Instant> = OnceLock::new();
        let nanos = EPOCH.get_or_init(Instant::now).elapsed().as_nanos();
        u64::try_from(nanos).unwrap_or(u64::MAX)
    }

    /// A registered list waiter; completes once notified.
    ///
    /// It holds one unit of the waiter count until a notifier accounts for notifying it (see
    /// [`Counts::notify_list`]) or, never notified, it gives the unit back itself.
    pub struct QueueListener {
        /// `None` once a blocking wait consumed it.
        inner: Option<event_listener::EventListener>,
        counts: Arc<Counts>,
        /// The notification was observed (its unit was taken back by the notifier).
        done: bool,
    }

    impl Counts {
        /// Notifies `n` more list waiters (every waiter for `usize::MAX`) and takes their
        /// units off the count, so that once everyone waiting has been notified, publishers
        /// go back to one load instead of taking the list's lock for nobody.
        fn notify_list(&self, n: usize) {
            let notified = if n == usize::MAX {
                self.list.notify(usize::MAX.relaxed())
            } else {
                self.list.notify(n.additional().relaxed())
            };
            if notified > 0 {
                self.word.fetch_sub(notified * WAITER, Ordering::Relaxed);
            }
        }
    }

    impl Event {
        /// `heavy`: the notifiers publish with [`crate::barrier::light`]. `single`: the event
        /// of a single side, whose handle waits in the owner slot.
        pub(crate) fn new(heavy: bool, single: bool) -> Self {
            Self {
                waiters: Arc::new(Counts {
                    word: AtomicUsize::new(0),
                    last: AtomicU64::new(0),
                    published: AtomicU64::new(0),
                    seen: AtomicU64::new(0),
                    light_until: AtomicU64::new(0),
                    list: event_listener::Event::new(),
                    owner: OwnerState::new(),
                }),
                heavy,
                single,
            }
        }

        /// Registers a list waiter (any number may wait). Callers re-check their condition
        /// after this and before waiting.
        pub(crate) fn listen(&self) -> super::Listener {
            self.waiters.word.fetch_add(WAITER, Ordering::SeqCst);
            // `listen` ends with a SeqCst fence: the registration is ordered before the caller's
            // re-check of the queue (the store-load half of the handshake on the waiter's side).
            let inner = self.waiters.list.listen();
            self.pair_registration();
            super::Listener::Queue(QueueListener {
                inner: Some(inner),
                counts: Arc::clone(&self.waiters),
                done: false,
            })
        }

        /// Registers the waiter of the side's own handle: the owner slot on a single side, the
        /// list otherwise. Callers re-check their condition after this and before waiting.
        pub(crate) fn listen_owner(&self) -> super::Listener {
            if !self.single {
                return self.listen();
            }
            let listener = owner::register(&self.waiters);
            fence(Ordering::SeqCst);
            self.pair_registration();
            super::Listener::Owner(listener)
        }

        /// On a `heavy` event, the waiting side's half of the asymmetric handshake.
        fn pair_registration(&self) {
            if !self.heavy {
                return;
            }
            let counts = &*self.waiters;
            let mode = ModeBit(&counts.word);
            let now = now_ns();
            let last = counts.last.swap(now, Ordering::Relaxed);
            let published = counts.published.load(Ordering::Relaxed);
            let since = published.wrapping_sub(counts.seen.swap(published, Ordering::Relaxed));
            let frequent = if super::FencedFlag::get(&mode) && since > super::MANY_PUBLISHES {
                // Waits frequent in time but rare per publish: the fences cost more than a
                // light registration would (see the module doc).
                counts
                    .light_until
                    .store(now.saturating_add(super::LIGHT_HOLD), Ordering::Relaxed);
                false
            } else {
                now.wrapping_sub(last) < super::FREQUENT
                    && now >= counts.light_until.load(Ordering::Relaxed)
            };
            pair(&mode, frequent);
        }

        /// Wakes the owner (if waiting) and `n` more list waiters (all for `usize::MAX`).
        #[cold]
        fn wake(&self, word: usize, n: usize) {
            if word & OWNER != 0 {
                owner::notify(&self.waiters);
            }
            if word & !OWNER >= WAITER {
                self.waiters.notify_list(n);
            }
        }

        /// Notifies after a publish when the waiter word was not zero: in fenced mode, runs the
        /// fence the publish owes and reads the word again; then wakes `n` waiters if any wait.
        /// Out of line and cold: the publish path with nobody waiting (word zero) is one load
        /// and a branch laid out to fall through (the hint alone measured +9 % on same-thread
        /// SPSC pairs: the compiler no longer arranges the fast path around the call).
        #[cold]
        #[inline(never)]
        fn notify_nonzero(&self, word: usize, n: usize) {
            let word = if word & FENCED == 0 {
                word
            } else {
                fence(Ordering::SeqCst);
                let published = &self.waiters.published;
                published.store(
                    published.load(Ordering::Relaxed).wrapping_add(1),
                    Ordering::Relaxed,
                );
                self.waiters.word.load(Ordering::SeqCst)
            };
            // (`OWNER` is above every count, so an owner alone passes too.)
            if word >= WAITER {
                self.wake(word, n);
            }
        }

        /// Wakes one more waiter, issuing the SeqCst fence the handshake needs.
        ///
        /// All notifications are *additional*: each event (one value, one free slot) wakes a
        /// waiter of its own even if another waiter was notified and has not run yet, so two
        /// quick sends never wake just one of two sleeping receivers.
        pub(crate) fn notify_one(&self) {
            fence(Ordering::SeqCst);
            self.notify_n_after_rmw(1);
        }

        /// Wakes `n` waiters (as `notify_one`).
        pub(crate) fn notify_n(&self, n: usize) {
            fence(Ordering::SeqCst);
            self.notify_n_after_rmw(n);
        }

        /// Wakes one waiter; the caller has just performed a SeqCst read-modify-write that
        /// published its change, which serves as the handshake's fence (or, on a `heavy` event,
        /// a publish followed by a light barrier).
        #[inline(always)]
        pub(crate) fn notify_one_after_rmw(&self) {
            self.notify_n_after_rmw(1);
        }

        /// Wakes `n` waiters after a SeqCst read-modify-write (as above).
        #[inline(always)]
        pub(crate) fn notify_n_after_rmw(&self, n: usize) {
            // Must follow the SeqCst read-modify-write (or, for a `heavy` event, the light
            // barrier) that published the change the waiters wait for: `load_after_light`
            // keeps it after that store. Zero: nobody waits and the event is not fenced.
            let word = crate::barrier::load_after_light(&self.waiters.word);
            if word != 0 {
                self.notify_nonzero(word, n);
            }
        }

        /// Wakes one waiter after a ring operation: its claim was the SeqCst
        /// read-modify-write (on the stamped rings the value or room lands after it, and
        /// waiters that find nothing check the claimed positions; see
        /// `Queue::value_in_flight`), or, on a `heavy` event, its publish ended with a light
        /// barrier. The same code as [`Self::notify_one_after_rmw`]; the loom model places
        /// that read-modify-write's barrier at the claim instead of here.
        #[inline(always)]
        pub(crate) fn notify_one_after_claim(&self) {
            self.notify_n_after_rmw(1);
        }

        /// Wakes `n` waiters after a ring operation (as above).
        #[inline(always)]
        pub(crate) fn notify_n_after_claim(&self, n: usize) {
            self.notify_n_after_rmw(n);
        }

        /// Wakes every waiter.
        pub(crate) fn notify_all(&self) {
            fence(Ordering::SeqCst);
            self.notify_n_after_rmw(usize::MAX);
        }
    }

    impl QueueListener {
        /// Blocks the thread until notified.
        pub(crate) fn wait(mut self) {
            if let Some(inner) = self.inner.take() {
                inner.wait();
            }
            self.done = true;
        }

        /// Blocks until notified or the deadline passes; `true` if notified.
        pub(crate) fn wait_deadline(mut self, deadline: Instant) -> bool {
            // `None`: timed out and removed un-notified (a notification racing the timeout
            // makes it return `Some`); the unit is then given back on drop.
            let notified = self
                .inner
                .take()
                .is_some_and(|inner| inner.wait_deadline(deadline).is_some());
            self.done = notified;
            notified
        }

        pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
            match &mut self.inner {
                Some(inner) => match Pin::new(inner).poll(cx) {
                    Poll::Ready(()) => {
                        self.done = true;
                        Poll::Ready(())
                    }
                    Poll::Pending => Poll::Pending,
                },
                None => Poll::Ready(()),
            }
        }
    }

    impl Drop for QueueListener {
        fn drop(&mut self) {
            if self.done {
                return;
            }
            if self.inner.take().is_some_and(|inner| inner.discard()) {
                // Notified but never used: the notifier took the unit back; pass the
                // notification on to another waiter (a cancelled waiter never swallows one).
                self.counts.notify_list(1);
            } else {
                // Never notified: give the unit back. (A stale high count would only cost a
                // notifier an unneeded lock; it is never left too low.)
                self.counts.word.fetch_sub(WAITER, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(nimsync_loom)]
mod imp {
    use core::task::{Context, Poll, Waker};
    use std::time::Instant;

    use loom::sync::Arc;
    use loom::sync::atomic::{AtomicUsize, Ordering, fence};

    use crate::owner::{self, OWNER, OwnerState};
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

    /// The shared part of an event, as the owner slot reaches it.
    pub type Host = Arc<Shared>;

    pub struct Shared {
        /// List waiters, plus [`OWNER`] while the owner waits.
        waiters: AtomicUsize,
        heavy: bool,
        single: bool,
        owner: OwnerState,
        /// Pairing mode (1 = fenced), as in the std version.
        fenced: AtomicUsize,
        /// Registrations so far: under loom every other one counts as "frequent", so the
        /// models run both modes and both switches.
        registrations: AtomicUsize,
        state: Mutex<State>,
    }

    impl super::FencedFlag for AtomicUsize {
        fn get(&self) -> bool {
            self.load(Ordering::Relaxed) != 0
        }
        fn set(&self, fenced: bool) {
            self.store(usize::from(fenced), Ordering::Relaxed);
        }
    }

    impl owner::Host for Arc<Shared> {
        fn word(&self) -> &AtomicUsize {
            &self.waiters
        }
        fn owner(&self) -> &OwnerState {
            &self.owner
        }
    }

    /// A wait queue (loom model version).
    pub struct Event(Arc<Shared>);

    /// A registered list waiter (loom model version).
    pub struct QueueListener {
        shared: Arc<Shared>,
        id: usize,
        done: bool,
    }

    impl Event {
        pub(crate) fn new(heavy: bool, single: bool) -> Self {
            Self(Arc::new(Shared {
                waiters: AtomicUsize::new(0),
                heavy,
                single,
                owner: OwnerState::new(),
                fenced: AtomicUsize::new(0),
                registrations: AtomicUsize::new(0),
                state: Mutex::new(State::default()),
            }))
        }

        pub(crate) fn listen_owner(&self) -> super::Listener {
            if !self.0.single {
                return self.listen();
            }
            let listener = owner::register(&self.0);
            fence(Ordering::SeqCst);
            self.pair_registration();
            super::Listener::Owner(listener)
        }

        fn pair_registration(&self) {
            if self.0.heavy {
                let n = self.0.registrations.fetch_add(1, Ordering::Relaxed);
                super::pair(&self.0.fenced, n % 2 == 1);
            }
        }

        pub(crate) fn listen(&self) -> super::Listener {
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
            self.pair_registration();
            super::Listener::Queue(QueueListener {
                shared: self.0.clone(),
                id,
                done: false,
            })
        }

        fn notify(&self, n: usize) {
            fence(Ordering::SeqCst);
            self.notify_unfenced(n);
        }

        /// After a publish. On a `heavy` event the publish ended with the ring's light barrier
        /// (a real SeqCst fence under loom), so no fence is added here and the models check
        /// that every publish path really has one. Otherwise the publish was a SeqCst
        /// read-modify-write, which loom models as AcqRel only (a documented limitation that
        /// would report false lost wake-ups), so the fence stands in for its barrier effect.
        fn notify_after_publish(&self, n: usize) {
            if !self.0.heavy || self.0.fenced.load(Ordering::Relaxed) != 0 {
                fence(Ordering::SeqCst);
            }
            self.notify_unfenced(n);
        }

        fn notify_unfenced(&self, n: usize) {
            let word = self.0.waiters.load(Ordering::SeqCst);
            if word & OWNER != 0 {
                owner::notify(&self.0);
            }
            if word & !OWNER != 0 {
                notify_shared(&self.0, n);
            }
        }

        pub(crate) fn notify_one(&self) {
            self.notify(1);
        }

        pub(crate) fn notify_n(&self, n: usize) {
            self.notify(n);
        }

        pub(crate) fn notify_one_after_rmw(&self) {
            self.notify_after_publish(1);
        }

        pub(crate) fn notify_n_after_rmw(&self, n: usize) {
            self.notify_after_publish(n);
        }

        /// After a ring operation. The stamped rings model their claim's barrier at the
        /// claim (`sync::rmw_barrier`), before the value lands, so no fence is added here
        /// for them and the models see a waiter that checks the slot alone miss the value;
        /// a `heavy` event (the Lamport ring) is as in `notify_after_publish`.
        fn notify_after_claim(&self, n: usize) {
            if self.0.heavy && self.0.fenced.load(Ordering::Relaxed) != 0 {
                fence(Ordering::SeqCst);
            }
            self.notify_unfenced(n);
        }

        pub(crate) fn notify_one_after_claim(&self) {
            self.notify_after_claim(1);
        }

        pub(crate) fn notify_n_after_claim(&self, n: usize) {
            self.notify_after_claim(n);
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
        // As in the std version: notified waiters no longer count.
        if notified > 0 {
            shared.waiters.fetch_sub(notified, Ordering::SeqCst);
        }
    }

    impl QueueListener {
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
            if !entry.notified {
                // A notified entry's unit was taken back by its notifier.
                self.shared.waiters.fetch_sub(1, Ordering::SeqCst);
            }
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

        pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
            if self.check(Wake::Task(cx.waker().clone())) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }

    impl Drop for QueueListener {
        fn drop(&mut self) {
            if self.remove() {
                // Notified but never used: pass the notification on.
                notify_shared(&self.shared, 1);
            }
        }
    }
}

/// A registered waiter: in an event's list, or in a single side's owner slot.
pub enum Listener {
    /// In the list (any number of waiters).
    Queue(imp::QueueListener),
    /// In the owner slot ([`crate::owner`]).
    Owner(crate::owner::OwnerListener<imp::Host>),
}

impl Listener {
    /// Blocks the thread until notified.
    pub(crate) fn wait(self) {
        match self {
            Self::Queue(listener) => listener.wait(),
            Self::Owner(listener) => {
                listener.wait_until(None);
            }
        }
    }

    /// Blocks until notified or the deadline passes; `true` if notified.
    pub(crate) fn wait_deadline(self, deadline: std::time::Instant) -> bool {
        match self {
            Self::Queue(listener) => listener.wait_deadline(deadline),
            Self::Owner(listener) => listener.wait_until(Some(deadline)),
        }
    }
}

impl core::future::Future for Listener {
    type Output = ();

    fn poll(
        mut self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<()> {
        match &mut *self {
            Self::Queue(listener) => listener.poll(cx),
            Self::Owner(listener) => listener.poll(cx),
        }
    }
}

pub(crate) use imp::Event;
