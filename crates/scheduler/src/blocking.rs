//! The blocking pool behind `spawn_blocking`: threads created on demand, up to a maximum,
//! that exit after `blocking_keep_alive` without work.
//!
//! Blocking jobs are `async-task` cells too, so `spawn_blocking` returns the same
//! [`JoinHandle`](crate::JoinHandle) (panics are caught and reported; a job aborted before it
//! started never runs). The queue is a mutex-protected `VecDeque`: a blocking job costs a thread
//! hand-off (microseconds) anyway, so a lock-free queue would buy nothing measurable.

use crate::context;
use crate::join::JoinHandle;
use crate::runtime::Handle;
use crate::shared::Runnable;
use crate::sync::std_lock as lock;
use crate::task::{cancel_runnable, run_runnable, spawn_detached_cell};
use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

thread_local! {
    /// The pool whose thread this is (its address), 0 on any other thread.
    static POOL_OF_THREAD: Cell<usize> = const { Cell::new(0) };
}

#[derive(Debug, Default)]
struct PoolState {
    queue: VecDeque<Runnable>,
    threads: usize,
    idle: usize,
    notify: usize,
    shutdown: bool,
    handles: HashMap<usize, std::thread::JoinHandle<()>>,
    next_id: usize,
}

/// The blocking thread pool of one runtime.
#[derive(Debug, Default)]
pub(crate) struct BlockingPool {
    state: Mutex<PoolState>,
    work: Condvar,
    exited: Condvar,
    /// Jobs queued or running (the paused clock does not auto-advance while non-zero).
    active: AtomicUsize,
}

/// Runs a closure as a one-poll future.
struct BlockingFn<F>(Option<F>);

impl<F> Unpin for BlockingFn<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingFn<F> {
    type Output = R;
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self.0.take().expect("blocking job polled twice");
        Poll::Ready(f())
    }
}

impl BlockingPool {
    pub(crate) fn active(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }

    pub(crate) fn stats(&self) -> (usize, usize, usize) {
        let s = lock(&self.state);
        (s.threads, s.idle, s.queue.len())
    }

    /// Queues `f` on the pool of `handle`'s runtime.
    pub(crate) fn spawn<F, R>(handle: &Handle, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        // The schedule function is never used to enqueue (we push the one `Runnable` below
        // ourselves, and the job completes on its only poll); should it be called, the task
        // is cancelled.
        let (runnable, task) = spawn_detached_cell(BlockingFn(Some(f)), cancel_runnable);
        let waker = runnable.waker();
        handle.inner.shared.blocking.push(handle, runnable);
        JoinHandle::new(task, Some(waker))
    }

    fn push(&self, handle: &Handle, r: Runnable) {
        let mut s = lock(&self.state);
        if s.shutdown {
            drop(s);
            cancel_runnable(r);
            return;
        }
        self.active.fetch_add(1, Ordering::SeqCst);
        s.queue.push_back(r);
        if s.idle > 0 {
            s.idle -= 1;
            s.notify += 1;
            self.work.notify_one();
        } else if s.threads < handle.inner.shared.cfg.max_blocking_threads {
            let id = s.next_id;
            s.next_id += 1;
            let h = handle.clone();
            let cfg = &handle.inner.shared.cfg;
            let mut b =
                std::thread::Builder::new().name(format!("{}-blocking", (cfg.thread_name)(id)));
            if let Some(sz) = cfg.stack_size {
                b = b.stack_size(sz);
            }
            match b.spawn(move || blocking_thread(h, id)) {
                Ok(jh) => {
                    s.threads += 1;
                    s.handles.insert(id, jh);
                }
                Err(_) => {
                    // No thread now; an existing thread (if any) or a later spawn picks the job
                    // up. With no thread at all, fail the job rather than hang.
                    if s.threads == 0 {
                        let r = s.queue.pop_back();
                        self.active.fetch_sub(1, Ordering::SeqCst);
                        drop(s);
                        if let Some(r) = r {
                            cancel_runnable(r);
                        }
                    }
                }
            }
        }
    }

    /// Stops accepting jobs, cancels queued ones and wakes idle threads.
    pub(crate) fn shutdown_begin(&self) {
        let queued: Vec<Runnable> = {
            let mut s = lock(&self.state);
            s.shutdown = true;
            self.work.notify_all();
            s.queue.drain(..).collect()
        };
        for r in queued {
            self.active.fetch_sub(1, Ordering::SeqCst);
            cancel_runnable(r);
        }
    }

    /// Waits (until `deadline`) for the pool's threads to exit; joins those that did. Called
    /// on one of the pool's own threads (a blocking job dropping its runtime), it waits for
    /// the others: this one exits when the job returns.
    pub(crate) fn shutdown_join(&self, deadline: Option<Instant>) {
        let this_one = usize::from(self.is_current_thread_of());
        let mut s = lock(&self.state);
        while s.threads > this_one {
            match deadline {
                None => {
                    s = match self.exited.wait(s) {
                        Ok(g) => g,
                        Err(p) => p.into_inner(),
                    }
                }
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        break;
                    }
                    s = match self.exited.wait_timeout(s, d - now) {
                        Ok((g, _)) => g,
                        Err(p) => p.into_inner().0,
                    };
                }
            }
        }
        let all_exited = s.threads <= this_one;
        let handles: Vec<_> = s.handles.drain().map(|(_, h)| h).collect();
        drop(s);
        let me = std::thread::current().id();
        for h in handles {
            // Every thread has left its loop: join them all so their thread-locals are freed
            // before shutdown returns. Past the deadline, only those already gone.
            if (all_exited || h.is_finished()) && h.thread().id() != me {
                let _ = h.join();
            }
            // Otherwise: still running past the deadline; detached.
        }
    }
}

impl BlockingPool {
    /// Whether the calling thread is one of this pool's.
    fn is_current_thread_of(&self) -> bool {
        POOL_OF_THREAD.with(|p| p.get() == std::ptr::from_ref(self) as usize)
    }
}

fn blocking_thread(handle: Handle, id: usize) {
    let _enter = context::enter(handle.clone());
    let shared = handle.inner.shared.clone();
    POOL_OF_THREAD.with(|p| p.set(std::ptr::from_ref(&shared.blocking) as usize));
    if let Some(f) = &shared.cfg.on_thread_start {
        f();
    }
    let pool = &shared.blocking;
    let keep_alive = shared.cfg.blocking_keep_alive;
    let mut s = lock(&pool.state);
    loop {
        if let Some(r) = s.queue.pop_front() {
            drop(s);
            run_runnable(r, false);
            pool.active.fetch_sub(1, Ordering::SeqCst);
            shared.maybe_auto_advance();
            s = lock(&pool.state);
            continue;
        }
        if s.shutdown {
            break;
        }
        s.idle += 1;
        let (g, res) = match pool.work.wait_timeout(s, keep_alive) {
            Ok(x) => x,
            Err(p) => p.into_inner(),
        };
        s = g;
        if s.notify > 0 {
            // A pusher claimed us (and already took us off `idle`).
            s.notify -= 1;
            continue;
        }
        s.idle -= 1;
        if s.shutdown {
            break;
        }
        if res.timed_out() && s.queue.is_empty() {
            // Idle for too long: exit and detach ourselves.
            s.threads -= 1;
            s.handles.remove(&id);
            pool.exited.notify_all();
            drop(s);
            if let Some(f) = &shared.cfg.on_thread_stop {
                f();
            }
            return;
        }
    }
    s.threads -= 1;
    pool.exited.notify_all();
    drop(s);
    if let Some(f) = &shared.cfg.on_thread_stop {
        f();
    }
}
