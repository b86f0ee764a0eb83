//! Tracing: context frames, scheduler hooks, span helpers and W3C propagation.
//!
//! ```
//! assert_eq!(nimsync_telemetry::traceparent(), None);
//! ```

pub(crate) mod frames;
pub(crate) mod hooks;
pub(crate) mod propagation;
pub(crate) mod span;
