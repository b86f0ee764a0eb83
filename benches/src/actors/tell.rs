//! tell_throughput: one producer task tells N `Add(i)` to one actor, then asks for the sum
//! (which proves all N were handled); million messages per second. N = 10 M, the issue's
//! figure (1 M with `--quick`, where the median is already stable; warm-up ÷10).

use std::time::Instant;

use kameo::actor::Spawn;

use super::MAILBOX;
use super::peers::{RawMsg, kameo_peer, nimsync as ns, ractor_peer, spawn_raw};
use crate::harness::{Contender, MMSG_PER_S, Params, Workload, mmsg_per_s};
use crate::scheduler::{on_nimsync, on_tokio};

/// Messages per repetition.
const MESSAGES: u64 = 10_000_000;

/// Messages per repetition with `--quick`.
const QUICK_MESSAGES: u64 = 1_000_000;

/// The message count for this run (`Params::count` halves it again with `--quick`).
fn messages(p: &Params) -> u64 {
    p.count(if p.quick {
        2 * QUICK_MESSAGES
    } else {
        MESSAGES
    })
}

/// The workload.
pub fn workload() -> Workload {
    Workload {
        group: "actors",
        name: "tell_throughput",
        unit: MMSG_PER_S,
        higher_is_better: true,
        note: "one task tells 10M u64 (1M with --quick) to one summing actor, then asks the sum; \
               2 workers",
        contenders: vec![
            Contender {
                name: "nimsync",
                run: nimsync,
            },
            Contender {
                name: "ractor",
                run: ractor,
            },
            Contender {
                name: "kameo",
                run: kameo,
            },
            Contender {
                name: "tokio-mpsc (raw)",
                run: raw,
            },
        ],
    }
}

fn expected(n: u64) -> u64 {
    n * (n - 1) / 2
}

fn nimsync(p: &Params) -> f64 {
    let n = messages(p);
    let d = on_nimsync(async move {
        let actor = nimsync_actors::ActorBuilder::new()
            .capacity(MAILBOX)
            .spawn(ns::Summer(0))
            .expect("spawn");
        let start = Instant::now();
        for i in 0..n {
            actor.tell(ns::Msg::Add(i)).await.expect("actor alive");
        }
        let sum = actor.ask(ns::Msg::Get).await.expect("reply");
        let d = start.elapsed();
        assert_eq!(sum, expected(n), "lost messages");
        d
    });
    mmsg_per_s(n, d)
}

fn ractor(p: &Params) -> f64 {
    let n = messages(p);
    let d = on_tokio(async move {
        let (actor, handle) = ractor::Actor::spawn(None, ractor_peer::Summer, ())
            .await
            .expect("spawn");
        let start = Instant::now();
        for i in 0..n {
            actor.cast(ractor_peer::Msg::Add(i)).expect("actor alive");
        }
        let sum = ractor::call!(actor, ractor_peer::Msg::Get).expect("reply");
        let d = start.elapsed();
        assert_eq!(sum, expected(n), "lost messages");
        actor.stop(None);
        handle.await.expect("ractor actor");
        d
    });
    mmsg_per_s(n, d)
}

fn kameo(p: &Params) -> f64 {
    let n = messages(p);
    let d = on_tokio(async move {
        let actor = kameo_peer::Summer::spawn_with_mailbox(
            kameo_peer::Summer(0),
            kameo::mailbox::bounded(MAILBOX),
        );
        let start = Instant::now();
        for i in 0..n {
            actor.tell(kameo_peer::Add(i)).await.expect("actor alive");
        }
        let sum = actor.ask(kameo_peer::Get).await.expect("reply");
        let d = start.elapsed();
        assert_eq!(sum, expected(n), "lost messages");
        d
    });
    mmsg_per_s(n, d)
}

fn raw(p: &Params) -> f64 {
    let n = messages(p);
    let d = on_tokio(async move {
        let tx = spawn_raw();
        let start = Instant::now();
        for i in 0..n {
            tx.send(RawMsg::Add(i)).await.expect("task alive");
        }
        let (rtx, rrx) = tokio::sync::oneshot::channel();
        tx.send(RawMsg::Get(rtx)).await.expect("task alive");
        let sum = rrx.await.expect("reply");
        let d = start.elapsed();
        assert_eq!(sum, expected(n), "lost messages");
        d
    });
    mmsg_per_s(n, d)
}
