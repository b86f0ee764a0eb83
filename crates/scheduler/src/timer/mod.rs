//! Timers: `sleep`, `sleep_until`, `interval`, the clock (real or paused) and the timer wheel.
//!
//! Each worker owns a hierarchical timer wheel ([`wheel`]): a `Sleep` polled on a worker
//! registers there with no lock and no shared cache line. Timers registered from outside the
//! workers (a `block_on` thread, a blocking thread, a foreign thread) go to the runtime's
//! *remote* wheel behind a mutex, off the hot path. Workers fire due timers between tasks (every
//! `event_interval` ticks and whenever they run out of work) and park with a timeout equal to
//! their next deadline. Cancellation is cross-worker safe through atomics: dropping a `Sleep`
//! takes its waker out of the shared entry at once, and the wheel reclaims the orphaned entry
//! lazily (when its slot expires, or in an amortised pruning pass).
//!
//! Resolution is one millisecond; deadlines are rounded *up* to the next tick, so a timer never
//! fires early.

pub(crate) mod clock;
pub(crate) mod entry;
pub(crate) mod interval;
pub(crate) mod sleep;
pub(crate) mod wheel;
