//! The same summing actor written for every contender: `Add(v)` adds, `Get` replies with the
//! sum so far (the reply also proves every earlier message was handled).

use tokio::sync::{mpsc as tmpsc, oneshot as toneshot};

/// nimsync-actors.
pub mod nimsync {
    use nimsync_actors::{Actor, Context, Reply};

    /// The summing actor.
    pub struct Summer(pub u64);

    /// Its messages.
    pub enum Msg {
        /// Add a value.
        Add(u64),
        /// Reply with the sum.
        Get(Reply<u64>),
    }

    impl Actor for Summer {
        type Msg = Msg;
        async fn handle(&mut self, msg: Msg, _: &mut Context<Self>) {
            match msg {
                Msg::Add(v) => self.0 += v,
                Msg::Get(r) => {
                    r.send(self.0);
                }
            }
        }
    }
}

/// ractor 0.16 (tokio).
pub mod ractor_peer {
    use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

    /// The summing actor (state: the sum).
    pub struct Summer;

    /// Its messages.
    pub enum Msg {
        /// Add a value.
        Add(u64),
        /// Reply with the sum.
        Get(RpcReplyPort<u64>),
    }

    impl Actor for Summer {
        type Msg = Msg;
        type State = u64;
        type Arguments = ();
        async fn pre_start(&self, _: ActorRef<Msg>, _: ()) -> Result<u64, ActorProcessingErr> {
            Ok(0)
        }
        async fn handle(
            &self,
            _: ActorRef<Msg>,
            msg: Msg,
            sum: &mut u64,
        ) -> Result<(), ActorProcessingErr> {
            match msg {
                Msg::Add(v) => *sum += v,
                Msg::Get(port) => {
                    let _ = port.send(*sum);
                }
            }
            Ok(())
        }
    }
}

/// kameo 0.22 (tokio).
pub mod kameo_peer {
    use std::convert::Infallible;

    use kameo::actor::ActorRef;
    use kameo::message::{Context, Message};

    /// The summing actor.
    pub struct Summer(pub u64);

    /// Add a value.
    pub struct Add(pub u64);
    /// Reply with the sum.
    pub struct Get;

    impl kameo::Actor for Summer {
        type Args = Self;
        type Error = Infallible;
        async fn on_start(args: Self, _: ActorRef<Self>) -> Result<Self, Infallible> {
            Ok(args)
        }
    }

    impl Message<Add> for Summer {
        type Reply = ();
        async fn handle(&mut self, Add(v): Add, _: &mut Context<Self, ()>) {
            self.0 += v;
        }
    }

    impl Message<Get> for Summer {
        type Reply = u64;
        async fn handle(&mut self, _: Get, _: &mut Context<Self, u64>) -> u64 {
            self.0
        }
    }
}

/// The raw baseline: a task draining a tokio mpsc, replies through tokio oneshots.
pub enum RawMsg {
    /// Add a value.
    Add(u64),
    /// Reply with the sum.
    Get(toneshot::Sender<u64>),
}

/// Spawns the raw summing task on the current tokio runtime.
pub fn spawn_raw() -> tmpsc::Sender<RawMsg> {
    let (tx, mut rx) = tmpsc::channel::<RawMsg>(super::MAILBOX);
    tokio::spawn(async move {
        let mut sum = 0u64;
        while let Some(m) = rx.recv().await {
            match m {
                RawMsg::Add(v) => sum += v,
                RawMsg::Get(r) => {
                    let _ = r.send(sum);
                }
            }
        }
    });
    tx
}
