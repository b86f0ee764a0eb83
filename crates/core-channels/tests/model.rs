//! Model-based property tests: random single-threaded operation sequences on every mode and policy, checked against a `VecDeque` reference model.
//!
//! Each case builds a channel with a random capacity (1..=9, rounded up to a power of two by
//! the crate) and replays a random sequence of `try_send`, `try_send_batch`, `try_recv`,
//! `try_recv_batch`, `close` from either side and `try_reserve` (holding permits while other
//! operations run, then sending through them or dropping them). After every operation the
//! results, `len()`, `is_full()`, `is_empty()`, `is_closed()` and `stats()` must match the
//! model exactly.
//!
//! The model's rules:
//! * capacity = requested capacity rounded up to a power of two; outstanding permits own part
//!   of it ("room" = `capacity - buffered - reserved`);
//! * `Block`: no room → `Full(v)`; `DropNewest`: no room → `v` discarded, `dropped += 1`;
//!   `DropOldest`: no room → the oldest buffered value is evicted (`dropped += 1`) and `v`
//!   accepted; if nothing is buffered (all capacity reserved) `v` itself is discarded;
//!   `Overflow`: always accepted, `len()` may exceed the capacity;
//! * a batch send is the same single sends in a row: under `Block` it moves
//!   `min(room, items.len())` values, under the other policies it takes them all and applies
//!   the policy to those beyond the room, and returns how many it took;
//! * closed: sends fail with the value (batch sends with `Err`, leaving the items in place),
//!   reservations fail with `Closed`, receives drain and then report `Closed`; a permit sent
//!   after the close drops its value (`dropped += 1`);
//! * `stats().sent` counts values accepted into the buffer (evicted ones included),
//!   `received` values handed out, `dropped` values discarded or evicted.

use std::collections::VecDeque;

use nimsync_core_channels::{
    Builder, Policy, RecvError, SendError, Stats, TryRecvError, TryReserveError, TrySendError,
};
use proptest::collection::vec;
use proptest::prelude::*;

/// Cases per (mode, policy) test: 16 tests × this many cases stays well under a few seconds
/// in debug builds.
const CASES: u32 = 64;

/// One step of a generated scenario.
#[derive(Debug, Clone)]
enum Op {
    Send(u32),
    SendBatch(Vec<u32>),
    Recv,
    RecvBatch(usize),
    CloseTx,
    CloseRx,
    /// Reserve one permit per entry of `ends` (single-producer modes: the first only), run
    /// `inner` while holding them, then finish each as `ends` says.
    Reserve {
        ends: Vec<PermitEnd>,
        inner: Vec<Op>,
    },
}

#[derive(Debug, Clone, Copy)]
enum PermitEnd {
    Send(u32),
    Drop,
}

fn value() -> impl Strategy<Value = u32> {
    0u32..10_000
}

fn leaf_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => value().prop_map(Op::Send),
        2 => vec(value(), 0..12).prop_map(Op::SendBatch),
        7 => Just(Op::Recv),
        2 => (0usize..12).prop_map(Op::RecvBatch),
        1 => Just(Op::CloseTx),
        1 => Just(Op::CloseRx),
    ]
}

fn permit_end() -> impl Strategy<Value = PermitEnd> {
    prop_oneof![
        3 => value().prop_map(PermitEnd::Send),
        1 => Just(PermitEnd::Drop),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => leaf_op(),
        2 => (vec(permit_end(), 1..4), vec(leaf_op(), 0..8))
            .prop_map(|(ends, inner)| Op::Reserve { ends, inner }),
    ]
}

fn scenario() -> impl Strategy<Value = (usize, Vec<Op>)> {
    (1usize..=9, vec(op(), 0..64))
}

/// The reference model.
#[derive(Debug)]
struct Model {
    cap: usize,
    policy: Policy,
    buf: VecDeque<u32>,
    reserved: usize,
    closed: bool,
    sent: u64,
    received: u64,
    dropped: u64,
}

impl Model {
    fn new(requested: usize, policy: Policy) -> Self {
        Self {
            cap: requested.next_power_of_two(),
            policy,
            buf: VecDeque::new(),
            reserved: 0,
            closed: false,
            sent: 0,
            received: 0,
            dropped: 0,
        }
    }

    fn room(&self) -> usize {
        self.cap.saturating_sub(self.buf.len() + self.reserved)
    }

    fn accept(&mut self, v: u32) {
        self.buf.push_back(v);
        self.sent += 1;
    }

