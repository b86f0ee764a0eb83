//! Unit tests of the public API: construction rules, close/disconnect, policies, permits,
//! weak senders, async cancel safety, select, Stream/Sink, header size and Send/Sync.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use nimsync_core_channels::*;

/// A waker that counts its wake-ups.
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Arc<CountingWaker>, Waker) {
    let w = Arc::new(CountingWaker(AtomicUsize::new(0)));
    (w.clone(), Waker::from(w))
}

#[test]
fn capacity_is_rounded_and_validated() {
    assert_eq!(Builder::new(1).mpmc::<u8>().unwrap().0.capacity(), 1);
    assert_eq!(Builder::new(3).mpsc::<u8>().unwrap().0.capacity(), 4);
    assert_eq!(Builder::new(1024).spsc::<u8>().unwrap().0.capacity(), 1024);
    assert_eq!(Builder::new(1025).spmc::<u8>().unwrap().0.capacity(), 2048);
    assert_eq!(
        Builder::new(0).spsc::<u8>().unwrap_err(),
        BuildError::ZeroCapacity
    );
    assert_eq!(
        Builder::new(MAX_CAPACITY + 1).mpmc::<u8>().unwrap_err(),
        BuildError::CapacityTooLarge {
            requested: MAX_CAPACITY + 1
        }
    );
    let msg = BuildError::ZeroCapacity.to_string();
    assert!(msg.contains("at least 1"), "{msg}");
}

#[test]
#[should_panic(expected = "invalid channel capacity")]
fn shorthand_constructor_panics_clearly_on_zero() {
    let _ = mpmc::<u8>(0);
}

#[test]
fn header_is_at_most_256_bytes() {
    for (name, size) in [
        ("spsc", header_size::<Spsc>()),
        ("mpsc", header_size::<Mpsc>()),
        ("spmc", header_size::<Spmc>()),
        ("mpmc", header_size::<Mpmc>()),
    ] {
        assert!(size <= 256, "{name} header is {size} bytes");
    }
}

#[test]
fn handles_are_send_and_sync() {
    fn send_sync<X: Send + Sync>() {}
    send_sync::<spsc::Sender<String>>();
    send_sync::<spsc::Receiver<String>>();
    send_sync::<mpmc::Sender<String>>();
    send_sync::<mpmc::Receiver<String>>();
    fn send<X: Send>(_: &X) {}
    let (mut tx, mut rx) = spsc::<String>(1);
    send(&tx.send(String::new()));
    send(&rx.recv());
}

