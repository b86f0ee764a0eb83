//! loom models of the channel protocols: publish/claim on each ring, close races, DropOldest
//! eviction, and the waiter handshake (blocking park and async waker) — no lost wake-up.
//!
//! Run with: `RUSTFLAGS="--cfg nimsync_loom" cargo test -p nimsync-core-channels --test loom
//! --release` (a namespaced cfg: a plain `--cfg loom` would flip dependencies into loom mode).
#![cfg(nimsync_loom)]

use loom::thread;
use nimsync_core_channels::*;

fn model(f: impl Fn() + Sync + Send + 'static) {
    model_bounded(3, f);
}

fn model_bounded(preemptions: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemptions);
    builder.check(f);
}

#[test]
fn spsc_blocking_handoff_no_lost_wakeup() {
    model(|| {
        let (mut tx, mut rx) = spsc::<u32>(1);
        let p = thread::spawn(move || {
            tx.send_blocking(1).unwrap();
            tx.send_blocking(2).unwrap();
        });
        assert_eq!(rx.recv_blocking(), Ok(1));
        assert_eq!(rx.recv_blocking(), Ok(2));
        p.join().unwrap();
        assert_eq!(rx.recv_blocking(), Err(RecvError));
    });
}

#[test]
fn spsc_async_recv_no_lost_wakeup() {
    model(|| {
        let (mut tx, mut rx) = spsc::<u32>(1);
        let p = thread::spawn(move || {
            tx.try_send(5).unwrap();
        });
        let got = loom::future::block_on(rx.recv());
        assert_eq!(got, Ok(5));
        p.join().unwrap();
    });
}

#[test]
fn async_send_waits_for_room() {
    model(|| {
        let (tx, mut rx) = mpsc::<u32>(1);
        tx.try_send(1).unwrap();
        let p = thread::spawn(move || {
            loom::future::block_on(tx.send(2)).unwrap();
        });
        assert_eq!(rx.recv_blocking(), Ok(1));
        assert_eq!(rx.recv_blocking(), Ok(2));
        p.join().unwrap();
    });
}

#[test]
fn mpsc_two_producers() {
    model(|| {
        let (tx, mut rx) = mpsc::<u32>(2);
        let tx2 = tx.clone();
        let a = thread::spawn(move || tx.try_send(1).unwrap());
        let b = thread::spawn(move || tx2.try_send(2).unwrap());
        let mut got = [rx.recv_blocking().unwrap(), rx.recv_blocking().unwrap()];
        got.sort();
        assert_eq!(got, [1, 2]);
        a.join().unwrap();
        b.join().unwrap();
    });
}

#[test]
fn spmc_two_consumers_take_each_value_once() {
    model(|| {
        let (mut tx, rx) = spmc::<u32>(2);
        let rx2 = rx.clone();
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        let a = thread::spawn(move || rx2.try_recv().ok());
        let b = rx.try_recv().ok();
        let a = a.join().unwrap();
        let mut got: Vec<u32> = a.into_iter().chain(b).collect();
        got.extend(rx.try_recv().ok());
        got.sort();
        assert_eq!(got, [1, 2]);
    });
}

#[test]
fn mpmc_wraparound_with_contention() {
    // Four threads: bound preemptions at 2 to keep the model within CI time.
    model_bounded(2, || {
        let (tx, rx) = mpmc::<u32>(1);
        let tx2 = tx.clone();
        let rx2 = rx.clone();
        let p = thread::spawn(move || {
            tx2.send_blocking(1).unwrap();
        });
        let c = thread::spawn(move || rx2.recv_blocking().unwrap());
        tx.send_blocking(2).unwrap();
        let mine = rx.recv_blocking().unwrap();
        let theirs = c.join().unwrap();
        p.join().unwrap();
        let mut got = [mine, theirs];
        got.sort();
        assert_eq!(got, [1, 2]);
    });
}

