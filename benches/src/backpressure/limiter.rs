//! limiter_uncontended / limiter_contended: acquire a permit, release it, `N` times — on one
//! thread, or on two threads sharing one limiter (limit 64, so nobody waits: the cost is the
//! admission itself and its cache-line traffic).
//!
//! Contenders: nimsync `ConcurrencyLimiter` with a `Fixed` limit (acquire + drop) and with
//! `Aimd` (acquire + `success(latency)`, which also runs the algorithm under its mutex);
//! tower 0.5 `ConcurrencyLimit` around a no-op service (`poll_ready` + `call` + await); a bare
//! tokio `Semaphore` (`acquire().await` + drop). Every future is driven by
//! `futures_lite::future::block_on`.

use std::convert::Infallible;
use std::future::{Ready, poll_fn, ready};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use nimsync_backpressure::{Aimd, AimdConfig, ConcurrencyLimiter, Fixed};
use tower::Service;
use tower::limit::ConcurrencyLimit;

use crate::harness::{Contender, NS_PER_OP, Params, Workload, ns_per_op};

/// Acquire/release pairs per repetition, over all threads.
const OPS: u64 = 4_000_000;
/// The limit (never reached).
const LIMIT: usize = 64;
/// Threads of the contended workload.
const THREADS: u64 = 2;

/// The contenders, on `THREADS` threads when `contended`.
macro_rules! contenders {
    ($threads:expr) => {
        vec![
            Contender {
                name: "nimsync",
                run: |p| run(p, $threads, fixed_limiter, nimsync_pairs),
            },
            Contender {
                name: "nimsync-aimd",
                run: |p| run(p, $threads, aimd_limiter, nimsync_aimd_pairs),
            },
            Contender {
                name: "tower",
                run: |p| run(p, $threads, semaphore, tower_pairs),
            },
            Contender {
                name: "tokio-semaphore",
                run: |p| run(p, $threads, semaphore, tokio_pairs),
            },
        ]
    };
}

/// One thread.
pub fn uncontended() -> Workload {
    Workload {
        group: "backpressure",
        name: "limiter_uncontended",
        unit: NS_PER_OP,
        higher_is_better: false,
        note: "acquire + release one permit, one thread, limit 64 (never reached); nimsync-aimd \
               also feeds success(latency) to AIMD; tower = ConcurrencyLimit over a no-op service",
        contenders: contenders!(1),
    }
}

/// Two threads sharing one limiter.
pub fn contended() -> Workload {
    Workload {
        group: "backpressure",
        name: "limiter_contended",
        unit: NS_PER_OP,
        higher_is_better: false,
        note: "as limiter_uncontended, 2 threads sharing one limiter; ns per pair over both \
               threads (wall time / total pairs)",
        contenders: contenders!(THREADS),
    }
}

/// Builds the shared limiter with `setup` (not timed), then runs `pairs(&limiter, n)` on
/// `threads` threads and returns ns per acquire/release pair.
fn run<L: Sync>(p: &Params, threads: u64, setup: fn() -> L, pairs: fn(&L, u64)) -> f64 {
    let per_thread = p.count(OPS) / threads;
    let limiter = setup();
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| pairs(&limiter, per_thread));
        }
    });
    ns_per_op(per_thread * threads, start.elapsed())
}

/// A service that answers at once.
#[derive(Clone, Copy)]
struct Noop;

impl Service<u64> for Noop {
    type Response = u64;
    type Error = Infallible;
    type Future = Ready<Result<u64, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: u64) -> Self::Future {
        ready(Ok(req))
    }
}

fn fixed_limiter() -> ConcurrencyLimiter {
    ConcurrencyLimiter::new(Fixed::new(LIMIT).expect("limit"))
}

fn aimd_limiter() -> ConcurrencyLimiter {
    let aimd = Aimd::new(AimdConfig {
        min_limit: LIMIT,
        initial_limit: LIMIT,
        max_limit: LIMIT,
        ..AimdConfig::default()
    })
    .expect("aimd");
    ConcurrencyLimiter::new(aimd)
}

fn semaphore() -> Arc<tokio::sync::Semaphore> {
    Arc::new(tokio::sync::Semaphore::new(LIMIT))
}

fn nimsync_pairs(limiter: &ConcurrencyLimiter, n: u64) {
    futures_lite::future::block_on(async {
        for _ in 0..n {
            let permit = limiter.acquire().await;
            drop(permit);
        }
    });
}

fn nimsync_aimd_pairs(limiter: &ConcurrencyLimiter, n: u64) {
    futures_lite::future::block_on(async {
        for _ in 0..n {
            let permit = limiter.acquire().await;
            permit.success(Duration::from_micros(50));
        }
    });
    assert_eq!(limiter.limit(), LIMIT);
}

fn tower_pairs(sem: &Arc<tokio::sync::Semaphore>, n: u64) {
    let mut svc = ConcurrencyLimit::with_semaphore(Noop, sem.clone());
    futures_lite::future::block_on(async {
        let mut sum = 0u64;
        for i in 0..n {
            poll_fn(|cx| svc.poll_ready(cx)).await.expect("ready");
            sum += svc.call(i).await.expect("call");
        }
        assert_eq!(sum, n * n.saturating_sub(1) / 2);
    });
}

fn tokio_pairs(sem: &Arc<tokio::sync::Semaphore>, n: u64) {
    futures_lite::future::block_on(async {
        for _ in 0..n {
            let permit = sem.acquire().await.expect("open");
            drop(permit);
        }
    });
}
