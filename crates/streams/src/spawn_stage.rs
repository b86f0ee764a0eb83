//! `spawn_stage(n)`: runs everything upstream on its own scheduler task, handing items over
//! through a bounded core channel of `n` slots — a pipeline boundary across workers. The
//! upstream task waits when the channel is full (backpressure) and ends when the stage is
//! dropped.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use nimsync_core_channels::{Builder, mpsc};
use nimsync_scheduler::JoinHandle;

use crate::error::{StageError, at_least_one};

/// Stream of [`StreamExt::spawn_stage`](crate::StreamExt::spawn_stage).
#[must_use = "streams do nothing unless polled"]
pub struct SpawnStage<T: Send> {
    rx: mpsc::Receiver<T>,
    task: JoinHandle<()>,
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
    Ok(SpawnStage { rx, task })
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
        Pin::new(&mut self.get_mut().rx).poll_next(cx)
    }
}

impl<T: Send> Drop for SpawnStage<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}