#[test]
fn close_races_with_send_nothing_lost() {
    model(|| {
        let (tx, mut rx) = mpsc::<u32>(2);
        let p = thread::spawn(move || tx.try_send(1).is_ok());
        rx.close();
        let sent = p.join().unwrap();
        // Accepted before the close: it must be received. Refused: it came back to the sender.
        assert_eq!(rx.try_recv().is_ok(), sent);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

/// A stamped ring reports "empty" while a send is still writing its slot (Vyukov's rule, so
/// an empty check never reads the producers' tail): never a later value first, and every
/// value arrives once the sends return.
#[test]
fn mpsc_receive_during_a_send_in_flight_sees_empty_or_the_first_value() {
    model(|| {
        let (tx, mut rx) = mpsc::<u32>(2);
        let p = thread::spawn(move || {
            tx.try_send(1).unwrap();
            tx.try_send(2).unwrap();
        });
        let first = rx.try_recv();
        assert!(
            matches!(first, Ok(1) | Err(TryRecvError::Empty)),
            "{first:?}"
        );
        p.join().unwrap();
        let mut rest = Vec::new();
        while let Ok(v) = rx.try_recv() {
            rest.push(v);
        }
        let expected: &[u32] = if first.is_ok() { &[2] } else { &[1, 2] };
        assert_eq!(rest, expected);
    });
}

/// DropOldest evicts the oldest value only when the ring is full by its positions: a consumer
/// still reading the slot a send needs has already taken the oldest value, so the send waits
/// for that slot instead of evicting the next one.
#[test]
fn drop_oldest_never_evicts_past_a_receive_in_flight() {
    model(|| {
        let (tx, rx) = Builder::new(2)
            .policy(Policy::DropOldest)
            .mpmc::<u32>()
            .unwrap();
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        let c = {
            let rx = rx.clone();
            thread::spawn(move || rx.try_recv().ok())
        };
        tx.try_send(3).unwrap();
        let got = c.join().unwrap();
        let mut rest = Vec::new();
        while let Ok(v) = rx.try_recv() {
            rest.push(v);
        }
        let evicted = tx.stats().dropped;
        // Either the receive came first (nothing to evict) or the send did (it evicted 1).
        match got {
            Some(1) => assert_eq!((evicted, rest), (0, vec![2, 3])),
            Some(2) => assert_eq!((evicted, rest), (1, vec![3])),
            other => panic!("received {other:?}"),
        }
    });
}

/// After `close()`, a consumer that finds a send still writing waits for it instead of
/// reporting `Closed`: an accepted value is never stranded.
#[test]
fn mpsc_close_while_a_send_is_in_flight_still_delivers_it() {
    model(|| {
        let (tx, mut rx) = mpsc::<u32>(2);
        let p = thread::spawn(move || tx.try_send(1).is_ok());
        rx.close();
        let mut got = None;
        loop {
            match rx.try_recv() {
                Ok(v) => got = Some(v),
                Err(TryRecvError::Closed) => break,
                Err(TryRecvError::Empty) => thread::yield_now(),
            }
        }
        let sent = p.join().unwrap();
        assert_eq!(got.is_some(), sent);
    });
}

#[test]
fn spsc_close_races_with_send_nothing_lost() {
    model(|| {
        let (mut tx, mut rx) = spsc::<u32>(1);
        let p = thread::spawn(move || tx.try_send(1).is_ok());
        rx.close();
        let sent = p.join().unwrap();
        assert_eq!(rx.try_recv().is_ok(), sent);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

#[test]
fn drop_oldest_eviction_races_with_receive() {
    model(|| {
        let (mut tx, mut rx) = Builder::new(1)
            .policy(Policy::DropOldest)
            .spsc::<u32>()
            .unwrap();
        tx.try_send(1).unwrap();
        let c = thread::spawn(move || {
            let got = rx.try_recv().ok();
            (got, rx)
        });
        tx.try_send(2).unwrap();
        let (got, mut rx) = c.join().unwrap();
        let rest = rx.try_recv().ok();
        let stats = tx.stats();
        // Every value is received once or evicted once, never both, never lost.
        let received: Vec<u32> = got.into_iter().chain(rest).collect();
        assert_eq!(received.len() as u64 + stats.dropped, 2);
        assert!(received.contains(&2));
    });
}

#[test]
fn receiver_drop_wakes_blocked_sender() {
    model(|| {
        let (mut tx, rx) = spsc::<u32>(1);
        tx.try_send(1).unwrap();
        let p = thread::spawn(move || tx.send_blocking(2));
        drop(rx);
        assert_eq!(p.join().unwrap(), Err(SendError(2)));
    });
}

#[test]
fn spsc_close_races_with_sends_while_draining() {
    // The consumer closes and drains while the producer sends: every value the producer saw
    // accepted is received, every refused one came back (the agreed-end protocol).
    model(|| {
        let (mut tx, mut rx) = spsc::<u32>(2);
        let p = thread::spawn(move || {
            let first = tx.try_send(1).is_ok();
            let second = tx.try_send(2).is_ok();
            (first, second)
        });
        rx.close();
        let mut got = Vec::new();
        loop {
            match rx.try_recv() {
                Ok(v) => got.push(v),
                Err(TryRecvError::Closed) => break,
                Err(TryRecvError::Empty) => panic!("a closed channel never reports Empty"),
            }
        }
        let (first, second) = p.join().unwrap();
        let sent: Vec<u32> = [(first, 1), (second, 2)]
            .into_iter()
            .filter_map(|(ok, v)| ok.then_some(v))
            .collect();
        assert_eq!(got, sent);
        // The counters agree: only accepted values count as sent.
        assert_eq!(rx.stats().sent, sent.len() as u64);
    });
}

#[test]
fn spsc_batch_close_race_nothing_lost() {
    model(|| {
        let (mut tx, mut rx) = spsc::<u32>(2);
        let p = thread::spawn(move || {
            let mut batch = vec![1, 2];
            let sent = tx.try_send_batch(&mut batch).unwrap_or(0);
            (sent, batch)
        });
        rx.close();
        let mut got = Vec::new();
        while let Ok(v) = rx.try_recv() {
            got.push(v);
        }
        let (sent, rest) = p.join().unwrap();
        assert_eq!(got.len(), sent);
        assert_eq!(got.len() + rest.len(), 2);
        let mut all = got.clone();
        all.extend(rest);
        assert_eq!(all, [1, 2]);
    });
}

#[test]
fn spsc_batch_send_from_iterator_close_race_nothing_lost() {
    // `send_batch_blocking` racing a close: every value is received or handed back (with
    // the values not yet taken from the iterator), once, in order.
    model(|| {
        let (mut tx, mut rx) = spsc::<u32>(2);
        let p = thread::spawn(move || match tx.send_batch_blocking([1, 2]) {
            Ok(()) => Vec::new(),
            Err(e) => e.0,
        });
        rx.close();
        let mut got = Vec::new();
        while let Ok(v) = rx.try_recv() {
            got.push(v);
        }
        let rest = p.join().unwrap();
        let mut all = got.clone();
        all.extend(rest);
        assert_eq!(all, [1, 2]);
    });
}

#[test]
fn spsc_blocking_send_waits_for_room_no_lost_wakeup() {
    // Full ring: the sender parks (heavy barrier) while the receiver frees (light barrier).
    model(|| {
        let (mut tx, mut rx) = spsc::<u32>(1);
        tx.try_send(1).unwrap();
        let c = thread::spawn(move || {
            let a = rx.recv_blocking().unwrap();
            let b = rx.recv_blocking().unwrap();
            (a, b)
        });
        tx.send_blocking(2).unwrap();
        drop(tx);
        assert_eq!(c.join().unwrap(), (1, 2));
    });
}

#[test]
fn spsc_async_send_and_recv_no_lost_wakeup() {
    model(|| {
        let (mut tx, mut rx) = spsc::<u32>(1);
        let p = thread::spawn(move || {
            loom::future::block_on(async {
                tx.send(1).await.unwrap();
                tx.send(2).await.unwrap();
            });
        });
        let got = loom::future::block_on(async {
            let a = rx.recv().await.unwrap();
            let b = rx.recv().await.unwrap();
            (a, b)
        });
        assert_eq!(got, (1, 2));
        p.join().unwrap();
    });
}

#[test]
fn mpsc_async_owner_slot_two_notifiers() {
    // The MPSC receiver waits in the owner slot; both producers may find it registered and
    // race to clear the bit and wake it. Two values, two receives: no lost wake-up.
    model(|| {
        let (tx, mut rx) = mpsc::<u32>(2);
        let tx2 = tx.clone();
        let p1 = thread::spawn(move || tx.try_send(1).unwrap());
        let p2 = thread::spawn(move || tx2.try_send(2).unwrap());
        let got = loom::future::block_on(async {
            let a = rx.recv().await.unwrap();
            let b = rx.recv().await.unwrap();
            a + b
        });
        assert_eq!(got, 3);
        p1.join().unwrap();
        p2.join().unwrap();
    });
}

/// `Overflow` keeps FIFO per producer: a receive whose ring pop found the ring empty, and
/// that then takes from the spill, never returns a spilled value ahead of one that reached
/// the ring meanwhile (the producer sent 1 into the ring, then 2 into the spill).
fn overflow_fifo_model<M: Mode>()
where
    Sender<u32, M>: OverflowSend,
    Receiver<u32, M>: OverflowRecv,
{
    model(|| {
        let (mut tx, mut rx) = Builder::new(1)
            .policy(Policy::Overflow)
            .build::<u32, M>()
            .unwrap();
        let p = thread::spawn(move || {
            tx.send_one(1);
            tx.send_one(2);
        });
        let mut got = Vec::new();
        while got.len() < 2 {
            rx.recv_some(&mut got);
        }
        assert_eq!(got, [1, 2]);
        p.join().unwrap();
    });
}

/// The operations of [`overflow_fifo_model`], whatever the mode's receiver signature.
trait OverflowSend: Send + 'static {
    fn send_one(&mut self, v: u32);
}
trait OverflowRecv {
    fn recv_some(&mut self, got: &mut Vec<u32>);
}
impl OverflowSend for spsc::Sender<u32> {
    fn send_one(&mut self, v: u32) {
        self.try_send(v).unwrap();
    }
}
impl OverflowSend for mpsc::Sender<u32> {
    fn send_one(&mut self, v: u32) {
        self.try_send(v).unwrap();
    }
}
impl OverflowRecv for spsc::Receiver<u32> {
    fn recv_some(&mut self, got: &mut Vec<u32>) {
        got.push(self.recv_blocking().unwrap());
    }
}
impl OverflowRecv for mpsc::Receiver<u32> {
    fn recv_some(&mut self, got: &mut Vec<u32>) {
        // The batch receive: its spill step follows the same rule.
        self.recv_batch_blocking(got, 2).unwrap();
    }
}

#[test]
fn overflow_receive_never_takes_a_spilled_value_ahead_of_the_ring_spsc() {
    overflow_fifo_model::<Spsc>();
}

#[test]
fn overflow_batch_receive_never_takes_a_spilled_value_ahead_of_the_ring_mpsc() {
    overflow_fifo_model::<Mpsc>();
}

/// The same for a permit's value that lost the race for the last slot to a send that had
/// passed its fast-path check before the reservation, and went to the spill: it is never
/// received ahead of the value its producer sent into the ring before it. (This model also
/// found `len()` reading a full ring from a tail read before a head that had passed it, so
/// the reservation on a channel holding at most one value failed.)
#[test]
fn a_spilled_permit_value_is_never_received_ahead_of_the_ring() {
    // Four threads: bound preemptions at 2 to keep the model within CI time.
    model_bounded(2, || {
        let (tx, mut rx) = mpsc::<u32>(2);
        let tx2 = tx.clone();
        let p = thread::spawn(move || {
            let permit = tx.try_reserve().unwrap();
            // Into the ring, unless the other send took the slot that was left.
            let sent = tx.try_send(1).is_ok();
            permit.send(2);
            sent
        });
        let q = thread::spawn(move || {
            let _ = tx2.try_send(9);
        });
        let mut got = Vec::new();
        loop {
            match rx.try_recv() {
                Ok(v) => got.push(v),
                Err(TryRecvError::Empty) => thread::yield_now(),
                Err(TryRecvError::Closed) => break,
            }
        }
        let sent = p.join().unwrap();
        q.join().unwrap();
        got.retain(|&v| v != 9);
        assert_eq!(got, if sent { &[1, 2][..] } else { &[2] });
    });
}

/// A `DropOldest` send that found the ring full, while a receive empties it and a permit
/// takes the only slot, returns while the permit is still held (it dropped its value or
/// evicted a value in the ring, never waited for the permit), and every value is received
/// once or dropped once; the permit's value always arrives.
#[test]
fn drop_oldest_send_never_waits_for_a_permit() {
    model(|| {
        let (tx, rx) = Builder::new(1)
            .policy(Policy::DropOldest)
            .mpmc::<u32>()
            .unwrap();
        tx.try_send(0).unwrap();
        let tx2 = tx.clone();
        let b = thread::spawn(move || tx2.try_send(1).unwrap());
        let first = rx.try_recv().ok();
        let permit = tx.try_reserve();
        // Before the permit resolves: this join hangs if the send waits for it.
        b.join().unwrap();
        let held = permit.is_ok();
        if let Ok(permit) = permit {
            permit.send(2);
        }
        let mut rest = Vec::new();
        while let Ok(v) = rx.try_recv() {
            rest.push(v);
        }
        let dropped = tx.stats().dropped as usize;
        assert_eq!(
            usize::from(first.is_some()) + rest.len() + dropped,
            2 + usize::from(held)
        );
        assert!(!held || rest.contains(&2));
    });
}

/// An `Overflow` batch send publishes what fits and spills the rest, in order, while the
/// receiver takes from the ring and the spill: every value arrives once, in order, and the
/// waiting receive is woken for the spilled ones.
#[test]
fn overflow_batch_send_spills_the_rest_in_order() {
    model(|| {
        let (mut tx, mut rx) = Builder::new(1)
            .policy(Policy::Overflow)
            .spsc::<u32>()
            .unwrap();
        let p = thread::spawn(move || {
            let mut batch = vec![1, 2, 3];
            assert_eq!(tx.try_send_batch(&mut batch), Ok(3));
        });
        let mut got = Vec::new();
        while got.len() < 3 {
            got.push(rx.recv_blocking().unwrap());
        }
        assert_eq!(got, [1, 2, 3]);
        p.join().unwrap();
    });
}
