//! Combinators against the obvious reference (iterators) with proptest, plus the edge cases:
//! fairness of `merge`, bounded concurrency of `buffered`, cancellation of `take_until`, a
//! panic across `spawn_stage`, a finished stream behind `into_sink`'s pending flush.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use futures_executor::block_on;
use nimsync_cancel::CancelToken;
use nimsync_core_channels::mpsc;
use nimsync_streams::{StreamExt, iter, merge};
use proptest::prelude::*;

proptest! {
    #[test]
    fn map_filter_filter_map_match_iterators(v in prop::collection::vec(any::<i32>(), 0..200)) {
        let got = block_on(iter(v.clone()).map(|x| x.wrapping_mul(3)).filter(|x| x % 2 == 0).collect_vec());
        let want: Vec<i32> = v.iter().map(|x| x.wrapping_mul(3)).filter(|x| x % 2 == 0).collect();
        prop_assert_eq!(got, want);
        let got = block_on(iter(v.clone()).filter_map(|x| (x > 0).then_some(x / 2)).collect_vec());
        let want: Vec<i32> = v.iter().filter_map(|&x| (x > 0).then_some(x / 2)).collect();
        prop_assert_eq!(got, want);
        let got = block_on(iter(v.clone()).then(|x| async move { x.wrapping_add(1) }).collect_vec());
        let want: Vec<i32> = v.iter().map(|x| x.wrapping_add(1)).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn batch_matches_chunks(v in prop::collection::vec(any::<u8>(), 0..200), n in 1usize..20) {
        let got = block_on(iter(v.clone()).batch(n).collect_vec());
        let want: Vec<Vec<u8>> = v.chunks(n).map(<[u8]>::to_vec).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn buffered_keeps_order_and_unordered_keeps_the_set(v in prop::collection::vec(any::<u16>(), 0..100), n in 1usize..8) {
        let got = block_on(iter(v.clone()).map(|x| async move { x }).buffered(n).collect_vec());
        prop_assert_eq!(&got, &v);
        let mut got = block_on(iter(v.clone()).map(|x| async move { x }).buffer_unordered(n).collect_vec());
        let mut want = v.clone();
        got.sort_unstable();
        want.sort_unstable();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn merge_yields_every_item_once_and_keeps_each_inputs_order(
        inputs in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..30), 1..6)
    ) {
        let tagged: Vec<_> = inputs
            .iter()
            .enumerate()
            .map(|(k, v)| iter(v.iter().map(move |&x| (k, x)).collect::<Vec<_>>()))
            .collect();
        let got = block_on(merge(tagged).collect_vec());
        prop_assert_eq!(got.len(), inputs.iter().map(Vec::len).sum::<usize>());
        for (k, v) in inputs.iter().enumerate() {
            let mine: Vec<u8> = got.iter().filter(|(j, _)| *j == k).map(|&(_, x)| x).collect();
            prop_assert_eq!(&mine, v);
        }
    }
}

#[test]
fn merge_is_fair_across_many_always_ready_inputs() {
    // Eight endless inputs: in any window of 8 items each input appears exactly once (a
    // chained two-way merge would give the first input half of everything).
    let inputs: Vec<_> = (0..8).map(|k| iter(std::iter::repeat(k))).collect();
    let mut merged = merge(inputs);
    let first: Vec<usize> = block_on(async {
        let mut v = Vec::new();
        for _ in 0..800 {
            v.push(merged.next().await.unwrap());
        }
        v
    });
    for window in first.chunks(8) {
        let mut w = window.to_vec();
        w.sort_unstable();
        assert_eq!(w, (0..8).collect::<Vec<_>>());
    }
}

#[test]
fn buffered_never_runs_more_than_n_futures() {
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let rt = nimsync_scheduler::Runtime::builder()
        .workers(2)
        .build()
        .unwrap();
    let (r, p) = (running.clone(), peak.clone());
    let out = rt.block_on(
        iter(0..200u32)
            .map(move |x| {
                let (r, p) = (r.clone(), p.clone());
                async move {
                    let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                    p.fetch_max(now, Ordering::SeqCst);
                    nimsync_scheduler::yield_now().await;
                    nimsync_scheduler::yield_now().await;
                    r.fetch_sub(1, Ordering::SeqCst);
                    x
                }
            })
            .buffer_unordered(5)
            .collect_vec(),
    );
    assert_eq!(out.len(), 200);
    assert_eq!(
        peak.load(Ordering::SeqCst),
        5,
        "five futures should overlap, never more"
    );
}

#[test]
#[should_panic(expected = "buffered concurrency must not be zero")]
fn zero_sizes_are_rejected_at_construction() {
    let _ = iter(0..1).map(|x| async move { x }).buffered(0);
}

#[test]
fn take_until_stops_on_cancellation_even_with_items_ready() {
    let token = CancelToken::new();
    let (tx, rx) = mpsc::<u32>(8);
    for i in 0..5 {
        tx.try_send(i).unwrap();
    }
    let mut s = rx.take_until(token.child());
    block_on(async {
        assert_eq!(s.next().await, Some(0));
        assert_eq!(s.next().await, Some(1));
        token.cancel(); // a parent's cancel reaches the child token
        assert_eq!(s.next().await, None);
        assert_eq!(s.next().await, None);
    });
    assert!(s.is_stopped());
    assert_eq!(tx.len(), 3, "the rest stay in the channel");
}

#[test]
fn take_until_wakes_a_consumer_waiting_on_an_idle_stream() {
    let token = CancelToken::new();
    let (_tx, rx) = mpsc::<u32>(8);
    let mut s = rx.take_until(token.clone());
    let canceller = std::thread::spawn(move || token.cancel());
    assert_eq!(block_on(s.next()), None);
    canceller.join().unwrap();
}

#[test]
fn into_channel_stops_when_the_receiver_goes() {
    let (tx, rx) = mpsc::<u32>(2);
    drop(rx);
    assert!(block_on(iter(0..10).into_channel(tx)).is_err());
}

#[test]
fn spawn_stage_reraises_an_upstream_panic_in_the_consumer() {
    let rt = nimsync_scheduler::Builder::new_multi_thread()
        .workers(2)
        .build()
        .unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let counted = seen.clone();
    // The consumer is a task of `rt` (spawned inside `block_on`), and so is the stage's
    // upstream task; the consumer's `JoinError` shows how it ended.
    let err = rt
        .block_on(async move {
            nimsync_scheduler::spawn(async move {
                iter(0..10u32)
                    .map(|x| {
                        assert!(x != 5, "upstream failed at 5");
                        x
                    })
                    .spawn_stage(4)
                    .map(move |x| {
                        counted.fetch_add(1, Ordering::SeqCst);
                        x
                    })
                    .collect_vec()
                    .await
            })
            .await
        })
        .expect_err("the upstream panic must not look like a normal end of stream");
    assert!(err.is_panic(), "{err:?}");
    assert_eq!(err.panic_message(), Some("upstream failed at 5"));
    // The items sent before the panic are delivered first.
    assert_eq!(seen.load(Ordering::SeqCst), 5);
}

#[test]
fn spawn_stage_ends_normally_and_can_be_polled_after_its_end() {
    let rt = nimsync_scheduler::Builder::new_multi_thread()
        .workers(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let mut s = iter(0..3u32).spawn_stage(2);
        for want in 0..3 {
            assert_eq!(s.next().await, Some(want));
        }
        assert_eq!(s.next().await, None);
        assert_eq!(s.next().await, None); // the join handle is not polled again
    });
}

