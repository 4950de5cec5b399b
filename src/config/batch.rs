//! The Collector's `batch` processor, accepted so that existing configs run.
//!
//! weir batches inside each exporter's queue instead; in a pipeline, `batch` passes batches on
//! unchanged. Its keys are validated like any other component's.

use std::time::Duration;

use serde::Deserialize;
use weir_pipeline::spec::Spec;
use weir_pipeline::{Batch, Outcome, Processor};

/// The `batch` processor kind: every signal; the Collector's per-metadata batching is not
/// implemented.
pub const SPEC: Spec = Spec {
    unsupported: &["metadata_keys", "metadata_cardinality_limit"],
    ..Spec::named("batch")
};

/// The `batch` processor's keys (the Collector's).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BatchConfig {
    /// Records after which a batch is sent.
    #[serde(default = "default_send_batch_size")]
    pub send_batch_size: u32,
    /// Largest batch sent; 0 means no limit.
    #[serde(default)]
    pub send_batch_max_size: u32,
    /// Longest a record waits for its batch to fill (`200ms`, `1s`).
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
}

impl BatchConfig {
    /// `(key, message)` for each setting that cannot work: a largest batch below the size
    /// that sends one.
    pub fn problems(&self) -> Vec<(String, String)> {
        if self.send_batch_max_size != 0 && self.send_batch_max_size < self.send_batch_size {
            vec![(
                "send_batch_max_size".into(),
                "must be 0 or at least send_batch_size".into(),
            )]
        } else {
            Vec::new()
        }
    }
}

fn default_send_batch_size() -> u32 {
    8192
}

fn default_timeout() -> Duration {
    Duration::from_millis(200)
}

/// A processor whose work is done elsewhere, passing batches on unchanged: `batch` (done in the
/// exporters' queues) and `memory_limiter` (done at the receivers, see `crate::memory`).
pub struct PassThrough;

impl Processor for PassThrough {
    fn process(&self, _batch: &mut Batch) -> Outcome {
        Outcome::pass()
    }
}
