//! The `prometheus` exporter (being written: accepts and discards for now).

mod config;

use std::sync::Arc;

use futures::future::BoxFuture;
use weir_pipeline::{Bundle, ExportError, Exporter};

pub use config::{PrometheusConfig, UNSUPPORTED_COLLECTOR_KEYS};

/// Why the exporter could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PrometheusError {
    /// A setting is invalid.
    #[error("exporter {id}: {message}")]
    Config {
        /// The exporter id.
        id: String,
        /// What is wrong.
        message: String,
    },
}

/// The `prometheus` exporter.
pub struct PrometheusExporter {
    _id: String,
}

impl PrometheusExporter {
    /// Binds the scrape endpoint of exporter `id` (logging one `listening` event with the bound
    /// address) and serves it in the background until the process ends.
    pub async fn bind(id: &str, cfg: &PrometheusConfig) -> Result<Self, PrometheusError> {
        let _ = cfg;
        Ok(Self { _id: id.to_owned() })
    }
}

impl Exporter for PrometheusExporter {
    fn export(&self, _bundle: Arc<Bundle>) -> BoxFuture<'static, Result<(), ExportError>> {
        Box::pin(async { Ok(()) })
    }
}
