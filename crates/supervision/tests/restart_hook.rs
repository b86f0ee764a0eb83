//! The process-wide restart hook sees every restart decision with the child and the reason.
//! Its own test binary: the hook is process-wide.

use std::sync::Mutex;
use std::time::Duration;

use nimsync_actors::{Actor, Context, Reply};
use nimsync_supervision::{
    ChildSpec, Intensity, RestartHook, RestartInfo, Strategy, SupervisorRef, SupervisorSpec,
    set_restart_hook,
};

/// (child, child id, reason, attempt, restarted) per call.
type Call = (String, Option<u64>, String, u32, Vec<String>);

static CALLS: Mutex<Vec<Call>> = Mutex::new(Vec::new());

struct Record;

impl RestartHook for Record {
    fn on_restart(&self, info: &RestartInfo<'_>) {
        CALLS.lock().unwrap().push((
            info.child.to_string(),
            info.child_id.map(|id| id.as_u64()),
            info.reason.to_string(),
            info.attempt,
            info.restarted.to_vec(),
        ));
    }
}

static RECORD: Record = Record;

struct Fragile;

enum Msg {
    Crash,
    Ping(Reply<()>),
}

impl Actor for Fragile {
    type Msg = Msg;
    async fn handle(&mut self, msg: Msg, _: &mut Context<Self>) {
        match msg {
            Msg::Crash => panic!("planned"),
            Msg::Ping(r) => {
                r.send(());
            }
        }
    }
}

#[test]
fn restart_hook_sees_child_reason_and_attempt() {
    set_restart_hook(&RECORD).expect("first install in this binary");
    let rt = nimsync_scheduler::Runtime::builder()
        .workers(2)
        .build()
        .unwrap();
    let child_id = rt.block_on(async {
        let sup = SupervisorSpec::new(Strategy::OneForAll)
            .intensity(Intensity {
                max_restarts: 10,
                period: Duration::from_secs(60),
            })
            .child(ChildSpec::new("fragile", || Fragile))
            .child(ChildSpec::new("sibling", || Fragile))
            .spawn()
            .unwrap();
        let child = sup.child::<Fragile>("fragile").await.unwrap().unwrap();
        for _ in 0..2 {
            child.tell(Msg::Crash).await.unwrap();
            // Waits in the mailbox until the restarted run answers it.
            child.ask(Msg::Ping).await.unwrap();
        }
        sup.stop_and_wait().await;
        child.id().as_u64()
    });
    let calls = CALLS.lock().unwrap().clone();
    let both = vec!["fragile".to_string(), "sibling".to_string()];
    assert_eq!(
        calls,
        vec![
            (
                "fragile".into(),
                Some(child_id),
                "panicked: planned".into(),
                0,
                both.clone()
            ),
            (
                "fragile".into(),
                Some(child_id),
                "panicked: planned".into(),
                1,
                both
            ),
        ]
    );
}
