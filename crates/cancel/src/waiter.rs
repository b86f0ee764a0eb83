//! `WaitForCancel`: the cancel-safe future returned by `CancelToken::cancelled()`, and the
//! waker registration it shares with a task-group child's `RunChild`.

use crate::node::{Entry, Node};
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
    slot: WakerSlot,
}

/// A waker registered on a node (or not yet), without a handle to the node: the owner says
/// which node on every call. Used by [`WaitForCancel`] and by a task-group child's
/// `RunChild`, whose size is memory per child.
pub(crate) struct WakerSlot {
    /// The registration's key; meaningful only while `waker` is `Some` (registered), which
    /// keeps the slot 8 bytes smaller than an `Option<usize>` would.
    key: usize,
    waker: Option<Waker>,
}

impl WakerSlot {
    /// Nothing registered.
    pub(crate) const fn new() -> WakerSlot {
        WakerSlot {
            key: 0,
            waker: None,
        }
    }

    /// Registers (or refreshes) `waker` on `node`; returns `true` if `node` is cancelled.
    pub(crate) fn poll_cancelled(&mut self, node: &Node, waker: &Waker) -> bool {
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

    /// Removes the registration from `node` (where it was made), if there is one (a check
    /// inline: most task-group children end, or are dropped, without ever registering).
    #[inline]
    pub(crate) fn unregister(&mut self, node: &Node) {
        if self.waker.is_some() {
            self.unregister_now(node);
        }
    }

    fn unregister_now(&mut self, node: &Node) {
        self.waker = None;
        drop(node.unregister(self.key));
    }
}

impl WaitForCancel {
    pub(crate) fn new(token: CancelToken) -> WaitForCancel {
        WaitForCancel {
            token,
            slot: WakerSlot::new(),
        }
    }

    /// Registers (or refreshes) `waker`; returns `true` if the token is cancelled.
    pub(crate) fn poll_cancelled(&mut self, waker: &Waker) -> bool {
        self.slot.poll_cancelled(&self.token.node, waker)
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
        self.slot.unregister(&self.token.node);
    }
}

impl fmt::Debug for WaitForCancel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitForCancel")
            .field("cancelled", &self.token.is_cancelled())
            .finish()
    }
}
