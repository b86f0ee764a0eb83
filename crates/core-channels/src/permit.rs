//! [`Permit`]: one unit of reserved capacity, which sends without waiting or failing.

use core::fmt;

use crate::chan::RawChan;
use crate::mode::Mode;

/// Capacity reserved by [`reserve`](crate::mpmc::Sender::reserve) /
/// [`try_reserve`](crate::mpmc::Sender::try_reserve).
///
/// Reserving first and sending second is the cancel-safe way to send from a `select`: if the
/// reservation is abandoned, no value was ever moved. Dropping an unused permit gives the
/// capacity back.
///
/// ```
/// use nimsync_core_channels::mpmc;
/// let (tx, rx) = mpmc::<&str>(1);
/// let permit = tx.try_reserve().unwrap();
/// assert!(tx.try_send("other").is_err()); // the only slot is reserved
/// permit.send("reserved");
/// assert_eq!(rx.try_recv(), Ok("reserved"));
/// ```
#[must_use = "an unused permit releases its capacity when dropped"]
pub struct Permit<'a, T: Send, M: Mode> {
    chan: &'a M::Chan<T>,
}

impl<'a, T: Send, M: Mode> Permit<'a, T, M> {
    pub(crate) fn new(chan: &'a M::Chan<T>) -> Self {
        Self { chan }
    }

    /// Sends `value` into the reserved capacity. This never waits and never fails; if the
    /// channel was closed after the reservation, the value is dropped and counted in
    /// `stats().dropped`.
    pub fn send(self, value: T) {
        let chan = self.chan;
        core::mem::forget(self);
        // SAFETY: a permit of a single-producer channel borrows the sender mutably, so no
        // other producer call runs; the reservation is held (forgotten above, consumed here).
        unsafe { chan.send_reserved(value) };
    }
}

impl<T: Send, M: Mode> Drop for Permit<'_, T, M> {
    fn drop(&mut self) {
        self.chan.release_reserved();
    }
}

impl<T: Send, M: Mode> fmt::Debug for Permit<'_, T, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").field("mode", &M::NAME).finish()
    }
}
