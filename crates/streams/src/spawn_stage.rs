//! `spawn_stage(n)`: runs everything upstream on its own scheduler task, handing items over
//! through a bounded core channel of `n` slots — a pipeline boundary across workers. The
//! upstream task waits when the channel is full (backpressure) and ends when the stage is
//! dropped.
//!
//! The task is spawned by `spawn_stage` itself (not at the first poll), with
//! `nimsync_scheduler::spawn`: on the runtime entered on the calling thread, or on the global
//! default runtime when none is. When the channel ends (every sender gone), the stage awaits
//! the task's outcome before it ends: a panic upstream is re-raised in the consumer with
//! `resume_unwind` and its original payload, so it never looks like a normal end of stream.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use nimsync_core_channels::{Builder, mpsc};
use nimsync_scheduler::JoinHandle;

use crate::error::{StageError, at_least_one};

/// Stream of [`StreamExt::spawn_stage`](crate::StreamExt::spawn_stage).
#[must_use = "streams do nothing unless polled"]
pub struct SpawnStage<T: Send> {
    rx: mpsc::Receiver<T>,
    /// The upstream task, until its outcome has been taken (after the channel ended).
    task: Option<JoinHandle<()>>,
}

impl<T: Send> fmt::Debug for SpawnStage<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpawnStage")
            .field("buffered", &self.rx.len())
            .field("capacity", &self.rx.capacity())
            .finish()
    }
}

pub(crate) fn spawn_stage<S>(stream: S, capacity: usize) -> Result<SpawnStage<S::Item>, StageError>
where
    S: Stream + Send + 'static,
    S::Item: Send + 'static,
{
    let capacity = at_least_one(capacity, "spawn_stage capacity")?;
    let (tx, rx) = Builder::new(capacity)
        .mpsc::<S::Item>()
        .map_err(StageError::Channel)?;
    let task = nimsync_scheduler::spawn(async move {
        let mut stream = Box::pin(stream);
        while let Some(item) = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
            if tx.send(item).await.is_err() {
                break; // the stage was dropped
            }
        }
    });
    Ok(SpawnStage {
        rx,
        task: Some(task),
    })
}

impl<T: Send> SpawnStage<T> {
    /// Items waiting in the hand-off channel.
    pub fn buffered_len(&self) -> usize {
        self.rx.len()
    }

    /// The hand-off channel's capacity (`n` rounded up to a power of two).
    pub fn capacity(&self) -> usize {
        self.rx.capacity()
    }
}

impl<T: Send> Stream for SpawnStage<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        if let Some(item) = ready!(Pin::new(&mut this.rx).poll_next(cx)) {
            return Poll::Ready(Some(item));
        }
        // Every sender is gone: the upstream task has finished, panicked or been cancelled
        // (or is just finishing: its handle wakes us). Its outcome decides how the stage ends.
        let Some(task) = this.task.as_mut() else {
            return Poll::Ready(None); // outcome already taken: ended before
        };
        let outcome = ready!(Pin::new(task).poll(cx));
        this.task = None;
        match outcome.map_err(nimsync_scheduler::JoinError::try_into_panic) {
            Ok(()) => Poll::Ready(None),
            // The consumer panics as the upstream did, with the same payload.
            Err(Ok(payload)) => std::panic::resume_unwind(payload),
            // Cancelled (its runtime shut down): nothing more will come.
            Err(Err(_cancelled)) => Poll::Ready(None),
        }
    }
}

impl<T: Send> Drop for SpawnStage<T> {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
