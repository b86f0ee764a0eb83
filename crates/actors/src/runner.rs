//! One run of an actor on its mailbox: hooks, the biased receive loop (system lane first),
//! panics caught per poll, kill honoured while a handler waits, graceful drain on stop (cut
//! short by a kill).

use core::future::{Future, poll_fn};
use core::pin::{Pin, pin};
use core::task::Poll;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

use futures_core::Stream;
use nimsync_core_channels::TryRecvError;

use crate::hooks::{self, Envelope, HandleOutcome, MessageInfo};
use crate::mailbox::{Mailbox, System};
use crate::{Actor, Context, ExitReason};

/// Messages handled between two voluntary yields, so a busy actor never hogs its worker.
const YIELD_EVERY: u32 = 128;

/// How a guarded hook or handler ended.
enum Outcome {
    Done,
    Panicked(Arc<str>),
    Killed,
}

/// The next thing to handle.
enum Next<M> {
    System(System<M>),
    User(Envelope<M>),
    /// Every address dropped and the mailbox drained.
    Closed,
}

fn panic_text(payload: &(dyn core::any::Any + Send)) -> Arc<str> {
    if let Some(s) = payload.downcast_ref::<&str>() {
        Arc::from(*s)
    } else if let Some(s) = payload.downcast_ref::<String>() {
        Arc::from(s.as_str())
    } else {
        Arc::from("a non-string panic payload")
    }
}

impl<A: Actor> Mailbox<A> {
    /// Runs `actor` on this mailbox until it stops, and returns why. Panics in hooks and
    /// handlers are caught (the reason says `Panicked`); the mailbox and the address stay
    /// usable for another run (a supervised restart) or [`terminate`](Mailbox::terminate).
    pub async fn run(&mut self, actor: A) -> ExitReason {
        self.run_notify(actor, || {}).await
    }

    /// [`run`](Self::run), calling `on_started` once the actor's `started` hook has returned
    /// (supervisors start children in order with it).
    pub async fn run_notify(&mut self, mut actor: A, on_started: impl FnOnce()) -> ExitReason {
        if self.runs > 0 {
            self.cell.stats.add_restart();
        }
        self.runs += 1;
        // A shutdown ends the run it reaches. One asked for while no run was active, or one
        // that reached the last run while a handler or hook waited (kept in `pending`) but
        // that run ended another way (a panic, a stop, a slow hook), has nothing left to end.
        // Stops, kills and priority messages carry over to this run.
        self.pending.retain(|s| !matches!(s, System::Shutdown));
        while let Ok(s) = self.system.try_recv() {
            if !matches!(s, System::Shutdown) {
                self.pending.push_back(s);
            }
        }
        let mut ctx = Context::new(self.myself.clone());
        let mut reason = self.serve(&mut actor, &mut ctx, on_started).await;
        if matches!(reason, ExitReason::Killed) {
            return reason;
        }
        if !matches!(reason, ExitReason::Panicked(_)) {
            match self.guarded(actor.stopping(&mut ctx)).await {
                Outcome::Done => {}
                Outcome::Panicked(m) => reason = ExitReason::Panicked(m),
                Outcome::Killed => return ExitReason::Killed,
            }
        }
        match self.guarded(actor.stopped(&reason)).await {
            Outcome::Done => reason,
            Outcome::Panicked(m) if !matches!(reason, ExitReason::Panicked(_)) => {
                ExitReason::Panicked(m)
            }
            Outcome::Panicked(_) => reason,
            Outcome::Killed => ExitReason::Killed,
        }
    }

