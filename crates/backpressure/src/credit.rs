//! Credit-based flow control over a core MPSC channel: the receiver grants credits, each
//! send spends one, a sender without credit waits (HTTP/2 windows, Reactive Streams'
//! `request(n)`).
//!
//! Credits live in one atomic counter. Spending is a CAS that never goes below zero; a send
//! that spent a credit but could not enqueue (its future was dropped while the channel was
//! full, or the channel closed) refunds it, so a credit is never lost or used twice.

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use event_listener::{Event, EventListener, IntoNotification};
use futures_core::Stream;
use nimsync_core_channels::{Builder, RecvError, SendError, TrySendError, mpsc};

use crate::error::ConfigError;

/// Granting would push the outstanding credits above [`MAX_CREDITS`]; nothing was granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditOverflow {
    /// Credits outstanding when the grant was refused.
    pub available: usize,
    /// The refused grant.
    pub requested: usize,
}

impl fmt::Display for CreditOverflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "granting {} credits to {} outstanding exceeds MAX_CREDITS",
            self.requested, self.available
        )
    }
}

impl std::error::Error for CreditOverflow {}

/// Most credits that may be outstanding at once.
pub const MAX_CREDITS: usize = usize::MAX >> 1;

struct Credits {
    available: AtomicUsize,
    closed: AtomicBool,
    granted: Event,
}

impl Credits {
    fn try_take(&self) -> bool {
        self.available
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| c.checked_sub(1))
            .is_ok()
    }

    fn refund(&self) {
        self.available.fetch_add(1, Ordering::AcqRel);
        self.granted.notify(1.additional());
    }
}

/// Creates a credit channel whose buffer holds `capacity` values and whose sender starts
/// with `initial_credits`.
///
/// ```
/// use nimsync_backpressure::credit_channel;
///
/// let (tx, mut rx) = credit_channel::<u32>(16, 2).unwrap();
/// futures_executor::block_on(async {
///     tx.send(1).await.unwrap();
///     tx.send(2).await.unwrap();
///     assert!(tx.try_send(3).is_err()); // out of credit
///     assert_eq!(rx.recv().await.unwrap(), 1);
///     rx.grant(1).unwrap(); // ready for one more
///     tx.send(3).await.unwrap();
/// });
/// assert_eq!(rx.credits(), 0);
/// ```
pub fn credit_channel<T: Send>(
    capacity: usize,
    initial_credits: usize,
) -> Result<(CreditSender<T>, CreditReceiver<T>), ConfigError> {
    if initial_credits > MAX_CREDITS {
        return Err(ConfigError::InvalidParameter {
            name: "initial_credits",
            value: initial_credits as f64,
            expected: "at most MAX_CREDITS",
        });
    }
    let (tx, rx) = Builder::new(capacity)
        .mpsc::<T>()
        .map_err(|_| ConfigError::Zero("capacity"))?;
    let credits = Arc::new(Credits {
        available: AtomicUsize::new(initial_credits),
        closed: AtomicBool::new(false),
        granted: Event::new(),
    });
    Ok((
        CreditSender {
            tx,
            credits: credits.clone(),
        },
        CreditReceiver { rx, credits },
    ))
}

/// Why a [`CreditSender::try_send`] failed; the value comes back.
#[derive(Debug, PartialEq, Eq)]
pub enum TrySendCreditError<T> {
    /// No credit: the receiver has not asked for more.
    NoCredit(T),
    /// Credit was there but the buffer is full (the credit was refunded).
    Full(T),
    /// The receiver is gone.
    Closed(T),
}

impl<T> fmt::Display for TrySendCreditError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoCredit(_) => "no credit",
            Self::Full(_) => "buffer full",
            Self::Closed(_) => "receiver closed",
        })
    }
}

impl<T: fmt::Debug> std::error::Error for TrySendCreditError<T> {}

/// Sending half: spends one credit per value. Clone it for more producers.
pub struct CreditSender<T: Send> {
    tx: mpsc::Sender<T>,
    credits: Arc<Credits>,
}

impl<T: Send> Clone for CreditSender<T> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            credits: self.credits.clone(),
        }
    }
}

impl<T: Send> fmt::Debug for CreditSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreditSender")
            .field("credits", &self.credits.available.load(Ordering::Relaxed))
            .finish()
    }
}

