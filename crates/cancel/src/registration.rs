//! `OnCancel`: a callback registration that unregisters itself when dropped.

use crate::token::CancelToken;
use std::fmt;

/// The registration returned by [`CancelToken::on_cancel`]. Dropping it before the token is
/// cancelled removes the callback (it will never run); once cancellation has started, the
/// callback runs (or has run) exactly once regardless.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
///
/// let t = nimsync_cancel::CancelToken::new();
/// let ran = Arc::new(AtomicBool::new(false));
/// let r = ran.clone();
/// let reg = t.on_cancel(move || r.store(true, Ordering::SeqCst));
/// drop(reg); // unregistered
/// t.cancel();
/// assert!(!ran.load(Ordering::SeqCst));
/// ```
#[must_use = "dropping the registration unregisters the callback at once"]
pub struct OnCancel {
    token: CancelToken,
    key: Option<usize>,
}

impl OnCancel {
    pub(crate) fn new(token: CancelToken, key: Option<usize>) -> OnCancel {
        OnCancel { token, key }
    }

    /// The token the callback is registered on.
    ///
    /// ```
    /// let t = nimsync_cancel::CancelToken::new();
    /// let reg = t.on_cancel(|| {});
    /// assert!(reg.token().same_as(&t));
    /// ```
    pub fn token(&self) -> &CancelToken {
        &self.token
    }
}

impl Drop for OnCancel {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            // The callback (and what it captured) is dropped here, outside the node's lock.
            drop(self.token.node.unregister(key));
        }
    }
}

impl fmt::Debug for OnCancel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnCancel")
            .field("registered", &self.key.is_some())
            .finish()
    }
}
