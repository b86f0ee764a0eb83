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
    /// A histogram bucket list is empty, not finite or not increasing (the string says which
    /// list: the default one or a suffix rule's).
    #[error("histogram buckets ({0}) must be finite, increasing and non-empty")]
    Buckets(String),
    /// An adaptive sampling rate (records per second) is NaN, zero or negative.
    #[error("the adaptive sampling rate {0} must be a positive number of records per second")]
    SamplingRate(f64),
    /// Tracing was asked for, but another set of actor message hooks or supervision restart
    /// hook was installed first (they are process-wide and set once): actor messages would
    /// not carry trace context.
    #[error("{0}: installed by someone else first, so these spans cannot be traced")]
    HooksTaken(&'static str),
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