    fn try_send(&mut self, v: u32) -> Result<(), TrySendError<u32>> {
        if self.closed {
            return Err(TrySendError::Closed(v));
        }
        if self.room() > 0 {
            self.accept(v);
            return Ok(());
        }
        match self.policy {
            Policy::Block => Err(TrySendError::Full(v)),
            Policy::DropNewest => {
                self.dropped += 1;
                Ok(())
            }
            Policy::DropOldest => {
                self.dropped += 1;
                if self.buf.pop_front().is_some() {
                    self.accept(v);
                }
                Ok(())
            }
            Policy::Overflow => {
                self.accept(v);
                Ok(())
            }
        }
    }

    fn try_send_batch(&mut self, items: &mut Vec<u32>) -> Result<usize, SendError<()>> {
        if self.closed {
            return Err(SendError(()));
        }
        let mut n = 0;
        while let Some(&v) = items.first() {
            if self.try_send(v).is_err() {
                break;
            }
            items.remove(0);
            n += 1;
        }
        Ok(n)
    }

    fn try_recv(&mut self) -> Result<u32, TryRecvError> {
        match self.buf.pop_front() {
            Some(v) => {
                self.received += 1;
                Ok(v)
            }
            None if self.closed => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Pops exactly `n` values (the count the channel chose, already validated).
    fn recv_n(&mut self, n: usize) -> Vec<u32> {
        self.received += n as u64;
        self.buf.drain(..n).collect()
    }

    fn close(&mut self) -> bool {
        !std::mem::replace(&mut self.closed, true)
    }

    fn try_reserve(&mut self) -> Result<(), TryReserveError> {
        if self.closed {
            Err(TryReserveError::Closed)
        } else if self.room() == 0 {
            Err(TryReserveError::Full)
        } else {
            self.reserved += 1;
            Ok(())
        }
    }

    fn permit_send(&mut self, v: u32) {
        self.reserved -= 1;
        if self.closed {
            self.dropped += 1;
        } else {
            self.accept(v);
        }
    }

    fn permit_drop(&mut self) {
        self.reserved -= 1;
    }

    fn stats(&self) -> Stats {
        Stats {
            sent: self.sent,
            received: self.received,
            dropped: self.dropped,
        }
    }
}

/// Compares every observable of handle `$h` (sender or receiver) with the model.
macro_rules! check {
    ($h:expr, $m:expr, $ctx:expr) => {{
        let m = &$m;
        prop_assert_eq!($h.len(), m.buf.len(), "len after {:?}", $ctx);
        prop_assert_eq!($h.is_empty(), m.buf.is_empty(), "is_empty after {:?}", $ctx);
        prop_assert_eq!(
            $h.is_full(),
            m.buf.len() >= m.cap,
            "is_full after {:?}",
            $ctx
        );
        prop_assert_eq!($h.is_closed(), m.closed, "is_closed after {:?}", $ctx);
        prop_assert_eq!($h.stats(), m.stats(), "stats after {:?}", $ctx);
    }};
}

/// Runs a sender-side leaf op; `false` if `$op` is not one.
macro_rules! tx_step {
    ($tx:expr, $m:expr, $op:expr) => {{
        match $op {
            Op::Send(v) => {
                let got = $tx.try_send(*v);
                let want = $m.try_send(*v);
                prop_assert_eq!(got, want, "try_send({})", v);
                true
            }
            Op::SendBatch(items) => {
                let mut got_items = items.clone();
                let mut want_items = items.clone();
                let got = $tx.try_send_batch(&mut got_items);
                let want = $m.try_send_batch(&mut want_items);
                prop_assert_eq!(got, want, "try_send_batch({:?})", items);
                prop_assert_eq!(got_items, want_items, "items left by try_send_batch");
                true
            }
            Op::CloseTx => {
                prop_assert_eq!($tx.close(), $m.close(), "close from sender");
                true
            }
            _ => false,
        }
    }};
}

/// Runs a receiver-side leaf op; `false` if `$op` is not one.
macro_rules! rx_step {
    ($rx:expr, $m:expr, $op:expr) => {{
        match $op {
            Op::Recv => {
                prop_assert_eq!($rx.try_recv(), $m.try_recv(), "try_recv");
                true
            }
            Op::RecvBatch(max) => {
                let max = *max;
                let mut out = vec![u32::MAX]; // pre-existing content must be kept
                let got = $rx.try_recv_batch(&mut out, max);
                prop_assert_eq!(out[0], u32::MAX, "try_recv_batch clobbered `out`");
                let avail = max.min($m.buf.len());
                match got {
                    Err(RecvError) => {
                        prop_assert!(
                            $m.closed && $m.buf.is_empty(),
                            "try_recv_batch(max {}) = Err with {} buffered, closed {}",
                            max,
                            $m.buf.len(),
                            $m.closed
                        );
                    }
                    Ok(n) => {
                        prop_assert_eq!(n, out.len() - 1, "count vs appended");
                        if $m.policy == Policy::Overflow && avail > 0 {
                            // The spill is drained only once the ring is empty, so a batch
                            // may stop at the ring's end: "up to max", at least one.
                            prop_assert!(
                                (1..=avail).contains(&n),
                                "try_recv_batch(max {}) = {} of {}",
                                max,
                                n,
                                avail
                            );
                        } else {
                            prop_assert_eq!(n, avail, "try_recv_batch(max {})", max);
                        }
                        prop_assert!(
                            !($m.closed && $m.buf.is_empty()),
                            "try_recv_batch(max {}) on a closed, drained channel = Ok({})",
                            max,
                            n
                        );
                        let want = $m.recv_n(n);
                        prop_assert_eq!(&out[1..], &want[..], "try_recv_batch values");
                    }
                }
                true
            }
            Op::CloseRx => {
                prop_assert_eq!($rx.close(), $m.close(), "close from receiver");
                true
            }
            _ => false,
        }
    }};
}

/// The `Reserve` op: multi-producer modes hold several permits and keep sending through the
/// (shared) sender meanwhile; single-producer modes hold one permit (it borrows the sender
/// mutably) and run only receiver-side ops meanwhile.
macro_rules! reserve_step {
    (mp, $tx:ident, $rx:ident, $m:ident, $ends:expr, $inner:expr) => {{
        let mut permits = Vec::new();
        for end in $ends {
            let got = $tx.try_reserve();
            let want = $m.try_reserve();
            match (got, want) {
                (Ok(p), Ok(())) => permits.push((p, *end)),
                (Err(e), Err(w)) => prop_assert_eq!(e, w, "try_reserve error"),
                (got, want) => prop_assert!(false, "try_reserve: {:?} vs model {:?}", got, want),
            }
            check!($tx, $m, "try_reserve");
        }
        for op in $inner {
            let handled = tx_step!($tx, $m, op) || rx_step!($rx, $m, op);
            prop_assert!(handled, "nested Reserve");
            check!($tx, $m, op);
        }
        for (p, end) in permits {
            match end {
                PermitEnd::Send(v) => {
                    p.send(v);
                    $m.permit_send(v);
                }
                PermitEnd::Drop => {
                    drop(p);
                    $m.permit_drop();
                }
            }
            check!($tx, $m, end);
        }
    }};
    (sp, $tx:ident, $rx:ident, $m:ident, $ends:expr, $inner:expr) => {{
        let end = $ends[0];
        let got = $tx.try_reserve();
        let want = $m.try_reserve();
        match (got, want) {
            (Ok(p), Ok(())) => {
                check!($rx, $m, "try_reserve");
                for op in $inner {
                    // Sender-side ops are impossible while the permit borrows the sender.
                    let _ = rx_step!($rx, $m, op);
                    check!($rx, $m, op);
                }
                match end {
                    PermitEnd::Send(v) => {
                        p.send(v);
                        $m.permit_send(v);
                    }
                    PermitEnd::Drop => {
                        drop(p);
                        $m.permit_drop();
                    }
                }
            }
            (Err(e), Err(w)) => prop_assert_eq!(e, w, "try_reserve error"),
            (got, want) => prop_assert!(false, "try_reserve: {:?} vs model {:?}", got, want),
        }
    }};
}

/// Defines `fn $run(policy, requested_capacity, ops)` for one mode.
macro_rules! runner {
    ($run:ident, $ctor:ident, $side:ident) => {
        fn $run(policy: Policy, requested: usize, ops: &[Op]) -> Result<(), TestCaseError> {
            #[allow(unused_mut)]
            let (mut tx, mut rx) = Builder::new(requested)
                .policy(policy)
                .$ctor::<u32>()
                .unwrap();
            let mut m = Model::new(requested, policy);
            prop_assert_eq!(tx.capacity(), m.cap);
            prop_assert_eq!(rx.capacity(), m.cap);
            check!(tx, m, "new");
            for op in ops {
                match op {
                    Op::Reserve { ends, inner } => reserve_step!($side, tx, rx, m, ends, inner),
                    op => {
                        let handled = tx_step!(tx, m, op) || rx_step!(rx, m, op);
                        prop_assert!(handled);
                    }
                }
                check!(tx, m, op);
                check!(rx, m, op);
                prop_assert_eq!(tx.sender_count(), 1);
                prop_assert_eq!(rx.receiver_count(), 1);
            }
            // Closing drains: everything still buffered comes out in order, then `Closed`.
            rx.close();
            m.close();
            loop {
                let got = rx.try_recv();
                prop_assert_eq!(got, m.try_recv(), "final drain");
                if got.is_err() {
                    break;
                }
            }
            check!(rx, m, "final drain");
            Ok(())
        }
    };
}

runner!(run_spsc, spsc, sp);
runner!(run_mpsc, mpsc, mp);
runner!(run_spmc, spmc, sp);
runner!(run_mpmc, mpmc, mp);

/// One proptest per (mode, policy).
macro_rules! model_tests {
    ($($name:ident: $run:ident, $policy:ident;)*) => {
        proptest! {
            #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]
            $(
                #[test]
                fn $name((cap, ops) in scenario()) {
                    $run(Policy::$policy, cap, &ops)?;
                }
            )*
        }
    };
}

model_tests! {
    spsc_block: run_spsc, Block;
    spsc_drop_newest: run_spsc, DropNewest;
    spsc_drop_oldest: run_spsc, DropOldest;
    spsc_overflow: run_spsc, Overflow;
    mpsc_block: run_mpsc, Block;
    mpsc_drop_newest: run_mpsc, DropNewest;
    mpsc_drop_oldest: run_mpsc, DropOldest;
    mpsc_overflow: run_mpsc, Overflow;
    spmc_block: run_spmc, Block;
    spmc_drop_newest: run_spmc, DropNewest;
    spmc_drop_oldest: run_spmc, DropOldest;
    spmc_overflow: run_spmc, Overflow;
    mpmc_block: run_mpmc, Block;
    mpmc_drop_newest: run_mpmc, DropNewest;
    mpmc_drop_oldest: run_mpmc, DropOldest;
    mpmc_overflow: run_mpmc, Overflow;
}

/// Minimal reproductions of bugs the model found (fixed in the crate); kept as plain tests.
mod regressions {
    use std::time::Duration;

    use nimsync_core_channels::{
        Builder, Policy, SendTimeoutError, Stats, TryRecvError, TrySendError, mpmc, spsc,
    };

    /// A send on a closed channel while a permit is outstanding used to take the "no room"
    /// path: `Full` under `Block` (so `send_blocking` waited forever on a closed channel),
    /// a silent drop under `DropNewest`, and an eviction of a buffered value under
    /// `DropOldest`.
    #[test]
    fn closed_beats_full_while_a_permit_is_held() {
        let (tx, rx) = mpmc::<u32>(1);
        let permit = tx.try_reserve().unwrap();
        tx.close();
        assert_eq!(tx.try_send(1), Err(TrySendError::Closed(1)));
        assert!(matches!(
            tx.send_timeout(2, Duration::from_secs(10)),
            Err(SendTimeoutError::Closed(2))
        ));
        drop(permit);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));

        let (tx, rx) = Builder::new(2)
            .policy(Policy::DropOldest)
            .mpmc::<u32>()
            .unwrap();
        tx.try_send(1).unwrap();
        let permit = tx.try_reserve().unwrap();
        rx.close();
        assert_eq!(tx.try_send(2), Err(TrySendError::Closed(2)));
        drop(permit);
        assert_eq!(
            rx.try_recv(),
            Ok(1),
            "a buffered value was evicted after close"
        );
        assert_eq!(rx.stats().dropped, 0);

        let (tx, rx) = Builder::new(1)
            .policy(Policy::DropNewest)
            .mpsc::<u32>()
            .unwrap();
        let permit = tx.try_reserve().unwrap();
        tx.close();
        assert_eq!(tx.try_send(1), Err(TrySendError::Closed(1)));
        drop(permit);
        assert_eq!(rx.stats(), Stats::default());
    }

