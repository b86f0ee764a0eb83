//! `WaitForCancel`: the cancel-safe future returned by `CancelToken::cancelled()`.

use crate::node::Entry;
use crate::token::CancelToken;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// Completes when its token is cancelled; see [`CancelToken::cancelled`]. It registers its
/// waker on the token at its first pending poll and removes it when dropped, so dropping it
/// at any point is safe and leaves nothing behind.
///
/// ```
/// use nimsync_cancel::CancelToken;
/// let t = CancelToken::new();
/// t.cancel();
/// futures_executor::block_on(t.cancelled()); // ready at once
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct WaitForCancel {
    token: CancelToken,
    /// The registration's key; meaningful only while `waker` is `Some` (registered), which
    /// keeps the future 8 bytes smaller than an `Option<usize>` would (it sits in every
    /// task-group child).
    key: usize,
    waker: Option<Waker>,
}

impl WaitForCancel {
    pub(crate) fn new(token: CancelToken) -> WaitForCancel {
        WaitForCancel {
            token,
            key: 0,
            waker: None,
        }
    }

    /// Registers (or refreshes) `waker`; returns `true` if the token is cancelled.
    pub(crate) fn poll_cancelled(&mut self, waker: &Waker) -> bool {
        let node = &self.token.node;
        if node.is_cancelled() {
            return true;
        }
        match &self.waker {
            None => match node.register(Entry::Waker(waker.clone())) {
                Ok(key) => {
                    self.key = key;
                    self.waker = Some(waker.clone());
                    false
                }
                Err(_) => true,
            },
            Some(registered) => {
                if registered.will_wake(waker) {
                    return false;
                }
                self.waker = Some(waker.clone());
                !node.update_waker(self.key, waker)
            }
        }
    }

    /// The token being waited on.
    ///
    /// ```
    /// let t = nimsync_cancel::CancelToken::new();
    /// assert!(t.cancelled().token().same_as(&t));
    /// ```
    pub fn token(&self) -> &CancelToken {
        &self.token
    }
}

impl Future for WaitForCancel {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.poll_cancelled(cx.waker()) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for WaitForCancel {
    fn drop(&mut self) {
        if self.waker.take().is_some() {
            drop(self.token.node.unregister(self.key));
        }
    }
}

impl fmt::Debug for WaitForCancel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitForCancel")
            .field("cancelled", &self.token.is_cancelled())
            .finish()
    }
}
