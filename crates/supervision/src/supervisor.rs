//! The [`Supervisor`] actor: starts its children in order, restarts them by strategy with
//! backoff and intensity limits, stops them in reverse order, and fails upward when the
//! intensity is exceeded.

use core::fmt;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use nimsync_actors::{Actor, ActorId, ActorRef, AskError, Context, ExitReason, Reply};

use crate::SupervisionError;
use crate::child::{self, ChildHandle, Command};
use crate::spec::{Restart, Shutdown, Strategy, SupervisorEvent, SupervisorSpec};

/// A message to a [`Supervisor`] (opaque: use [`SupervisorRef`]'s methods).
pub struct SupervisorMsg(pub(crate) Event);

pub(crate) enum Event {
    ChildExited {
        index: usize,
        generation: u64,
        reason: ExitReason,
    },
    Children(Reply<Vec<ChildInfo>>),
    Lookup(
        String,
        Reply<Option<std::sync::Arc<dyn core::any::Any + Send + Sync>>>,
    ),
}

/// A child as its supervisor sees it ([`SupervisorRef::children`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildInfo {
    /// The child's name.
    pub name: String,
    /// Its address's id (`None` once it ended for good).
    pub id: Option<ActorId>,
    /// Whether an actor is running on it now.
    pub running: bool,
    /// Starts so far (1 = never restarted).
    pub starts: u64,
}

struct Child {
    spec: crate::ChildSpec,
    handle: Option<ChildHandle>,
    generation: u64,
    running: bool,
    done: Option<oneshot::AsyncReceiver<ExitReason>>,
}

/// The supervisor actor. Spawn it with [`SupervisorSpec::spawn`], nest it with
/// [`ChildSpec::supervisor`](crate::ChildSpec::supervisor).
///
/// Messages sent to a child while it restarts wait in its mailbox (its address and mailbox
/// outlive each run); the message whose handler panicked is not redelivered. A child that
/// ends for good (temporary, transient after a normal exit, or when the supervisor stops)
/// has its address closed: later sends fail and return the message.
pub struct Supervisor {
    spec: SupervisorSpec,
    children: Vec<Child>,
    restarts: VecDeque<Instant>,
    rng: fastrand::Rng,
}

impl Supervisor {
    /// A supervisor for `spec` (not yet running; spawn it as an actor).
    pub fn new(spec: SupervisorSpec) -> Supervisor {
        let rng = match spec.seed {
            Some(s) => fastrand::Rng::with_seed(s),
            None => fastrand::Rng::new(),
        };
        let children = spec
            .children
            .iter()
            .map(|c| Child {
                spec: c.clone(),
                handle: None,
                generation: 0,
                running: false,
                done: None,
            })
            .collect();
        Supervisor {
            spec,
            children,
            restarts: VecDeque::new(),
            rng,
        }
    }

    fn emit(&self, event: SupervisorEvent) {
        if let Some(hook) = &self.spec.on_event {
            hook(&event);
        }
    }

    /// Starts child `i` (creating its address on first start) and waits until its `started`
    /// hook has run (or it exited trying).
    async fn start_child(
        &mut self,
        i: usize,
        ctx: &mut Context<Self>,
    ) -> Result<(), SupervisionError> {
        let child = &mut self.children[i];
        if child.handle.is_none() {
            let handle = (child.spec.launch)(i, ctx.weak_ref()).map_err(|source| {
                SupervisionError::Spawn {
                    child: child.spec.name.clone(),
                    source,
                }
            })?;
            child.handle = Some(handle);
        }
        let Some(handle) = &child.handle else {
            return Ok(());
        };
        child.generation += 1;
        let (started_tx, started_rx) = oneshot::channel();
        let (done_tx, done_rx) = oneshot::async_channel();
        handle.command(Command::Start {
            generation: child.generation,
            started: started_tx,
            done: done_tx,
        });
        child.running = true;
        child.done = Some(done_rx);
        let id = handle.id;
        let restart = child.generation > 1;
        let name = child.spec.name.clone();
        // Err: the child exited before finishing `started`; its exit report follows.
        let _ = started_rx.await;
        self.emit(SupervisorEvent::ChildStarted {
            child: name,
            id,
            restart,
        });
        Ok(())
    }

