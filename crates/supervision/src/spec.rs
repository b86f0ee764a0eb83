//! What a supervisor supervises: [`ChildSpec`] (factory, restart type, shutdown) and the
//! supervisor's own [`SupervisorSpec`] (strategy, intensity, backoff).

use core::fmt;
use std::sync::Arc;
use std::time::Duration;

use nimsync_actors::{Actor, ActorBuilder, ActorRef};

use crate::child::{self, ChildHandle};
use crate::{Backoff, SupervisionError, Supervisor};

/// Which children restart when one exits and is to be restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Only that child.
    #[default]
    OneForOne,
    /// Every child: the others are stopped in reverse start order, then all start in order.
    OneForAll,
    /// That child and the ones started after it (stopped in reverse, started in order).
    RestForOne,
}

/// When a child is restarted after it exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Restart {
    /// Always.
    #[default]
    Permanent,
    /// Only after an abnormal exit (panic, failure, kill); a normal exit ends it.
    Transient,
    /// Never; its exit ends it (and it is not restarted with its siblings either).
    Temporary,
}

/// How a supervisor stops a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Kill at once.
    Brutal,
    /// Ask it to shut down (after its current message, running its hooks); kill it if it has
    /// not stopped after this long.
    Timeout(Duration),
    /// Ask it to shut down and wait as long as it takes (the default for supervisors).
    Infinity,
}

impl Default for Shutdown {
    /// 5 s, as OTP's workers.
    fn default() -> Self {
        Shutdown::Timeout(Duration::from_secs(5))
    }
}

type Launch = dyn Fn(
        usize,
        nimsync_actors::WeakActorRef<Supervisor>,
    ) -> Result<ChildHandle, nimsync_actors::SpawnError>
    + Send
    + Sync;

/// A child of a supervisor: a name, a factory making a fresh actor for every (re)start,
/// a [`Restart`] type and a [`Shutdown`].
///
/// ```
/// use std::time::Duration;
/// use nimsync_actors::{Actor, Context};
/// use nimsync_supervision::{ChildSpec, Restart, Shutdown};
/// struct Worker;
/// impl Actor for Worker { type Msg = (); async fn handle(&mut self, _: (), _: &mut Context<Self>) {} }
///
/// let spec = ChildSpec::new("worker", || Worker)
///     .restart(Restart::Transient)
///     .shutdown(Shutdown::Timeout(Duration::from_secs(1)));
/// assert_eq!(spec.name(), "worker");
/// ```
#[derive(Clone)]
pub struct ChildSpec {
    pub(crate) name: String,
    pub(crate) restart: Restart,
    pub(crate) shutdown: Shutdown,
    pub(crate) launch: Arc<Launch>,
    mailbox: ActorBuilder,
    rebuild: Arc<dyn Fn(ActorBuilder) -> Arc<Launch> + Send + Sync>,
}

impl ChildSpec {
    /// A permanent child with a 5 s shutdown timeout and the default mailbox; `factory`
    /// builds the actor for each start.
    pub fn new<A, F>(name: impl Into<String>, factory: F) -> ChildSpec
    where
        A: Actor,
        F: Fn() -> A + Send + Sync + 'static,
    {
        let factory: Arc<dyn Fn() -> A + Send + Sync> = Arc::new(factory);
        let rebuild = move |builder: ActorBuilder| -> Arc<Launch> {
            let factory = factory.clone();
            Arc::new(move |index, sup| child::launch(&builder, factory.clone(), index, sup))
        };
        let mailbox = ActorBuilder::new();
        ChildSpec {
            name: name.into(),
            restart: Restart::Permanent,
            shutdown: Shutdown::default(),
            launch: rebuild(mailbox.clone()),
            mailbox,
            rebuild: Arc::new(rebuild),
        }
    }

    /// A nested supervisor as a child (shutdown `Infinity`, as OTP's supervisors).
    pub fn supervisor(name: impl Into<String>, spec: SupervisorSpec) -> ChildSpec {
        ChildSpec::new(name, move || Supervisor::new(spec.clone())).shutdown(Shutdown::Infinity)
    }

    /// Sets the restart type.
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// Sets how the child is stopped.
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// Sets the child's mailbox (capacity, policy, dead letters).
    pub fn mailbox(mut self, builder: ActorBuilder) -> Self {
        self.launch = (self.rebuild)(builder.clone());
        self.mailbox = builder;
        self
    }

    /// The child's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("name", &self.name)
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown)
            .field("mailbox", &self.mailbox)
            .finish_non_exhaustive()
    }
}

/// Restart intensity: at most `max_restarts` restarts within `period`; one more and the
/// supervisor gives up (stops its children, fails to its parent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intensity {
    /// Restarts allowed within the period (at least 1).
    pub max_restarts: u32,
    /// The sliding window.
    pub period: Duration,
}

impl Default for Intensity {
    /// 3 restarts in 5 s.
    fn default() -> Self {
        Intensity {
            max_restarts: 3,
            period: Duration::from_secs(5),
        }
    }
}

