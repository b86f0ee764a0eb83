//! [`Bulkhead`]: at most N calls at once into a resource, at most M waiting; beyond that,
//! callers are turned away at once with a clear error instead of piling up.
//!
//! Built on an L0 MPMC channel of tokens: a permit is a token taken out, put back on drop
//! (exactly once, even if the call is cancelled or panics).

use core::fmt;
use core::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use nimsync_core_channels::mpmc;

use crate::{BulkheadFull, ConfigError};

struct Inner {
    tokens_tx: mpmc::Sender<()>,
    tokens_rx: mpmc::Receiver<()>,
    waiting: AtomicUsize,
    max_concurrent: usize,
    max_queue: usize,
}

/// A bounded-concurrency compartment for calls into one resource. Cheap to clone.
///
/// ```
/// use nimsync_supervision::{Bulkhead, BulkheadFull};
/// nimsync_scheduler::block_on(async {
///     let db = Bulkhead::new(2, 0).unwrap(); // 2 at once, nobody waits
///     let a = db.try_acquire().unwrap();
///     let _b = db.try_acquire().unwrap();
///     assert_eq!(db.try_acquire().unwrap_err(), BulkheadFull { max_concurrent: 2, max_queue: 0 });
///     assert!(db.acquire().await.is_err()); // no queue: rejected at once
///     drop(a);
///     assert_eq!(db.call(async { 7 }).await, Ok(7));
/// });
/// ```
#[derive(Clone)]
pub struct Bulkhead {
    inner: Arc<Inner>,
}

impl Bulkhead {
    /// A bulkhead of `max_concurrent` (≥ 1) concurrent calls and `max_queue` waiting ones.
    pub fn new(max_concurrent: usize, max_queue: usize) -> Result<Self, ConfigError> {
        if max_concurrent == 0 {
            return Err(ConfigError("a bulkhead needs at least 1 concurrent call"));
        }
        let (tokens_tx, tokens_rx) = nimsync_core_channels::Builder::new(max_concurrent)
            .mpmc::<()>()
            .map_err(|_| ConfigError("bulkhead concurrency too large"))?;
        for _ in 0..max_concurrent {
            // The ring holds at least `max_concurrent` slots.
            let _ = tokens_tx.try_send(());
        }
        Ok(Bulkhead {
            inner: Arc::new(Inner {
                tokens_tx,
                tokens_rx,
                waiting: AtomicUsize::new(0),
                max_concurrent,
                max_queue,
            }),
        })
    }

    fn full(&self) -> BulkheadFull {
        BulkheadFull {
            max_concurrent: self.inner.max_concurrent,
            max_queue: self.inner.max_queue,
        }
    }

    /// A permit now, or `Err` if every slot is taken (does not queue).
    pub fn try_acquire(&self) -> Result<BulkheadPermit, BulkheadFull> {
        match self.inner.tokens_rx.try_recv() {
            Ok(()) => Ok(BulkheadPermit {
                bulkhead: self.clone(),
            }),
            Err(_) => Err(self.full()),
        }
    }

    /// A permit, waiting in the queue if every slot is taken; `Err` at once if the queue is
    /// full too. Waiters are woken as slots free up (not strictly first-come first-served).
    pub async fn acquire(&self) -> Result<BulkheadPermit, BulkheadFull> {
        if let Ok(p) = self.try_acquire() {
            return Ok(p);
        }
        let inner = &self.inner;
        if inner.waiting.fetch_add(1, Ordering::AcqRel) >= inner.max_queue {
            inner.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(self.full());
        }
        // Leaves the queue however this future ends (taken, or dropped while waiting).
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        let _place = Waiting(&inner.waiting);
        match inner.tokens_rx.recv().await {
            Ok(()) => Ok(BulkheadPermit {
                bulkhead: self.clone(),
            }),
            // The bulkhead holds both ends, so the channel never closes.
            Err(_) => Err(self.full()),
        }
    }

    /// Runs `fut` inside the bulkhead (waiting in the queue if needed).
    pub async fn call<F: Future>(&self, fut: F) -> Result<F::Output, BulkheadFull> {
        let _permit = self.acquire().await?;
        Ok(fut.await)
    }

    /// Calls running now.
    pub fn in_use(&self) -> usize {
        self.inner.max_concurrent - self.inner.tokens_rx.len()
    }

    /// Calls waiting now.
    pub fn waiting(&self) -> usize {
        self.inner.waiting.load(Ordering::Acquire)
    }
}

impl fmt::Debug for Bulkhead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bulkhead")
            .field("max_concurrent", &self.inner.max_concurrent)
            .field("max_queue", &self.inner.max_queue)
            .field("in_use", &self.in_use())
            .field("waiting", &self.waiting())
            .finish()
    }
}

/// One slot of a [`Bulkhead`]; released on drop.
pub struct BulkheadPermit {
    bulkhead: Bulkhead,
}

impl Drop for BulkheadPermit {
    fn drop(&mut self) {
        // Never full: at most `max_concurrent` tokens exist.
        let _ = self.bulkhead.inner.tokens_tx.try_send(());
    }
}

impl fmt::Debug for BulkheadPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BulkheadPermit")
    }
}