    /// Stops child `i`'s current run per its shutdown policy and waits for it.
    async fn stop_child(&mut self, i: usize) {
        let child = &mut self.children[i];
        if !child.running {
            return;
        }
        child.running = false;
        let (Some(handle), Some(mut done)) = (&child.handle, child.done.take()) else {
            return;
        };
        if done.has_message() {
            return; // it ended on its own; its exit report is now stale
        }
        match child.spec.shutdown {
            Shutdown::Brutal => handle.kill(),
            Shutdown::Infinity => handle.shutdown(),
            Shutdown::Timeout(limit) => {
                handle.shutdown();
                if nimsync_cancel::timeout(limit, &mut done).await.is_ok() {
                    return;
                }
                handle.kill();
            }
        }
        let _ = done.await;
    }

    /// Ends child `i`'s address for good and waits until it has (watchers notified).
    async fn end_child(&mut self, i: usize, reason: ExitReason) {
        let child = &mut self.children[i];
        child.running = false;
        child.done = None;
        if let Some(handle) = child.handle.take() {
            let (tx, rx) = oneshot::channel();
            handle.command(Command::Terminate(reason, tx));
            // Err: the child task is gone, and with it the address.
            let _ = rx.await;
        }
    }

    /// Stops every running child in reverse start order and ends every address.
    async fn stop_all(&mut self) {
        for i in (0..self.children.len()).rev() {
            self.stop_child(i).await;
            self.end_child(i, ExitReason::Shutdown).await;
        }
    }

    /// Records a restart; `Err` when it goes over the intensity.
    fn count_restart(&mut self, child: &str, reason: &ExitReason) -> Result<u32, SupervisionError> {
        let now = nimsync_scheduler::now();
        let period = self.spec.intensity.period;
        while self
            .restarts
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= period)
        {
            self.restarts.pop_front();
        }
        self.restarts.push_back(now);
        let n = self.restarts.len() as u32;
        if n > self.spec.intensity.max_restarts {
            return Err(SupervisionError::IntensityExceeded {
                restarts: n,
                period,
                child: child.to_owned(),
                reason: reason.clone(),
            });
        }
        Ok(n)
    }

    async fn on_child_exit(
        &mut self,
        index: usize,
        generation: u64,
        reason: ExitReason,
        ctx: &mut Context<Self>,
    ) {
        let Some(child) = self.children.get_mut(index) else {
            return;
        };
        if !child.running || child.generation != generation {
            return; // a run the supervisor stopped itself, or an old one
        }
        child.running = false;
        child.done = None;
        let name = child.spec.name.clone();
        let restart = match child.spec.restart {
            Restart::Permanent => true,
            Restart::Transient => reason.is_abnormal(),
            Restart::Temporary => false,
        };
        self.emit(SupervisorEvent::ChildExited {
            child: name.clone(),
            reason: reason.clone(),
        });
        if !restart {
            self.end_child(index, reason).await;
            return;
        }
        let attempt = match self.count_restart(&name, &reason) {
            Ok(n) => n - 1,
            Err(e) => {
                self.emit(SupervisorEvent::Escalating(e.clone()));
                self.stop_all().await;
                ctx.fail(e);
                return;
            }
        };
        let n = self.children.len();
        let set: Vec<usize> = match self.spec.strategy {
            Strategy::OneForOne => vec![index],
            Strategy::OneForAll => (0..n).collect(),
            Strategy::RestForOne => (index..n).collect(),
        };
        let set: Vec<usize> = set
            .into_iter()
            .filter(|&j| self.children[j].handle.is_some())
            .collect();
        for &j in set.iter().rev() {
            if j != index {
                self.stop_child(j).await;
            }
        }
        // Temporary siblings are not restarted with the group: they end here.
        let mut restarted = Vec::with_capacity(set.len());
        for j in set {
            if j != index && self.children[j].spec.restart == Restart::Temporary {
                self.end_child(j, ExitReason::Shutdown).await;
                self.emit(SupervisorEvent::ChildStopped {
                    child: self.children[j].spec.name.clone(),
                });
            } else {
                restarted.push(j);
            }
        }
        let set = restarted;
        let delay = self.spec.backoff.delay(attempt, &mut self.rng);
        if let Some(hook) = crate::hooks::installed() {
            let restarted: Vec<String> = set
                .iter()
                .map(|&j| self.children[j].spec.name.clone())
                .collect();
            hook.on_restart(&crate::hooks::RestartInfo {
                supervisor: ctx.id(),
                child: &name,
                child_id: self.children[index].handle.as_ref().map(|h| h.id),
                reason: &reason,
                attempt,
                restarted: &restarted,
                delay,
            });
        }
        self.emit(SupervisorEvent::Restarting {
            children: set
                .iter()
                .map(|&j| self.children[j].spec.name.clone())
                .collect(),
            delay,
        });
        if delay > Duration::ZERO {
            nimsync_scheduler::sleep(delay).await;
        }
        for j in set {
            if let Err(e) = self.start_child(j, ctx).await {
                self.stop_all().await;
                ctx.fail(e);
                return;
            }
        }
    }
}

