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
/// `RunChild`, whose size is memory per child: so the slot is only the registration's key,
/// and the waker lives in the node's entry alone. A later pending poll refreshes that entry
/// under the node's lock (kept as it is when it would wake the same task), as
/// `tokio::sync::Notify`'s waiters do; a child that ends in its first poll, the common case,
/// never registers at all.
pub(crate) struct WakerSlot {
    /// The registration's key, or [`UNREGISTERED`].
    key: usize,
}

/// `WakerSlot::key` with nothing registered (a slab never hands out this key).
const UNREGISTERED: usize = usize::MAX;

impl WakerSlot {
    /// Nothing registered.
    pub(crate) const fn new() -> WakerSlot {
        WakerSlot { key: UNREGISTERED }
    }

    /// Registers (or refreshes) `waker` on `node`; returns `true` if `node` is cancelled.
    pub(crate) fn poll_cancelled(&mut self, node: &Node, waker: &Waker) -> bool {
        if node.is_cancelled() {
            return true;
        }
        if self.key != UNREGISTERED {
            // Gone only if the node was cancelled meanwhile (the canceller took it).
            return !node.update_waker(self.key, waker);
        }
        match node.register(Entry::Waker(waker.clone())) {
            Ok(key) => {
                self.key = key;
                false
            }
            Err(_) => true,
        }
    }

    /// Removes the registration from `node` (where it was made), if there is one (a check
    /// inline: most task-group children end, or are dropped, without ever registering).
    #[inline]
    pub(crate) fn unregister(&mut self, node: &Node) {
        if self.key != UNREGISTERED {
            self.unregister_now(node);
        }
    }

    fn unregister_now(&mut self, node: &Node) {
        let key = std::mem::replace(&mut self.key, UNREGISTERED);
        drop(node.unregister(key));
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
