//! # nimsync-backpressure — flow control (L4)
//!
//! Everything that keeps a fast producer from drowning a slow consumer, on the channels
//! (L0) and the scheduler's clock (L1):
//!
//! - **Credits** — [`credit_channel`]: the receiver [`grant`](CreditReceiver::grant)s
//!   credits, each send spends one, a sender without credit waits. Credits are never lost or
//!   duplicated, also when a send is cancelled.
//! - **Adaptive concurrency limits** — one [`Limiter`] trait with [`Fixed`], [`Aimd`],
//!   [`Miad`] (exponentially smoothed latency), [`Gradient`] and [`Vegas`] (after Netflix's
//!   concurrency-limits), driven by a [`ConcurrencyLimiter`]: `acquire().await` gives a
//!   [`Permit`], and `permit.success(latency)` / `.dropped()` teaches the algorithm.
//! - **Rate limiting** — [`RateLimiter`], GCRA on the scheduler's clock (one atomic, bursts).
//! - **Load shedding** — [`ConcurrencyLimiter::try_acquire`] and [`RateLimiter::check`]
//!   reject at once with [`Rejected`] / [`NotUntil`].
//! - **Queue feedback** — [`AdaptiveBackpressure`]: `can_send(queue_depth)`,
//!   `on_processed(latency)`, `update_congestion(depth, latency)`.
//! - **Adapters** — [`LimitedSender`] (a channel sender behind a limiter) and the stream
//!   stages [`limit`](LimitStreamExt::limit) / [`rate_limit`](LimitStreamExt::rate_limit).
//!
//! Bad configuration (min > max, zero rates, NaN or out-of-range factors) is a
//! [`ConfigError`] from the constructor; the hot path never panics.
//!
//! ```
//! use std::time::Duration;
//! use nimsync_backpressure::{Aimd, AimdConfig, ConcurrencyLimiter, credit_channel};
//!
//! // Adaptive concurrency: AIMD backs off when a call is slower than its timeout.
//! let limiter = ConcurrencyLimiter::new(
//!     Aimd::new(AimdConfig {
//!         min_limit: 1,
//!         initial_limit: 4,
//!         max_limit: 100,
//!         timeout: Duration::from_millis(100),
//!         ..AimdConfig::default()
//!     })
//!     .unwrap(),
//! );
//! futures_executor::block_on(async {
//!     let permit = limiter.acquire().await; // waits while 4 calls are in flight
//!     // ... call the service ...
//!     permit.success(Duration::from_millis(250)); // too slow: the limit backs off
//! });
//! assert_eq!(limiter.limit(), 3);
//! let held: Vec<_> = (0..3).map(|_| limiter.try_acquire().unwrap()).collect();
//! assert!(limiter.try_acquire().is_err()); // load shedding: reject at once when full
//! drop(held);
//!
//! // Credits: the receiver says how much it can take; the sender never sends more.
//! let (tx, mut rx) = credit_channel::<&str>(16, 1).unwrap();
//! futures_executor::block_on(async {
//!     tx.send("a").await.unwrap();
//!     assert!(tx.try_send("b").is_err()); // no credit left
//!     assert_eq!(rx.recv().await.unwrap(), "a");
//!     rx.grant(1).unwrap();
//!     tx.send("b").await.unwrap();
//! });
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod adapters;
mod adaptive;
mod concurrency;
mod credit;
mod error;
mod limit;
mod rate;

pub use adapters::{Admitted, Limit, LimitStreamExt, LimitedSendError, LimitedSender, RateLimit};
pub use adaptive::AdaptiveBackpressure;
pub use concurrency::{Acquire, ConcurrencyLimiter, Permit};
pub use credit::{
    CreditOverflow, CreditReceiver, CreditSender, MAX_CREDITS, TrySendCreditError, credit_channel,
};
pub use error::{ConfigError, NotUntil, Rejected};
pub use limit::{
    Aimd, AimdConfig, Fixed, Gradient, GradientConfig, Limiter, Miad, MiadConfig, Sample, Vegas,
    VegasConfig, Windowed,
};
pub use rate::RateLimiter;