/// Gives the credit back unless the value was enqueued.
struct Refund<'a> {
    credits: &'a Credits,
    armed: bool,
}

impl Drop for Refund<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.credits.refund();
        }
    }
}

impl<T: Send> CreditSender<T> {
    /// Sends `value` if a credit is available and the buffer has room.
    pub fn try_send(&self, value: T) -> Result<(), TrySendCreditError<T>> {
        if self.credits.closed.load(Ordering::Acquire) {
            return Err(TrySendCreditError::Closed(value));
        }
        if !self.credits.try_take() {
            return Err(TrySendCreditError::NoCredit(value));
        }
        match self.tx.try_send(value) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.credits.refund();
                Err(match e {
                    TrySendError::Full(v) => TrySendCreditError::Full(v),
                    TrySendError::Closed(v) => TrySendCreditError::Closed(v),
                })
            }
        }
    }

    /// Waits for a credit, then for room, and sends. Cancel-safe: dropping the future
    /// before it completes spends no credit and enqueues nothing. Fails (with the value)
    /// when the receiver is gone.
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        let mut listener: Option<EventListener> = None;
        let have_credit = poll_fn(|cx| self.poll_credit(&mut listener, cx)).await;
        if !have_credit {
            return Err(SendError(value));
        }
        let mut refund = Refund {
            credits: &self.credits,
            armed: true,
        };
        let r = self.tx.send(value).await;
        refund.armed = r.is_err();
        r
    }

    /// Credits the receiver has granted and no send has spent yet.
    pub fn credits(&self) -> usize {
        self.credits.available.load(Ordering::Acquire)
    }

    /// Takes a credit (Ready(true)), or sees the receiver gone (Ready(false)).
    fn poll_credit(
        &self,
        listener: &mut Option<EventListener>,
        cx: &mut Context<'_>,
    ) -> Poll<bool> {
        loop {
            if self.credits.closed.load(Ordering::Acquire) {
                return Poll::Ready(false);
            }
            if self.credits.try_take() {
                return Poll::Ready(true);
            }
            match listener {
                None => *listener = Some(self.credits.granted.listen()),
                Some(l) => {
                    if Pin::new(l).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    *listener = None;
                }
            }
        }
    }
}

/// Receiving half: grants credits and receives values. Also a [`Stream`] of them.
pub struct CreditReceiver<T: Send> {
    rx: mpsc::Receiver<T>,
    credits: Arc<Credits>,
}

impl<T: Send> fmt::Debug for CreditReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreditReceiver")
            .field("credits", &self.credits())
            .field("buffered", &self.rx.len())
            .finish()
    }
}

impl<T: Send> CreditReceiver<T> {
    /// Grants `n` more sends. Fails, granting nothing, if the outstanding credits would
    /// exceed [`MAX_CREDITS`].
    ///
    /// ```
    /// use nimsync_backpressure::{credit_channel, MAX_CREDITS};
    /// let (_tx, rx) = credit_channel::<u8>(4, 0).unwrap();
    /// rx.grant(3).unwrap();
    /// assert_eq!(rx.credits(), 3);
    /// assert!(rx.grant(MAX_CREDITS).is_err());
    /// assert_eq!(rx.credits(), 3);
    /// ```
    pub fn grant(&self, n: usize) -> Result<(), CreditOverflow> {
        self.credits
            .available
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
                c.checked_add(n).filter(|&t| t <= MAX_CREDITS)
            })
            .map_err(|available| CreditOverflow {
                available,
                requested: n,
            })?;
        self.credits.granted.notify(n.additional());
        Ok(())
    }

    /// Credits granted and not yet spent.
    pub fn credits(&self) -> usize {
        self.credits.available.load(Ordering::Acquire)
    }

    /// Receives the next value; `Err` once every sender is gone and the buffer is empty.
    pub async fn recv(&mut self) -> Result<T, RecvError> {
        self.rx.recv().await
    }

    /// Receives a value if one is buffered.
    pub fn try_recv(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

impl<T: Send> Stream for CreditReceiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        Pin::new(&mut self.get_mut().rx).poll_next(cx)
    }
}

impl<T: Send> Drop for CreditReceiver<T> {
    fn drop(&mut self) {
        self.credits.closed.store(true, Ordering::Release);
        self.credits.granted.notify(usize::MAX);
    }
}
