//! Errors from building telemetry.
//!
//! ```
//! let e = nimsync_telemetry::BuildError::SamplingRatio(1.5);
//! assert!(e.to_string().contains("1.5"));
//! ```

/// Why telemetry could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The sampling ratio is not within 0.0..=1.0.
    #[error("sampling ratio {0} is not within 0.0..=1.0")]
    SamplingRatio(f64),
    /// The sampler interval is zero.
    #[error("the metrics sampling interval must be greater than zero")]
    ZeroInterval,
    /// A histogram bucket list is empty, not finite or not increasing.
    #[error("histogram buckets must be finite, increasing and non-empty")]
    Buckets,
    /// A metric name is empty (the Prometheus exposition would be unparseable).
    #[error("a metric name must not be empty")]
    EmptyMetricName,
    /// Another `metrics` recorder is already installed process-wide.
    #[error("a global `metrics` recorder is already installed")]
    RecorderInstalled,
    /// The Prometheus exporter rejected its configuration or could not listen.
    #[error("prometheus exporter: {0}")]
    Prometheus(String),
    /// The span exporter could not be built.
    #[error("span exporter: {0}")]
    Exporter(String),
    /// A thread (sampler, listener) could not be started.
    #[error("could not start the {0} thread: {1}")]
    Thread(&'static str, std::io::Error),
}
