//! A supervised child's task: it owns the child's mailbox for the child's whole life and
//! runs one actor after another on it, as the supervisor commands, so a restarted actor
//! keeps its address and the messages queued for it.

use core::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use nimsync_actors::{
    Actor, ActorBuilder, ActorId, ActorRef, ExitReason, SpawnError, WeakActorRef,
};
use nimsync_core_channels::{Builder, Policy, mpsc};

use crate::supervisor::{Event, Supervisor, SupervisorMsg};

/// What the supervisor tells a child task.
pub(crate) enum Command {
    /// Build a fresh actor and run it; signal `started` after its `started` hook, `done`
    /// with the exit reason, and report the exit to the supervisor.
    Start {
        generation: u64,
        started: oneshot::Sender<()>,
        done: oneshot::Sender<ExitReason>,
    },
    /// End the address for good with this reason; signal when done.
    Terminate(ExitReason, oneshot::Sender<()>),
}

/// The supervisor's side of one child.
pub(crate) struct ChildHandle {
    pub(crate) id: ActorId,
    control: mpsc::Sender<Command>,
    shutdown: Box<dyn Fn() + Send + Sync>,
    kill: Box<dyn Fn() + Send + Sync>,
    /// The child's `ActorRef<A>`, for typed lookups.
    pub(crate) any_ref: Arc<dyn Any + Send + Sync>,
}

impl ChildHandle {
    pub(crate) fn command(&self, cmd: Command) {
        // The control channel spills, so only a gone child task refuses (nothing to do then).
        let _ = self.control.try_send(cmd);
    }

    pub(crate) fn shutdown(&self) {
        (self.shutdown)();
    }

    pub(crate) fn kill(&self) {
        (self.kill)();
    }
}

impl Drop for ChildHandle {
    /// A supervisor that goes away without stopping its children (it was killed) takes them
    /// down with it: no orphan keeps running.
    fn drop(&mut self) {
        (self.kill)();
    }
}

/// Creates the child's address and spawns its task.
pub(crate) fn launch<A: Actor>(
    builder: &ActorBuilder,
    factory: Arc<dyn Fn() -> A + Send + Sync>,
    index: usize,
    supervisor: WeakActorRef<Supervisor>,
) -> Result<ChildHandle, SpawnError> {
    let (addr, mut mailbox) = builder.mailbox::<A>()?;
    let (control, mut commands) = Builder::new(4).policy(Policy::Overflow).mpsc::<Command>()?;
    drop(nimsync_scheduler::spawn(async move {
        let mut last = ExitReason::Shutdown;
        while let Ok(cmd) = commands.recv().await {
            match cmd {
                Command::Start {
                    generation,
                    started,
                    done,
                } => {
                    let reason = match catch_unwind(AssertUnwindSafe(|| factory())) {
                        Ok(actor) => {
                            mailbox
                                .run_notify(actor, move || {
                                    let _ = started.send(());
                                })
                                .await
                        }
                        Err(_) => ExitReason::Panicked(Arc::from("the child's factory panicked")),
                    };
                    last = reason.clone();
                    let _ = done.send(reason.clone());
                    if let Some(sup) = supervisor.upgrade() {
                        let _ = sup.tell_priority(SupervisorMsg(Event::ChildExited {
                            index,
                            generation,
                            reason,
                        }));
                    }
                }
                Command::Terminate(reason, ended) => {
                    mailbox.terminate(reason);
                    let _ = ended.send(());
                    return;
                }
            }
        }
        // The supervisor is gone: end the address with the last run's reason.
        mailbox.terminate(last);
    }));
    let (a, b) = (addr.clone(), addr.clone());
    Ok(ChildHandle {
        id: addr.id(),
        control,
        shutdown: Box::new(move || a.shutdown()),
        kill: Box::new(move || b.kill()),
        any_ref: Arc::new(addr) as Arc<dyn Any + Send + Sync>,
    })
}

/// The typed address behind a handle, if it is an `A`.
pub(crate) fn typed_ref<A: Actor>(any_ref: &Arc<dyn Any + Send + Sync>) -> Option<ActorRef<A>> {
    any_ref.downcast_ref::<ActorRef<A>>().cloned()
}
