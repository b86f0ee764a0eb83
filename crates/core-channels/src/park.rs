//! Parking the current thread behind a `Waker`: how blocking waits (the owner slot, `Select`)
//! wait on the same registrations as async ones. Under loom: loom's thread parking, with
//! deadlines ignored as in the loom event.

pub(crate) use imp::{park_until, waker};

#[cfg(not(nimsync_loom))]
mod imp {
    use core::task::Waker;
    use std::sync::Arc;
    use std::task::Wake;
    use std::time::Instant;

    struct Unparker(std::thread::Thread);

    impl Wake for Unparker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }

    thread_local! {
        /// One waker per thread, made on its first blocking wait.
        static WAKER: Waker = Waker::from(Arc::new(Unparker(std::thread::current())));
    }

    /// A waker that unparks the current thread.
    pub(crate) fn waker() -> Waker {
        WAKER.with(Waker::clone)
    }

    /// Parks (spurious returns are fine: callers loop); `false` once `deadline` has passed.
    pub(crate) fn park_until(deadline: Option<Instant>) -> bool {
        match deadline {
            None => {
                std::thread::park();
                true
            }
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    return false;
                }
                std::thread::park_timeout(deadline - now);
                true
            }
        }
    }
}

#[cfg(nimsync_loom)]
mod imp {
    use core::task::Waker;
    use std::sync::Arc;
    use std::task::Wake;
    use std::time::Instant;

    struct Unparker(loom::thread::Thread);

    impl Wake for Unparker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    pub(crate) fn waker() -> Waker {
        Waker::from(Arc::new(Unparker(loom::thread::current())))
    }

    pub(crate) fn park_until(_deadline: Option<Instant>) -> bool {
        loom::thread::park();
        true
    }
}
