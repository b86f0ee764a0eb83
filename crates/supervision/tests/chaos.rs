//! Chaos: many supervised actors, random panics while messages keep arriving. The supervisor
//! keeps every child alive (same address) and no message sent to a live actor is lost: each
//! child ends having handled exactly the non-poison messages sent to it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use nimsync_actors::{Actor, ActorRef, Context, Reply};
use nimsync_scheduler::Runtime;
use nimsync_supervision::{ChildSpec, Intensity, Strategy, SupervisorRef, SupervisorSpec};

struct Counter {
    handled: Arc<AtomicU64>,
}

enum Msg {
    Count,
    Poison,
    Total(Reply<u64>),
}

impl Actor for Counter {
    type Msg = Msg;
    async fn handle(&mut self, msg: Msg, _: &mut Context<Self>) {
        match msg {
            Msg::Count => {
                self.handled.fetch_add(1, Ordering::Relaxed);
            }
            Msg::Poison => panic!("poison"),
            Msg::Total(r) => {
                r.send(self.handled.load(Ordering::Relaxed));
            }
        }
    }
}

fn chaos(actors: usize, per_actor: usize, senders: usize) {
    // Thousands of expected panics: keep the output readable.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<&str>() != Some(&"poison") {
            default_hook(info);
        }
    }));
    let rt = Runtime::builder().workers(2).build().unwrap();
    rt.block_on(async move {
        let mut spec = SupervisorSpec::new(Strategy::OneForOne).intensity(Intensity {
            max_restarts: u32::MAX,
            period: Duration::from_secs(1),
        });
        for i in 0..actors {
            let handled = Arc::new(AtomicU64::new(0));
            spec = spec.child(ChildSpec::new(format!("c{i}"), move || Counter {
                handled: handled.clone(),
            }));
        }
        let sup = spec.spawn().unwrap();
        let mut refs: Vec<ActorRef<Counter>> = Vec::with_capacity(actors);
        for i in 0..actors {
            refs.push(
                sup.child::<Counter>(&format!("c{i}"))
                    .await
                    .unwrap()
                    .unwrap(),
            );
        }
        let refs = Arc::new(refs);
        // Each sender owns a slice of the actors and sends to them in a random order.
        let tasks: Vec<_> = (0..senders)
            .map(|s| {
                let refs = refs.clone();
                nimsync_scheduler::spawn(async move {
                    let mine: Vec<usize> = (s..refs.len()).step_by(senders).collect();
                    let mut rng = fastrand::Rng::with_seed(s as u64);
                    let mut expected = vec![0u64; refs.len()];
                    let mut poisons = 0u64;
                    for _ in 0..per_actor * mine.len() {
                        let i = mine[rng.usize(..mine.len())];
                        let msg = if rng.u8(..100) < 5 {
                            poisons += 1;
                            Msg::Poison
                        } else {
                            expected[i] += 1;
                            Msg::Count
                        };
                        refs[i]
                            .tell(msg)
                            .await
                            .expect("a supervised child stays alive");
                    }
                    (expected, poisons)
                })
            })
            .collect();
        let mut expected = vec![0u64; actors];
        let mut poisons = 0;
        for t in tasks {
            let (e, p) = t.await.unwrap();
            for (x, y) in expected.iter_mut().zip(e) {
                *x += y;
            }
            poisons += p;
        }
        let mut restarts = 0;
        for (i, r) in refs.iter().enumerate() {
            // Queued behind every message sent to this child: all of them are handled first.
            assert_eq!(
                r.ask(Msg::Total).await,
                Ok(expected[i]),
                "child {i} lost messages"
            );
            assert!(r.is_alive());
            restarts += r.stats().restarts;
        }
        assert_eq!(restarts, poisons, "one restart per poison message");
        assert!(poisons > 0);
        assert!(sup.is_alive());
        sup.stop_and_wait().await;
        assert!(refs.iter().all(|r| !r.is_alive()));
    });
    let _ = std::panic::take_hook();
}

#[test]
fn a_thousand_actors_under_chaos_lose_nothing() {
    chaos(1_000, 20, 4);
}

#[test]
#[ignore = "stress: 10 000 actors, run with --ignored"]
fn ten_thousand_actors_under_chaos_lose_nothing() {
    chaos(10_000, 50, 8);
}
