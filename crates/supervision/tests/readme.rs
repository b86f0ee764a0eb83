//! Mirrors the README's example for actors and supervision (keep the two identical).

use nimsync_actors::{Actor, Context, Reply};
use nimsync_supervision::{ChildSpec, Strategy, SupervisorRef, SupervisorSpec};

struct Counter {
    n: u64,
}
enum Msg {
    Add(u64),
    Get(Reply<u64>),
    Crash,
}

impl Actor for Counter {
    type Msg = Msg;
    async fn handle(&mut self, msg: Msg, _ctx: &mut Context<Self>) {
        match msg {
            Msg::Add(k) => self.n += k,
            Msg::Get(reply) => {
                reply.send(self.n);
            }
            Msg::Crash => panic!("boom"),
        }
    }
}

#[test]
fn readme_actor_and_supervision_example() {
    let rt = nimsync_scheduler::Runtime::builder()
        .workers(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let sup = SupervisorSpec::new(Strategy::OneForOne)
            .child(ChildSpec::new("counter", || Counter { n: 0 }))
            .spawn()
            .unwrap();
        let counter = sup.child::<Counter>("counter").await.unwrap().unwrap();
        counter.tell(Msg::Add(2)).await.unwrap();
        assert_eq!(counter.ask(Msg::Get).await, Ok(2));
        counter.tell(Msg::Crash).await.unwrap(); // panics: the supervisor restarts it
        assert_eq!(counter.ask(Msg::Get).await, Ok(0)); // same address, fresh state
        sup.stop_and_wait().await; // children stop in reverse start order
    });
}
