//! Config of the `prometheus` exporter.

use std::time::Duration;

use serde::Deserialize;
use weir_pipeline::queue::{QueueConfig, RetryConfig};

/// Collector keys weir does not implement for this exporter.
pub const UNSUPPORTED_COLLECTOR_KEYS: &[&str] = &[];

/// The `prometheus` exporter's settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrometheusConfig {
    /// Where to send (or listen).
    pub endpoint: String,
    /// Longest wait for one attempt.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// The queue in front of this exporter.
    pub sending_queue: QueueConfig,
    /// Retries of failed attempts.
    pub retry_on_failure: RetryConfig,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        Self {
            endpoint: String::new(),
            timeout: weir_pipeline::queue::config::DEFAULT_TIMEOUT,
            sending_queue: QueueConfig::default(),
            retry_on_failure: RetryConfig::default(),
        }
    }
}

impl PrometheusConfig {
    /// `(key, message)` for each invalid setting; pure (no I/O).
    pub fn problems(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}
