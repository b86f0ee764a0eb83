//! Message hooks: the value captured at `tell`/`ask`/`tell_priority` reaches the hooks around
//! the handler of that very message, with the right outcome. Its own test binary: the hooks
//! are process-wide.

use std::sync::Mutex;

use nimsync_actors::{
    Actor, Context, HandleOutcome, MessageContext, MessageHooks, MessageInfo, Reply,
    set_message_hooks, spawn_actor,
};

/// What the hooks saw, in order.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Start {
        tag: Option<u64>,
        priority: bool,
    },
    End {
        tag: Option<u64>,
        outcome: HandleOutcome,
    },
}

static SEEN: Mutex<Vec<Seen>> = Mutex::new(Vec::new());

std::thread_local! {
    /// The "current context" of the sending code: what `on_send` captures.
    static TAG: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

struct Recorder;

impl MessageHooks for Recorder {
    fn on_send(&self, info: &MessageInfo) -> Option<MessageContext> {
        assert!(info.actor_type.ends_with("Probe"));
        assert!(info.message_type.ends_with("Msg"));
        TAG.with(|t| t.get()).map(MessageContext::new)
    }

    fn on_handle_start(
        &self,
        info: &MessageInfo,
        sent: Option<MessageContext>,
    ) -> Option<MessageContext> {
        let tag = sent.and_then(|c| c.downcast::<u64>().ok());
        SEEN.lock().unwrap().push(Seen::Start {
            tag,
            priority: info.priority,
        });
        // The scope handed to `on_handle_end`: the tag again.
        tag.map(MessageContext::new)
    }

    fn on_handle_end(
        &self,
        _: &MessageInfo,
        scope: Option<MessageContext>,
        outcome: HandleOutcome,
    ) {
        let tag = scope.and_then(|c| c.downcast_ref::<u64>().copied());
        SEEN.lock().unwrap().push(Seen::End { tag, outcome });
    }
}

static RECORDER: Recorder = Recorder;

struct Probe;

enum Msg {
    Note,
    Ask(Reply<u32>),
    Crash,
}

impl Actor for Probe {
    type Msg = Msg;
    async fn handle(&mut self, msg: Msg, _: &mut Context<Self>) {
        match msg {
            Msg::Note => {}
            Msg::Ask(r) => {
                r.send(7);
            }
            Msg::Crash => panic!("probe crash"),
        }
    }
}

#[test]
fn hooks_follow_each_message_to_its_handler() {
    set_message_hooks(&RECORDER).expect("first install in this binary");
    nimsync_scheduler::block_on(async {
        let probe = spawn_actor(Probe);
        TAG.with(|t| t.set(Some(1)));
        probe.tell(Msg::Note).await.unwrap();
        TAG.with(|t| t.set(Some(2)));
        assert_eq!(probe.ask(Msg::Ask).await, Ok(7));
        TAG.with(|t| t.set(None));
        assert_eq!(probe.ask(Msg::Ask).await, Ok(7));
        TAG.with(|t| t.set(Some(3)));
        probe.tell_priority(Msg::Note).unwrap();
        TAG.with(|t| t.set(Some(4)));
        probe.tell(Msg::Crash).await.unwrap();
        let t = probe.wait_terminated().await;
        assert_eq!(t.reason.panic_message(), Some("probe crash"));
    });
    let seen = SEEN.lock().unwrap().clone();
    let start = |tag, priority| Seen::Start { tag, priority };
    let done = |tag| Seen::End {
        tag,
        outcome: HandleOutcome::Completed,
    };
    assert_eq!(
        seen,
        vec![
            start(Some(1), false),
            done(Some(1)),
            start(Some(2), false),
            done(Some(2)),
            start(None, false),
            done(None),
            start(Some(3), true),
            done(Some(3)),
            start(Some(4), false),
            Seen::End {
                tag: Some(4),
                outcome: HandleOutcome::Panicked
            },
        ]
    );
    assert!(set_message_hooks(&RECORDER).is_err());
}
