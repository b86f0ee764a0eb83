//! restart_latency (nimsync only): a supervised child panics on a message; the next ask waits
//! in its mailbox until the supervisor has restarted it (same address) and is answered by the
//! new run. Nanoseconds per cycle (panic → restart → one ask round trip).

use std::time::{Duration, Instant};

use nimsync_actors::{Actor, Context, Reply};
use nimsync_supervision::{ChildSpec, Intensity, Strategy, SupervisorRef, SupervisorSpec};

use crate::harness::{Contender, NS_PER_OP, Params, Workload, ns_per_op};
use crate::scheduler::on_nimsync;

/// Cycles per repetition (÷2 with `--quick`).
const CYCLES: u64 = 20_000;

/// The panic payload, filtered out of the panic hook while this runs.
const CRASH: &str = "bench: planned crash";

/// The workload.
pub fn workload() -> Workload {
    Workload {
        group: "actors",
        name: "restart_latency",
        unit: NS_PER_OP,
        higher_is_better: false,
        note: "supervised child panics, OneForOne restart (no backoff), then one ask answered \
               by the new run; ns per cycle; 2 workers",
        contenders: vec![Contender {
            name: "nimsync",
            run: nimsync,
        }],
    }
}

struct Fragile;

enum Msg {
    Crash,
    Ping(Reply<()>),
}

impl Actor for Fragile {
    type Msg = Msg;
    async fn handle(&mut self, msg: Msg, _: &mut Context<Self>) {
        match msg {
            Msg::Crash => std::panic::panic_any(CRASH),
            Msg::Ping(r) => {
                r.send(());
            }
        }
    }
}

fn nimsync(p: &Params) -> f64 {
    let n = p.count(CYCLES);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        if info.payload().downcast_ref::<&str>() != Some(&CRASH) {
            eprintln!("{info}");
        }
    }));
    let d = on_nimsync(async move {
        let sup = SupervisorSpec::new(Strategy::OneForOne)
            .intensity(Intensity {
                max_restarts: u32::MAX,
                period: Duration::from_secs(1),
            })
            .child(ChildSpec::new("fragile", || Fragile))
            .spawn()
            .expect("supervisor");
        let child = sup
            .child::<Fragile>("fragile")
            .await
            .expect("supervisor alive")
            .expect("child");
        let start = Instant::now();
        for _ in 0..n {
            child.tell(Msg::Crash).await.expect("child address alive");
            child.ask(Msg::Ping).await.expect("restarted child answers");
        }
        let d = start.elapsed();
        assert_eq!(child.stats().restarts, n);
        sup.stop_and_wait().await;
        d
    });
    std::panic::set_hook(previous);
    ns_per_op(n, d)
}