    async fn serve(
        &mut self,
        actor: &mut A,
        ctx: &mut Context<A>,
        on_started: impl FnOnce(),
    ) -> ExitReason {
        match self.guarded(actor.started(ctx)).await {
            Outcome::Done => {}
            Outcome::Panicked(m) => return ExitReason::Panicked(m),
            Outcome::Killed => return ExitReason::Killed,
        }
        on_started();
        if let Some(r) = ctx.stop_request.take() {
            return r;
        }
        // After a stop request: user messages still to handle before stopping.
        let mut draining: Option<usize> = None;
        let mut until_sample = 0u32;
        let mut until_yield = YIELD_EVERY;
        loop {
            until_yield -= 1;
            if until_yield == 0 {
                until_yield = YIELD_EVERY;
                nimsync_scheduler::yield_now().await;
            }
            let next = if let Some(s) = self.pending.pop_front() {
                Next::System(s)
            } else if let Some(left) = draining {
                // The system lane still comes first, so a kill (or a shutdown) cuts the drain
                // short even when no handler waits.
                if let Some(s) = self.try_system() {
                    Next::System(s)
                } else if left == 0 {
                    return ExitReason::Normal;
                } else {
                    match self.user.try_recv() {
                        Ok(m) => Next::User(m),
                        Err(_) => return ExitReason::Normal,
                    }
                }
            } else {
                self.next_message().await
            };
            let (env, priority) = match next {
                Next::System(System::Kill) => return ExitReason::Killed,
                Next::System(System::Shutdown) => return ExitReason::Shutdown,
                Next::System(System::Stop) => {
                    draining.get_or_insert(self.user.len());
                    continue;
                }
                Next::System(System::Priority(m)) => (m, true),
                Next::User(m) => {
                    if let Some(left) = draining.as_mut() {
                        *left -= 1;
                    }
                    (m, false)
                }
                Next::Closed => return ExitReason::Normal,
            };
            let started = if until_sample == 0 {
                until_sample = self.sample_every;
                Some(Instant::now())
            } else {
                None
            };
            until_sample -= 1;
            let outcome = match hooks::installed() {
                None => self.guarded(actor.handle(env.msg, ctx)).await,
                Some(h) => {
                    let info = MessageInfo {
                        actor: self.cell.id,
                        actor_type: self.cell.type_name,
                        message_type: core::any::type_name::<A::Msg>(),
                        priority,
                    };
                    let scope = h.on_handle_start(&info, env.cx.map(|b| *b));
                    let outcome = self.guarded(actor.handle(env.msg, ctx)).await;
                    let ended = match outcome {
                        Outcome::Done => HandleOutcome::Completed,
                        Outcome::Panicked(_) => HandleOutcome::Panicked,
                        Outcome::Killed => HandleOutcome::Killed,
                    };
                    h.on_handle_end(&info, scope, ended);
                    outcome
                }
            };
            self.cell.stats.add_handled(1);
            match outcome {
                Outcome::Done => {}
                Outcome::Panicked(m) => return ExitReason::Panicked(m),
                Outcome::Killed => return ExitReason::Killed,
            }
            if let Some(t0) = started {
                self.cell.stats.record(t0.elapsed());
            }
            if let Some(r) = ctx.stop_request.take() {
                return r;
            }
        }
    }

    /// Waits for the next message, system lane first.
    fn next_message(&mut self) -> impl Future<Output = Next<A::Msg>> + '_ {
        poll_fn(move |cx| {
            if let Some(next) = self.try_next() {
                return Poll::Ready(next);
            }
            // Idle: park on the doorbell, then re-check (a send in between is seen either
            // by this re-check or by the sender's ring).
            self.cell.doorbell.park(cx.waker());
            match self.try_next() {
                Some(next) => {
                    self.cell.doorbell.unpark();
                    Poll::Ready(next)
                }
                None => Poll::Pending,
            }
        })
    }

    /// The next system message if one is queued.
    #[inline]
    fn try_system(&mut self) -> Option<System<A::Msg>> {
        // One length check says whether the system lane has anything.
        if self.system.is_empty() {
            return None;
        }
        self.system.try_recv().ok()
    }

    /// The next message if one is queued, system lane first.
    #[inline]
    fn try_next(&mut self) -> Option<Next<A::Msg>> {
        if let Some(s) = self.try_system() {
            return Some(Next::System(s));
        }
        match self.user.try_recv() {
            Ok(m) => Some(Next::User(m)),
            Err(TryRecvError::Closed) => Some(Next::Closed),
            Err(TryRecvError::Empty) => None,
        }
    }

    /// Polls a hook or handler future, catching panics; while it waits, watches the system
    /// lane so a kill interrupts it (other system messages are kept for later).
    async fn guarded<F: Future<Output = ()>>(&mut self, fut: F) -> Outcome {
        let mut fut = pin!(fut);
        poll_fn(|cx| {
            match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
                Ok(Poll::Ready(())) => return Poll::Ready(Outcome::Done),
                Err(payload) => return Poll::Ready(Outcome::Panicked(panic_text(&*payload))),
                Ok(Poll::Pending) => {}
            }
            loop {
                match Pin::new(&mut self.system).poll_next(cx) {
                    Poll::Ready(Some(System::Kill)) => return Poll::Ready(Outcome::Killed),
                    Poll::Ready(Some(other)) => self.pending.push_back(other),
                    Poll::Ready(None) | Poll::Pending => return Poll::Pending,
                }
            }
        })
        .await
    }
}