#[test]
fn fifo_in_every_mode() {
    let (mut a, mut b) = spsc::<u32>(8);
    let (c, mut d) = mpsc::<u32>(8);
    let (mut e, f) = spmc::<u32>(8);
    let (g, h) = mpmc::<u32>(8);
    for i in 0..8 {
        a.try_send(i).unwrap();
        c.try_send(i).unwrap();
        e.try_send(i).unwrap();
        g.try_send(i).unwrap();
    }
    assert!(a.try_send(9).unwrap_err().is_full());
    assert!(c.try_send(9).unwrap_err().is_full());
    assert!(e.try_send(9).unwrap_err().is_full());
    assert!(g.try_send(9).unwrap_err().is_full());
    for i in 0..8 {
        assert_eq!(b.try_recv(), Ok(i));
        assert_eq!(d.try_recv(), Ok(i));
        assert_eq!(f.try_recv(), Ok(i));
        assert_eq!(h.try_recv(), Ok(i));
    }
    assert_eq!(b.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(h.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn close_drains_then_reports_closed() {
    let (tx, rx) = mpmc::<u32>(4);
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert!(rx.close());
    assert!(!tx.close(), "second close reports false");
    assert!(tx.is_closed());
    assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
    assert_eq!(tx.send_blocking(4), Err(SendError(4)));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.recv_blocking(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(rx.recv_blocking(), Err(RecvError));
}

#[test]
fn dropping_all_senders_disconnects() {
    let (tx, mut rx) = mpsc::<u32>(4);
    let tx2 = tx.clone();
    assert_eq!(rx.sender_count(), 2);
    tx.try_send(1).unwrap();
    drop(tx);
    assert!(!rx.is_closed());
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn dropping_all_receivers_disconnects() {
    let (mut tx, rx) = spmc::<u32>(4);
    let rx2 = rx.clone();
    drop(rx);
    tx.try_send(1).unwrap();
    drop(rx2);
    assert_eq!(tx.try_send(2), Err(TrySendError::Closed(2)));
}

#[test]
fn blocked_receiver_wakes_on_close() {
    let (tx, mut rx) = mpsc::<u32>(4);
    let t = thread::spawn(move || rx.recv_timeout(Duration::from_secs(30)));
    // Whether the receiver is already parked or not, closing must end its wait.
    tx.close();
    assert_eq!(t.join().unwrap(), Err(RecvTimeoutError::Closed));
}

#[test]
fn blocked_sender_wakes_when_room_appears() {
    let (mut tx, mut rx) = spsc::<u32>(1);
    tx.try_send(1).unwrap();
    let t = thread::spawn(move || {
        tx.send_timeout(2, Duration::from_secs(30)).unwrap();
        tx
    });
    assert_eq!(rx.recv_timeout(Duration::from_secs(30)), Ok(1));
    assert_eq!(rx.recv_timeout(Duration::from_secs(30)), Ok(2));
    drop(t.join().unwrap());
}

#[test]
fn timeouts_expire() {
    let (tx, rx) = mpmc::<u32>(1);
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(5)),
        Err(RecvTimeoutError::Timeout)
    );
    tx.try_send(1).unwrap();
    assert_eq!(
        tx.send_timeout(2, Duration::from_millis(5)),
        Err(SendTimeoutError::Timeout(2))
    );
    let mut out = Vec::new();
    assert_eq!(
        rx.recv_batch_timeout(&mut out, 4, Duration::from_millis(5)),
        Ok(1)
    );
    assert_eq!(
        rx.recv_batch_timeout(&mut out, 4, Duration::from_millis(5)),
        Err(RecvTimeoutError::Timeout)
    );
}

#[test]
fn drop_newest_discards_and_counts() {
    let (tx, rx) = Builder::new(2)
        .policy(Policy::DropNewest)
        .mpmc::<u32>()
        .unwrap();
    for i in 0..5 {
        tx.try_send(i).unwrap();
    }
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(
        tx.stats(),
        Stats {
            sent: 2,
            received: 2,
            dropped: 3
        }
    );
}

#[test]
fn drop_oldest_in_every_mode() {
    let (mut a, mut b) = Builder::new(2)
        .policy(Policy::DropOldest)
        .spsc::<u32>()
        .unwrap();
    let (c, mut d) = Builder::new(2)
        .policy(Policy::DropOldest)
        .mpsc::<u32>()
        .unwrap();
    let (mut e, f) = Builder::new(2)
        .policy(Policy::DropOldest)
        .spmc::<u32>()
        .unwrap();
    for i in 0..5 {
        a.send_blocking(i).unwrap(); // never waits under DropOldest
        c.try_send(i).unwrap();
        e.try_send(i).unwrap();
    }
    assert_eq!((b.try_recv(), b.try_recv()), (Ok(3), Ok(4)));
    assert_eq!((d.try_recv(), d.try_recv()), (Ok(3), Ok(4)));
    assert_eq!((f.try_recv(), f.try_recv()), (Ok(3), Ok(4)));
    assert_eq!(
        a.stats(),
        Stats {
            sent: 5,
            received: 2,
            dropped: 3
        }
    );
}

#[test]
fn overflow_spills_and_keeps_order() {
    let (mut tx, mut rx) = Builder::new(2)
        .policy(Policy::Overflow)
        .spsc::<u32>()
        .unwrap();
    for i in 0..10 {
        tx.try_send(i).unwrap();
    }
    assert_eq!(tx.len(), 10);
    assert_eq!(rx.try_recv(), Ok(0));
    tx.try_send(10).unwrap(); // ring has room, but older values wait in the spill
    let rest: Vec<u32> = rx.try_iter().collect();
    assert_eq!(rest, (1..=10).collect::<Vec<_>>());
    assert_eq!(
        tx.stats(),
        Stats {
            sent: 11,
            received: 11,
            dropped: 0
        }
    );
}

#[test]
fn permits_reserve_capacity() {
    let (tx, rx) = mpmc::<u32>(2);
    let p1 = tx.try_reserve().unwrap();
    let p2 = tx.try_reserve().unwrap();
    assert_eq!(tx.try_reserve().unwrap_err(), TryReserveError::Full);
    assert!(tx.try_send(9).unwrap_err().is_full());
    p2.send(2);
    drop(p1); // unused: capacity returns
    tx.try_send(3).unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Ok(3));
    rx.close();
    assert_eq!(tx.try_reserve().unwrap_err(), TryReserveError::Closed);
}

#[test]
fn permit_send_after_close_counts_a_drop() {
    let (tx, rx) = mpsc::<u32>(2);
    let permit = tx.try_reserve().unwrap();
    drop(rx);
    permit.send(1);
    assert_eq!(tx.stats().dropped, 1);
}

#[test]
fn weak_sender_does_not_keep_channel_open() {
    let (tx, rx) = mpmc::<u32>(2);
    let weak = tx.downgrade();
    let tx2 = weak.upgrade().unwrap();
    assert!(tx2.same_channel(&tx));
    assert!(tx.same_channel_as(&rx));
    drop(tx);
    drop(tx2);
    assert!(weak.upgrade().is_none());
    assert!(rx.is_closed());
}

#[test]
fn batches_move_many_values() {
    let (mut tx, mut rx) = spsc::<u32>(4);
    let mut src: Vec<u32> = (0..10).collect();
    assert_eq!(tx.try_send_batch(&mut src), Ok(4));
    assert_eq!(src, (4..10).collect::<Vec<_>>());
    let mut out = Vec::new();
    assert_eq!(rx.try_recv_batch(&mut out, 3), Ok(3));
    assert_eq!(rx.try_recv_batch(&mut out, 3), Ok(1));
    assert_eq!(rx.try_recv_batch(&mut out, 3), Ok(0));
    assert_eq!(out, [0, 1, 2, 3]);
    let t = thread::spawn(move || {
        tx.send_batch_blocking(0..1000).unwrap();
    });
    let mut all = Vec::new();
    while all.len() < 1000 {
        rx.recv_batch_blocking(&mut all, 64).unwrap();
    }
    t.join().unwrap();
    assert_eq!(all, (0..1000).collect::<Vec<_>>());
    assert_eq!(rx.try_recv_batch(&mut all, 1), Err(RecvError));
}

/// A value with a shared live count, decremented when it is dropped: a value copied twice or
/// lost shows up as a wrong count (or, for heap payloads, a double free or a wrong payload).
struct Counted<V>(V, Arc<AtomicUsize>);

impl<V> Drop for Counted<V> {
    fn drop(&mut self) {
        self.1.fetch_sub(1, Ordering::SeqCst);
    }
}

#[test]
fn spsc_batches_wrap_around_the_ring_and_drop_each_value_once() {
    // Heap payloads: a value copied twice or lost shows up as a wrong count, a double free,
    // or a wrong string.
    let live = Arc::new(AtomicUsize::new(0));
    let make = |i: usize| {
        live.fetch_add(1, Ordering::SeqCst);
        Counted(format!("v{i}"), live.clone())
    };
    let (mut tx, mut rx) = spsc::<Counted<String>>(8);
    let mut next = 0;
    let mut expect = 0;
    // Batches of 5 into a ring of 8, receiving 3 at a time: every wrap position is hit.
    for round in 0..40 {
        let mut src: Vec<Counted<String>> = (next..next + 5).map(make).collect();
        let sent = tx.try_send_batch(&mut src).unwrap();
        next += sent;
        // What did not fit stays in `src`, in order, and is dropped here.
        assert_eq!(src.len(), 5 - sent, "round {round}");
        for (k, v) in src.iter().enumerate() {
            assert_eq!(v.0, format!("v{}", next + k));
        }
        drop(src);
        let mut out = Vec::new();
        let got = rx.try_recv_batch(&mut out, 3).unwrap();
        assert_eq!(got, out.len());
        for v in &out {
            assert_eq!(v.0, format!("v{expect}"));
            expect += 1;
        }
    }
    // Values still buffered are dropped with the channel, once each.
    assert!(!rx.is_empty());
    assert_eq!(live.load(Ordering::SeqCst), rx.len());
    drop((tx, rx));
    assert_eq!(live.load(Ordering::SeqCst), 0);
}

#[test]
fn batch_send_returns_unsent_values_on_close() {
    let (tx, rx) = mpmc::<u32>(2);
    rx.close();
    let err = tx.send_batch_blocking(0..5).unwrap_err();
    assert_eq!(err.0, vec![0, 1, 2, 3, 4]);
    let mut v = vec![1, 2];
    assert_eq!(tx.try_send_batch(&mut v), Err(SendError(())));
    assert_eq!(v, [1, 2], "nothing moved on a closed channel");
}

#[test]
fn spsc_batch_send_on_close_returns_exactly_what_was_not_received() {
    // A blocking batch send bigger than the ring races the receiver's close: the receiver
    // takes some values, closes, drains; what it got and what the sender got back are the
    // whole sequence, in order, each value once.
    for take in [0usize, 1, 3, 10] {
        let (mut tx, mut rx) = spsc::<u32>(4);
        let t = thread::spawn(move || tx.send_batch_blocking(0..100));
        let mut got = Vec::new();
        while got.len() < take {
            got.push(rx.recv_blocking().unwrap());
        }
        rx.close();
        while let Ok(v) = rx.recv_blocking() {
            got.push(v);
        }
        let rest = match t.join().unwrap() {
            Ok(()) => Vec::new(),
            Err(SendError(rest)) => rest,
        };
        let all: Vec<u32> = got.iter().chain(&rest).copied().collect();
        assert_eq!(all, (0..100).collect::<Vec<_>>(), "take {take}");
    }
    let (mut tx, rx) = spsc::<u32>(2);
    rx.close();
    assert_eq!(
        tx.send_batch_blocking(0..5).unwrap_err().0,
        vec![0, 1, 2, 3, 4]
    );
}

#[test]
fn spsc_batch_send_drops_the_values_of_a_panicking_iterator_once() {
    let live = Arc::new(AtomicUsize::new(0));
    let (mut tx, mut rx) = spsc::<Counted<u32>>(8);
    tx.send_blocking(Counted(100, live.clone())).unwrap();
    live.fetch_add(1, Ordering::SeqCst);
    let counter = live.clone();
    let values = (0..6).map(move |i| {
        assert!(i < 3, "iterator fails");
        counter.fetch_add(1, Ordering::SeqCst);
        Counted(i, counter.clone())
    });
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tx.send_batch_blocking(values)
    }));
    assert!(outcome.is_err(), "the iterator's panic propagates");
    // The three values it gave before panicking were dropped, not sent.
    assert_eq!(live.load(Ordering::SeqCst), 1);
    assert_eq!(rx.len(), 1);
    // The channel works on: the earlier value, then new ones.
    tx.send_batch_blocking((7..9).map(|i| {
        live.fetch_add(1, Ordering::SeqCst);
        Counted(i, live.clone())
    }))
    .unwrap();
    let got: Vec<u32> = (0..3).map(|_| rx.try_recv().unwrap().0).collect();
    assert_eq!(got, [100, 7, 8]);
    assert_eq!(live.load(Ordering::SeqCst), 0);
}

