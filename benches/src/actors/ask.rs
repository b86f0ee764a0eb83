//! ask_roundtrip: one task asks one actor N times in a row (request + reply each);
//! nanoseconds per round trip. The raw baseline is a tokio mpsc + tokio oneshot.

use std::time::Instant;

use kameo::actor::Spawn;

use super::MAILBOX;
use super::peers::{RawMsg, kameo_peer, nimsync as ns, ractor_peer, spawn_raw};
use crate::harness::{Contender, NS_PER_OP, Params, Workload, ns_per_op};
use crate::scheduler::{on_nimsync, on_tokio};

/// Round trips per repetition (÷2 with `--quick`).
const ROUNDS: u64 = 200_000;

/// The workload.
pub fn workload() -> Workload {
    Workload {
        group: "actors",
        name: "ask_roundtrip",
        unit: NS_PER_OP,
        higher_is_better: false,
        note: "one task asks one actor 200k times in a row; ns per request + reply; 2 workers",
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
                name: "tokio-mpsc+oneshot (raw)",
                run: raw,
            },
        ],
    }
}

fn nimsync(p: &Params) -> f64 {
    let n = p.count(ROUNDS);
    let d = on_nimsync(async move {
        let actor = nimsync_actors::ActorBuilder::new()
            .capacity(MAILBOX)
            .spawn(ns::Summer(7))
            .expect("spawn");
        let start = Instant::now();
        for _ in 0..n {
            assert_eq!(actor.ask(ns::Msg::Get).await, Ok(7));
        }
        start.elapsed()
    });
    ns_per_op(n, d)
}

fn ractor(p: &Params) -> f64 {
    let n = p.count(ROUNDS);
    let d = on_tokio(async move {
        let (actor, handle) = ractor::Actor::spawn(None, ractor_peer::Summer, ())
            .await
            .expect("spawn");
        actor.cast(ractor_peer::Msg::Add(7)).expect("alive");
        let start = Instant::now();
        for _ in 0..n {
            let v = ractor::call!(actor, ractor_peer::Msg::Get).expect("reply");
            assert_eq!(v, 7);
        }
        let d = start.elapsed();
        actor.stop(None);
        handle.await.expect("ractor actor");
        d
    });
    ns_per_op(n, d)
}

fn kameo(p: &Params) -> f64 {
    let n = p.count(ROUNDS);
    let d = on_tokio(async move {
        let actor = kameo_peer::Summer::spawn_with_mailbox(
            kameo_peer::Summer(7),
            kameo::mailbox::bounded(MAILBOX),
        );
        let start = Instant::now();
        for _ in 0..n {
            assert_eq!(actor.ask(kameo_peer::Get).await.expect("reply"), 7);
        }
        start.elapsed()
    });
    ns_per_op(n, d)
}

fn raw(p: &Params) -> f64 {
    let n = p.count(ROUNDS);
    let d = on_tokio(async move {
        let tx = spawn_raw();
        tx.send(RawMsg::Add(7)).await.expect("alive");
        let start = Instant::now();
        for _ in 0..n {
            let (rtx, rrx) = tokio::sync::oneshot::channel();
            tx.send(RawMsg::Get(rtx)).await.expect("alive");
            assert_eq!(rrx.await.expect("reply"), 7);
        }
        start.elapsed()
    });
    ns_per_op(n, d)
}
