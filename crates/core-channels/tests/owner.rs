//! The owner slot of single sides (`owner.rs`): a receiver or sender that waits in several ways
//! in turn (a stream poll left pending, a cancelled future, a blocking call, a select on the
//! same channel) is always woken by the next change, whatever the interleaving.

use core::pin::{Pin, pin};
use core::task::{Context, Poll, Waker};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Wake;
use std::thread;

use futures_core::Stream;
use nimsync_core_channels::{Select, mpsc, spmc, spsc};

fn poll_once<F: core::future::Future>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

/// A waker that counts its wake-ups.
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Polls `poll` (with a waker counting into `counter`) until it is pending without waking
/// itself: an async wait on the SPSC ring first yields to the executor a few times (each poll
/// pending with a self-wake), then registers.
fn poll_until_registered<T>(
    counter: &Arc<Counter>,
    mut poll: impl FnMut(&mut Context<'_>) -> Poll<T>,
) {
    let waker = Waker::from(Arc::clone(counter));
    let mut cx = Context::from_waker(&waker);
    for _ in 0..100 {
        let before = counter.0.load(Ordering::SeqCst);
        assert!(poll(&mut cx).is_pending());
        if counter.0.load(Ordering::SeqCst) == before {
            return;
        }
    }
    panic!("still yielding after 100 polls");
}

#[test]
fn stale_stream_listener_is_not_left_unwakeable() {
    let (mut tx, mut rx) = spsc::<u32>(4);
    let counter = Arc::new(Counter(AtomicUsize::new(0)));
    // A pending stream poll leaves its registration stored in the receiver.
    poll_until_registered(&counter, |cx| Pin::new(&mut rx).poll_next(cx));
    {
        // A newer registration, then cancelled: it withdraws the owner bit.
        let mut fut = pin!(rx.recv());
        let other = Arc::new(Counter(AtomicUsize::new(0)));
        poll_until_registered(&other, |cx| fut.as_mut().poll(cx));
    }
    // Polling the stream again must leave a live registration behind...
    poll_until_registered(&counter, |cx| Pin::new(&mut rx).poll_next(cx));
    let registered = counter.0.load(Ordering::SeqCst);
    tx.try_send(6).unwrap();
    // ...so the next value wakes it.
    assert_eq!(counter.0.load(Ordering::SeqCst), registered + 1);
    let waker = Waker::from(Arc::clone(&counter));
    let mut cx = Context::from_waker(&waker);
    assert_eq!(Pin::new(&mut rx).poll_next(&mut cx), Poll::Ready(Some(6)));
}

#[test]
fn cancelled_recv_then_blocking_recv_is_woken() {
    let (tx, mut rx) = mpsc::<u32>(4);
    {
        let fut = pin!(rx.recv());
        assert!(poll_once(fut).is_pending()); // registered, then dropped (cancelled)
    }
    let p = thread::spawn(move || tx.send_blocking(9).unwrap());
    assert_eq!(rx.recv_blocking(), Ok(9));
    p.join().unwrap();
}

#[test]
fn cancelled_send_then_blocking_send_is_woken() {
    // Single producer (SPMC): the sender waits for room in its owner slot.
    let (mut tx, rx) = spmc::<u32>(1);
    tx.try_send(1).unwrap();
    {
        let fut = pin!(tx.send(2));
        assert!(poll_once(fut).is_pending()); // full: registered, then cancelled
    }
    let c = thread::spawn(move || {
        let a = rx.recv_blocking().unwrap();
        let b = rx.recv_blocking().unwrap();
        (a, b)
    });
    tx.send_blocking(3).unwrap();
    drop(tx);
    assert_eq!(c.join().unwrap(), (1, 3));
}

#[test]
fn select_and_owner_both_woken_by_one_send() {
    for _ in 0..200 {
        let (mut tx, mut rx) = spsc::<u32>(1);
        let mut sel = Select::new();
        sel.recv(&rx);
        let s = thread::spawn(move || sel.ready());
        let p = thread::spawn(move || {
            tx.send_blocking(7).unwrap();
            tx // keep the channel open until joined
        });
        assert_eq!(rx.recv_blocking(), Ok(7));
        let tx = p.join().unwrap();
        drop(tx); // closes: the select is ready either way (value seen, or closed)
        assert_eq!(s.join().unwrap(), 0);
    }
}

#[test]
fn blocking_timeout_in_owner_slot_expires_and_recovers() {
    let (mut tx, mut rx) = spsc::<u32>(1);
    let err = rx.recv_timeout(std::time::Duration::from_millis(5));
    assert!(err.is_err());
    tx.try_send(4).unwrap();
    assert_eq!(rx.recv_timeout(std::time::Duration::from_secs(5)), Ok(4));
}

#[test]
fn notified_list_waiter_dropped_unused_passes_the_wake_up_on() {
    // Multi-consumer side: receivers wait in the list. One value notifies one receiver; if
    // that receiver's future is dropped unused, the other one must be woken instead.
    let (tx, rx1) = nimsync_core_channels::mpmc::<u32>(4);
    let rx2 = rx1.clone();
    let (c1, c2) = (
        Arc::new(Counter(AtomicUsize::new(0))),
        Arc::new(Counter(AtomicUsize::new(0))),
    );
    let (w1, w2) = (Waker::from(Arc::clone(&c1)), Waker::from(Arc::clone(&c2)));
    let mut f1 = Box::pin(rx1.recv());
    let mut f2 = Box::pin(rx2.recv());
    assert!(f1.as_mut().poll(&mut Context::from_waker(&w1)).is_pending());
    assert!(f2.as_mut().poll(&mut Context::from_waker(&w2)).is_pending());
    tx.try_send(1).unwrap();
    let woken = (c1.0.load(Ordering::SeqCst), c2.0.load(Ordering::SeqCst));
    assert_eq!(woken.0 + woken.1, 1, "one value wakes one receiver");
    // Drop whichever was woken, unused.
    let (mut other, other_count) = if woken.0 == 1 {
        drop(f1);
        (f2, c2)
    } else {
        drop(f2);
        (f1, c1)
    };
    assert_eq!(
        other_count.0.load(Ordering::SeqCst),
        1,
        "the wake-up was passed on"
    );
    assert_eq!(
        other.as_mut().poll(&mut Context::from_waker(Waker::noop())),
        Poll::Ready(Ok(1))
    );
    // Everyone notified and gone: later sends find nobody to wake and still work.
    tx.try_send(2).unwrap();
    assert_eq!(rx1.try_recv(), Ok(2));
}