#[test]
fn dropped_recv_future_loses_nothing_and_passes_the_wakeup_on() {
    let (tx, rx) = mpmc::<u32>(4);
    let (w1, waker1) = counting_waker();
    let (w2, waker2) = counting_waker();
    let mut f1 = Box::pin(rx.recv());
    let mut f2 = Box::pin(rx.recv());
    assert!(
        f1.as_mut()
            .poll(&mut Context::from_waker(&waker1))
            .is_pending()
    );
    assert!(
        f2.as_mut()
            .poll(&mut Context::from_waker(&waker2))
            .is_pending()
    );
    tx.try_send(7).unwrap();
    // One receiver was woken for the value; cancel whichever it was.
    let woken_first = w1.0.load(Ordering::SeqCst) > 0;
    assert!(woken_first || w2.0.load(Ordering::SeqCst) > 0);
    let (cancel, keep, keep_waker, keep_count) = if woken_first {
        (f1, f2, waker2, w2)
    } else {
        (f2, f1, waker1, w1)
    };
    drop(cancel);
    // The notification moved to the surviving future, and the value is still there.
    assert!(
        keep_count.0.load(Ordering::SeqCst) > 0,
        "wake-up was passed on"
    );
    let mut keep = keep;
    assert_eq!(
        keep.as_mut().poll(&mut Context::from_waker(&keep_waker)),
        Poll::Ready(Ok(7))
    );
}

