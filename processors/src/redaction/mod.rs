//! The `redaction` processor (being written: passes batches through unchanged for now).

mod config;

use weir_pipeline::{Batch, Metrics, Outcome, Processor};

pub use config::{RedactionConfig, UNSUPPORTED_COLLECTOR_KEYS};

/// Why the processor could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RedactionError {
    /// A setting is invalid.
    #[error("processor {id}: {key}: {message}")]
    Config {
        /// The processor id.
        id: String,
        /// The key at fault.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// The `redaction` processor.
pub struct Redaction {
    _id: String,
}

impl Redaction {
    /// Builds the processor `id` from `cfg`, counting in `metrics`.
    pub fn new(id: &str, cfg: &RedactionConfig, metrics: Metrics) -> Result<Self, RedactionError> {
        let _ = (cfg, metrics);
        Ok(Self { _id: id.to_owned() })
    }
}

impl Processor for Redaction {
    fn process(&self, _batch: &mut Batch) -> Outcome {
        Outcome::pass()
    }
}
