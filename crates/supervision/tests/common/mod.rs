//! Shared test actors: a child that logs its lifecycle and can be told to panic or stop.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use nimsync_actors::{Actor, Context, ExitReason, Reply};
use nimsync_supervision::ChildSpec;

pub type Log = Arc<Mutex<Vec<String>>>;

pub fn entries(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

pub struct Worker {
    pub name: &'static str,
    pub log: Log,
    pub handled: Arc<AtomicU64>,
    /// Panic in `started` while this is non-zero (counts down).
    pub fail_starts: Arc<AtomicU64>,
}

pub enum Cmd {
    Note,
    Panic,
    /// Panic after waiting this long (on the runtime's clock, paused in tests).
    PanicAfter(std::time::Duration),
    StopNormally,
    Hang,
    Handled(Reply<u64>),
}

impl Actor for Worker {
    type Msg = Cmd;
    async fn started(&mut self, _: &mut Context<Self>) {
        self.log
            .lock()
            .unwrap()
            .push(format!("start {}", self.name));
        if self
            .fail_starts
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            panic!("{} failed to start", self.name);
        }
    }
    async fn handle(&mut self, cmd: Cmd, ctx: &mut Context<Self>) {
        match cmd {
            Cmd::Note => {
                self.handled.fetch_add(1, Ordering::SeqCst);
            }
            Cmd::Panic => panic!("{} crashed", self.name),
            Cmd::PanicAfter(wait) => {
                nimsync_scheduler::sleep(wait).await;
                panic!("{} crashed late", self.name);
            }
            Cmd::StopNormally => ctx.stop(),
            Cmd::Hang => std::future::pending::<()>().await,
            Cmd::Handled(r) => {
                r.send(self.handled.load(Ordering::SeqCst));
            }
        }
    }
    async fn stopped(&mut self, reason: &ExitReason) {
        let why = match reason {
            ExitReason::Panicked(_) => "panicked".to_string(),
            other => other.to_string(),
        };
        self.log
            .lock()
            .unwrap()
            .push(format!("stop {} {why}", self.name));
    }
}

/// A child spec whose every start builds a `Worker` logging into `log`.
pub fn worker(name: &'static str, log: &Log) -> ChildSpec {
    worker_failing_starts(name, log, 0)
}

pub fn worker_failing_starts(name: &'static str, log: &Log, fail_starts: u64) -> ChildSpec {
    let log = log.clone();
    let handled = Arc::new(AtomicU64::new(0));
    let fail = Arc::new(AtomicU64::new(fail_starts));
    ChildSpec::new(name, move || Worker {
        name,
        log: log.clone(),
        handled: handled.clone(),
        fail_starts: fail.clone(),
    })
}