    /// `try_send_batch` used to return `Ok(0)` on a full ring whatever the policy (and the
    /// waiting batch sends waited for room on lossy and spilling channels). It is now the
    /// same single sends in a row: on the fast path (ring full), behind spilled values and
    /// with a permit outstanding, it takes every value and applies the policy to those that
    /// do not fit.
    #[test]
    fn batch_send_applies_the_policy_like_single_sends() {
        let (tx, rx) = Builder::new(1)
            .policy(Policy::Overflow)
            .mpmc::<u32>()
            .unwrap();
        tx.try_send(1).unwrap();
        let mut batch = vec![2, 3];
        assert_eq!(tx.try_send_batch(&mut batch), Ok(2)); // ring full, spill empty
        assert!(batch.is_empty());
        tx.try_send(4).unwrap(); // spilled
        let mut batch = vec![5, 6];
        assert_eq!(tx.try_send_batch(&mut batch), Ok(2)); // ring full, spill non-empty
        assert_eq!(tx.len(), 6);
        let got: Vec<u32> = rx.try_iter().collect();
        assert_eq!(got, [1, 2, 3, 4, 5, 6]);

        let (tx, mut rx) = Builder::new(1)
            .policy(Policy::DropNewest)
            .mpsc::<u32>()
            .unwrap();
        let permit = tx.try_reserve().unwrap();
        let mut batch = vec![1, 2];
        assert_eq!(tx.try_send_batch(&mut batch), Ok(2));
        assert!(batch.is_empty());
        assert_eq!(tx.stats().dropped, 2);
        permit.send(3); // the permit's slot was kept
        assert_eq!(rx.try_recv(), Ok(3));

        let (mut tx, mut rx) = Builder::new(2)
            .policy(Policy::DropOldest)
            .spsc::<u32>()
            .unwrap();
        let mut batch = vec![1, 2, 3, 4, 5];
        assert_eq!(tx.try_send_batch(&mut batch), Ok(5));
        assert_eq!(tx.stats().dropped, 3);
        assert_eq!(rx.try_recv(), Ok(4));
        assert_eq!(rx.try_recv(), Ok(5));

        // Closed beats full: nothing is taken.
        tx.close();
        let mut batch = vec![6];
        assert!(tx.try_send_batch(&mut batch).is_err());
        assert_eq!(batch, [6]);
    }

