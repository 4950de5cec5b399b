//! The `enrich` processor (being written: passes batches through unchanged for now).

mod config;

use weir_pipeline::{Batch, Metrics, Outcome, Processor};

pub use config::{EnrichConfig, UNSUPPORTED_COLLECTOR_KEYS};

/// Why the processor could not be built.
#[derive(Debug, thiserror::Error)]
pub enum EnrichError {
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

/// The `enrich` processor.
pub struct Enrich {
    _id: String,
}

impl Enrich {
    /// Builds the processor `id` from `cfg`, counting in `metrics`.
    pub fn new(id: &str, cfg: &EnrichConfig, metrics: Metrics) -> Result<Self, EnrichError> {
        let _ = (cfg, metrics);
        Ok(Self { _id: id.to_owned() })
    }
}

impl Processor for Enrich {
    fn process(&self, _batch: &mut Batch) -> Outcome {
        Outcome::pass()
    }
}