impl Actor for Supervisor {
    type Msg = SupervisorMsg;

    async fn started(&mut self, ctx: &mut Context<Self>) {
        if let Err(e) = self.spec.validate() {
            ctx.fail(e);
            return;
        }
        for i in 0..self.children.len() {
            if let Err(e) = self.start_child(i, ctx).await {
                self.stop_all().await;
                ctx.fail(e);
                return;
            }
        }
    }

    async fn handle(&mut self, msg: SupervisorMsg, ctx: &mut Context<Self>) {
        match msg.0 {
            Event::ChildExited {
                index,
                generation,
                reason,
            } => self.on_child_exit(index, generation, reason, ctx).await,
            Event::Children(reply) => {
                let info = self
                    .children
                    .iter()
                    .map(|c| ChildInfo {
                        name: c.spec.name.clone(),
                        id: c.handle.as_ref().map(|h| h.id),
                        running: c.running,
                        starts: c.generation,
                    })
                    .collect();
                reply.send(info);
            }
            Event::Lookup(name, reply) => {
                let found = self
                    .children
                    .iter()
                    .find(|c| c.spec.name == name)
                    .and_then(|c| c.handle.as_ref())
                    .map(|h| h.any_ref.clone());
                reply.send(found);
            }
        }
    }

    async fn stopping(&mut self, _ctx: &mut Context<Self>) {
        self.stop_all().await;
    }
}

impl fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Supervisor")
            .field("spec", &self.spec)
            .field("restarts_in_window", &self.restarts.len())
            .finish_non_exhaustive()
    }
}

/// Queries on a running supervisor's address.
///
/// ```
/// use nimsync_actors::{Actor, Context, Reply};
/// use nimsync_supervision::{ChildSpec, Strategy, SupervisorRef, SupervisorSpec};
///
/// struct Greeter;
/// impl Actor for Greeter {
///     type Msg = Reply<&'static str>;
///     async fn handle(&mut self, r: Reply<&'static str>, _: &mut Context<Self>) { r.send("hello"); }
/// }
/// nimsync_scheduler::block_on(async {
///     let sup = SupervisorSpec::new(Strategy::OneForOne)
///         .child(ChildSpec::new("greeter", || Greeter))
///         .spawn()
///         .unwrap();
///     let greeter = sup.child::<Greeter>("greeter").await.unwrap().unwrap();
///     assert_eq!(greeter.ask(|r| r).await.unwrap(), "hello");
///     let kids = sup.children().await.unwrap();
///     assert_eq!(kids[0].name, "greeter");
///     assert!(kids[0].running);
///     sup.stop_and_wait().await;
///     assert!(!greeter.is_alive()); // children stop with their supervisor
/// });
/// ```
pub trait SupervisorRef {
    /// Every child, in start order.
    fn children(&self) -> impl Future<Output = Result<Vec<ChildInfo>, AskError>> + Send;

    /// The address of the child named `name`, if it exists, is alive and is an `A`.
    fn child<A: Actor>(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<ActorRef<A>>, AskError>> + Send;
}

impl SupervisorRef for ActorRef<Supervisor> {
    async fn children(&self) -> Result<Vec<ChildInfo>, AskError> {
        self.ask(|r| SupervisorMsg(Event::Children(r))).await
    }

    async fn child<A: Actor>(&self, name: &str) -> Result<Option<ActorRef<A>>, AskError> {
        let name = name.to_owned();
        let found = self.ask(|r| SupervisorMsg(Event::Lookup(name, r))).await?;
        Ok(found.and_then(|any| child::typed_ref::<A>(&any)))
    }
}