/// An event of a supervisor's life, for [`SupervisorSpec::on_event`].
///
/// Non-exhaustive: later versions may report more kinds of event, so a `match` needs a
/// wildcard arm.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SupervisorEvent {
    /// A child (re)started; `restart` is false for the first start.
    ChildStarted {
        /// The child's name.
        child: String,
        /// Its address's id.
        id: nimsync_actors::ActorId,
        /// Whether this start is a restart.
        restart: bool,
    },
    /// A child exited on its own (not stopped by the supervisor).
    ChildExited {
        /// The child's name.
        child: String,
        /// How.
        reason: nimsync_actors::ExitReason,
    },
    /// A child the supervisor stopped for good, without restarting it: a
    /// [`Restart::Temporary`] sibling of a group restart ([`Strategy::OneForAll`],
    /// [`Strategy::RestForOne`]). It is not in the following `Restarting` set.
    ChildStopped {
        /// The child's name.
        child: String,
    },
    /// Restarting children after `delay` (the backoff).
    Restarting {
        /// The children restarted, in start order.
        children: Vec<String>,
        /// The backoff delay before starting them.
        delay: Duration,
    },
    /// Intensity exceeded: the supervisor is giving up.
    Escalating(SupervisionError),
}

type EventHook = Arc<dyn Fn(&SupervisorEvent) + Send + Sync>;

/// A supervisor's configuration; build one with [`SupervisorSpec::new`], add children, then
/// [`spawn`](SupervisorSpec::spawn) it or nest it with [`ChildSpec::supervisor`].
///
/// ```
/// use std::time::Duration;
/// use nimsync_actors::{Actor, Context};
/// use nimsync_supervision::{Backoff, ChildSpec, Intensity, Strategy, SupervisorSpec};
/// struct Worker;
/// impl Actor for Worker { type Msg = (); async fn handle(&mut self, _: (), _: &mut Context<Self>) {} }
///
/// let spec = SupervisorSpec::new(Strategy::OneForAll)
///     .intensity(Intensity { max_restarts: 5, period: Duration::from_secs(10) })
///     .backoff(Backoff::exponential(Duration::from_millis(10), Duration::from_secs(1)))
///     .child(ChildSpec::new("a", || Worker))
///     .child(ChildSpec::new("b", || Worker));
/// assert_eq!(spec.children().len(), 2);
/// assert!(SupervisorSpec::new(Strategy::OneForOne)
///     .intensity(Intensity { max_restarts: 0, period: Duration::from_secs(1) })
///     .validate()
///     .is_err());
/// ```
#[derive(Clone)]
pub struct SupervisorSpec {
    pub(crate) strategy: Strategy,
    pub(crate) intensity: Intensity,
    pub(crate) backoff: Backoff,
    pub(crate) children: Vec<ChildSpec>,
    pub(crate) on_event: Option<EventHook>,
    pub(crate) seed: Option<u64>,
}

impl SupervisorSpec {
    /// A supervisor with `strategy`, the default [`Intensity`] and [`Backoff::none`].
    pub fn new(strategy: Strategy) -> Self {
        SupervisorSpec {
            strategy,
            intensity: Intensity::default(),
            backoff: Backoff::none(),
            children: Vec::new(),
            on_event: None,
            seed: None,
        }
    }

    /// Adds a child (children start in the order added, stop in reverse).
    pub fn child(mut self, child: ChildSpec) -> Self {
        self.children.push(child);
        self
    }

    /// Sets the restart intensity.
    pub fn intensity(mut self, intensity: Intensity) -> Self {
        self.intensity = intensity;
        self
    }

    /// Sets the backoff before restarts: attempt `n` is the `n`-th restart within the current
    /// intensity window (so it resets once the window is clear).
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Seeds the jitter of the backoff (for reproducible tests).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Calls `hook` with every [`SupervisorEvent`] (on the supervisor's task; keep it short).
    pub fn on_event(mut self, hook: impl Fn(&SupervisorEvent) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(hook));
        self
    }

    /// The children, in start order.
    pub fn children(&self) -> &[ChildSpec] {
        &self.children
    }

    /// Checks the configuration: at least one restart allowed, a non-zero period, unique
    /// child names.
    pub fn validate(&self) -> Result<(), SupervisionError> {
        if self.intensity.max_restarts == 0 {
            return Err(SupervisionError::InvalidConfig(
                "restart intensity must allow at least 1 restart (use Restart::Temporary children for none)",
            ));
        }
        if self.intensity.period.is_zero() {
            return Err(SupervisionError::InvalidConfig(
                "restart intensity period must be non-zero",
            ));
        }
        for (i, c) in self.children.iter().enumerate() {
            if self.children[..i].iter().any(|o| o.name == c.name) {
                return Err(SupervisionError::InvalidConfig(
                    "child names must be unique",
                ));
            }
        }
        Ok(())
    }

    /// Validates and spawns the supervisor (it starts its children in order).
    pub fn spawn(self) -> Result<ActorRef<Supervisor>, SupervisionError> {
        self.validate()?;
        Ok(nimsync_actors::spawn_actor(Supervisor::new(self)))
    }
}

impl fmt::Debug for SupervisorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorSpec")
            .field("strategy", &self.strategy)
            .field("intensity", &self.intensity)
            .field("backoff", &self.backoff)
            .field("children", &self.children)
            .finish_non_exhaustive()
    }
}
