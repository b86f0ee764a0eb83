//! Actors and supervision: a counter actor under a one-for-one supervisor; it crashes, is
//! restarted with fresh state, and keeps its address.
//!
//! `cargo run -p nimsync --example actors_supervision`

use nimsync::actors::{Actor, Context, Reply};
use nimsync::supervision::{ChildSpec, Strategy, SupervisorRef, SupervisorSpec};

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
            Msg::Crash => panic!("counter crashed on purpose"),
        }
    }
}

fn main() {
    // The crash below is on purpose: report it in one line instead of a backtrace.
    std::panic::set_hook(Box::new(|info| eprintln!("(expected) {info}")));
    let rt = nimsync::scheduler::Runtime::builder()
        .workers(2)
        .build()
        .expect("2 workers is a valid runtime");
    rt.block_on(async {
        let sup = SupervisorSpec::new(Strategy::OneForOne)
            .child(ChildSpec::new("counter", || Counter { n: 0 }))
            .spawn()
            .expect("a valid supervisor spec");
        let counter = sup
            .child::<Counter>("counter")
            .await
            .expect("the supervisor answers")
            .expect("the child exists");
        counter.tell(Msg::Add(2)).await.unwrap();
        assert_eq!(counter.ask(Msg::Get).await, Ok(2));
        println!("counter = 2; crashing it");
        counter.tell(Msg::Crash).await.unwrap(); // the supervisor restarts it
        assert_eq!(counter.ask(Msg::Get).await, Ok(0)); // same address, fresh state
        println!("restarted: counter = 0 at the same address");
        sup.stop_and_wait().await;
    });
}
