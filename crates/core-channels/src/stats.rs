//! Channel counters.

/// Counters of a channel, cheap to read (derived from ring positions).
///
/// ```
/// use nimsync_core_channels::mpsc;
/// let (tx, mut rx) = mpsc::<u8>(4);
/// tx.try_send(1).unwrap();
/// tx.try_send(2).unwrap();
/// rx.try_recv().unwrap();
/// let stats = tx.stats();
/// assert_eq!((stats.sent, stats.received, stats.dropped), (2, 1, 0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Values accepted by the channel.
    pub sent: u64,
    /// Values handed to receivers.
    pub received: u64,
    /// Values discarded by the `DropNewest` / `DropOldest` policies (or sent on a permit
    /// after the channel closed).
    pub dropped: u64,
}