#[test]
fn two_quick_sends_wake_two_waiting_receivers() {
    // Each value wakes a waiter of its own, even before the first woken waiter has run
    // (a "notify if none notified yet" scheme would leave the second receiver asleep).
    let (tx, rx) = mpmc::<u32>(4);
    let (w1, waker1) = counting_waker();
    let (w2, waker2) = counting_waker();
    let mut f1 = Box::pin(rx.recv());
    let mut f2 = Box::pin(rx.recv());
    assert!(
        f1.as_mut()
            .poll(&mut Context::from_waker(&waker1))
            .is_pending()
    );
    assert!(
        f2.as_mut()
            .poll(&mut Context::from_waker(&waker2))
            .is_pending()
    );
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert_eq!(w1.0.load(Ordering::SeqCst), 1);
    assert_eq!(w2.0.load(Ordering::SeqCst), 1);
    let a = f1.as_mut().poll(&mut Context::from_waker(&waker1));
    let b = f2.as_mut().poll(&mut Context::from_waker(&waker2));
    assert_eq!((a, b), (Poll::Ready(Ok(1)), Poll::Ready(Ok(2))));
}

#[test]
fn dropped_send_future_never_enqueues() {
    let (tx, rx) = mpmc::<u32>(1);
    tx.try_send(1).unwrap();
    let (_w, waker) = counting_waker();
    let mut fut = Box::pin(tx.send(2));
    assert!(
        fut.as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
    drop(fut);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn async_and_blocking_mix_on_one_channel() {
    let (tx, mut rx) = mpsc::<u64>(4);
    let producers: Vec<_> = (0..2)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                futures_executor::block_on(async {
                    for i in 0..1000 {
                        tx.send(p * 10_000 + i).await.unwrap();
                    }
                })
            })
        })
        .collect();
    drop(tx);
    let mut sum = 0;
    while let Ok(v) = rx.recv_blocking() {
        sum += v;
    }
    for p in producers {
        p.join().unwrap();
    }
    assert_eq!(sum, (0..1000).sum::<u64>() * 2 + 10_000 * 1000);
}

