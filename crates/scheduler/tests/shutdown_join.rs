//! Shutdown joins its threads: when dropping the runtime returns, every worker's thread-locals
//! have been destroyed (so a leak check right after shutdown sees no bytes in flight).

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};

use nimsync_scheduler::Runtime;

static DESTROYED: AtomicUsize = AtomicUsize::new(0);

struct CountsDrop;

impl Drop for CountsDrop {
    fn drop(&mut self) {
        DESTROYED.fetch_add(1, Ordering::SeqCst);
    }
}

thread_local! {
    static SLOT: RefCell<Option<CountsDrop>> = const { RefCell::new(None) };
}

#[test]
fn dropping_the_runtime_waits_for_worker_thread_locals() {
    for round in 1..=20 {
        let rt = Runtime::builder()
            .workers(2)
            .on_thread_start(|| SLOT.with(|s| *s.borrow_mut() = Some(CountsDrop)))
            .build()
            .unwrap();
        rt.block_on(async {});
        drop(rt);
        assert_eq!(DESTROYED.load(Ordering::SeqCst), 2 * round);
    }
}