/// A sink whose first flush is pending (it wakes itself at once).
struct FlushPendingOnce {
    flushed_once: bool,
    got: Vec<u32>,
}

impl futures_sink::Sink<u32> for FlushPendingOnce {
    type Error = ();

    fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, x: u32) -> Result<(), ()> {
        self.get_mut().got.push(x);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        let this = self.get_mut();
        if this.flushed_once {
            Poll::Ready(Ok(()))
        } else {
            this.flushed_once = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
        Poll::Ready(Ok(()))
    }
}

/// Yields `n - 1, ..., 0` and panics if polled after it returned `None` (as futures-util's
/// `unfold` or `once` do).
struct Strict {
    n: u32,
    ended: bool,
}

impl futures_core::Stream for Strict {
    type Item = u32;

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<u32>> {
        let this = self.get_mut();
        assert!(!this.ended, "polled after it returned None");
        if this.n == 0 {
            this.ended = true;
            return Poll::Ready(None);
        }
        this.n -= 1;
        Poll::Ready(Some(this.n))
    }
}

#[test]
fn into_sink_never_polls_a_finished_stream_again() {
    let mut sink = FlushPendingOnce {
        flushed_once: false,
        got: vec![],
    };
    let stream = Strict { n: 3, ended: false };
    // The final flush is pending once: the next poll must only flush, not pull again.
    assert_eq!(block_on(stream.into_sink(&mut sink)), Ok(3));
    assert_eq!(sink.got, [2, 1, 0]);
    assert!(sink.flushed_once);
}