#[test]
fn reserve_future_waits_for_room() {
    let (tx, rx) = mpmc::<u32>(1);
    tx.try_send(1).unwrap();
    let (w, waker) = counting_waker();
    let mut fut = Box::pin(tx.reserve());
    assert!(
        fut.as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(w.0.load(Ordering::SeqCst) > 0);
    let Poll::Ready(Ok(permit)) = fut.as_mut().poll(&mut Context::from_waker(&waker)) else {
        panic!("reserve did not complete after room appeared");
    };
    permit.send(5);
    assert_eq!(rx.try_recv(), Ok(5));
}

#[test]
fn stream_and_sink_round_trip() {
    let (mut tx, rx) = mpsc::<u32>(2);
    let consumer = thread::spawn(move || futures_executor::block_on(rx.collect::<Vec<u32>>()));
    futures_executor::block_on(async {
        for i in 0..100 {
            tx.feed(i).await.unwrap();
        }
        SinkExt::close(&mut tx).await.unwrap();
    });
    assert_eq!(consumer.join().unwrap(), (0..100).collect::<Vec<_>>());
}

#[test]
fn select_blocking_is_fair_and_sees_close() {
    let (tx_a, rx_a) = mpmc::<u32>(64);
    let (tx_b, rx_b) = mpmc::<u32>(64);
    let mut sel = Select::new();
    let a = sel.recv(&rx_a);
    let b = sel.recv(&rx_b);
    for i in 0..64 {
        tx_a.try_send(i).unwrap();
        tx_b.try_send(i).unwrap();
    }
    let mut hits = [0usize; 2];
    for _ in 0..64 {
        let i = sel.ready();
        hits[i] += 1;
        if i == a {
            rx_a.try_recv().unwrap();
        } else {
            rx_b.try_recv().unwrap();
        }
    }
    assert!(hits[a] >= 10 && hits[b] >= 10, "unfair selection: {hits:?}");
    drop((tx_a, tx_b));
    let i = sel.ready();
    assert!(i == a || i == b);
    assert!(sel.ready_timeout(Duration::from_millis(1)).is_ok());
}

#[test]
fn select_wakes_on_another_thread_send_and_times_out() {
    let (mut tx, rx) = spsc::<u32>(1);
    let (_tx2, rx2) = mpmc::<u32>(1);
    let mut sel = Select::new();
    let _ = sel.recv(&rx2);
    let s = sel.recv(&rx);
    assert_eq!(
        sel.ready_timeout(Duration::from_millis(5)),
        Err(SelectTimeout)
    );
    let t = thread::spawn(move || tx.send_blocking(1).unwrap());
    assert_eq!(sel.ready_timeout(Duration::from_secs(30)), Ok(s));
    t.join().unwrap();
    let mut sel2 = Select::new();
    let (tx3, _rx3) = mpmc::<u32>(1);
    let w = sel2.send(&tx3);
    assert_eq!(sel2.try_ready(), Some(w));
}

#[test]
fn select_async() {
    let (tx, rx) = mpmc::<u32>(1);
    let mut sel = Select::new();
    let i = sel.recv(&rx);
    let t = thread::spawn(move || tx.send_blocking(3).unwrap());
    assert_eq!(futures_executor::block_on(sel.ready_async()), i);
    assert_eq!(rx.try_recv(), Ok(3));
    t.join().unwrap();
}

#[test]
fn debug_output_names_the_mode() {
    let (tx, rx) = spmc::<u32>(4);
    assert!(format!("{tx:?}").contains("spmc"));
    assert!(format!("{rx:?}").contains("capacity: 4"));
}

/// A send held back by an outstanding permit (the ring's slots are free, the permit owns the
/// capacity) sleeps until the permit is used or released: it does not wake itself to poll
/// again, as it would for a slot a receive is still reading.
#[test]
fn a_send_waiting_on_a_permit_sleeps_until_the_permit_is_released() {
    macro_rules! check {
        ($make:expr) => {{
            #[allow(unused_mut)]
            let (tx, mut rx) = $make;
            let permit = tx.try_reserve().unwrap();
            let (count, waker) = counting_waker();
            let mut cx = Context::from_waker(&waker);
            let mut send = std::pin::pin!(tx.send(7));
            assert!(send.as_mut().poll(&mut cx).is_pending());
            assert!(send.as_mut().poll(&mut cx).is_pending());
            assert_eq!(
                count.0.load(Ordering::SeqCst),
                0,
                "the waiting send woke itself"
            );
            drop(permit);
            assert!(
                count.0.load(Ordering::SeqCst) >= 1,
                "releasing the permit woke nobody"
            );
            assert!(matches!(send.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
            assert_eq!(rx.try_recv(), Ok(7));
        }};
    }
    check!(mpsc::<u32>(1));
    check!(mpmc::<u32>(1));
}

/// A batch send is the same single sends in a row: on a full channel whose policy is not
/// `Block`, `try_send_batch` takes every value and the waiting batch sends return at once
/// (they used to wait for room, forever with no receiver running). Here nothing receives
/// while they run; a receive with a timeout detects a wait.
#[test]
fn batch_sends_apply_the_policy_and_never_wait_under_a_non_block_policy() {
    for (policy, want, dropped) in [
        (Policy::DropNewest, vec![0, 1], 7),
        (Policy::DropOldest, vec![20, 21], 7),
        (Policy::Overflow, vec![0, 1, 9, 10, 11, 12, 13, 20, 21], 0),
    ] {
        let (tx, rx) = Builder::new(2).policy(policy).mpsc::<u32>().unwrap();
        tx.try_send(0).unwrap();
        tx.try_send(1).unwrap();
        tx.try_send(9).unwrap(); // full: the policy applies
        let mut batch = vec![10, 11];
        assert_eq!(tx.try_send_batch(&mut batch), Ok(2), "{policy:?}");
        assert!(batch.is_empty());
        let (done, finished) = std::sync::mpsc::channel();
        thread::scope(|s| {
            s.spawn(|| {
                let blocking = tx.send_batch_blocking([12, 13]).is_ok();
                let (_, waker) = counting_waker();
                let mut fut = tx.send_batch([20, 21]);
                let polled = core::pin::Pin::new(&mut fut).poll(&mut Context::from_waker(&waker));
                let _ = done.send((blocking, matches!(polled, Poll::Ready(Ok(())))));
            });
            let got = finished.recv_timeout(Duration::from_secs(10));
            if got.is_err() {
                rx.close(); // ends the waiting send, so the scope joins
            }
            assert_eq!(got, Ok((true, true)), "{policy:?}: a batch send waited");
        });
        let mut rx = rx;
        let got: Vec<u32> = rx.try_iter().collect();
        assert_eq!(got, want, "{policy:?}");
        assert_eq!(rx.stats().dropped, dropped, "{policy:?}");
    }
}

/// A send arm is ready exactly when a `try_send` would not report `Full`: not while a permit
/// holds the only slot (it used to be, so a select loop spun), and always under a policy
/// other than `Block` (an `Overflow` arm with spilled values used to be never ready).
#[test]
fn select_send_arms_count_permits_and_the_policy() {
    let (tx, rx) = mpmc::<u32>(1);
    let mut sel = Select::new();
    let arm = sel.send(&tx);
    assert_eq!(sel.try_ready(), Some(arm));
    let permit = tx.try_reserve().unwrap();
    assert_eq!(
        sel.try_ready(),
        None,
        "ready while a permit holds the only slot"
    );
    assert!(tx.try_send(1).unwrap_err().is_full());
    drop(permit);
    assert_eq!(sel.try_ready(), Some(arm));
    tx.try_send(1).unwrap();
    assert_eq!(sel.try_ready(), None);
    rx.close();
    assert_eq!(sel.try_ready(), Some(arm), "closed: a send fails at once");

    for policy in [Policy::DropNewest, Policy::DropOldest, Policy::Overflow] {
        let (tx, _rx) = Builder::new(1).policy(policy).mpmc::<u32>().unwrap();
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap(); // dropped, evicting or spilled
        let mut sel = Select::new();
        let arm = sel.send(&tx);
        assert_eq!(sel.try_ready(), Some(arm), "{policy:?}");
        assert!(tx.try_send(3).is_ok());
    }
}

/// A batch of `usize::MAX` zero-sized values (a `Vec<()>` allocates nothing) moves what fits:
/// the SPSC ring's room check multiplied the batch length by its position step and
/// overflowed (a panic in debug builds).
#[test]
fn a_huge_batch_of_zero_sized_values_moves_what_fits() {
    fn check(moved: Result<usize, SendError<()>>, items: &[()]) {
        assert_eq!(moved, Ok(4));
        assert_eq!(items.len(), usize::MAX - 4);
    }
    let (mut tx, _rx) = spsc::<()>(4);
    let mut items = vec![(); usize::MAX];
    check(tx.try_send_batch(&mut items), &items);
    let (tx, _rx) = mpsc::<()>(4);
    let mut items = vec![(); usize::MAX];
    check(tx.try_send_batch(&mut items), &items);
    let (mut tx, _rx) = spmc::<()>(4);
    let mut items = vec![(); usize::MAX];
    check(tx.try_send_batch(&mut items), &items);
    let (tx, _rx) = mpmc::<()>(4);
    let mut items = vec![(); usize::MAX];
    check(tx.try_send_batch(&mut items), &items);
}

/// `Stream::size_hint`'s lower bound is the buffered count only where this receiver alone
/// takes the values: other receivers of an SPMC or MPMC channel may take them first.
#[test]
fn stream_size_hint_is_a_true_lower_bound() {
    let (mut tx, rx) = spsc::<u32>(4);
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert_eq!(futures_util::Stream::size_hint(&rx), (2, None));

    let (tx, rx) = mpmc::<u32>(4);
    let other = rx.clone();
    tx.try_send(1).unwrap();
    assert_eq!(futures_util::Stream::size_hint(&rx), (0, None));
    assert_eq!(other.try_recv(), Ok(1)); // the value `rx` "would" have yielded
    let (mut tx, rx) = spmc::<u32>(4);
    tx.try_send(1).unwrap();
    assert_eq!(futures_util::Stream::size_hint(&rx), (0, None));

    // `DropOldest`: a send may evict a value and then find the channel closed.
    let (tx, rx) = Builder::new(4)
        .policy(Policy::DropOldest)
        .mpsc::<u32>()
        .unwrap();
    tx.try_send(1).unwrap();
    assert_eq!(futures_util::Stream::size_hint(&rx), (0, None));
}

/// Every batch receive answers `max == 0` alike, without taking or waiting: `Ok(0)` while
/// values may come, `Err` once the channel is closed and drained (the waiting ones returned
/// `Ok(0)` there while `try_recv_batch` returned `Err`).
#[test]
fn batch_receives_of_zero_agree() {
    let (tx, mut rx) = mpsc::<u32>(2);
    let mut out = Vec::new();
    tx.try_send(1).unwrap();
    assert_eq!(rx.try_recv_batch(&mut out, 0), Ok(0));
    assert_eq!(rx.recv_batch_blocking(&mut out, 0), Ok(0));
    assert_eq!(
        rx.recv_batch_timeout(&mut out, 0, Duration::from_secs(10)),
        Ok(0)
    );
    assert_eq!(
        futures_executor::block_on(rx.recv_batch(&mut out, 0)),
        Ok(0)
    );
    tx.close();
    // Closed, one value left: still `Ok(0)`.
    assert_eq!(rx.recv_batch_blocking(&mut out, 0), Ok(0));
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(out.is_empty());
    // Closed and drained: `Err` from all of them.
    assert_eq!(rx.try_recv_batch(&mut out, 0), Err(RecvError));
    assert_eq!(rx.recv_batch_blocking(&mut out, 0), Err(RecvError));
    assert_eq!(
        rx.recv_batch_timeout(&mut out, 0, Duration::from_secs(10)),
        Err(RecvTimeoutError::Closed)
    );
    assert_eq!(
        futures_executor::block_on(rx.recv_batch(&mut out, 0)),
        Err(RecvError)
    );
}

/// An empty selection is never ready: the timed waits report a timeout at once, even for a
/// timeout no `Instant` can hold (which used to panic through `ready()`).
#[test]
fn an_empty_selection_times_out_at_once() {
    let sel = Select::new();
    assert_eq!(sel.ready_timeout(Duration::MAX), Err(SelectTimeout));
    assert_eq!(
        sel.ready_timeout(Duration::from_secs(3600)),
        Err(SelectTimeout)
    );
    let far = std::time::Instant::now() + Duration::from_secs(3600);
    assert_eq!(sel.ready_deadline(far), Err(SelectTimeout));
    assert_eq!(sel.try_ready(), None);
}
