//! `slot_memory()`: every mode and ring reports its slot array (address and length), the same
//! on both halves, stable for the channel's life and distinct between channels.

use nimsync_core_channels::{Builder, Policy};

#[test]
fn every_mode_reports_its_slot_array() {
    let cap = 256;
    let (mut tx, rx) = Builder::new(cap).spsc::<u64>().unwrap(); // Lamport ring
    let a = (tx.slot_memory().as_ptr(), tx.slot_memory().len());
    assert_eq!(a, (rx.slot_memory().as_ptr(), rx.slot_memory().len()));
    assert!(a.1 >= cap * size_of::<u64>());
    tx.try_send(1).unwrap();
    assert_eq!(tx.slot_memory().as_ptr(), a.0, "the array never moves");

    // SPSC under DropOldest runs on the stamped ring: values plus stamps.
    let (tx, rx) = Builder::new(cap)
        .policy(Policy::DropOldest)
        .spsc::<u64>()
        .unwrap();
    assert!(tx.slot_memory().len() >= cap * (size_of::<u64>() + size_of::<usize>()));
    assert_eq!(tx.slot_memory().as_ptr(), rx.slot_memory().as_ptr());

    let (tx, rx) = Builder::new(cap).mpsc::<u64>().unwrap();
    assert_eq!(tx.slot_memory().as_ptr(), rx.slot_memory().as_ptr());
    assert!(tx.slot_memory().len() >= cap * 2 * size_of::<u64>());
    let (tx, rx) = Builder::new(cap).spmc::<u64>().unwrap();
    assert_eq!(tx.slot_memory().as_ptr(), rx.slot_memory().as_ptr());
    let (tx, rx) = Builder::new(cap).mpmc::<u64>().unwrap();
    assert_eq!(tx.slot_memory().as_ptr(), rx.slot_memory().as_ptr());
    let (other, _) = Builder::new(cap).mpmc::<u64>().unwrap();
    assert_ne!(tx.slot_memory().as_ptr(), other.slot_memory().as_ptr());
}
