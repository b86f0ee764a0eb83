//! loom model of the actor doorbell (`src/doorbell.rs`, included here as a module): an idle
//! actor parks (register the waker, raise the flag, fence, re-check the mailbox) while senders
//! enqueue and ring (fence, load the flag, swap it and wake). Every interleaving must end with
//! the actor seeing every message; a lost wake-up leaves it parked forever, which loom reports
//! as a deadlock.
//!
//! ```sh
//! RUSTFLAGS="--cfg nimsync_loom" cargo test -p nimsync-actors --release --test loom
//! ```
#![cfg(nimsync_loom)]

#[allow(dead_code)]
#[path = "../src/doorbell.rs"]
mod doorbell;

use std::future::poll_fn;
use std::task::Poll;

use doorbell::Doorbell;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};

/// `senders` threads each enqueue one message (the mailbox is a counter here) and ring; the
/// actor waits, as the runner does, until it has seen all of them. `preemptions` bounds the
/// forced context switches per execution (loom's standard bound: exhaustive over every
/// schedule with up to that many, which keeps three threads tractable).
fn actor_sees_every_message(senders: usize, preemptions: usize) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemptions);
    builder.check(move || {
        let bell = Arc::new(Doorbell::new());
        let mailbox = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..senders)
            .map(|_| {
                let (bell, mailbox) = (bell.clone(), mailbox.clone());
                loom::thread::spawn(move || {
                    mailbox.fetch_add(1, Ordering::Release);
                    bell.ring();
                })
            })
            .collect();
        loom::future::block_on(poll_fn(|cx| {
            if mailbox.load(Ordering::Acquire) == senders {
                return Poll::Ready(());
            }
            bell.park(cx.waker());
            if mailbox.load(Ordering::Acquire) == senders {
                bell.unpark();
                return Poll::Ready(());
            }
            Poll::Pending
        }));
        for t in threads {
            t.join().unwrap();
        }
    });
}

#[test]
fn one_sender_never_leaves_the_actor_parked() {
    actor_sees_every_message(1, 4);
}

#[test]
fn two_senders_never_leave_the_actor_parked() {
    actor_sees_every_message(2, 3);
}
