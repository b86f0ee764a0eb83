//! Exactly-once accounting: one bit per message id; a receipt sets its bit, and a bit that is
//! already set is a duplicate.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// A ledger of `len` message ids.
pub struct Ledger {
    bits: Vec<AtomicU64>,
    len: usize,
    duplicates: AtomicUsize,
    out_of_range: AtomicUsize,
}

impl Ledger {
    /// A ledger for ids `0..len`, none received.
    pub fn new(len: usize) -> Self {
        Self {
            bits: (0..len.div_ceil(64)).map(|_| AtomicU64::new(0)).collect(),
            len,
            duplicates: AtomicUsize::new(0),
            out_of_range: AtomicUsize::new(0),
        }
    }

    /// Records the receipt of message `id`.
    pub fn receive(&self, id: usize) {
        if id >= self.len {
            self.out_of_range.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let bit = 1u64 << (id % 64);
        if self.bits[id / 64].fetch_or(bit, Ordering::Relaxed) & bit != 0 {
            self.duplicates.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Ids received at least once.
    pub fn received(&self) -> usize {
        self.bits
            .iter()
            .map(|w| w.load(Ordering::Relaxed).count_ones() as usize)
            .sum()
    }

    /// Receipts of an id that had already been received.
    pub fn duplicates(&self) -> usize {
        self.duplicates.load(Ordering::Relaxed)
    }

    /// Receipts of ids outside `0..len` (corrupted messages).
    pub fn out_of_range(&self) -> usize {
        self.out_of_range.load(Ordering::Relaxed)
    }

    /// "received r of n, d duplicates, c corrupted".
    pub fn summary(&self) -> String {
        format!(
            "received {} of {}, {} duplicates, {} corrupted",
            self.received(),
            self.len,
            self.duplicates(),
            self.out_of_range()
        )
    }

    /// Whether every id was received exactly once and nothing else arrived.
    pub fn exactly_once(&self) -> bool {
        self.received() == self.len && self.duplicates() == 0 && self.out_of_range() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::Ledger;

    #[test]
    fn counts_missing_duplicate_and_corrupt_receipts() {
        let ledger = Ledger::new(130);
        for id in 0..130 {
            ledger.receive(id);
        }
        assert!(ledger.exactly_once());
        ledger.receive(64);
        ledger.receive(500);
        assert_eq!(ledger.duplicates(), 1);
        assert_eq!(ledger.out_of_range(), 1);
        assert!(!ledger.exactly_once());

        let partial = Ledger::new(10);
        partial.receive(3);
        assert_eq!(partial.received(), 1);
        assert!(!partial.exactly_once());
    }
}