    /// `DropOldest` with every slot reserved and nothing buffered used to push the new value
    /// into a permit's slot, so the permit's value later overflowed into the spill and
    /// `len()` exceeded the capacity.
    #[test]
    fn drop_oldest_with_all_capacity_reserved() {
        let (tx, rx) = Builder::new(1)
            .policy(Policy::DropOldest)
            .mpmc::<u32>()
            .unwrap();
        let permit = tx.try_reserve().unwrap();
        tx.try_send(1).unwrap();
        assert_eq!(tx.len(), 0);
        assert_eq!(tx.stats().dropped, 1);
        permit.send(2);
        assert_eq!(tx.len(), 1);
        assert_eq!(rx.try_recv(), Ok(2));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }

    /// `try_reserve` counted spilled values twice (`RawChan::len` already includes them).
    #[test]
    fn try_reserve_counts_spilled_values_once() {
        let (tx, rx) = Builder::new(2)
            .policy(Policy::Overflow)
            .mpmc::<u32>()
            .unwrap();
        for i in 0..3 {
            tx.try_send(i).unwrap(); // 2 in the ring, 1 spilled
        }
        assert_eq!(rx.try_recv(), Ok(0));
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(tx.len(), 1);
        let permit = tx.try_reserve().expect("1 buffered + 1 reserved fits in 2");
        permit.send(3);
        assert_eq!(rx.try_recv(), Ok(2));
        assert_eq!(rx.try_recv(), Ok(3));
    }

