//! tell_throughput: one producer task tells N `Add(i)` to one actor, then asks for the sum
//! (which proves all N were handled); million messages per second. N = 1 M (÷2 with
//! `--quick`): the median is stable at that size; 10 M only lengthens the run.

use std::time::Instant;

use kameo::actor::Spawn;

use super::MAILBOX;
use super::peers::{RawMsg, kameo_peer, nimsync as ns, ractor_peer, spawn_raw};
use crate::harness::{Contender, MMSG_PER_S, Params, Workload, mmsg_per_s};
use crate::scheduler::{on_nimsync, on_tokio};

/// Messages per repetition (÷2 with `--quick`).
const MESSAGES: u64 = 1_000_000;

/// The workload.
pub fn workload() -> Workload {
    Workload {
        group: "actors",
        name: "tell_throughput",
        unit: MMSG_PER_S,
        higher_is_better: true,
        note: "one task tells 1M u64 to one summing actor, then asks the sum; 2 workers",
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
    let n = p.count(MESSAGES);
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
    let n = p.count(MESSAGES);
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
    let n = p.count(MESSAGES);
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
    let n = p.count(MESSAGES);
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
