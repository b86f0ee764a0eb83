//! Credit channel: model-based proptest (credits and values never lost or duplicated) and a
//! multi-threaded stress test that counts every credit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::FutureExt;
use nimsync_backpressure::{TrySendCreditError, credit_channel};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Grant(usize),
    TrySend(u32),
    Recv,
    /// Starts a send and drops it after one poll (cancellation).
    CancelledSend(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..4).prop_map(Op::Grant),
        any::<u32>().prop_map(Op::TrySend),
        Just(Op::Recv),
        any::<u32>().prop_map(Op::CancelledSend),
    ]
}

proptest! {
    #[test]
    fn credits_match_a_model(cap in 1usize..8, initial in 0usize..5, ops in prop::collection::vec(op(), 0..200)) {
        let (tx, mut rx) = credit_channel::<u32>(cap, initial).unwrap();
        let cap = cap.next_power_of_two();
        let mut credits = initial;
        let mut queue = std::collections::VecDeque::new();
        for op in ops {
            match op {
                Op::Grant(n) => {
                    rx.grant(n).unwrap();
                    credits += n;
                }
                Op::TrySend(v) => match tx.try_send(v) {
                    Ok(()) => {
                        prop_assert!(credits > 0 && queue.len() < cap);
                        credits -= 1;
                        queue.push_back(v);
                    }
                    Err(TrySendCreditError::NoCredit(back)) => {
                        prop_assert_eq!(credits, 0);
                        prop_assert_eq!(back, v);
                    }
                    Err(TrySendCreditError::Full(back)) => {
                        prop_assert_eq!(queue.len(), cap);
                        prop_assert_eq!(back, v);
                    }
                    Err(TrySendCreditError::Closed(_)) => prop_assert!(false, "closed"),
                },
                Op::Recv => prop_assert_eq!(rx.try_recv(), queue.pop_front()),
                Op::CancelledSend(v) => {
                    // One poll: completes at once if credit and room exist, else is dropped
                    // pending, which must spend nothing.
                    let done = tx.send(v).now_or_never();
                    match done {
                        Some(Ok(())) => {
                            credits -= 1;
                            queue.push_back(v);
                        }
                        Some(Err(_)) => prop_assert!(false, "closed"),
                        None => prop_assert!(credits == 0 || queue.len() == cap),
                    }
                }
            }
            prop_assert_eq!(tx.credits(), credits);
            prop_assert_eq!(rx.credits(), credits);
        }
    }
}

#[test]
fn senders_wake_when_credit_is_granted_and_fail_when_the_receiver_leaves() {
    let (tx, rx) = credit_channel::<u8>(4, 0).unwrap();
    let t = std::thread::spawn(move || futures_executor::block_on(tx.send(7)));
    rx.grant(1).unwrap();
    t.join().unwrap().unwrap();

    let (tx, rx) = credit_channel::<u8>(4, 0).unwrap();
    let t = std::thread::spawn(move || futures_executor::block_on(tx.send(7)));
    drop(rx);
    assert_eq!(t.join().unwrap().unwrap_err().0, 7);
}

/// Producers on threads, one consumer granting credits in chunks: every value arrives once,
/// sends never exceed grants, and at the end granted = sent + unspent.
#[test]
fn stress_credits_are_conserved() {
    const PRODUCERS: u64 = 4;
    const PER_PRODUCER: u64 = 20_000;
    let total = PRODUCERS * PER_PRODUCER;
    let (tx, mut rx) = credit_channel::<u64>(64, 0).unwrap();
    let sent = Arc::new(AtomicU64::new(0));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let tx = tx.clone();
            let sent = sent.clone();
            std::thread::spawn(move || {
                futures_executor::block_on(async {
                    for i in 0..PER_PRODUCER {
                        tx.send(p * PER_PRODUCER + i).await.unwrap();
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
        })
        .collect();
    drop(tx);
    let mut granted = 0u64;
    let mut received = 0u64;
    let mut sum = 0u64;
    let mut seen = vec![false; usize::try_from(total).unwrap()];
    futures_executor::block_on(async {
        loop {
            // Grant in chunks of 7 whenever nothing is outstanding beyond what is buffered.
            if rx.credits() == 0 && granted < total {
                let n = 7.min(total - granted);
                rx.grant(usize::try_from(n).unwrap()).unwrap();
                granted += n;
            }
            match rx.recv().await {
                Ok(v) => {
                    let slot = &mut seen[usize::try_from(v).unwrap()];
                    assert!(!*slot, "value {v} received twice");
                    *slot = true;
                    received += 1;
                    sum += v;
                    assert!(received <= granted, "more values than credits granted");
                }
                Err(_) => break,
            }
        }
    });
    for p in producers {
        p.join().unwrap();
    }
    assert_eq!(received, total);
    assert_eq!(sum, total * (total - 1) / 2);
    assert_eq!(sent.load(Ordering::Relaxed), total);
    assert_eq!(granted, received + rx.credits() as u64);
}