    /// The SPSC (Lamport) batch receive only refreshed its cached tail when the cache said
    /// "empty", so it missed values published since the last refresh.
    #[test]
    fn spsc_batch_recv_sees_everything_published() {
        let (mut tx, mut rx) = spsc::<u32>(4);
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        assert_eq!(rx.try_recv(), Ok(1));
        tx.try_send(3).unwrap();
        let mut out = Vec::new();
        assert_eq!(rx.try_recv_batch(&mut out, 8), Ok(2));
        assert_eq!(out, [2, 3]);
    }

    /// `try_recv_batch(_, 0)` on an SPSC `Overflow` channel whose ring was drained but whose
    /// spill still held values reported `Err` (closed and drained) too early.
    #[test]
    fn recv_batch_of_zero_on_a_closed_channel_with_spilled_values() {
        let (mut tx, mut rx) = Builder::new(1)
            .policy(Policy::Overflow)
            .spsc::<u32>()
            .unwrap();
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap(); // spilled
        tx.close();
        assert_eq!(rx.try_recv(), Ok(1));
        let mut out = Vec::new();
        assert_eq!(rx.try_recv_batch(&mut out, 0), Ok(0));
        assert_eq!(rx.try_recv(), Ok(2));
        assert!(rx.try_recv_batch(&mut out, 0).is_err());
    }
}
